/* Op family 'logical' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_logical[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
