/* qgemm, AVX-512 VNNI variant: vpdpbusd multiplies 4 u8 x s8 pairs and adds them into an int32
 * lane without saturation (that would be vpdpbusds), so it is exact.
 *
 *   packed B: strips of 32 columns; per 4 consecutive k, 128 bytes = two zmm: columns 0-15 then 16-31,
 *             each 32-bit lane holding Bk[4q..4q+3][n] (int8; uint8 B is stored as B - 128).
 *   packed A: the block's rows as uint8 (XOR 0x80 for int8 A), K padded to a multiple of 4 with
 *             zeros, and each row's sum (needed only when B has a zero point the kernel can't absorb).
 *   micro-kernel: 8 rows x 32 columns = 16 zmm accumulators; per 4 k one dword broadcast of A per row
 *             and two vpdpbusd (fewer rows at the bottom edge). */
#ifdef OT_AVX512_EMULATE
#include "avx512_emu.h"     /* scalar stand-ins to check this file's logic on machines without AVX-512 */
#else
#include <immintrin.h>
#endif

#include "kernels/qgemm_internal.h"

#define MR 8
#define NR 32

static size_t b_size(int kpad, int npad) { return (size_t)kpad * (size_t)npad; }

static void pack_b(void *dst, const int16_t *bk, int K, int N, int kpad, int npad) {
    ot_qgemm_pack_b_quads(dst, bk, K, N, kpad, npad, NR);
}

static size_t scratch_size(int mb, int kpad, int npad) {
    size_t rows = (size_t)(mb + MR - 1) / MR * MR;
    return rows * (size_t)kpad + rows * sizeof(int32_t) + 64;
}

static int32_t pack_a_row(uint8_t *dst, const uint8_t *a, int K, int kpad, uint8_t x) {
    const __m512i vx = _mm512_set1_epi8((char)x), ones = _mm512_set1_epi8(1);
    __m512i sum = _mm512_setzero_si512();
    int k = 0;
    for (; k + 64 <= K; k += 64) {
        __m512i v = _mm512_xor_si512(_mm512_loadu_si512((const void *)(a + k)), vx);
        _mm512_storeu_si512((void *)(dst + k), v);
        sum = _mm512_dpbusd_epi32(sum, v, ones);
    }
    int32_t s = _mm512_reduce_add_epi32(sum);
    for (; k < K; k++) {
        dst[k] = (uint8_t)(a[k] ^ x);
        s += dst[k];
    }
    for (; k < kpad; k++) dst[k] = 0;
    return s;
}

static inline __m512i bcast32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* R <= 8 rows x 32 columns; R is a constant after inlining, so rows past R cost nothing. Named
 * accumulators (not an array) stay in registers. */
