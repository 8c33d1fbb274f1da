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
 * saturate(round_half_even(x / scale) + zp), NaN -> the type's lowest value (kernels/requant.h).
 * 8-bit types use the vectorized loops of kernels/quant_vec.h. */
void ot_quantize_f32(const float *x, int64_t n, float scale, int32_t zp, octet_dtype qt, void *dst);

/* PyTorch _calculate_qparams: widen [min,max] to include 0; affine or symmetric; reduce_range uses
 * 7 bits. Writes scale and zero point for type qt. */
typedef struct ot_qparams {
    float scale;
    int32_t zero_point;
} ot_qparams;
ot_qparams ot_calc_qparams(float min, float max, octet_dtype qt, bool symmetric, bool reduce_range);

#endif
