/* Shared helpers of the int8 ops (qcontrib*.c, qlinear.c, octet_qconvt.c). Every contrib op reproduces ONNX
 * Runtime's CPU kernel (MLAS) float operation for float operation, so results are bit-identical. */
#ifndef OT_QCONTRIB_INTERNAL_H
#define OT_QCONTRIB_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

/* uint8 or int8. */
static inline bool qc_is_q8(octet_dtype d) { return d == OCTET_UINT8 || d == OCTET_INT8; }
static inline int32_t qc_qmin(octet_dtype d) { return d == OCTET_INT8 ? -128 : 0; }
static inline int32_t qc_qmax(octet_dtype d) { return d == OCTET_INT8 ? 127 : 255; }

/* The output clamp of an 8-bit op of type yt, tightened by the node's octet_act_lo / octet_act_hi (a fused
 * activation's bounds in the quantized domain, set by ir/passes/qdq_fuse.c); an empty range is an error.
 * (qlinear.c) */
octet_status qc_act_bounds(const ot_kernel *k, octet_dtype yt, int32_t *lo, int32_t *hi);

/* A float scale that must be a scalar or a 1-element tensor (input `idx`). */
octet_status qc_scale(const ot_kernel *k, const octet_tensor *t, int idx, float *out);
/* A zero point: NULL gives 0; else a scalar or 1-element tensor of dtype `want`. */
octet_status qc_zero_point(const ot_kernel *k, const octet_tensor *t, int idx, octet_dtype want, int32_t *out);

/* Whether ONNX Runtime on this CPU takes its AVX2/FMA3 MLAS kernels (it picks them by CPUID, so octet
 * follows the real CPU here, whatever OCTET_ISA says; OCTET_ISA only selects octet's own loops). */
bool qc_ort_fma(void);
/* Whether octet's AVX2 loops may run (OCTET_ISA and the CPU allow them). */
bool qc_use_avx2(void);

/* _mm_cvtps_epi32 then saturation to [lo, hi]: round half to even; NaN and values outside int32 give
 * INT32_MIN, which saturates to lo (what MLAS's cvtps + packs sequence does). */
static inline int32_t qc_cvt_sat(float v, int32_t lo, int32_t hi) {
    int32_t r = v >= -2147483648.0f && v < 2147483648.0f ? (int32_t)nearbyintf(v) : INT32_MIN;
    return r < lo ? lo : r > hi ? hi : r;
}

/* ORT's 256-entry table for an 8-bit unary op: y[q] = QuantizeLinear(f(x_scale * (q - x_zp))), indexed
 * by the raw byte of q. f maps n floats in place. */
typedef void (*qc_float_fn)(float *v, int n, const void *arg);
void qc_build_table(float x_scale, int32_t x_zp, float y_scale, int32_t y_zp, bool is_signed, qc_float_fn f,
                    const void *arg, uint8_t table[256]);
/* y[i] = table[x[i]] over n bytes, on up to `threads` threads. */
void qc_apply_table(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t table[256], int threads);

/* MLAS's logistic (MlasComputeLogistic) on n floats in place: the FMA3 kernel's rounding when ORT would
 * use it (qc_ort_fma), else the SSE2 one. */
void qc_logistic(float *v, int n, const void *arg);
/* MLAS's tanh (MlasComputeTanh) in place, FMA3 or SSE2 rounding as qc_logistic. */
void qc_tanh(float *v, int n, const void *arg);

/* Op entry points (qcontrib_gemm.c, qcontrib_ew.c, qcontrib_pool.c, qcontrib_lstm.c). */
octet_status qc_qgemm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_qgemm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_mm2f_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_mm2f_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_dqmm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_dqmm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
void qc_gemm_release(void *state);

octet_status qc_add_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_mul_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_sigmoid_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_sigmoid_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_leaky_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_leaky_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_concat_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_softmax_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
void qc_table_release(void *state);

octet_status qc_gavgpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
octet_status qc_avgpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);

octet_status qc_dqlstm_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in);
octet_status qc_dqlstm_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
void qc_dqlstm_release(void *state);

/* AVX2 loops (qcontrib_ew_avx2.c), bit-exact with the scalar ones in qcontrib_ew.c. x is the operand
 * walked with stride 1, y the other (stride sy: 0 = one repeated value). */
void qc_add_fma_avx2(const void *x, const void *y, int64_t sy, int64_t n, bool is_signed, float rx, float ry,
                     float fixed, void *out);
void qc_mul_avx2(const void *a, int64_t sa, const void *b, int64_t sb, int64_t n, bool is_signed, int32_t za,
                 int32_t zb, float ratio, float zc, void *out);

#endif
