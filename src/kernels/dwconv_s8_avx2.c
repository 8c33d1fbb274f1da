/* Depthwise int8 convolution, AVX2. Channels are vectorized 16 at a time; two taps are interleaved
 * (vpunpck{l,h}wd) so one vpmaddwd multiplies x and w of both taps and adds them into int32, exactly.
 * The unpack works within 128-bit lanes, so the two accumulators hold channels {0-3, 8-11} and
 * {4-7, 12-15}; weights, bias and scales are packed in that order and vpackssdw puts the channels
 * back in order at the end.
 *
 * Packed block of 16 channels: per tap pair 2 x 16 int16 (lo, hi), then corr lo, corr hi (int32),
 * scale lo, scale hi (float). A missing last tap of an odd count has zero weights. */
#include <immintrin.h>

#include "kernels/dwconv_s8.h"
#include "kernels/requant.h"

#include <string.h>

#define CB 16

static int pairs_of(int T) { return (T + 1) / 2; }
static size_t block_bytes(int T) { return (size_t)pairs_of(T) * 64 + 128; }
static size_t w_size(int C, int T) { return (size_t)((C + CB - 1) / CB) * block_bytes(T); }

/* Position of channel c (0..15) in the lo/hi accumulator pair: lo holds 0-3, 8-11; hi holds 4-7, 12-15. */
static int slot_of(int c) { return ((c >> 2) & 1) * 8 + (c >> 3) * 4 + (c & 3); }

static void pack(void *dst, const int16_t *wz, const int32_t *corr, const float *scale, int C, int T) {
    int nb = (C + CB - 1) / CB, tp = pairs_of(T);
    for (int b = 0; b < nb; b++) {
        char *blk = (char *)dst + (size_t)b * block_bytes(T);
        int16_t *w = (int16_t *)blk;
        int32_t *cr = (int32_t *)(blk + (size_t)tp * 64);
        float *sc = (float *)(cr + 16);
        for (int cc = 0; cc < CB; cc++) {
            int c = b * CB + cc, s = slot_of(cc);
            bool in = c < C;
            for (int p = 0; p < tp; p++) {
                int t0 = 2 * p, t1 = 2 * p + 1;
                /* slot s: half s/8 (lo or hi ymm), 32-bit lane s%8 holds (tap t0, tap t1) */
                int16_t *o = w + (size_t)p * 32 + (size_t)(s / 8) * 16 + (size_t)(s % 8) * 2;
                o[0] = in ? wz[(size_t)t0 * C + c] : 0;
                o[1] = (in && t1 < T) ? wz[(size_t)t1 * C + c] : 0;
            }
            cr[s] = in ? corr[c] : 0;
            sc[s] = in ? scale[c] : 0.0f;
        }
    }
}

/* 16 input bytes widened to int16; signed input (xs) is XORed with 0x80 first. */
static inline __attribute__((always_inline)) __m256i load16(const uint8_t *p, __m128i vx, bool xs) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    return _mm256_cvtepu8_epi16(xs ? _mm_xor_si128(v, vx) : v);
}

/* Epilogue knobs, constant per packed weights. */
typedef struct epi {
    __m256 lo, hi;        /* float clamp (lo - zy, hi - zy) */
    __m256i vz;           /* zy, int32 */
    __m256i vz16;         /* zy, int16 (integer clamp path) */
    __m128i blo, bhi;     /* lo, hi as bytes (integer clamp path) */
    bool full;            /* lo, hi are the type's range */
} epi;

/* 16 channels of one output pixel; src[t] points at the 16 input bytes of tap t.
 * ic: the integer clamp (p->int_clamp; see qgemm_avx2.c's store_tile for why it is exact). */
static inline __attribute__((always_inline)) __m128i block16(const uint8_t *const *src, ptrdiff_t coff, int T,
                                                             const char *blk, __m128i vx, const epi *e, bool y_signed,
                                                             bool xs, bool ic) {
    const __m256i *w = (const __m256i *)blk;
    int tp = pairs_of(T);
    const int32_t *cr = (const int32_t *)(blk + (size_t)tp * 64);
    __m256i acc0 = _mm256_load_si256((const __m256i *)cr), acc1 = _mm256_load_si256((const __m256i *)(cr + 8));
    int t = 0;
    for (; t + 1 < T; t += 2) {
        __m256i x0 = load16(src[t] + coff, vx, xs), x1 = load16(src[t + 1] + coff, vx, xs);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_load_si256(w + t)));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_load_si256(w + t + 1)));
    }
    if (t < T) {
        __m256i x0 = load16(src[t] + coff, vx, xs), z = _mm256_setzero_si256();
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, z), _mm256_load_si256(w + t)));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, z), _mm256_load_si256(w + t + 1)));
    }
    const float *sc = (const float *)(cr + 16);
    __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc0), _mm256_load_ps(sc));
    __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc1), _mm256_load_ps(sc + 8));
    if (ic) {
        /* round, then saturate: int16 packs, + zy (saturating), byte packs, byte clamp to [lo, hi] */
        __m256i w16 = _mm256_adds_epi16(_mm256_packs_epi32(_mm256_cvtps_epi32(f0), _mm256_cvtps_epi32(f1)), e->vz16);
        __m128i a = _mm256_castsi256_si128(w16), b = _mm256_extracti128_si256(w16, 1);
        __m128i r = y_signed ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
        if (!e->full) r = y_signed ? _mm_min_epi8(_mm_max_epi8(r, e->blo), e->bhi) : _mm_min_epu8(_mm_max_epu8(r, e->blo), e->bhi);
        return r;
    }
    f0 = _mm256_min_ps(_mm256_max_ps(f0, e->lo), e->hi);
    f1 = _mm256_min_ps(_mm256_max_ps(f1, e->lo), e->hi);
    __m256i i0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), e->vz), i1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), e->vz);
    __m256i w16 = _mm256_packs_epi32(i0, i1);   /* channels 0..15 in order, int16 */
    __m128i a = _mm256_castsi256_si128(w16), b = _mm256_extracti128_si256(w16, 1);
    return y_signed ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
}

