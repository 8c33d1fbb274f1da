/* Hard-swish written out by hand (PaddleOCR, older PyTorch exports) -> one HardSwish node. */
#ifndef OT_FUSE_HARDSWISH_H
#define OT_FUSE_HARDSWISH_H

#include "ir/passes/passes.h"

typedef enum ot_hardswish_mode {
    /* For a session: fuse at any opset (octet runs HardSwish whatever the model imports). The result
     * is not a valid ONNX file below opset 14. */
    OT_HARDSWISH_SESSION,
    /* For files: fuse when the ai.onnx opset is >= 14; at opset 13, raise it to 14 first when a pattern
     * occurs and no node of the model (subgraphs included) changes meaning between 13 and 14 (the one
     * such case: BatchNormalization with training outputs); otherwise leave the patterns alone. */
    OT_HARDSWISH_FILE,
} ot_hardswish_mode;

/* Rewrite, where every intermediate value has exactly one reader and the same x feeds both ends,
 *     x * Clip(x + 3, 0, 6) / 6      (Add -> Clip -> Mul -> Div, or -> Mul by 1/6 at the end)
 *     x * (Clip(x + 3, 0, 6) / 6)    (the division before the product)
 *     x * HardSigmoid(x)             (alpha 1/6, beta 0.5)
 * into HardSwish(x) writing the last node's output (operands in either order; constants are float
 * initializers with one element that match within a few float ulps: scalars, or all-ones shapes no
 * longer than x's known rank, so broadcasting cannot change the output's shape). *fused (may be NULL):
 * patterns rewritten. Main graph only. */
octet_status ot_pass_fuse_hardswish(octet_model *m, ot_hardswish_mode mode, int *fused);

#endif
