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
    for (; k < K; k++) dst[k] = (uint8_t)(a[k] ^ x);
    for (; k < kpad; k++) dst[k] = 0;
}

static inline __m256i bcast32(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* acc[2*i + h] = row i, columns 8h..8h+7 of A-panel x B-strip over kp pairs of k, for R <= 6 rows.
 * Named variables, not an array, keep GCC from spilling the accumulators; R is a constant after
 * inlining, so the rows past R vanish. */
static inline __attribute__((always_inline)) void kernel_rx16(const int16_t *a, size_t lda, const int16_t *b, int kp,
                                                              __m256i acc[2 * MR], int R) {
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const int16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda,
                  *a5 = a + 5 * lda;
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
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11, acc[4] = c20, acc[5] = c21;
    acc[6] = c30, acc[7] = c31, acc[8] = c40, acc[9] = c41, acc[10] = c50, acc[11] = c51;
}

static void kernel(const int16_t *a, size_t lda, const int16_t *b, int kp, __m256i acc[2 * MR], int rows) {
    switch (rows) {
    case 1: kernel_rx16(a, lda, b, kp, acc, 1); break;
    case 2: kernel_rx16(a, lda, b, kp, acc, 2); break;
    case 3: kernel_rx16(a, lda, b, kp, acc, 3); break;
    case 4: kernel_rx16(a, lda, b, kp, acc, 4); break;
    case 5: kernel_rx16(a, lda, b, kp, acc, 5); break;
    default: kernel_rx16(a, lda, b, kp, acc, 6); break;
    }
}

/* Epilogue of one tile: rows m..m+mv-1, 16 columns from n (nv of them valid). The column vectors are
 * loaded once per tile (byte stores could alias them, so the compiler would reload them per row). */
static void store_tile(const ot_qgemm_run *r, int m, int mv, int n, int nv, const __m256i *acc) {
    const __m256i cc0 = _mm256_loadu_si256((const __m256i *)(r->colcorr + n));
    const __m256i cc1 = _mm256_loadu_si256((const __m256i *)(r->colcorr + n + 8));
    const size_t ldc = (size_t)r->ldc;
    switch (r->type) {
    case OT_QGEMM_OUT_S32: {
        int32_t *c = (int32_t *)r->c + (size_t)m * ldc + n;
        for (int j = 0; j < mv; j++, c += ldc) {
            __m256i v0 = _mm256_add_epi32(acc[2 * j], cc0), v1 = _mm256_add_epi32(acc[2 * j + 1], cc1);
            if (nv == NR) {
                _mm256_storeu_si256((__m256i *)c, v0);
                _mm256_storeu_si256((__m256i *)(c + 8), v1);
            } else {
                int32_t t[NR];
                _mm256_storeu_si256((__m256i *)t, v0);
                _mm256_storeu_si256((__m256i *)(t + 8), v1);
                memcpy(c, t, (size_t)nv * sizeof *t);
            }
        }
        break;
    }
    case OT_QGEMM_OUT_F32: {
        const __m256 s0 = _mm256_loadu_ps(r->scale + n), s1 = _mm256_loadu_ps(r->scale + n + 8);
        const __m256 bf0 = _mm256_loadu_ps(r->biasf + n), bf1 = _mm256_loadu_ps(r->biasf + n + 8);
        float *c = (float *)r->c + (size_t)m * ldc + n;
        for (int j = 0; j < mv; j++, c += ldc) {
            __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[2 * j], cc0)), s0);
            __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[2 * j + 1], cc1)), s1);
            f0 = _mm256_add_ps(f0, bf0);
            f1 = _mm256_add_ps(f1, bf1);
            if (nv == NR) {
                _mm256_storeu_ps(c, f0);
                _mm256_storeu_ps(c + 8, f1);
            } else {
                float t[NR];
                _mm256_storeu_ps(t, f0);
                _mm256_storeu_ps(t + 8, f1);
                memcpy(c, t, (size_t)nv * sizeof *t);
            }
        }
        break;
    }
    case OT_QGEMM_OUT_U8:
    case OT_QGEMM_OUT_S8: {
        const __m256 s0 = _mm256_loadu_ps(r->scale + n), s1 = _mm256_loadu_ps(r->scale + n + 8);
        const __m256 lo = _mm256_set1_ps(r->lo_f), hi = _mm256_set1_ps(r->hi_f);
        const __m256i zp = _mm256_set1_epi32(r->zp);
        const bool u8 = r->type == OT_QGEMM_OUT_U8;
        uint8_t *c = (uint8_t *)r->c + (size_t)m * ldc + n;
        for (int j = 0; j < mv; j++, c += ldc) {
            __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[2 * j], cc0)), s0);
            __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[2 * j + 1], cc1)), s1);
            f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
            f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
            __m256i i0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zp);
            __m256i i1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zp);
            /* Values are already within the output type: the packs only narrow. */
            __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
            __m128i wl = _mm256_castsi256_si128(w), wh = _mm256_extracti128_si256(w, 1);
            __m128i bytes = u8 ? _mm_packus_epi16(wl, wh) : _mm_packs_epi16(wl, wh);
            if (nv == NR) {
                _mm_storeu_si128((__m128i *)c, bytes);
            } else {
                uint8_t t[NR];
                _mm_storeu_si128((__m128i *)t, bytes);
                memcpy(c, t, (size_t)nv);
            }
        }
        break;
    }
    }
}

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    int16_t *apk = scratch;
    int kpad = p->kpad, kp = kpad / 2, rows = m1 - m0;
    for (int i = 0; i < rows; i++)
        pack_a_row(apk + (size_t)i * kpad, r->a + (size_t)(m0 + i) * (size_t)r->lda, p->K, kpad, r->a_xor);

    const int16_t *bdata = p->data;
    for (int n = n0; n < n1; n += NR) {
        const int16_t *bs = bdata + (size_t)(n / NR) * (size_t)kp * 2 * NR;
        int nv = n1 - n < NR ? n1 - n : NR;
        for (int i = 0; i < rows; i += MR) {
            __m256i acc[2 * MR];
            int mv = rows - i < MR ? rows - i : MR;
            kernel(apk + (size_t)i * kpad, (size_t)kpad, bs, kp, acc, mv);
            store_tile(r, m0 + i, mv, n, nv, acc);
        }
    }
}

const ot_qgemm_isa ot_qgemm_isa_avx2 = {
    .mr = MR, .nr = NR, .kstep = 2, .bk_kind = OT_QGEMM_BK_ZB,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};
