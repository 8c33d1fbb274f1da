/* Graph preparation for static quantization (see ot_static_prepare in static_qdq.h). */
#include "ir/passes/fold_affine.h"
#include "ir/passes/fuse_hardswish.h"
#include "ir/passes/passes.h"
#include "quant/opset_raise.h"
#include "quant/static_qdq.h"

octet_status ot_static_prepare(octet_model *m, ot_static_prep *rep) {
    ot_static_prep r = {0};
    r.opset_from = ot_model_opset(m, "");
    OT_TRY(ot_pass_constants_to_initializers(m, &r.constants));
    OT_TRY(ot_pass_fold_constants(m, 0, &r.folded));
    OT_TRY(ot_raise_opset(m, 13));
    /* hard-swish by hand (PaddleOCR) -> HardSwish: one quantized op and one output range instead of
     * four; raises the opset to 14 when it finds one and nothing else changes meaning there */
    OT_TRY(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &r.hardswishes));
    r.opset_to = ot_model_opset(m, "");
    /* each fold can expose the other (ConvTranspose -> Add(bias) -> BatchNormalization) */
    for (int bn = 1, af = 1; bn + af > 0;) {
        OT_TRY(ot_pass_fold_affine(m, &af));
        OT_TRY(ot_pass_fold_batchnorm(m, &bn));
        r.affines += af;
        r.batchnorms += bn;
    }
    OT_TRY(ot_pass_dce(m, &r.removed));
    if (rep) *rep = r;
    return OCTET_OK;
}
