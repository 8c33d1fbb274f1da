/* com.microsoft DynamicQuantizeLSTM (placeholder until implemented). */
#include "ops/qcontrib_internal.h"

octet_status qc_dqlstm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) { return OCTET_OK; }

octet_status qc_dqlstm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "DynamicQuantizeLSTM is not implemented yet");
}

void qc_dqlstm_release(void *state) { (void)state; }
