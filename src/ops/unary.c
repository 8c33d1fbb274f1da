/* Op family 'unary' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_unary[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
