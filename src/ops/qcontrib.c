/* Op family 'qcontrib': ONNX Runtime's com.microsoft int8 contrib operators, bit-exact with ORT's CPU
 * kernels. The ops live in qcontrib_gemm.c (QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul),
 * qcontrib_ew.c (QLinearAdd/Mul/Sigmoid/LeakyRelu/Concat/Softmax), qcontrib_pool.c (QLinear[Global]
 * AveragePool) and qcontrib_lstm.c (DynamicQuantizeLSTM); this file has the table and shared helpers. */
#include <math.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/quant_vec.h"
#include "ops/broadcast.h"
#include "ops/qcontrib_internal.h"

octet_status qc_scale(const ot_kernel *k, const octet_tensor *t, int idx, float *out) {
    if (!t) return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (a scale) is missing", idx);
    if (t->dtype != OCTET_FLOAT)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (a scale) must be float32, got %s", idx,
                           octet_dtype_name(t->dtype));
    if (t->ndim > 1 || ot_tensor_numel(t) != 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (a scale) must be a scalar or a 1-element tensor", idx);
    *out = *(const float *)t->data;
    return OCTET_OK;
}

octet_status qc_zero_point(const ot_kernel *k, const octet_tensor *t, int idx, octet_dtype want, int32_t *out) {
    *out = 0;
    if (!t) return OCTET_OK;
    if (t->dtype != want)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (a zero point) must be %s, got %s", idx,
                           octet_dtype_name(want), octet_dtype_name(t->dtype));
    if (t->ndim > 1 || ot_tensor_numel(t) != 1)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input %d (a zero point) must be a scalar or a 1-element tensor",
                           idx);
    *out = (int32_t)ot_tensor_get_i64(t, 0);
    return OCTET_OK;
}

bool qc_ort_fma(void) {
    const ot_cpu_features *f = ot_cpu_features_get();
    return f->avx2 && f->fma && f->os_ymm;
}

bool qc_use_avx2(void) { return ot_kernels_get()->isa >= OT_ISA_AVX2; }

void qc_build_table(float x_scale, int32_t x_zp, float y_scale, int32_t y_zp, bool is_signed, qc_float_fn f,
                    const void *arg, uint8_t table[256]) {
    float v[256];
    for (int i = 0; i < 256; i++) {
        int32_t q = is_signed ? (int32_t)(int8_t)(uint8_t)i : i;
        v[i] = x_scale * (float)(q - x_zp);
    }
    if (f) f(v, 256, arg);
    ot_qvec_quantize(v, 256, y_scale, y_zp, is_signed, table);
}

