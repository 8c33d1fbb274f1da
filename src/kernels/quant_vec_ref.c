/* Scalar reference of the quantization vector loops (formulas in requant.h). */
#include <math.h>

#include "kernels/quant_vec.h"
#include "kernels/requant.h"

void ot_qvec_quantize_ref(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y) {
    float lo_f = (float)((out_signed ? -128 : 0) - zp), hi_f = (float)((out_signed ? 127 : 255) - zp);
    if (out_signed)
        for (size_t i = 0; i < n; i++) ((int8_t *)y)[i] = (int8_t)ot_quantize1(x[i], scale, lo_f, hi_f, zp);
    else
        for (size_t i = 0; i < n; i++) ((uint8_t *)y)[i] = (uint8_t)ot_quantize1(x[i], scale, lo_f, hi_f, zp);
}

void ot_qvec_dequantize_ref(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y) {
    for (size_t i = 0; i < n; i++) {
        int32_t v = q_signed ? ((const int8_t *)q)[i] : ((const uint8_t *)q)[i];
        y[i] = (float)(v - zp) * scale;
    }
}

void ot_qvec_minmax_ref(const float *x, size_t n, float *mn, float *mx) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = ot_minps1(x[i], lo);   /* NaN x keeps the running value */
        hi = ot_maxps1(x[i], hi);
    }
    *mn = lo;
    *mx = hi;
}

void ot_qvec_requantize_row_ref(const int32_t *x, size_t n, const int32_t *bias, const float *scale, bool per_col,
                           int32_t zp, float lo_f, float hi_f, bool out_signed, void *y) {
    for (size_t i = 0; i < n; i++) {
        int32_t acc = bias ? (int32_t)((uint32_t)x[i] + (uint32_t)bias[i]) : x[i];
        int32_t q = ot_requant1(acc, scale[per_col ? i : 0], lo_f, hi_f, zp);
        if (out_signed)
            ((int8_t *)y)[i] = (int8_t)q;
        else
            ((uint8_t *)y)[i] = (uint8_t)q;
    }
}

const ot_quant_vec_isa ot_quant_vec_ref = {
    .quantize = ot_qvec_quantize_ref,
    .dequantize = ot_qvec_dequantize_ref,
    .minmax = ot_qvec_minmax_ref,
    .requantize_row = ot_qvec_requantize_row_ref,
};
