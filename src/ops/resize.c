/* Op family 'resize' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_resize[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
