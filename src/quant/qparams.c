#include "quant/qparams.h"

#include <float.h>
#include <math.h>

#include "kernels/quant_vec.h"
#include "kernels/requant.h"

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
    float lo_f = (float)(qmin - zp), hi_f = (float)(qmax - zp);
    switch (qt) {
    case OCTET_INT8:
    case OCTET_UINT8: ot_qvec_quantize(x, (size_t)n, scale, zp, qt == OCTET_INT8, dst); break;
    case OCTET_UINT16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)ot_quantize1(x[i], scale, lo_f, hi_f, zp);
        break;
    case OCTET_INT16:
        for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)ot_quantize1(x[i], scale, lo_f, hi_f, zp);
        break;
    default: break;
    }
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
