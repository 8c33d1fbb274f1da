/* qgemm, AVX2 variant. vpmaddubsw would saturate u8*s8 pair sums at int16, so both operands are
 * widened to int16 and multiplied with vpmaddwd, which is exact (|a| <= 255, |b - zb| <= 255).
 *
 *   packed B: strips of 16 columns; per pair of k, 32 int16 = two ymm: columns 0-7 then 8-15,
 *             each 32-bit lane holding (Bk[2p][n], Bk[2p+1][n]).
 *   packed A: the block's rows widened to int16 (XOR 0x80 first for int8 A), K padded to even.
 *   micro-kernel: 6 rows x 16 columns = 12 ymm accumulators; per k pair one dword broadcast of A
 *             per row and two vpmaddwd + vpaddd (fewer rows at the bottom edge: no wasted work). */
#include <immintrin.h>

#include "kernels/qgemm_internal.h"

#define MR 6
#define NR 16

static size_t b_size(int kpad, int npad) { return (size_t)kpad * (size_t)npad * sizeof(int16_t); }

static void pack_b(void *dst, const int16_t *bk, int K, int N, int kpad, int npad) {
    int16_t *d = dst;
    int kp = kpad / 2;
    for (int s = 0; s < npad / NR; s++)
        for (int p = 0; p < kp; p++)
            for (int j = 0; j < NR; j++) {
                int n = s * NR + j, k = 2 * p;
                int16_t *o = d + ((size_t)s * kp + p) * 2 * NR + (size_t)(j / 8) * 16 + (size_t)(j % 8) * 2;
                o[0] = (n < N && k < K) ? bk[(size_t)k * N + n] : 0;
                o[1] = (n < N && k + 1 < K) ? bk[(size_t)(k + 1) * N + n] : 0;
            }
}

static size_t scratch_size(int mb, int kpad, int npad) {
    int rows = (mb + MR - 1) / MR * MR;
    return (size_t)rows * (size_t)kpad * sizeof(int16_t);
}

static void pack_a_row(int16_t *dst, const uint8_t *a, int K, int kpad, uint8_t x) {
    const __m128i vx = _mm_set1_epi8((char)x);
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + k)), vx);
        _mm256_storeu_si256((__m256i *)(dst + k), _mm256_cvtepu8_epi16(v));
    }
    if (k + 8 <= K) {
        __m128i v = _mm_xor_si128(_mm_loadl_epi64((const __m128i *)(a + k)), vx);
        _mm_storeu_si128((__m128i *)(dst + k), _mm_cvtepu8_epi16(v));
        k += 8;
    }
    for (; k < K; k++) dst[k] = (uint8_t)(a[k] ^ x);
    for (; k < kpad; k++) dst[k] = 0;
}