static inline __attribute__((always_inline)) void pixels_t(const ot_dwconv_packed *p, const uint8_t *const *ptrs,
                                                           int npix, uint8_t *y, int T, bool xs, bool ic) {
    int C = p->C, nfull = C / CB;
    const __m128i vx = _mm_set1_epi8((char)p->x_xor);
    epi e;
    e.lo = _mm256_set1_ps(p->lo_f);
    e.hi = _mm256_set1_ps(p->hi_f);
    e.vz = _mm256_set1_epi32(p->zy);
    e.vz16 = _mm256_set1_epi16((short)p->zy);
    int lo = p->zy + (int)p->lo_f, hi = p->zy + (int)p->hi_f;
    e.blo = _mm_set1_epi8((char)lo);
    e.bhi = _mm_set1_epi8((char)hi);
    e.full = p->y_signed ? (lo == -128 && hi == 127) : (lo == 0 && hi == 255);
    size_t bb = block_bytes(T);
    for (int i = 0; i < npix; i++, y += C) {
        const uint8_t *const *src = ptrs + (size_t)i * T;
        for (int b = 0; b < nfull; b++) {
            __m128i r = block16(src, (ptrdiff_t)b * CB, T, (const char *)p->w + (size_t)b * bb, vx, &e, p->y_signed,
                                xs, ic);
            _mm_storeu_si128((__m128i *)(y + (size_t)b * CB), r);
        }
        int rest = C - nfull * CB;
        if (rest) {
            /* Copy the last channels of each tap so no load runs past the input. */
            uint8_t buf[64 * CB];
            const uint8_t *tsrc[64];
            const char *blk = (const char *)p->w + (size_t)nfull * bb;
            uint8_t out[CB];
            if (T <= 64) {
                memset(buf, 0, (size_t)T * CB);
                for (int t = 0; t < T; t++) {
                    memcpy(buf + t * CB, src[t] + nfull * CB, (size_t)rest);
                    tsrc[t] = buf + t * CB;
                }
                _mm_storeu_si128((__m128i *)out, block16(tsrc, 0, T, blk, vx, &e, p->y_signed, xs, ic));
            } else {
                /* Large kernels: generic scalar tail (same arithmetic, same packed weights). */
                int tp = pairs_of(T);
                const int16_t *w = (const int16_t *)blk;
                const int32_t *cr = (const int32_t *)(blk + (size_t)tp * 64);
                const float *sc = (const float *)(cr + 16);
                for (int cc = 0; cc < rest; cc++) {
                    int s = slot_of(cc);
                    uint32_t acc = (uint32_t)cr[s];
                    for (int t = 0; t < T; t++) {
                        int16_t wv = w[(size_t)(t / 2) * 32 + (size_t)(s / 8) * 16 + (size_t)(s % 8) * 2 + (t & 1)];
                        acc += (uint32_t)(uint8_t)(src[t][nfull * CB + cc] ^ p->x_xor) * (uint32_t)(int32_t)wv;
                    }
                    out[cc] = (uint8_t)ot_requant1((int32_t)acc, sc[s], p->lo_f, p->hi_f, p->zy);
                }
            }
            memcpy(y + nfull * CB, out, (size_t)rest);
        }
    }
}

/* One instance per input signedness and epilogue. */
static inline __attribute__((always_inline)) void pixels_k(const ot_dwconv_packed *p, const uint8_t *const *ptrs,
                                                           int npix, uint8_t *y, int T) {
    bool xs = p->x_xor != 0;
    if (xs && p->int_clamp) pixels_t(p, ptrs, npix, y, T, true, true);
    else if (xs) pixels_t(p, ptrs, npix, y, T, true, false);
    else if (p->int_clamp) pixels_t(p, ptrs, npix, y, T, false, true);
    else pixels_t(p, ptrs, npix, y, T, false, false);
}

static void pixels(const ot_dwconv_packed *p, const uint8_t *const *ptrs, int npix, uint8_t *y) {
    switch (p->T) {
    case 9: pixels_k(p, ptrs, npix, y, 9); break;      /* 3x3 */
    case 25: pixels_k(p, ptrs, npix, y, 25); break;    /* 5x5 */
    default: pixels_k(p, ptrs, npix, y, p->T); break;
    }
}

const ot_dwconv_isa ot_dwconv_avx2 = {.w_size = w_size, .pack = pack, .pixels = pixels};
