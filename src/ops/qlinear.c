/* Op family 'qlinear' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_qlinear[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
