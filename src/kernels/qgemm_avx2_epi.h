/* The AVX2 qgemm epilogue: what one row of a 16-column register tile writes to C, per output type.
 * Shared by the int16 (vpmaddwd) and u8 x s7 (vpmaddubsw) kernels of qgemm_avx2.c; include only from
 * files built with AVX2 enabled. */
#ifndef OT_QGEMM_AVX2_EPI_H
#define OT_QGEMM_AVX2_EPI_H

#include <immintrin.h>

#include "kernels/qgemm_internal.h"

#define OT_QGEMM_AVX2_NR 16

/* Epilogue kinds (what is written to C), and their per-call constants. */
typedef enum { E_S32, E_F32, E_U8, E_U8_FULL, E_S8, E_S8_FULL, E_Q_FLOAT } ekind;
/* E_U8, E_S8 (and _FULL: the clamp is the type's range, nothing to do): the integer clamp below. */

typedef struct epi_c {
    bool u8;                     /* uint8 output */
    __m256i zp16;                /* E_U8, E_S8: zero point, int16 */
    __m128i blo, bhi;            /* E_U8, E_S8: lo, hi as bytes */
    __m256 lo, hi;               /* E_Q_FLOAT: lo - zp, hi - zp */
    __m256i zp32;                /* E_Q_FLOAT: zero point, int32 */
} epi_c;

/* The first n (< 16) bytes of v to c, widest pieces first. */
static inline __attribute__((always_inline)) void store_bytes(uint8_t *c, __m128i v, int n) {
    if (n & 8) {
        _mm_storel_epi64((__m128i *)c, v);
        v = _mm_srli_si128(v, 8);
        c += 8;
    }
    uint32_t w = (uint32_t)_mm_cvtsi128_si32(v);
    if (n & 4) {
        memcpy(c, &w, 4);
        w = (uint32_t)_mm_extract_epi32(v, 1);
        c += 4;
    }
    if (n & 2) {
        uint16_t h = (uint16_t)w;
        memcpy(c, &h, 2);
        w >>= 16;
        c += 2;
    }
    if (n & 1) *c = (uint8_t)w;
}

/* The first n (< 16) dwords of (v0, v1) to c. */
static inline __attribute__((always_inline)) void store_dwords(void *c, __m256i v0, __m256i v1, int n) {
    char *p = c;
    if (n & 8) {
        _mm256_storeu_si256((__m256i *)p, v0);
        v0 = v1;
        p += 32;
    }
    __m128i x = _mm256_castsi256_si128(v0);
    if (n & 4) {
        _mm_storeu_si128((__m128i *)p, x);
        x = _mm256_extracti128_si256(v0, 1);
        p += 16;
    }
    if (n & 2) {
        _mm_storel_epi64((__m128i *)p, x);
        x = _mm_srli_si128(x, 8);
        p += 8;
    }
    if (n & 1) {
        int32_t w = _mm_cvtsi128_si32(x);
        memcpy(p, &w, 4);
    }
}

/* One row of a tile: 16 accumulators (columns 0-7 in a0, 8-15 in a1; the column correction is already
 * in) to C, nv of them (16 when full is a constant true). 8-bit outputs, E_U8/E_S8: when every multiplier
 * is finite with |scale| < 0.99 (r->int_clamp), |acc * scale| < 2^31, so the float product converts
 * exactly and clamping after rounding equals clamping before (the bounds are integers, rounding is
 * monotonic): the clamp runs on the packed integers (saturating packs and adds, byte min/max), 4
 * instructions fewer than in float. E_Q_FLOAT: the float clamp of requant.h (which also maps +-inf and
 * NaN). */
static inline __attribute__((always_inline)) void row_out(ekind k, const epi_c *e, __m256i a0, __m256i a1, __m256 s0,
                                                          __m256 s1, __m256 b0, __m256 b1, void *dst, int nv,
                                                          bool full) {
    switch (k) {
    case E_S32:
        if (full || nv == OT_QGEMM_AVX2_NR) {
            _mm256_storeu_si256((__m256i *)dst, a0);
            _mm256_storeu_si256((__m256i *)dst + 1, a1);
        } else {
            store_dwords(dst, a0, a1, nv);
        }
        break;
    case E_F32: {
        __m256 f0 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0), b0);
        __m256 f1 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1), b1);
        if (full || nv == OT_QGEMM_AVX2_NR) {
            _mm256_storeu_ps((float *)dst, f0);
            _mm256_storeu_ps((float *)dst + 8, f1);
        } else {
            store_dwords(dst, _mm256_castps_si256(f0), _mm256_castps_si256(f1), nv);
        }
        break;
    }
    case E_U8:
    case E_U8_FULL:
    case E_S8:
    case E_S8_FULL: {
        const bool u8 = k == E_U8 || k == E_U8_FULL;
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1));
        __m256i w = _mm256_adds_epi16(_mm256_packs_epi32(i0, i1), e->zp16);   /* saturating: monotonic */
        __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
        /* lanes: wl = columns 0-3, 8-11; wh = 4-7, 12-15; the dword shuffle puts the bytes in order */
        __m128i bytes = u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh);
        bytes = _mm_shuffle_epi32(bytes, 0xD8);
        if (k == E_U8) bytes = _mm_min_epu8(_mm_max_epu8(bytes, e->blo), e->bhi);
        if (k == E_S8) bytes = _mm_min_epi8(_mm_max_epi8(bytes, e->blo), e->bhi);
        if (full || nv == OT_QGEMM_AVX2_NR) _mm_storeu_si128((__m128i *)dst, bytes);
        else store_bytes(dst, bytes, nv);
        break;
    }
    case E_Q_FLOAT: {
        __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0);
        __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1);
        f0 = _mm256_min_ps(_mm256_max_ps(f0, e->lo), e->hi);
        f1 = _mm256_min_ps(_mm256_max_ps(f1, e->lo), e->hi);
        __m256i i0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), e->zp32);
        __m256i i1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), e->zp32);
        /* Values are already within the output type: the packs only narrow. */
        __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
        __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
        __m128i bytes = e->u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh);
        if (full || nv == OT_QGEMM_AVX2_NR) _mm_storeu_si128((__m128i *)dst, bytes);
        else store_bytes(dst, bytes, nv);
        break;
    }
    }
}

#endif
