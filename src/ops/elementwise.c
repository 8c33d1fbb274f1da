/* Op family 'elementwise' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_elementwise[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