static inline __m256i bcast32(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* Epilogue kinds (what is written to C), and their per-call constants. */
typedef enum { E_S32, E_F32, E_Q_INT, E_Q_INT_FULL, E_Q_FLOAT } ekind;   /* _FULL: no byte clamp */

typedef struct epi_c {
    bool u8;                     /* uint8 output */
    __m256i zp16;                /* E_Q_INT: zero point, int16 */
    __m128i blo, bhi;            /* E_Q_INT: lo, hi as bytes */
    __m256 lo, hi;               /* E_Q_FLOAT: lo - zp, hi - zp */
    __m256i zp32;                /* E_Q_FLOAT: zero point, int32 */
} epi_c;

static inline __attribute__((always_inline)) void store16(uint8_t *c, __m128i v, int nv) {
    if (nv == NR) {
        _mm_storeu_si128((__m128i *)c, v);
    } else {
        uint8_t t[NR];
        _mm_storeu_si128((__m128i *)t, v);
        memcpy(c, t, (size_t)nv);
    }
}

/* One row of a tile: 16 accumulators (columns 0-7 in a0, 8-15 in a1; the column correction is already
 * in) to C. 8-bit outputs, E_Q_INT: when every multiplier is finite with |scale| < 0.99
 * (r->int_clamp), |acc * scale| < 2^31, so the float product converts exactly and clamping after
 * rounding equals clamping before (the bounds are integers, rounding is monotonic): the clamp runs on
 * the packed integers (saturating packs and adds, byte min/max), 4 instructions fewer than in float.
 * E_Q_FLOAT: the float clamp of requant.h (which also maps +-inf and NaN). */
static inline __attribute__((always_inline)) void row_out(ekind k, const epi_c *e, __m256i a0, __m256i a1, __m256 s0,
                                                          __m256 s1, __m256 b0, __m256 b1, void *dst, int nv) {
    switch (k) {
    case E_S32: {
        int32_t *c = dst;
        if (nv == NR) {
            _mm256_storeu_si256((__m256i *)c, a0);
            _mm256_storeu_si256((__m256i *)(c + 8), a1);
        } else {
            int32_t t[NR];
            _mm256_storeu_si256((__m256i *)t, a0);
            _mm256_storeu_si256((__m256i *)(t + 8), a1);
            memcpy(c, t, (size_t)nv * sizeof *t);
        }
        break;
    }
    case E_F32: {
        float *c = dst;
        __m256 f0 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0), b0);
        __m256 f1 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1), b1);
        if (nv == NR) {
            _mm256_storeu_ps(c, f0);
            _mm256_storeu_ps(c + 8, f1);
        } else {
            float t[NR];
            _mm256_storeu_ps(t, f0);
            _mm256_storeu_ps(t + 8, f1);
            memcpy(c, t, (size_t)nv * sizeof *t);
        }
        break;
    }
    case E_Q_INT:
    case E_Q_INT_FULL: {
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1));
        __m256i w = _mm256_adds_epi16(_mm256_packs_epi32(i0, i1), e->zp16);   /* saturating: monotonic */
        __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
        /* lanes: wl = columns 0-3, 8-11; wh = 4-7, 12-15; the dword shuffle puts the bytes in order */
        __m128i bytes = e->u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh);
        bytes = _mm_shuffle_epi32(bytes, 0xD8);
        if (k == E_Q_INT)
            bytes = e->u8 ? _mm_min_epu8(_mm_max_epu8(bytes, e->blo), e->bhi)
                          : _mm_min_epi8(_mm_max_epi8(bytes, e->blo), e->bhi);
        store16(dst, bytes, nv);
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
        store16(dst, e->u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh), nv);
        break;
    }
    }
}

/* One tile: R <= 6 rows (R and k are constants after inlining) x 16 columns from n, over kp pairs of k,
 * accumulators from the column correction, then each row straight to C from registers. Named
 * variables, not an array, keep GCC from spilling the accumulators. */
