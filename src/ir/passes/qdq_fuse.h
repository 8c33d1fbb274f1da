/* QDQ -> QOperator fusion with options (passes.h has the session-time entry point). */
#ifndef OT_QDQ_FUSE_H
#define OT_QDQ_FUSE_H

#include "ir/passes/passes.h"

typedef struct ot_qdq_fuse_options {
    /* Only what other runtimes run: no octet-internal attributes (an activation that the output Q does not
     * already imply keeps its op float instead of becoming octet_act_lo/hi clamp bounds). */
    bool portable;
} ot_qdq_fuse_options;

/* ot_pass_qdq_to_qoperator with options (NULL = session-time behaviour). */
octet_status ot_pass_qdq_fuse(octet_model *m, const ot_qdq_fuse_options *opts, int *fused);

/* Ops whose output may share their input's quantization parameters and run on the quantized tensor:
 * ot_op_moves_values, Resize (nearest) and Pad in constant mode with value 0 (padding with the zero
 * point). g is n's graph (for Pad's constant_value). */
bool ot_qdq_keeps_params(const ot_graph *g, const ot_node *n);

#endif
