/* Op family 'tensor_ops' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_tensor_ops[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
