/* Op family 'reduce' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_reduce[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
