#include "quant/qparams.h"

#include <float.h>
#include <math.h>

void ot_qrange(octet_dtype qt, int32_t *qmin, int32_t *qmax) {
    switch (qt) {
    case OCTET_INT8: *qmin = -128, *qmax = 127; break;
    case OCTET_UINT16: *qmin = 0, *qmax = 65535; break;
    case OCTET_INT16: *qmin = -32768, *qmax = 32767; break;
    default: *qmin = 0, *qmax = 255; break;
    }
}

void ot_quantize_f32(const float *x, int64_t n, float scale, int32_t zp, octet_dtype qt, void *dst) {
    int32_t qmin, qmax;
    ot_qrange(qt, &qmin, &qmax);
    switch (qt) {
    case OCTET_INT8:
        for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)ot_quantize_one(x[i], scale, zp, qmin, qmax);
        break;
    case OCTET_UINT16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)ot_quantize_one(x[i], scale, zp, qmin, qmax);
        break;
    case OCTET_INT16:
        for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)ot_quantize_one(x[i], scale, zp, qmin, qmax);
        break;
    default:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)ot_quantize_one(x[i], scale, zp, qmin, qmax);
        break;
    }
}

void ot_dynamic_quantize_u8(const float *x, int64_t n, uint8_t *dst, float *scale_out, uint8_t *zp_out) {
    float mn = 0.0f, mx = 0.0f;  /* the range always includes 0 */
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    float scale = (mx - mn) / 255.0f;
    int32_t zp = 0;
    if (scale != 0.0f) {
        float z = nearbyintf(-mn / scale);
        zp = z < 0 ? 0 : (z > 255 ? 255 : (int32_t)z);
    }
    *scale_out = scale;
    *zp_out = (uint8_t)zp;
    if (scale == 0.0f) {
        for (int64_t i = 0; i < n; i++) dst[i] = (uint8_t)zp;
        return;
    }
    ot_quantize_f32(x, n, scale, zp, OCTET_UINT8, dst);
}

ot_qparams ot_calc_qparams(float min, float max, octet_dtype qt, bool symmetric, bool reduce_range) {
    int32_t qmin, qmax;
    ot_qrange(qt, &qmin, &qmax);
    if (reduce_range) {
        /* PyTorch: 7-bit range, [-64, 63] for int8 and [0, 127] for uint8 */
        if (qmin < 0) qmin /= 2, qmax = qmax / 2;
        else qmax /= 2;
    }
    if (min > 0.0f) min = 0.0f;
    if (max < 0.0f) max = 0.0f;
    ot_qparams p = {1.0f, 0};
    if (symmetric) {
        float amax = fmaxf(-min, max);
        p.scale = amax / ((float)(qmax - qmin) / 2.0f);
        if (p.scale < FLT_EPSILON) p.scale = FLT_EPSILON;
        p.zero_point = (qt == OCTET_UINT8 || qt == OCTET_UINT16) ? (qmin + qmax + 1) / 2 : 0;
    } else {
        p.scale = (max - min) / (float)(qmax - qmin);
        if (p.scale < FLT_EPSILON) p.scale = FLT_EPSILON;
        int32_t zp = qmin - (int32_t)lrintf(min / p.scale);
        p.zero_point = zp < qmin ? qmin : (zp > qmax ? qmax : zp);
    }
    return p;
}
