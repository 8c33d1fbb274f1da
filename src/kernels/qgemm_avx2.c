/* qgemm, AVX2 variant. vpmaddubsw would saturate u8*s8 pair sums at int16, so both operands are
 * widened to int16 and multiplied with vpmaddwd, which is exact (|a| <= 255, |b - zb| <= 255).
 *
 *   packed B: strips of 16 columns; per pair of k, 32 int16 = two ymm: columns 0-7 then 8-15,
 *             each 32-bit lane holding (Bk[2p][n], Bk[2p+1][n]). Rows k >= K are zero, so whatever
 *             sits in packed A past K multiplies zero.
 *   packed A: rows widened to int16 (XOR 0x80 first for int8 A), K padded to even.
 *   micro-kernel: 6 rows x 16 columns = 12 ymm accumulators; per k pair one dword broadcast of A
 *             per row and two vpmaddwd + vpaddd (fewer rows at the bottom edge: no wasted work;
 *             one ymm per row when at most 8 columns are left). The loops are inline asm (below).
 *
 * Where the time goes on Zen 3: vpmaddwd issues on two pipes and the vpaddd that must follow each
 * one competes for the same vector pipes, so even a loop of nothing but independent madd+add pairs
 * runs at about 80% of the madd peak; the 6x16 loop (36 instructions per 12 vpmaddwd) runs at that
 * rate from L1. What is left to win is outside it: packing A, the epilogue and cache traffic. So:
 *   - small B (it and a group of packed rows of A fit in L1): pack a few KiB of rows at a time and
 *     run each panel of 6 rows against every strip;
 *   - large B: pack a block of rows (L2) and run each strip over all its panels. (Cutting K in
 *     chunks so a strip's chunk stays in L1 cut cachegrind's L1 misses at 1024^3 by 3x, but measured
 *     2-5% slower at K >= 1024: the hardware streams B from L2 well enough.)
 *   - packing A is vector code end to end (no scalar tail, no memset call), partial-width stores
 *     are piecewise (no memcpy call), and the 8-bit epilogue is specialized per output type. */
#include <immintrin.h>

#include "kernels/qgemm_internal.h"

#define MR 6
#define NR 16
/* B (int16 panels) up to this many bytes runs panel-major from L1. */
#define SMALL_B_BYTES (20 * 1024)

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

/* Packed A rows plus slack: the last 16-element store of a row may run past it (into the next row,
 * packed later, or the slack). */
static size_t scratch_size(int mb, int kpad, int npad) {
    (void)npad;
    size_t rows = (size_t)(mb + MR - 1) / MR * MR;
    return rows * (size_t)kpad * sizeof(int16_t) + 64;
}

/* Byte shuffles for the end of a row: kTail[s] moves bytes s..15 down to 0.. and zeroes the rest. */
static const int8_t kTail[17][16] __attribute__((aligned(16))) = {
#define T(s) {(0 + s) < 16 ? 0 + s : -1, (1 + s) < 16 ? 1 + s : -1, (2 + s) < 16 ? 2 + s : -1,      \
              (3 + s) < 16 ? 3 + s : -1, (4 + s) < 16 ? 4 + s : -1, (5 + s) < 16 ? 5 + s : -1,      \
              (6 + s) < 16 ? 6 + s : -1, (7 + s) < 16 ? 7 + s : -1, (8 + s) < 16 ? 8 + s : -1,      \
              (9 + s) < 16 ? 9 + s : -1, (10 + s) < 16 ? 10 + s : -1, (11 + s) < 16 ? 11 + s : -1, \
              (12 + s) < 16 ? 12 + s : -1, (13 + s) < 16 ? 13 + s : -1, (14 + s) < 16 ? 14 + s : -1, \
              (15 + s) < 16 ? 15 + s : -1}
    T(0), T(1), T(2), T(3), T(4), T(5), T(6), T(7), T(8), T(9), T(10), T(11), T(12), T(13), T(14), T(15), T(16)
#undef T
};

/* Bytes 0..15 of vector with only the first len (<= 16) kept: the low len bytes of a 16-byte window
 * ending at or after them. */