void qc_apply_table(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t table[256], int threads) {
    int T = ot_par_threads(threads, n);
    if (T <= 1) {
        for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
        return;
    }
#pragma omp parallel for num_threads(T) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}

/* MLAS's rational approximation of the logistic (Eigen's coefficients). The FMA3 kernel fuses each
 * multiply-add and clamps only below; the SSE2 kernel rounds each step and clamps to [0, 1]. */
void qc_logistic(float *v, int n, const void *arg) {
    (void)arg;
    const float a9 = 4.37031012579801e-11f, a7 = 1.15627324459942e-07f, a5 = 6.08574864600143e-05f,
                a3 = 8.51377133304701e-03f, a1 = 2.48287947061529e-01f;
    const float b10 = 6.10247389755681e-13f, b8 = 5.76102136993427e-09f, b6 = 6.29106785017040e-06f,
                b4 = 1.70198817374094e-03f, b2 = 1.16817656904453e-01f, b0 = 9.93151921023180e-01f;
    bool fused = qc_ort_fma();
    for (int i = 0; i < n; i++) {
        float x = v[i];
        x = -18.0f > x ? -18.0f : x;   /* maxps(lower, x): a NaN x passes through */
        x = 18.0f < x ? 18.0f : x;
        float x2 = x * x, p, q, r;
        if (fused) {
            p = fmaf(x2, a9, a7);
            p = fmaf(x2, p, a5);
            p = fmaf(x2, p, a3);
            p = fmaf(x2, p, a1);
            q = fmaf(x2, b10, b8);
            q = fmaf(x2, q, b6);
            q = fmaf(x2, q, b4);
            q = fmaf(x2, q, b2);
            q = fmaf(x2, q, b0);
            p = x * p;
            r = p / q + 0.5f;
            r = 0.0f > r ? 0.0f : r;
        } else {
            p = x2 * a9 + a7;
            p = p * x2 + a5;
            p = p * x2 + a3;
            p = p * x2 + a1;
            p = p * x;
            q = x2 * b10 + b8;
            q = q * x2 + b6;
            q = q * x2 + b4;
            q = q * x2 + b2;
            q = q * x2 + b0;
            r = p / q + 0.5f;
            r = r > 0.0f ? r : 0.0f;
            r = r < 1.0f ? r : 1.0f;
        }
        v[i] = r;
    }
}

/* MLAS's tanh (MlasComputeTanh): Eigen's odd rational approximation on [-9, 9]; fused multiply-adds as the
 * FMA3 kernel when ORT would use it, else rounded separately as the SSE2 kernel. */
void qc_tanh(float *v, int n, const void *arg) {
    (void)arg;
    const float a13 = -2.76076847742355e-16f, a11 = 2.00018790482477e-13f, a9 = -8.60467152213735e-11f,
                a7 = 5.12229709037114e-08f, a5 = 1.48572235717979e-05f, a3 = 6.37261928875436e-04f,
                a1 = 4.89352455891786e-03f;
    const float b6 = 1.19825839466702e-06f, b4 = 1.18534705686654e-04f, b2 = 2.26843463243900e-03f,
                b0 = 4.89352518554385e-03f;
    bool fused = qc_ort_fma();
    for (int i = 0; i < n; i++) {
        float x = v[i];
        x = -9.0f > x ? -9.0f : x;
        x = 9.0f < x ? 9.0f : x;
        float x2 = x * x, p, q;
        if (fused) {
            p = fmaf(x2, a13, a11);
            p = fmaf(x2, p, a9);
            p = fmaf(x2, p, a7);
            p = fmaf(x2, p, a5);
            p = fmaf(x2, p, a3);
            p = fmaf(x2, p, a1);
            q = fmaf(x2, b6, b4);
            q = fmaf(x2, q, b2);
            q = fmaf(x2, q, b0);
        } else {
            p = x2 * a13 + a11;
            p = p * x2 + a9;
            p = p * x2 + a7;
            p = p * x2 + a5;
            p = p * x2 + a3;
            p = p * x2 + a1;
            q = x2 * b6 + b4;
            q = q * x2 + b2;
            q = q * x2 + b0;
        }
        v[i] = (x * p) / q;
    }
}

const ot_op_def ot_ops_qcontrib[] = {
    {"com.microsoft", "QGemm", qc_qgemm_prepare, qc_qgemm_run, qc_gemm_release},
    {"com.microsoft", "MatMulIntegerToFloat", qc_mm2f_prepare, qc_mm2f_run, qc_gemm_release},
    {"com.microsoft", "DynamicQuantizeMatMul", qc_dqmm_prepare, qc_dqmm_run, qc_gemm_release},
    {"com.microsoft", "QLinearAdd", NULL, qc_add_run, NULL},
    {"com.microsoft", "QLinearMul", NULL, qc_mul_run, NULL},
    {"com.microsoft", "QLinearSigmoid", qc_sigmoid_prepare, qc_sigmoid_run, qc_table_release},
    {"com.microsoft", "QLinearLeakyRelu", qc_leaky_prepare, qc_leaky_run, qc_table_release},
    {"com.microsoft", "QLinearConcat", NULL, qc_concat_run, NULL},
    {"com.microsoft", "QLinearSoftmax", NULL, qc_softmax_run, NULL},
    {"com.microsoft", "QLinearGlobalAveragePool", NULL, qc_gavgpool_run, NULL},
    {"com.microsoft", "QLinearAveragePool", NULL, qc_avgpool_run, NULL},
    {"com.microsoft", "DynamicQuantizeLSTM", qc_dqlstm_prepare, qc_dqlstm_run, qc_dqlstm_release},
    {NULL, NULL, NULL, NULL, NULL},
};
