/* Op family 'softmax': Softmax and LogSoftmax.
 *
 * Before opset 13 the input is seen as 2-D [prod(dims[:axis]), prod(dims[axis:])] and normalized per
 * row; from 13 on it is normalized along the one axis. Both are an [O, R, I] view normalized along R.
 * Numerically stable: the max along R is subtracted before exp; sums are kept in double. Work is
 * split over O (and chunks of I), never across R, so results do not depend on the thread count. */
#include <math.h>

#include "ops/broadcast.h"

#define SM_ICHUNK 64

#define SM_KERNEL(NAME, T, EXP, LOG)                                                                  \
    static void NAME(const T *x, T *y, int64_t O, int64_t R, int64_t I, bool is_log, int threads) {    \
        int64_t nchunk = (I + SM_ICHUNK - 1) / SM_ICHUNK;                                              \
        int64_t tasks = O * nchunk;                                                                    \
        int nt = ot_par_threads(threads, 8 * O * R * I);                                               \
        if (nt > tasks) nt = (int)(tasks > 0 ? tasks : 1);                                             \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if(nt > 1)")                       \
        for (int64_t t = 0; t < tasks; t++) {                                                          \
            int64_t o = t / nchunk, i0 = (t % nchunk) * SM_ICHUNK;                                      \
            int64_t ni = I - i0 < SM_ICHUNK ? I - i0 : SM_ICHUNK;                                       \
            const T *xb = x + o * R * I + i0;                                                          \
            T *yb = y + o * R * I + i0;                                                                \
            T mx[SM_ICHUNK];                                                                           \
            double sum[SM_ICHUNK];                                                                     \
            for (int64_t i = 0; i < ni; i++) { mx[i] = xb[i]; sum[i] = 0; }                            \
            for (int64_t r = 1; r < R; r++)                                                            \
                for (int64_t i = 0; i < ni; i++) {                                                     \
                    T v = xb[r * I + i];                                                               \
                    mx[i] = (v > mx[i] || v != v) ? v : mx[i];                                          \
                }                                                                                      \
            for (int64_t i = 0; i < ni; i++) /* an all -inf (or +inf) row: keep exp(x - m) defined */ \
                if (isinf(mx[i])) mx[i] = mx[i] > 0 ? mx[i] : 0;                                       \
            for (int64_t r = 0; r < R; r++)                                                            \
                for (int64_t i = 0; i < ni; i++) {                                                     \
                    T e = EXP(xb[r * I + i] - mx[i]);                                                  \
                    sum[i] += (double)e;                                                               \
                    if (!is_log) yb[r * I + i] = e;                                                    \
                }                                                                                      \
            if (is_log) {                                                                              \
                for (int64_t i = 0; i < ni; i++) sum[i] = (double)mx[i] + log(sum[i]);                 \
                for (int64_t r = 0; r < R; r++)                                                        \
                    for (int64_t i = 0; i < ni; i++) yb[r * I + i] = (T)((double)xb[r * I + i] - sum[i]); \
            } else {                                                                                   \
                for (int64_t i = 0; i < ni; i++) sum[i] = 1.0 / sum[i];                                \
                for (int64_t r = 0; r < R; r++)                                                        \
                    for (int64_t i = 0; i < ni; i++) yb[r * I + i] = (T)((double)yb[r * I + i] * sum[i]); \
            }                                                                                          \
        }                                                                                              \
    }
SM_KERNEL(softmax_f32, float, expf, logf)
SM_KERNEL(softmax_f64, double, exp, log)

static octet_status run_softmax_any(ot_kernel *k, bool is_log, const octet_tensor *const *in, int n_in,
                                    octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    if (n_out < 1 || !out[0]) return ot_node_err(k, OCTET_ERR_PARSE, "needs one output");
    const octet_tensor *x = in[0];
    if (x->dtype != OCTET_FLOAT && x->dtype != OCTET_DOUBLE)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s tensors are not supported", octet_dtype_name(x->dtype));
    if (x->ndim < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 1");
    bool legacy = k->opset < 13;
    int axis;
    OT_TRY(ot_norm_axis(k, ot_node_attr_int(k->node, "axis", legacy ? 1 : -1), x->ndim, &axis));
    int64_t O = 1, R = 1, I = 1;
    for (int d = 0; d < axis; d++) O *= x->dims[d];
    if (legacy) {
        for (int d = axis; d < x->ndim; d++) R *= x->dims[d];
    } else {
        R = x->dims[axis];
        for (int d = axis + 1; d < x->ndim; d++) I *= x->dims[d];
    }
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, x->dims));
    if (O * R * I == 0) return OCTET_OK;
    if (x->dtype == OCTET_FLOAT) softmax_f32(x->data, out[0]->data, O, R, I, is_log, k->threads);
    else softmax_f64(x->data, out[0]->data, O, R, I, is_log, k->threads);
    return OCTET_OK;
}

static octet_status run_softmax(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    return run_softmax_any(k, false, in, n_in, out, n_out);
}
static octet_status run_log_softmax(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                    int n_out) {
    return run_softmax_any(k, true, in, n_in, out, n_out);
}

const ot_op_def ot_ops_softmax[] = {
    {"", "Softmax", NULL, run_softmax, NULL},
    {"", "LogSoftmax", NULL, run_log_softmax, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