static const int8_t kKeep[17][16] __attribute__((aligned(16))) = {
#define K(l) {0 < l ? 0 : -1, 1 < l ? 1 : -1, 2 < l ? 2 : -1, 3 < l ? 3 : -1, 4 < l ? 4 : -1, 5 < l ? 5 : -1,     \
              6 < l ? 6 : -1, 7 < l ? 7 : -1, 8 < l ? 8 : -1, 9 < l ? 9 : -1, 10 < l ? 10 : -1, 11 < l ? 11 : -1, \
              12 < l ? 12 : -1, 13 < l ? 13 : -1, 14 < l ? 14 : -1, 15 < l ? 15 : -1}
    K(0), K(1), K(2), K(3), K(4), K(5), K(6), K(7), K(8), K(9), K(10), K(11), K(12), K(13), K(14), K(15), K(16)
#undef K
};

/* Widen one row of A (K bytes) to int16 at dst. Writes whole 16-element groups: the elements from K to
 * the end of the last group are zero. safe16: 16 bytes may be read from a (the rows that follow in
 * A's storage make up for a short row). */
static inline void pack_a_row(int16_t *dst, const uint8_t *a, int K, __m128i vx, bool safe16) {
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + k)), vx);
        _mm256_storeu_si256((__m256i *)(dst + k), _mm256_cvtepu8_epi16(v));
    }
    int len = K - k;
    if (len <= 0) return;
    __m128i v;
    if (K >= 16) {   /* the 16 bytes ending at K, shifted down so byte k comes first */
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + K - 16)), vx);
        v = _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kTail[16 - len]));
    } else if (safe16) {
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)a), vx);
        v = _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kKeep[len]));
    } else {
        uint8_t t[16] = {0};
        memcpy(t, a, (size_t)len);
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)t), vx);
        v = _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kKeep[len]));
    }
    _mm256_storeu_si256((__m256i *)(dst + k), _mm256_cvtepu8_epi16(v));
}

/* Rows [m, m + rows) of A to dst (stride kpad), in order (a row's last store may spill into the next). */
static void pack_a(int16_t *dst, size_t kpad, const ot_qgemm_run *r, int K, int m, int rows) {
    const __m128i vx = _mm_set1_epi8((char)r->a_xor);
    /* A holds (M - 1) * lda + K bytes: a 16-byte read from a row's start stays inside while
     * m * lda + 16 <= that. */
    size_t end = (size_t)(r->M - 1) * (size_t)r->lda + (size_t)K;
    for (int i = 0; i < rows; i++) {
        size_t off = (size_t)(m + i) * (size_t)r->lda;
        pack_a_row(dst + (size_t)i * kpad, r->a + off, K, vx, off + 16 <= end);
    }
}

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
        if (full || nv == NR) {
            _mm256_storeu_si256((__m256i *)dst, a0);
            _mm256_storeu_si256((__m256i *)dst + 1, a1);
        } else {
            store_dwords(dst, a0, a1, nv);
        }
        break;
    case E_F32: {
        __m256 f0 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a0), s0), b0);
        __m256 f1 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a1), s1), b1);
        if (full || nv == NR) {
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
        if (full || nv == NR) _mm_storeu_si128((__m128i *)dst, bytes);
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
        if (full || nv == NR) _mm_storeu_si128((__m128i *)dst, bytes);
        else store_bytes(dst, bytes, nv);
        break;
    }
    }
}

/* The inner loops, written out for R rows x W ymm (8 columns each) of accumulators: GCC's own
 * allocation of six row addresses spilled some to the stack inside the loop. Rows 0-2 are a, a + lda,
 * a + 2 lda and rows 3-5 the same from a + 3 lda (r11), so two pointers and one stride address all
 * six. The accumulators are asm operands, the work registers fixed (ymm12-15: GCC allows at most 30
 * operands). Per k pair and row: a dword broadcast, then per ymm of B one vpmaddwd and one vpaddd.
 * (Unrolling two k pairs per trip measured no faster.) */
