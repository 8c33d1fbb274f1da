/* Vector loops between float and 8-bit (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear) and
 * int32 -> 8-bit requantization. Each has a scalar reference and SIMD variants that are bit-exact with
 * it (see requant.h for the exact formulas); the ot_* entry points use the variant ot_kernels_get()
 * chose. Lengths may be 0. "out_signed" selects int8 (true) or uint8 (false) data behind void*. */
#ifndef OT_QUANT_VEC_H
#define OT_QUANT_VEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ONNX QuantizeLinear, per tensor: y = saturate(round_half_even(x / scale) + zp).
 * x / scale is a true float32 division as ONNX specifies; +-inf saturate; NaN gives the type's lowest
 * value (0 or -128), as ORT does on x86. zp must be within the output type. */
void ot_qvec_quantize(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y);

/* QuantizeLinear (as above) of C planes x[c * plane + i], i < n, written channels-last: y[i * C + c]
 * (a run of n pixels of one NCHW image, to NHWC). */
void ot_qvec_quantize_nhwc(const float *x, size_t plane, int C, size_t n, float scale, int32_t zp, bool out_signed,
                           void *y);

/* ONNX DequantizeLinear: y = (float)(q - zp) * scale. */
void ot_qvec_dequantize(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y);

/* Minimum and maximum of x ignoring NaN; n == 0 or all NaN gives (+inf, -inf). */
void ot_qvec_minmax(const float *x, size_t n, float *mn, float *mx);

/* DynamicQuantizeLinear parameters from a range, exactly as ORT: the range is widened to include 0,
 * scale = max == min ? 1 : (max - min) / 255, zp = round_half_even(clamp(0 - min / scale, 0, 255)). */
void ot_qvec_dynamic_qparams_u8(float mn, float mx, float *scale, uint8_t *zp);

/* ONNX DynamicQuantizeLinear (uint8): the min/max pass, the parameters, then QuantizeLinear.
 * NaN inputs are left out of the range (ORT's own result there depends on its vector lane layout). */
void ot_qvec_dynamic_quantize_u8(const float *x, size_t n, uint8_t *y, float *scale, uint8_t *zp);

/* Requantize an int32 matrix [M, ldx] to 8-bit [M, ldy] (what MLAS's MlasRequantizeOutput does):
 *   y[m][n] = clamp(round_half_even((float)(x[m][n] + bias[n]) * scale[n or 0]) + zp, lo, hi)
 * bias may be NULL; scale has N entries when per_col, else 1; lo <= hi within the output type. */
void ot_qvec_requantize_s32(const int32_t *x, int M, int N, int ldx, const int32_t *bias, const float *scale,
                       bool per_col, int32_t zp, int32_t lo, int32_t hi, bool out_signed, void *y, int ldy);

/* One variant's loops (cpu.h's table). lo_f/hi_f are lo - zp, hi - zp. */
typedef struct ot_quant_vec_isa {
    void (*quantize)(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y);
    void (*dequantize)(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y);
    void (*minmax)(const float *x, size_t n, float *mn, float *mx);
    void (*requantize_row)(const int32_t *x, size_t n, const int32_t *bias, const float *scale, bool per_col,
                           int32_t zp, float lo_f, float hi_f, bool out_signed, void *y);
    /* ot_qvec_quantize_nhwc for C = 3 (RGB images), or NULL: the generic loop */
    void (*quantize_nhwc3)(const float *x, size_t plane, size_t n, float scale, int32_t zp, bool out_signed,
                           uint8_t *y);
} ot_quant_vec_isa;

extern const ot_quant_vec_isa ot_quant_vec_ref;
extern const ot_quant_vec_isa ot_quant_vec_avx2;
extern const ot_quant_vec_isa ot_quant_vec_avx512;

/* Scalar loops, also used for the SIMD variants' tails. */
void ot_qvec_quantize_ref(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y);
void ot_qvec_dequantize_ref(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y);
void ot_qvec_minmax_ref(const float *x, size_t n, float *mn, float *mx);
void ot_qvec_requantize_row_ref(const int32_t *x, size_t n, const int32_t *bias, const float *scale, bool per_col,
                           int32_t zp, float lo_f, float hi_f, bool out_signed, void *y);

#endif
