/* Op family 'shape' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_shape[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
