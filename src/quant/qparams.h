/* Quantization parameters and scalar quantize formulas, written once and used everywhere (ops,
 * quantizers, observers). Numerics: docs/NUMERICS.md. */
#ifndef OT_QPARAMS_H
#define OT_QPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "octet.h"

/* Range of a quantized type: [qmin, qmax]. */
void ot_qrange(octet_dtype qt, int32_t *qmin, int32_t *qmax);

/* ONNX QuantizeLinear on n floats into dst of type qt (uint8/int8/uint16/int16):
 * saturate(round_half_even(x / scale) + zp). NaN quantizes to zp, as ONNX Runtime does. */
void ot_quantize_f32(const float *x, int64_t n, float scale, int32_t zp, octet_dtype qt, void *dst);
static inline int32_t ot_quantize_one(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax);

/* ONNX DynamicQuantizeLinear: uint8, scale = (max(0,max) - min(0,min)) / 255,
 * zp = saturate(round_half_even(-min / scale)), then quantize. */
void ot_dynamic_quantize_u8(const float *x, int64_t n, uint8_t *dst, float *scale, uint8_t *zp);

/* PyTorch _calculate_qparams: widen [min,max] to include 0; affine or symmetric; reduce_range uses
 * 7 bits. Writes scale and zero point for type qt. */
typedef struct ot_qparams {
    float scale;
    int32_t zero_point;
} ot_qparams;
ot_qparams ot_calc_qparams(float min, float max, octet_dtype qt, bool symmetric, bool reduce_range);

#include <math.h>
static inline int32_t ot_quantize_one(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
    float v = nearbyintf(x / scale);  /* default rounding mode: half to even */
    if (!(v == v)) return zp < qmin ? qmin : (zp > qmax ? qmax : zp);
    float lo = (float)(qmin - zp), hi = (float)(qmax - zp);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return (int32_t)v + zp;
}

#endif
