/* Op family 'qcontrib' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_qcontrib[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