#define KA0(o) #o "(%[a])"
#define KA1(o) #o "(%[a],%[l],1)"
#define KA2(o) #o "(%[a],%[l],2)"
#define KA3(o) #o "(%%r11)"
#define KA4(o) #o "(%%r11,%[l],1)"
#define KA5(o) #o "(%%r11,%[l],2)"
#define KROW1(addr, i)                                   \
    "vpbroadcastd " addr ", %%ymm14\n\t"                 \
    "vpmaddwd %%ymm12, %%ymm14, %%ymm14\n\t"             \
    "vpaddd %%ymm14, %[c" #i "0], %[c" #i "0]\n\t"
#define KROW2(addr, i)                                   \
    "vpbroadcastd " addr ", %%ymm14\n\t"                 \
    "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"             \
    "vpaddd %%ymm15, %[c" #i "0], %[c" #i "0]\n\t"       \
    "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"             \
    "vpaddd %%ymm14, %[c" #i "1], %[c" #i "1]\n\t"
#define KROWS1(W, o) KROW##W(KA0(o), 0)
#define KROWS2(W, o) KROWS1(W, o) KROW##W(KA1(o), 1)
#define KROWS3(W, o) KROWS2(W, o) KROW##W(KA2(o), 2)
#define KROWS4(W, o) KROWS3(W, o) KROW##W(KA3(o), 3)
#define KROWS5(W, o) KROWS4(W, o) KROW##W(KA4(o), 4)
#define KROWS6(W, o) KROWS5(W, o) KROW##W(KA5(o), 5)
#define KLDB1(o) "vmovdqa " #o "(%[b]), %%ymm12\n\t"
#define KLDB2(o) KLDB1(o) "vmovdqa " #o "+32(%[b]), %%ymm13\n\t"
#define KSTEP(R, W, ao, bo) KLDB##W(bo) KROWS##R(W, ao)
/* One or two rows do little work per byte of B (M = 1: a GEMV streaming B from L3): prefetch ahead. */
#define KPF1 "prefetcht0 1024(%[b])\n\t"
#define KPF2 KPF1
#define KPF3 ""
#define KPF4 ""
#define KPF5 ""
#define KPF6 ""
#define KACC1_1 [c00] "+x"(c[0])
#define KACC1_2 KACC1_1, [c01] "+x"(c[1])
#define KACC2_1 KACC1_1, [c10] "+x"(c[2])
#define KACC2_2 KACC1_2, [c10] "+x"(c[2]), [c11] "+x"(c[3])
#define KACC3_1 KACC2_1, [c20] "+x"(c[4])
#define KACC3_2 KACC2_2, [c20] "+x"(c[4]), [c21] "+x"(c[5])
#define KACC4_1 KACC3_1, [c30] "+x"(c[6])
#define KACC4_2 KACC3_2, [c30] "+x"(c[6]), [c31] "+x"(c[7])
#define KACC5_1 KACC4_1, [c40] "+x"(c[8])
#define KACC5_2 KACC4_2, [c40] "+x"(c[8]), [c41] "+x"(c[9])
#define KACC6_1 KACC5_1, [c50] "+x"(c[10])
#define KACC6_2 KACC5_2, [c50] "+x"(c[10]), [c51] "+x"(c[11])
/* c[2 i + j]: row i, ymm j (j < W). */
/* The first tile of each strip of a large B is the one that reads the strip from memory (the other
 * tiles find it in L2): it prefetches far enough ahead to cover the memory latency. */
#define KPF_FAR "prefetcht0 8192(%[b])\n\t"
#define KERNEL(R, W) KERNEL_AS(R, W, R##x##W, KPF##R)
#define KERNEL_FAR(R, W) KERNEL_AS(R, W, R##x##W##_far, KPF_FAR)
#define KERNEL_AS(R, W, NAME, PF)                                                                               \
    static inline __attribute__((always_inline)) void kernel_##NAME(const int16_t *a, size_t lda,             \
                                                                        const int16_t *b, int kp, __m256i c[12]) { \
        size_t l = lda * sizeof(int16_t);                                                                       \
        long n = kp;                                                                                            \
        if (n > 0)                                                                                              \
            __asm__("lea (%[a],%[l],2), %%r11\n\t"                                                              \
                    "add %[l], %%r11\n\t"                                                                       \
                    "mov %[n], %%rcx\n\t"                                                                       \
                    ".p2align 5\n\t"                                                                              \
                    "1:\n\t" PF KSTEP(R, W, 0, 0)                                                               \
                    "add $64, %[b]\n\t"                                                                         \
                    "add $4, %[a]\n\t"                                                                          \
                    "add $4, %%r11\n\t"                                                                         \
                    "dec %%rcx\n\t"                                                                             \
                    "jnz 1b\n\t"                                                                                \
                    : KACC##R##_##W, [a] "+r"(a), [b] "+r"(b)                                                   \
                    : [l] "r"(l), [n] "r"(n)                                                                    \
                    : "rcx", "r11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");                        \
    }