static inline __attribute__((always_inline)) void tile(const ot_qgemm_run *r, const epi_c *e, const int16_t *a,
                                                       size_t lda, const int16_t *b, int kp, int m, int n, int nv,
                                                       int R, ekind k, bool nfull, bool half) {
    const int32_t *cc = r->colcorr + n;
    __m256i c00 = _mm256_loadu_si256((const __m256i *)cc), c01 = _mm256_loadu_si256((const __m256i *)(cc + 8));
    __m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01, c40 = c00, c41 = c01, c50 = c00,
            c51 = c01;
    const int16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda,
                  *a5 = a + 5 * lda;
    if (half) {   /* at most 8 valid columns (the last strip of N = 8, 24, 40, ...): the left half only */
        for (int p = 0; p < kp; p++) {
            __m256i b0 = _mm256_load_si256((const __m256i *)(b + 32 * (size_t)p));
            __m256i x;
#define ROW(i)                                                         \
    if (R > i) {                                                       \
        x = bcast32(a##i + 2 * (size_t)p);                             \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(x, b0)); \
    }
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    } else {
        for (int p = 0; p < kp; p++) {
            __m256i b0 = _mm256_load_si256((const __m256i *)(b + 32 * (size_t)p));
            __m256i b1 = _mm256_load_si256((const __m256i *)(b + 32 * (size_t)p + 16));
            __m256i x;
#define ROW(i)                                                         \
    if (R > i) {                                                       \
        x = bcast32(a##i + 2 * (size_t)p);                             \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(x, b0)); \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(x, b1)); \
    }
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    }
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, bf0 = s0, bf1 = s0;
    if (k != E_S32) {
        s0 = _mm256_loadu_ps(r->scale + n);
        s1 = _mm256_loadu_ps(r->scale + n + 8);
    }
    if (k == E_F32) {
        bf0 = _mm256_loadu_ps(r->biasf + n);
        bf1 = _mm256_loadu_ps(r->biasf + n + 8);
    }
    const size_t esz = (k == E_S32 || k == E_F32) ? 4 : 1, ldc = (size_t)r->ldc * esz;
    char *c = (char *)r->c + ((size_t)m * (size_t)r->ldc + (size_t)n) * esz;
    if (nfull) nv = NR;   /* (a constant after inlining: the full-width stores) */
#define OUT(i) \
    if (R > i) row_out(k, e, c##i##0, c##i##1, s0, s1, bf0, bf1, c + (size_t)i * ldc, nv);
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
#undef OUT
}

/* Full tiles (6 rows, 16 columns) get their own instance; the edges share one per row count. */
static inline __attribute__((always_inline)) void tile_k(const ot_qgemm_run *r, const epi_c *e, const int16_t *a,
                                                         size_t lda, const int16_t *b, int kp, int m, int n, int nv,
                                                         int R, ekind k) {
    if (R == MR && nv == NR) {
        tile(r, e, a, lda, b, kp, m, n, nv, MR, k, true, false);
        return;
    }
    if (R == MR && nv <= 8) {
        tile(r, e, a, lda, b, kp, m, n, nv, MR, k, false, true);
        return;
    }
    switch (R) {
    case 1: tile(r, e, a, lda, b, kp, m, n, nv, 1, k, false, false); break;
    case 2: tile(r, e, a, lda, b, kp, m, n, nv, 2, k, false, false); break;
    case 3: tile(r, e, a, lda, b, kp, m, n, nv, 3, k, false, false); break;
    case 4: tile(r, e, a, lda, b, kp, m, n, nv, 4, k, false, false); break;
    case 5: tile(r, e, a, lda, b, kp, m, n, nv, 5, k, false, false); break;
    default: tile(r, e, a, lda, b, kp, m, n, nv, 6, k, false, false); break;
    }
}

/* The block's tiles for one epilogue kind. */
static inline __attribute__((always_inline)) void tiles(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                        const epi_c *e, const int16_t *apk, int m0, int rows, int n0,
                                                        int n1, ekind k) {
    const int kpad = p->kpad, kp = kpad / 2;
    const int16_t *bdata = p->data;
    for (int n = n0; n < n1; n += NR) {
        const int16_t *bs = bdata + (size_t)(n / NR) * (size_t)kp * 2 * NR;
        int nv = n1 - n < NR ? n1 - n : NR;
        for (int i = 0; i < rows; i += MR)
            tile_k(r, e, apk + (size_t)i * kpad, (size_t)kpad, bs, kp, m0 + i, n, nv, rows - i < MR ? rows - i : MR, k);
    }
}

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    int16_t *apk = scratch;
    int kpad = p->kpad, rows = m1 - m0;
    for (int i = 0; i < rows; i++)
        pack_a_row(apk + (size_t)i * kpad, r->a + (size_t)(m0 + i) * (size_t)r->lda, p->K, kpad, r->a_xor);
    epi_c e;
    memset(&e, 0, sizeof e);
    switch (r->type) {
    case OT_QGEMM_OUT_S32: tiles(p, r, &e, apk, m0, rows, n0, n1, E_S32); break;
    case OT_QGEMM_OUT_F32: tiles(p, r, &e, apk, m0, rows, n0, n1, E_F32); break;
    case OT_QGEMM_OUT_U8:
    case OT_QGEMM_OUT_S8: {
        e.u8 = r->type == OT_QGEMM_OUT_U8;
        int lo = r->zp + (int32_t)r->lo_f, hi = r->zp + (int32_t)r->hi_f;
        bool full = e.u8 ? (lo == 0 && hi == 255) : (lo == -128 && hi == 127);
        e.zp16 = _mm256_set1_epi16((short)r->zp);
        e.blo = _mm_set1_epi8((char)lo);
        e.bhi = _mm_set1_epi8((char)hi);
        e.lo = _mm256_set1_ps(r->lo_f);
        e.hi = _mm256_set1_ps(r->hi_f);
        e.zp32 = _mm256_set1_epi32(r->zp);
        if (r->int_clamp && full)
            tiles(p, r, &e, apk, m0, rows, n0, n1, E_Q_INT_FULL);
        else if (r->int_clamp)
            tiles(p, r, &e, apk, m0, rows, n0, n1, E_Q_INT);
        else
            tiles(p, r, &e, apk, m0, rows, n0, n1, E_Q_FLOAT);
        break;
    }
    }
}

const ot_qgemm_isa ot_qgemm_isa_avx2 = {
    .mr = MR, .nr = NR, .kstep = 2, .bk_kind = OT_QGEMM_BK_ZB,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};
