/* AVX2 quantization vector loops; tails go through the scalar reference (same formulas). */
#include <immintrin.h>
#include <math.h>

#include "kernels/quant_vec.h"

/* 32 int32 (already within the output type) in four ymm -> 32 bytes in order. */
static inline __m256i narrow32(__m256i i0, __m256i i1, __m256i i2, __m256i i3, bool out_signed) {
    __m256i w0 = _mm256_packs_epi32(i0, i1), w1 = _mm256_packs_epi32(i2, i3);
    __m256i b = out_signed ? _mm256_packs_epi16(w0, w1) : _mm256_packus_epi16(w0, w1);
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize(const float *x, size_t n, float scale, int32_t zp, bool out_signed, void *y) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256 lo = _mm256_set1_ps((float)((out_signed ? -128 : 0) - zp));
    const __m256 hi = _mm256_set1_ps((float)((out_signed ? 127 : 255) - zp));
    const __m256i vz = _mm256_set1_epi32(zp);
    uint8_t *out = y;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i q[4];
        for (int j = 0; j < 4; j++) {
            __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * j), vs);
            v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
            q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(v), vz);
        }
        _mm256_storeu_si256((__m256i *)(out + i), narrow32(q[0], q[1], q[2], q[3], out_signed));
    }
    ot_qvec_quantize_ref(x + i, n - i, scale, zp, out_signed, out + i);
}

/* 32 floats quantized as quantize() does, 32 bytes in order. */
static inline __m256i quant32(const float *x, __m256 vs, __m256 lo, __m256 hi, __m256i vz, bool out_signed) {
    __m256i q[4];
    for (int j = 0; j < 4; j++) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + 8 * j), vs);
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(v), vz);
    }
    return narrow32(q[0], q[1], q[2], q[3], out_signed);
}

/* Byte shuffles interleaving 16 bytes of each of 3 planes into 48: output block k takes byte j of
 * block k from plane (16k + j) % 3, pixel (16k + j) / 3 (0x80: zero). */
static const int8_t kIl3[3][3][16] = {
    {{0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128, 5},
     {-128, 0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128, -128},
     {-128, -128, 0, -128, -128, 1, -128, -128, 2, -128, -128, 3, -128, -128, 4, -128}},
    {{-128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10, -128},
     {5, -128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128, 10},
     {-128, 5, -128, -128, 6, -128, -128, 7, -128, -128, 8, -128, -128, 9, -128, -128}},
    {{-128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128, -128},
     {-128, -128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15, -128},
     {10, -128, -128, 11, -128, -128, 12, -128, -128, 13, -128, -128, 14, -128, -128, 15}},
};

static inline void interleave3_16(__m128i a, __m128i b, __m128i c, uint8_t *y) {
    for (int k = 0; k < 3; k++) {
        __m128i o = _mm_or_si128(_mm_shuffle_epi8(a, _mm_loadu_si128((const __m128i *)kIl3[k][0])),
                                 _mm_shuffle_epi8(b, _mm_loadu_si128((const __m128i *)kIl3[k][1])));
        o = _mm_or_si128(o, _mm_shuffle_epi8(c, _mm_loadu_si128((const __m128i *)kIl3[k][2])));
        _mm_storeu_si128((__m128i *)(y + 16 * k), o);
    }
}

static void quantize_nhwc3(const float *x, size_t plane, size_t n, float scale, int32_t zp, bool out_signed,
                           uint8_t *y) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256 lo = _mm256_set1_ps((float)((out_signed ? -128 : 0) - zp));
    const __m256 hi = _mm256_set1_ps((float)((out_signed ? 127 : 255) - zp));
    const __m256i vz = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = quant32(x + i, vs, lo, hi, vz, out_signed);
        __m256i b = quant32(x + plane + i, vs, lo, hi, vz, out_signed);
        __m256i c = quant32(x + 2 * plane + i, vs, lo, hi, vz, out_signed);
        interleave3_16(_mm256_castsi256_si128(a), _mm256_castsi256_si128(b), _mm256_castsi256_si128(c), y + 3 * i);
        interleave3_16(_mm256_extracti128_si256(a, 1), _mm256_extracti128_si256(b, 1), _mm256_extracti128_si256(c, 1),
                       y + 3 * i + 48);
    }
    uint8_t t[3][32];
    size_t rest = n - i;
    for (int ch = 0; ch < 3; ch++) ot_qvec_quantize_ref(x + (size_t)ch * plane + i, rest, scale, zp, out_signed, t[ch]);
    for (size_t j = 0; j < rest; j++)
        for (int ch = 0; ch < 3; ch++) y[3 * (i + j) + (size_t)ch] = t[ch][j];
}

static void dequantize(const void *q, bool q_signed, size_t n, float scale, int32_t zp, float *y) {
    const uint8_t *in = q;
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i vz = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(in + i));
        __m256i v = q_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(v, vz));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(f, vs));
    }
    ot_qvec_dequantize_ref(in + i, q_signed, n - i, scale, zp, y + i);
}

static void minmax(const float *x, size_t n, float *mn, float *mx) {
    __m256 lo0 = _mm256_set1_ps(INFINITY), lo1 = lo0, hi0 = _mm256_set1_ps(-INFINITY), hi1 = hi0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        /* minps(x, acc): a NaN x leaves acc, as the reference. */
        lo0 = _mm256_min_ps(a, lo0);
        lo1 = _mm256_min_ps(b, lo1);
        hi0 = _mm256_max_ps(a, hi0);
        hi1 = _mm256_max_ps(b, hi1);
    }
    float l[8], h[8];
    _mm256_storeu_ps(l, _mm256_min_ps(lo0, lo1));
    _mm256_storeu_ps(h, _mm256_max_ps(hi0, hi1));
    float tl, th;
    ot_qvec_minmax_ref(x + i, n - i, &tl, &th);
    for (int j = 0; j < 8; j++) {
        tl = l[j] < tl ? l[j] : tl;
        th = h[j] > th ? h[j] : th;
    }
    *mn = tl;
    *mx = th;
}

static void requantize_row(const int32_t *x, size_t n, const int32_t *bias, const float *scale, bool per_col,
                           int32_t zp, float lo_f, float hi_f, bool out_signed, void *y) {
    const __m256 lo = _mm256_set1_ps(lo_f), hi = _mm256_set1_ps(hi_f);
    const __m256i vz = _mm256_set1_epi32(zp);
    uint8_t *out = y;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i q[4];
        for (int j = 0; j < 4; j++) {
            size_t o = i + 8 * (size_t)j;
            __m256i v = _mm256_loadu_si256((const __m256i *)(x + o));
            if (bias) v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(bias + o)));
            __m256 s = per_col ? _mm256_loadu_ps(scale + o) : _mm256_set1_ps(scale[0]);
            __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), s);
            f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
            q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(f), vz);
        }
        _mm256_storeu_si256((__m256i *)(out + i), narrow32(q[0], q[1], q[2], q[3], out_signed));
    }
    ot_qvec_requantize_row_ref(x + i, n - i, bias ? bias + i : NULL, per_col ? scale + i : scale, per_col, zp, lo_f,
                          hi_f, out_signed, out + i);
}

const ot_quant_vec_isa ot_quant_vec_avx2 = {
    .quantize_nhwc3 = quantize_nhwc3,
    .quantize = quantize,
    .dequantize = dequantize,
    .minmax = minmax,
    .requantize_row = requantize_row,
};