KERNEL(1, 1) KERNEL(2, 1) KERNEL(3, 1) KERNEL(4, 1) KERNEL(5, 1) KERNEL(6, 1)
KERNEL(1, 2) KERNEL(2, 2) KERNEL(3, 2) KERNEL(4, 2) KERNEL(5, 2) KERNEL(6, 2)
KERNEL_FAR(1, 1) KERNEL_FAR(2, 1) KERNEL_FAR(3, 1) KERNEL_FAR(4, 1) KERNEL_FAR(5, 1) KERNEL_FAR(6, 1)
KERNEL_FAR(1, 2) KERNEL_FAR(2, 2) KERNEL_FAR(3, 2) KERNEL_FAR(4, 2) KERNEL_FAR(5, 2) KERNEL_FAR(6, 2)

/* One tile: R <= 6 rows (R and k are constants after inlining) x 16 columns (8 when half) from n,
 * over kp pairs of k. c[] is indexed by constants only, so it lives in registers. */
static inline __attribute__((always_inline)) void tile(const ot_qgemm_run *r, const epi_c *e, const int16_t *a,
                                                       size_t lda, const int16_t *b, int kp, int m, int n, int nv,
                                                       int R, ekind k, bool full, bool half, bool far) {
    __m256i c[12];
    const int32_t *cc = r->colcorr + n;
    __m256i lo = _mm256_loadu_si256((const __m256i *)cc), hi = _mm256_loadu_si256((const __m256i *)(cc + 8));
    for (int i = 0; i < 6; i++) c[2 * i] = lo, c[2 * i + 1] = hi;
#define K(RR)                                                 \
    case RR:                                                  \
        if (far && half) kernel_##RR##x1_far(a, lda, b, kp, c); \
        else if (far) kernel_##RR##x2_far(a, lda, b, kp, c);  \
        else if (half) kernel_##RR##x1(a, lda, b, kp, c);     \
        else kernel_##RR##x2(a, lda, b, kp, c);               \
        break;
    switch (R) { K(1) K(2) K(3) K(4) K(5) K(6) }
#undef K
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
    char *cp = (char *)r->c + ((size_t)m * (size_t)r->ldc + (size_t)n) * esz;
    for (int i = 0; i < R; i++)
        row_out(k, e, c[2 * i], half ? _mm256_setzero_si256() : c[2 * i + 1], s0, s1, bf0, bf1,
                cp + (size_t)i * ldc, nv, full);
}

/* Full tiles (6 rows, 16 columns) get their own instance; the rest one per row count and width. */
static inline __attribute__((always_inline)) void tile_k(const ot_qgemm_run *r, const epi_c *e, const int16_t *a,
                                                         size_t lda, const int16_t *b, int kp, int m, int n, int nv,
                                                         int R, ekind k, bool far) {
    if (R == MR && nv == NR) {
        if (far) tile(r, e, a, lda, b, kp, m, n, nv, MR, k, true, false, true);
        else tile(r, e, a, lda, b, kp, m, n, nv, MR, k, true, false, false);
        return;
    }
#define CASE(h)                                                                  \
    switch (R) {                                                                 \
    case 1: tile(r, e, a, lda, b, kp, m, n, nv, 1, k, false, h, far); break;     \
    case 2: tile(r, e, a, lda, b, kp, m, n, nv, 2, k, false, h, far); break;     \
    case 3: tile(r, e, a, lda, b, kp, m, n, nv, 3, k, false, h, far); break;     \
    case 4: tile(r, e, a, lda, b, kp, m, n, nv, 4, k, false, h, far); break;     \
    case 5: tile(r, e, a, lda, b, kp, m, n, nv, 5, k, false, h, far); break;     \
    default: tile(r, e, a, lda, b, kp, m, n, nv, 6, k, false, h, far); break;    \
    }
    if (nv <= 8) CASE(true) else CASE(false)
#undef CASE
}

