/* AVX-512 quantization vector loops; masked loads and stores handle the tails. */
#ifdef OT_AVX512_EMULATE
#include "avx512_emu.h"
#else
#include <immintrin.h>
#endif

#include <math.h>

#include "kernels/quant_vec.h"

static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

static void quantize(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y) {
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512 lo = _mm512_set1_ps((float)((out_signed ? -128 : 0) - zp));
    const __m512 hi = _mm512_set1_ps((float)((out_signed ? 127 : 255) - zp));
    const __m512i vz = _mm512_set1_epi32(zp);
    uint8_t *out = y;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        /* Masked-off lanes load 1.0f so the division stays quiet; they are not stored. */
        __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), k, x + i);
        v = _mm512_div_ps(v, vs);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), vz);
        _mm512_mask_cvtepi32_storeu_epi8(out + i, k, q);
    }
}

static void dequantize(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y) {
    const uint8_t *in = q;
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512i vz = _mm512_set1_epi32(zp);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m128i b = _mm_maskz_loadu_epi8(k, in + i);
        __m512i v = q_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
        __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(v, vz));
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(f, vs));
    }
}

static void minmax(const float *x, size_t n, float *mn, float *mx) {
    __m512 lo = _mm512_set1_ps(INFINITY), hi = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 a = _mm512_mask_loadu_ps(_mm512_set1_ps(NAN), k, x + i);   /* NaN lanes are ignored */
        lo = _mm512_min_ps(a, lo);
        hi = _mm512_max_ps(a, hi);
    }
    float l[16], h[16];
    _mm512_storeu_ps(l, lo);
    _mm512_storeu_ps(h, hi);
    float tl = INFINITY, th = -INFINITY;
    for (int j = 0; j < 16; j++) {
        tl = l[j] < tl ? l[j] : tl;
        th = h[j] > th ? h[j] : th;
    }
    *mn = tl;
    *mx = th;
}

static void requantize_row(const int32_t *x, size_t n, const int32_t *bias, const float *scale, bool per_col,
                           int32_t zp, float lo_f, float hi_f, bool out_signed, void *y) {
    const __m512 lo = _mm512_set1_ps(lo_f), hi = _mm512_set1_ps(hi_f);
    const __m512i vz = _mm512_set1_epi32(zp);
    uint8_t *out = y;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512i v = _mm512_maskz_loadu_epi32(k, x + i);
        if (bias) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(k, bias + i));
        __m512 s = per_col ? _mm512_maskz_loadu_ps(k, scale + i) : _mm512_set1_ps(scale[0]);
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), s);
        f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), vz);
        _mm512_mask_cvtepi32_storeu_epi8(out + i, k, q);
    }
}

const ot_quant_vec_isa ot_quant_vec_avx512 = {
    .quantize = quantize,
    .dequantize = dequantize,
    .minmax = minmax,
    .requantize_row = requantize_row,
};
