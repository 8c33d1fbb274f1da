/* Op family 'octet_domain' (placeholder table until its ops land). */
#include "ops/op.h"

const ot_op_def ot_ops_octet_domain[] = {
    {NULL, NULL, NULL, NULL, NULL},
};
