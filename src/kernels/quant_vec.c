/* Entry points of the quantization vector loops: dispatch, and the DynamicQuantizeLinear parameters. */
#include "kernels/quant_vec.h"

#include <math.h>

#include "kernels/cpu.h"

static const ot_quant_vec_isa *qv(void) { return ot_kernels_get()->qvec; }

void ot_qvec_quantize(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y) {
    qv()->quantize(x, n, scale, zp, out_signed, y);
}

void ot_qvec_quantize_nhwc(const float *x, size_t plane, int C, size_t n, float scale, int32_t zp, bool out_signed,
                           void *y) {
    const ot_quant_vec_isa *k = qv();
    if (C == 3 && k->quantize_nhwc3) {
        k->quantize_nhwc3(x, plane, n, scale, zp, out_signed, y);
        return;
    }
    uint8_t tmp[64], *out = y;
    for (size_t i0 = 0; i0 < n; i0 += 64) {
        size_t len = n - i0 < 64 ? n - i0 : 64;
        for (int c = 0; c < C; c++) {
            k->quantize(x + (size_t)c * plane + i0, len, scale, zp, out_signed, tmp);
            for (size_t i = 0; i < len; i++) out[(i0 + i) * (size_t)C + (size_t)c] = tmp[i];
        }
    }
}

void ot_qvec_dequantize(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y) {
    qv()->dequantize(q, q_signed, n, scale, zp, y);
}

void ot_qvec_minmax(const float *x, size_t n, float *mn, float *mx) { qv()->minmax(x, n, mn, mx); }

void ot_qvec_dynamic_qparams_u8(float mn, float mx, float *scale, uint8_t *zp) {
    /* std::min / std::max as ORT writes them: min(a, b) = b < a ? b : a. */
    mn = 0.0f < mn ? 0.0f : mn;
    mx = mx < 0.0f ? 0.0f : mx;
    float s = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float izp = 0.0f - mn / s;
    float c = izp < 255.0f ? izp : 255.0f;
    c = 0.0f < c ? c : 0.0f;
    *scale = s;
    *zp = (uint8_t)nearbyintf(c);
}

void ot_qvec_dynamic_quantize_u8(const float *x, size_t n, uint8_t *y, float *scale, uint8_t *zp) {
    const ot_quant_vec_isa *k = qv();
    float mn, mx;
    k->minmax(x, n, &mn, &mx);
    ot_qvec_dynamic_qparams_u8(mn, mx, scale, zp);
    k->quantize(x, n, *scale, *zp, false, y);
}

void ot_qvec_requantize_s32(const int32_t *x, int M, int N, int ldx, const int32_t *bias, const float *scale,
                       bool per_col, int32_t zp, int32_t lo, int32_t hi, bool out_signed, void *y, int ldy) {
    const ot_quant_vec_isa *k = qv();
    float lo_f = (float)(lo - zp), hi_f = (float)(hi - zp);
    for (int m = 0; m < M; m++) {
        void *yr = out_signed ? (void *)((int8_t *)y + (size_t)m * ldy) : (void *)((uint8_t *)y + (size_t)m * ldy);
        k->requantize_row(x + (size_t)m * ldx, (size_t)N, bias, scale, per_col, zp, lo_f, hi_f, out_signed, yr);
    }
}
