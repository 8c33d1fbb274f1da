/* Scalar stand-ins for the AVX-512 intrinsics octet's *_avx512*.c files use, written from Intel's
 * pseudo-code, so their logic (layouts, masks, tails) can be tested on a machine without AVX-512. */
#ifndef AVX512_EMU_H
#define AVX512_EMU_H
#include <emmintrin.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct { int32_t i[16]; } __m512i;
typedef struct { float f[16]; } __m512;
typedef uint16_t __mmask16;

static inline __m512i _mm512_setzero_si512(void) { __m512i r; memset(&r, 0, sizeof r); return r; }
static inline __m512i _mm512_set1_epi32(int32_t v) { __m512i r; for (int j = 0; j < 16; j++) r.i[j] = v; return r; }
static inline __m512i _mm512_set1_epi8(char v) { __m512i r; memset(&r, (unsigned char)v, sizeof r); return r; }
static inline __m512 _mm512_set1_ps(float v) { __m512 r; for (int j = 0; j < 16; j++) r.f[j] = v; return r; }
static inline __m512i _mm512_loadu_si512(const void *p) { __m512i r; memcpy(&r, p, 64); return r; }
static inline __m512i _mm512_load_si512(const void *p) {
    if ((uintptr_t)p % 64) __builtin_trap();   /* real vmovdqa32 faults on misalignment */
    return _mm512_loadu_si512(p);
}
static inline void _mm512_storeu_si512(void *p, __m512i v) { memcpy(p, &v, 64); }
static inline __m512 _mm512_loadu_ps(const float *p) { __m512 r; memcpy(&r, p, 64); return r; }
static inline void _mm512_storeu_ps(float *p, __m512 v) { memcpy(p, &v, 64); }
static inline __m512i _mm512_xor_si512(__m512i a, __m512i b) { for (int j = 0; j < 16; j++) a.i[j] ^= b.i[j]; return a; }
static inline __m512i _mm512_add_epi32(__m512i a, __m512i b) {
    for (int j = 0; j < 16; j++) a.i[j] = (int32_t)((uint32_t)a.i[j] + (uint32_t)b.i[j]);
    return a;
}
static inline __m512i _mm512_sub_epi32(__m512i a, __m512i b) {
    for (int j = 0; j < 16; j++) a.i[j] = (int32_t)((uint32_t)a.i[j] - (uint32_t)b.i[j]);
    return a;
}
static inline __m512i _mm512_mullo_epi32(__m512i a, __m512i b) {
    for (int j = 0; j < 16; j++) a.i[j] = (int32_t)((uint32_t)a.i[j] * (uint32_t)b.i[j]);
    return a;
}
static inline __m512i _mm512_dpbusd_epi32(__m512i src, __m512i a, __m512i b) {
    const uint8_t *ua = (const uint8_t *)&a; const int8_t *sb = (const int8_t *)&b;
    for (int j = 0; j < 16; j++) {
        int32_t s = 0;
        for (int t = 0; t < 4; t++) s += (int32_t)ua[4 * j + t] * (int32_t)sb[4 * j + t];
        src.i[j] = (int32_t)((uint32_t)src.i[j] + (uint32_t)s);
    }
    return src;
}
static inline int32_t _mm512_reduce_add_epi32(__m512i a) {
    uint32_t s = 0; for (int j = 0; j < 16; j++) s += (uint32_t)a.i[j]; return (int32_t)s; }
static inline __m512 _mm512_cvtepi32_ps(__m512i a) { __m512 r; for (int j = 0; j < 16; j++) r.f[j] = (float)a.i[j]; return r; }
static inline __m512i _mm512_cvtps_epi32(__m512 a) {
    __m512i r;
    for (int j = 0; j < 16; j++) {
        float v = nearbyintf(a.f[j]);
        r.i[j] = (isnan(v) || v >= 2147483648.0f || v < -2147483648.0f) ? INT_MIN : (int32_t)v;
    }
    return r;
}
static inline __m512 _mm512_mul_ps(__m512 a, __m512 b) { for (int j = 0; j < 16; j++) a.f[j] = a.f[j] * b.f[j]; return a; }
static inline __m512 _mm512_add_ps(__m512 a, __m512 b) { for (int j = 0; j < 16; j++) a.f[j] = a.f[j] + b.f[j]; return a; }
static inline __m512 _mm512_div_ps(__m512 a, __m512 b) { for (int j = 0; j < 16; j++) a.f[j] = a.f[j] / b.f[j]; return a; }
/* vmaxps/vminps: if either is NaN (or both zero) the second operand is returned. */
static inline __m512 _mm512_max_ps(__m512 a, __m512 b) { for (int j = 0; j < 16; j++) a.f[j] = a.f[j] > b.f[j] ? a.f[j] : b.f[j]; return a; }
static inline __m512 _mm512_min_ps(__m512 a, __m512 b) { for (int j = 0; j < 16; j++) a.f[j] = a.f[j] < b.f[j] ? a.f[j] : b.f[j]; return a; }
static inline void _mm512_mask_storeu_epi32(void *p, __mmask16 k, __m512i v) {
    for (int j = 0; j < 16; j++) if (k >> j & 1) memcpy((char *)p + 4 * j, &v.i[j], 4); }
static inline void _mm512_mask_storeu_ps(void *p, __mmask16 k, __m512 v) {
    for (int j = 0; j < 16; j++) if (k >> j & 1) memcpy((char *)p + 4 * j, &v.f[j], 4); }
static inline void _mm512_mask_cvtepi32_storeu_epi8(void *p, __mmask16 k, __m512i v) {
    for (int j = 0; j < 16; j++) if (k >> j & 1) ((uint8_t *)p)[j] = (uint8_t)v.i[j]; }
static inline __m512 _mm512_mask_loadu_ps(__m512 src, __mmask16 k, const void *p) {
    for (int j = 0; j < 16; j++) if (k >> j & 1) memcpy(&src.f[j], (const char *)p + 4 * j, 4);
    return src;
}
static inline __m512 _mm512_maskz_loadu_ps(__mmask16 k, const void *p) { return _mm512_mask_loadu_ps(_mm512_set1_ps(0.0f), k, p); }
static inline __m512i _mm512_maskz_loadu_epi32(__mmask16 k, const void *p) {
    __m512i r = _mm512_setzero_si512();
    for (int j = 0; j < 16; j++) if (k >> j & 1) memcpy(&r.i[j], (const char *)p + 4 * j, 4);
    return r;
}
static inline __m128i _mm_maskz_loadu_epi8(__mmask16 k, const void *p) {
    uint8_t b[16] = {0};
    for (int j = 0; j < 16; j++) if (k >> j & 1) b[j] = ((const uint8_t *)p)[j];
    __m128i r; memcpy(&r, b, 16); return r; }
static inline __m512i _mm512_cvtepi8_epi32(__m128i a) {
    int8_t b[16]; memcpy(b, &a, 16); __m512i r; for (int j = 0; j < 16; j++) r.i[j] = b[j]; return r; }
static inline __m512i _mm512_cvtepu8_epi32(__m128i a) {
    uint8_t b[16]; memcpy(b, &a, 16); __m512i r; for (int j = 0; j < 16; j++) r.i[j] = b[j]; return r; }
#endif