/* Small B: pack a group of rows (a few KiB, so it stays in L1 with B) and run each of its panels of 6
 * rows against every strip. */
static inline __attribute__((always_inline)) void run_small(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                            const epi_c *e, int16_t *apk, int m0, int m1, int n0,
                                                            int n1, ekind k) {
    const int kpad = p->kpad, kp = kpad / 2;
    const int16_t *bdata = p->data;
    /* (K = 0: no columns to pack; the group only has to be a positive number of panels) */
    int group = MR * (int)(8192 / ((size_t)MR * (size_t)(kpad > 0 ? kpad : 1) * sizeof(int16_t)));
    if (group < MR) group = MR;
    for (int g = m0; g < m1; g += group) {
        int g1 = m1 - g < group ? m1 : g + group;
        pack_a(apk, (size_t)kpad, r, p->K, g, g1 - g);
        for (int m = g; m < g1; m += MR) {
            int R = g1 - m < MR ? g1 - m : MR;
            const int16_t *ap = apk + (size_t)(m - g) * (size_t)kpad;
            for (int n = n0; n < n1; n += NR) {
                const int16_t *bs = bdata + (size_t)(n / NR) * (size_t)kp * 2 * NR;
                int nv = n1 - n < NR ? n1 - n : NR;
                tile_k(r, e, ap, (size_t)kpad, bs, kp, m, n, nv, R, k, false);
            }
        }
    }
}

/* Large B: pack the block's rows (L2), then strip by strip, all panels. */
static inline __attribute__((always_inline)) void run_large(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                            const epi_c *e, int16_t *apk, int m0, int m1, int n0,
                                                            int n1, ekind k) {
    const int kpad = p->kpad, kp = kpad / 2, rows = m1 - m0;
    const int16_t *bdata = p->data;
    pack_a(apk, (size_t)kpad, r, p->K, m0, rows);
    for (int n = n0; n < n1; n += NR) {
        const int16_t *bs = bdata + (size_t)(n / NR) * (size_t)kp * 2 * NR;
        int nv = n1 - n < NR ? n1 - n : NR;
        for (int i = 0; i < rows; i += MR)
            tile_k(r, e, apk + (size_t)i * kpad, (size_t)kpad, bs, kp, m0 + i, n, nv, rows - i < MR ? rows - i : MR, k,
                   i == 0);
    }
}

static inline __attribute__((always_inline)) void run(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                      const epi_c *e, void *scratch, int m0, int m1, int n0, int n1,
                                                      ekind k) {
    if (b_size(p->kpad, p->npad) <= SMALL_B_BYTES) run_small(p, r, e, scratch, m0, m1, n0, n1, k);
    else run_large(p, r, e, scratch, m0, m1, n0, n1, k);
}

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    epi_c e;
    memset(&e, 0, sizeof e);
    switch (r->type) {
    case OT_QGEMM_OUT_S32: run(p, r, &e, scratch, m0, m1, n0, n1, E_S32); break;
    case OT_QGEMM_OUT_F32: run(p, r, &e, scratch, m0, m1, n0, n1, E_F32); break;
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
        /* (one branch per kind: each call is its own specialized copy) */
        if (r->int_clamp && e.u8 && full)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_U8_FULL);
        else if (r->int_clamp && e.u8)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_U8);
        else if (r->int_clamp && full)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_S8_FULL);
        else if (r->int_clamp)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_S8);
        else
            run(p, r, &e, scratch, m0, m1, n0, n1, E_Q_FLOAT);
        break;
    }
    }
}

const ot_qgemm_isa ot_qgemm_isa_avx2 = {
    .mr = MR, .nr = NR, .kstep = 2, .bk_kind = OT_QGEMM_BK_ZB,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};