static inline __attribute__((always_inline)) void kernel_rx32(const uint8_t *a, size_t lda, const int8_t *b, int kq,
                                                              __m512i acc[2 * MR], int R) {
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const uint8_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda,
                  *a5 = a + 5 * lda, *a6 = a + 6 * lda, *a7 = a + 7 * lda;
    for (int q = 0; q < kq; q++) {
        __m512i b0 = _mm512_load_si512((const void *)(b + 128 * (size_t)q));
        __m512i b1 = _mm512_load_si512((const void *)(b + 128 * (size_t)q + 64));
        __m512i x;
#define ROW(i)                                         \
    if (R > i) {                                       \
        x = bcast32(a##i + 4 * (size_t)q);             \
        c##i##0 = _mm512_dpbusd_epi32(c##i##0, x, b0); \
        c##i##1 = _mm512_dpbusd_epi32(c##i##1, x, b1); \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11, acc[4] = c20, acc[5] = c21, acc[6] = c30;
    acc[7] = c31, acc[8] = c40, acc[9] = c41, acc[10] = c50, acc[11] = c51, acc[12] = c60, acc[13] = c61;
    acc[14] = c70, acc[15] = c71;
}

static void kernel(const uint8_t *a, size_t lda, const int8_t *b, int kq, __m512i acc[2 * MR], int rows) {
    switch (rows) {
    case 1: kernel_rx32(a, lda, b, kq, acc, 1); break;
    case 2: kernel_rx32(a, lda, b, kq, acc, 2); break;
    case 3: kernel_rx32(a, lda, b, kq, acc, 3); break;
    case 4: kernel_rx32(a, lda, b, kq, acc, 4); break;
    case 5: kernel_rx32(a, lda, b, kq, acc, 5); break;
    case 6: kernel_rx32(a, lda, b, kq, acc, 6); break;
    case 7: kernel_rx32(a, lda, b, kq, acc, 7); break;
    default: kernel_rx32(a, lda, b, kq, acc, 8); break;
    }
}

/* Epilogue for 16 columns starting at column n of row m; mask selects the valid ones. */
static inline void store16(const ot_qgemm_run *r, int m, int n, __mmask16 mask, __m512i v, int32_t rowsum) {
    v = _mm512_add_epi32(v, _mm512_loadu_si512((const void *)(r->colcorr + n)));
    if (r->zbk)
        v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(r->zbk + n)),
                                                   _mm512_set1_epi32(rowsum)));
    size_t off = (size_t)m * (size_t)r->ldc + (size_t)n;
    switch (r->type) {
    case OT_QGEMM_OUT_S32: _mm512_mask_storeu_epi32((int32_t *)r->c + off, mask, v); break;
    case OT_QGEMM_OUT_F32: {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_loadu_ps(r->scale + n));
        f = _mm512_add_ps(f, _mm512_loadu_ps(r->biasf + n));
        _mm512_mask_storeu_ps((float *)r->c + off, mask, f);
        break;
    }
    case OT_QGEMM_OUT_U8:
    case OT_QGEMM_OUT_S8: {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_loadu_ps(r->scale + n));
        f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(r->lo_f)), _mm512_set1_ps(r->hi_f));
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(r->zp));
        /* q is within the output type: truncating to the low byte is exact for u8 and s8. */
        _mm512_mask_cvtepi32_storeu_epi8((uint8_t *)r->c + off, mask, q);
        break;
    }
    }
}

static __mmask16 mask_of(int nv) { return nv >= 16 ? (__mmask16)0xFFFF : nv <= 0 ? 0 : (__mmask16)((1u << nv) - 1); }

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    int kpad = p->kpad, kq = kpad / 4, rows = m1 - m0, rpad = (rows + MR - 1) / MR * MR;   /* rowsums after rpad rows */
    uint8_t *apk = scratch;
    int32_t *rowsum = (int32_t *)(apk + (size_t)rpad * kpad);
    for (int i = 0; i < rows; i++)
        rowsum[i] = pack_a_row(apk + (size_t)i * kpad, r->a + (size_t)(m0 + i) * (size_t)r->lda, p->K, kpad,
                               r->a_xor);

    const int8_t *bdata = p->data;
    for (int n = n0; n < n1; n += NR) {
        const int8_t *bs = bdata + (size_t)(n / NR) * (size_t)kq * 4 * NR;
        int nv = n1 - n;
        __mmask16 k0 = mask_of(nv), k1 = mask_of(nv - 16);
        for (int i = 0; i < rows; i += MR) {
            __m512i acc[2 * MR];
            int mv = rows - i < MR ? rows - i : MR;
            kernel(apk + (size_t)i * kpad, (size_t)kpad, bs, kq, acc, mv);
            for (int j = 0; j < mv; j++) {
                store16(r, m0 + i + j, n, k0, acc[2 * j], rowsum[i + j]);
                if (k1) store16(r, m0 + i + j, n + 16, k1, acc[2 * j + 1], rowsum[i + j]);
            }
        }
    }
}

const ot_qgemm_isa ot_qgemm_isa_avx512vnni = {
    .name = "avx512vnni", .mr = MR, .nr = NR, .kstep = 4, .bk_kind = OT_QGEMM_BK_S8,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};
