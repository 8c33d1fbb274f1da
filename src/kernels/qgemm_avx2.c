/* qgemm, AVX2: three kernels, all exact. vpmaddubsw can saturate u8*s8 pair sums at int16, so it runs
 * only where it cannot: on 7-bit B (u8s7) and on A split into a bounded part and a sparse residual
 * (split; both below). The int16 kernel, the split kernel's fallback, widens both operands to int16
 * and multiplies with vpmaddwd, which is exact (|a| <= 255, |b - zb| <= 255):
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
 *     are piecewise (no memcpy call), and the 8-bit epilogue is specialized per output type.
 *
 * The u8 x s7 variant (ot_qgemm_isa_avx2_u8s7, chosen by the driver at packing time when B allows it):
 * vpmaddubsw sums two u8 x s8 products into an int16 lane, saturating. With a in [0, 255] the sum
 * a0 b0 + a1 b1 stays within int16 for every a exactly when the positive parts of (b0, b1) add up to at
 * most 128 and so do the negative parts (255 * 128 = 32640 <= 32767). 7-bit weights ([-64, 63], ONNX
 * Runtime's and octet's reduce_range) always pass; the driver checks every pair, so the results stay
 * exact and bit-identical to the int16 kernel. Per 4 k and 8 columns: vpmaddubsw, vpmaddwd by ones
 * (pairs of int16 to int32), vpaddd -- the vpaddd per multiply halves, which is what bounds the int16
 * loop above.
 *   packed B: strips of 16 columns; per 4 k, 64 bytes = two ymm: columns 0-7 then 8-15, each 32-bit
 *             lane holding Bk[4q..4q+3][n] (the AVX-512 VNNI layout; uint8 B is stored as B - 128).
 *   packed A: rows as uint8 (XOR 0x80 for int8 A), K padded to a multiple of 4, plus each row's sum
 *             when B has a zero point left in the kernel domain (zbk).
 *
 * The split variant (ot_qgemm_isa_avx2_split, for every other B: full-range 8-bit weights) runs the same
 * vpmaddubsw loop, exact for any int8 B, by bounding A instead: |u0 b0 + u1 b1| <= 128 (u0 + u1), so a
 * pair of u8 values adding up to at most 256 cannot saturate (256 * 127 = 32512, -256 * 128 = -32768).
 * Per call and row, A_u = L + u + r:
 *   L  the window start, za_u - 80 (or 0): activations cluster around their zero point;
 *   u  max(A_u - L, 0), each pair over 256 cut down to 256 -- what the kernel multiplies;
 *   r  the rest, nonzero only below L or in a cut pair: sparse (measured per element: 0.02 % on the
 *      hidden layers of mlp3x1024 at batch 64, ~1 % on its Gaussian input, 0.3 % in resnet18's static
 *      int8 convs, 1.5-3 % in lstm2x512's input GEMMs).
 * Then sum_k A_u Bk - zbk sum_k A_u = [sum_k u Bk - zbk sum_k (A_u - L)] + sum_k r Bk + L colsum[n]:
 * the bracket is the u8 x s7 kernel with rowsum' = sum A_u - K L; L colsum[n] joins the column
 * correction; and the residual is a list per row of (k, r) entries, each added to the register tile
 * from B's own packed quads -- vpmaddubsw of a dword holding |r| in k's byte (a single product, at most
 * 255 * 128, cannot saturate) and vpmaddwd by +-1. An entry costs about as much as 8-10 elements of the
 * int16 kernel and the u8 x s7 loop saves ~25 % per element, so a block whose residual passes ~3 % of
 * its elements (uniform noise, say) runs the int16 kernel instead, on a second copy of B in the int16
 * layout (such B take 3 bytes per weight in memory instead of 2). Results are bit-identical either way. */
#include <immintrin.h>

#include "kernels/qgemm_avx2_epi.h"

#define MR 6
#define NR OT_QGEMM_AVX2_NR
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

/* The last len (1..15) bytes of a row of K bytes, XOR vx, at the bottom of a vector with zeros above:
 * the 16 bytes ending at K shifted down when K >= 16, else the row's start (safe16: 16 bytes may be
 * read there) or a copy. */
static inline __m128i row_tail(const uint8_t *a, int K, int len, __m128i vx, bool safe16) {
    __m128i v;
    if (K >= 16) {
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + K - 16)), vx);
        return _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kTail[16 - len]));
    }
    if (safe16) {
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)a), vx);
    } else {
        uint8_t t[16] = {0};
        memcpy(t, a, (size_t)len);
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)t), vx);
    }
    return _mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)kKeep[len]));
}

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
    _mm256_storeu_si256((__m256i *)(dst + k), _mm256_cvtepu8_epi16(row_tail(a, K, len, vx, safe16)));
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

/* The inner loops, written out for R rows x W ymm (8 columns each) of accumulators: GCC's own
 * allocation of six row addresses spilled some to the stack inside the loop. Rows 0-2 are a, a + lda,
 * a + 2 lda and rows 3-5 the same from a + 3 lda (r11), so two pointers and one stride address all
 * six. The accumulators are asm operands, the work registers fixed (ymm12-15: GCC allows at most 30
 * operands). Each trip is one k step: 4 bytes of each row of packed A, 64 bytes of B.
 *   int16 (KROW): per row a dword broadcast of A (2 k), then per ymm of B one vpmaddwd and one vpaddd.
 *   u8 x s7 (SROW): per row a dword broadcast (4 k), then per ymm of B (a memory operand) vpmaddubsw,
 *   vpmaddwd by the ones in ymm12, vpaddd.
 * (Unrolling two k steps per trip measured no faster.) */
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
#define SROW1(addr, i)                                   \
    "vpbroadcastd " addr ", %%ymm14\n\t"                 \
    "vpmaddubsw (%[b]), %%ymm14, %%ymm15\n\t"            \
    "vpmaddwd %%ymm12, %%ymm15, %%ymm15\n\t"             \
    "vpaddd %%ymm15, %[c" #i "0], %[c" #i "0]\n\t"
#define SROW2(addr, i)                                   \
    SROW1(addr, i)                                       \
    "vpmaddubsw 32(%[b]), %%ymm14, %%ymm13\n\t"          \
    "vpmaddwd %%ymm12, %%ymm13, %%ymm13\n\t"             \
    "vpaddd %%ymm13, %[c" #i "1], %[c" #i "1]\n\t"
#define KROWS1(ROW, W) ROW##W(KA0(0), 0)
#define KROWS2(ROW, W) KROWS1(ROW, W) ROW##W(KA1(0), 1)
#define KROWS3(ROW, W) KROWS2(ROW, W) ROW##W(KA2(0), 2)
#define KROWS4(ROW, W) KROWS3(ROW, W) ROW##W(KA3(0), 3)
#define KROWS5(ROW, W) KROWS4(ROW, W) ROW##W(KA4(0), 4)
#define KROWS6(ROW, W) KROWS5(ROW, W) ROW##W(KA5(0), 5)
#define KLDB1 "vmovdqa (%[b]), %%ymm12\n\t"
#define KLDB2 KLDB1 "vmovdqa 32(%[b]), %%ymm13\n\t"
#define KSTEP_k(R, W) KLDB##W KROWS##R(KROW, W)
#define KSTEP_s(R, W) KROWS##R(SROW, W)
#define KPRO_k ""
#define KPRO_s "vpcmpeqw %%ymm12, %%ymm12, %%ymm12\n\tvpsrlw $15, %%ymm12, %%ymm12\n\t"   /* int16 ones */
/* One or two rows do little work per byte of B (M = 1: a GEMV streaming B from L3): prefetch ahead. */
#define KPF1 "prefetcht0 1024(%[b])\n\t"
#define KPF2 KPF1
#define KPF3 ""
#define KPF4 ""
#define KPF5 ""
#define KPF6 ""
/* The first tile of each strip of a large B is the one that reads the strip from memory (the other
 * tiles find it in L2): it prefetches far enough ahead to cover the memory latency. */
#define KPF_FAR "prefetcht0 8192(%[b])\n\t"
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
/* c[2 i + j]: row i, ymm j (j < W). kernel_<T><R>x<W>[_far]: T = k (int16) or s (u8 x s7); l is the
 * byte distance between rows of packed A, n the number of k steps. */
#define KERNEL(T, R, W) KERNEL_AS(T, R, W, T##R##x##W, KPF##R)
#define KERNEL_FAR(T, R, W) KERNEL_AS(T, R, W, T##R##x##W##_far, KPF_FAR)
#define KERNEL_AS(T, R, W, NAME, PF)                                                                            \
    static inline __attribute__((always_inline)) void kernel_##NAME(const void *a, size_t l, const void *b,    \
                                                                        int steps, __m256i c[12]) {             \
        long n = steps;                                                                                         \
        if (n > 0)                                                                                              \
            __asm__(KPRO_##T "lea (%[a],%[l],2), %%r11\n\t"                                                     \
                    "add %[l], %%r11\n\t"                                                                       \
                    "mov %[n], %%rcx\n\t"                                                                       \
                    ".p2align 5\n\t"                                                                              \
                    "1:\n\t" PF KSTEP_##T(R, W)                                                                  \
                    "add $64, %[b]\n\t"                                                                         \
                    "add $4, %[a]\n\t"                                                                          \
                    "add $4, %%r11\n\t"                                                                         \
                    "dec %%rcx\n\t"                                                                             \
                    "jnz 1b\n\t"                                                                                \
                    : KACC##R##_##W, [a] "+r"(a), [b] "+r"(b)                                                   \
                    : [l] "r"(l), [n] "r"(n)                                                                    \
                    : "rcx", "r11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");                        \
    }
#define KERNELS(T)                                                                                              \
    KERNEL(T, 1, 1) KERNEL(T, 2, 1) KERNEL(T, 3, 1) KERNEL(T, 4, 1) KERNEL(T, 5, 1) KERNEL(T, 6, 1)          \
    KERNEL(T, 1, 2) KERNEL(T, 2, 2) KERNEL(T, 3, 2) KERNEL(T, 4, 2) KERNEL(T, 5, 2) KERNEL(T, 6, 2)          \
    KERNEL_FAR(T, 1, 1) KERNEL_FAR(T, 2, 1) KERNEL_FAR(T, 3, 1) KERNEL_FAR(T, 4, 1) KERNEL_FAR(T, 5, 1)      \
    KERNEL_FAR(T, 6, 1) KERNEL_FAR(T, 1, 2) KERNEL_FAR(T, 2, 2) KERNEL_FAR(T, 3, 2) KERNEL_FAR(T, 4, 2)      \
    KERNEL_FAR(T, 5, 2) KERNEL_FAR(T, 6, 2)
KERNELS(k)
KERNELS(s)

/* The split variant's per-block state (see the top of this file): the window start L and for each
 * packed row its residual entries ent[roff[i] .. roff[i + 1]): q = the byte offset of k's quad in a strip
 * of packed B (k / 4 * 64), bit 31 set when r < 0; pat = |r| in byte k % 4, zeros elsewhere. */
typedef struct {
    uint32_t q, pat;
} split_ent;
/* +1 and -1 as int16: vpmaddwd by them widens a residual product with its sign. */
static const int16_t kSign[2][16] __attribute__((aligned(32))) = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
typedef struct {
    int L;
    const int32_t *roff;
    const split_ent *ent;
} split_rows;

/* One tile: R <= 6 rows (R and k are constants after inlining) x 16 columns (8 when half) from n,
 * over `steps` k steps; a points at the tile's first packed row, lb bytes apart. c[] is indexed by
 * constants only, so it lives in registers. s7: the u8 x s7 kernel, and rs (when not NULL) the rows'
 * sums of A for the zbk correction. sp (split variant, else NULL): the block's window start and
 * residual entries, the tile's rows being sp's rows sr .. sr + R - 1. */
static inline __attribute__((always_inline)) void tile(const ot_qgemm_run *r, const epi_c *e, const void *a,
                                                       size_t lb, const void *b, int steps, int m, int n, int nv,
                                                       int R, ekind k, bool full, bool half, bool far, bool s7,
                                                       const int32_t *rs, const split_rows *sp, int sr) {
    __m256i c[12];
    const int32_t *cc = r->colcorr + n;
    __m256i lo = _mm256_loadu_si256((const __m256i *)cc), hi = _mm256_loadu_si256((const __m256i *)(cc + 8));
    if (sp && sp->L) {   /* + L colsum[n]: the window's start, taken out of every element of A */
        __m256i l = _mm256_set1_epi32(sp->L);
        lo = _mm256_add_epi32(lo, _mm256_mullo_epi32(l, _mm256_loadu_si256((const __m256i *)(r->colsum + n))));
        hi = _mm256_add_epi32(hi, _mm256_mullo_epi32(l, _mm256_loadu_si256((const __m256i *)(r->colsum + n + 8))));
    }
    for (int i = 0; i < 6; i++) c[2 * i] = lo, c[2 * i + 1] = hi;
    if (s7 && rs) {   /* - zbk[n] * rowsum[m] */
        __m256i z0 = _mm256_loadu_si256((const __m256i *)(r->zbk + n));
        __m256i z1 = _mm256_loadu_si256((const __m256i *)(r->zbk + n + 8));
        for (int i = 0; i < R; i++) {
            __m256i s = _mm256_set1_epi32(rs[i]);
            c[2 * i] = _mm256_sub_epi32(c[2 * i], _mm256_mullo_epi32(z0, s));
            c[2 * i + 1] = _mm256_sub_epi32(c[2 * i + 1], _mm256_mullo_epi32(z1, s));
        }
    }
#define K(T, RR)                                                           \
    case RR:                                                               \
        if (far && half) kernel_##T##RR##x1_far(a, lb, b, steps, c);       \
        else if (far) kernel_##T##RR##x2_far(a, lb, b, steps, c);          \
        else if (half) kernel_##T##RR##x1(a, lb, b, steps, c);             \
        else kernel_##T##RR##x2(a, lb, b, steps, c);                       \
        break;
    if (s7) {
        switch (R) { K(s, 1) K(s, 2) K(s, 3) K(s, 4) K(s, 5) K(s, 6) }
    } else {
        switch (R) { K(k, 1) K(k, 2) K(k, 3) K(k, 4) K(k, 5) K(k, 6) }
    }
#undef K
    if (sp) {   /* the sparse residual: + r B[k][n] per entry of each row */
        for (int i = 0; i < R; i++)
            for (int t = sp->roff[sr + i]; t < sp->roff[sr + i + 1]; t++) {
                split_ent en = sp->ent[t];
                const char *bq = (const char *)b + (en.q & 0x7fffffffu);
                __m256i pv = _mm256_set1_epi32((int)en.pat);
                __m256i sg = _mm256_load_si256((const __m256i *)kSign[en.q >> 31]);   /* (no branch) */
                __m256i t0 = _mm256_madd_epi16(_mm256_maddubs_epi16(pv, _mm256_loadu_si256((const __m256i *)bq)), sg);
                c[2 * i] = _mm256_add_epi32(c[2 * i], t0);
                if (!half) {
                    __m256i t1 = _mm256_madd_epi16(
                        _mm256_maddubs_epi16(pv, _mm256_loadu_si256((const __m256i *)(bq + 32))), sg);
                    c[2 * i + 1] = _mm256_add_epi32(c[2 * i + 1], t1);
                }
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
    char *cp = (char *)r->c + ((size_t)m * (size_t)r->ldc + (size_t)n) * esz;
    for (int i = 0; i < R; i++)
        row_out(k, e, c[2 * i], half ? _mm256_setzero_si256() : c[2 * i + 1], s0, s1, bf0, bf1,
                cp + (size_t)i * ldc, nv, full);
}

/* Full tiles (6 rows, 16 columns) get their own instance; the rest one per row count and width. */
static inline __attribute__((always_inline)) void tile_k(const ot_qgemm_run *r, const epi_c *e, const void *a,
                                                         size_t lb, const void *b, int steps, int m, int n, int nv,
                                                         int R, ekind k, bool far, bool s7, const int32_t *rs,
                                                         const split_rows *sp, int sr) {
    if (R == MR && nv == NR) {
        if (far) tile(r, e, a, lb, b, steps, m, n, nv, MR, k, true, false, true, s7, rs, sp, sr);
        else tile(r, e, a, lb, b, steps, m, n, nv, MR, k, true, false, false, s7, rs, sp, sr);
        return;
    }
#define CASE(h)                                                                                \
    switch (R) {                                                                               \
    case 1: tile(r, e, a, lb, b, steps, m, n, nv, 1, k, false, h, far, s7, rs, sp, sr); break;  \
    case 2: tile(r, e, a, lb, b, steps, m, n, nv, 2, k, false, h, far, s7, rs, sp, sr); break;  \
    case 3: tile(r, e, a, lb, b, steps, m, n, nv, 3, k, false, h, far, s7, rs, sp, sr); break;  \
    case 4: tile(r, e, a, lb, b, steps, m, n, nv, 4, k, false, h, far, s7, rs, sp, sr); break;  \
    case 5: tile(r, e, a, lb, b, steps, m, n, nv, 5, k, false, h, far, s7, rs, sp, sr); break;  \
    default: tile(r, e, a, lb, b, steps, m, n, nv, 6, k, false, h, far, s7, rs, sp, sr); break; \
    }
    if (nv <= 8) CASE(true) else CASE(false)
#undef CASE
}

/* u8 x s7: rows of A as bytes (XOR vx), 16 at a time like pack_a_row; returns the row's sum of A_u
 * over k < K when sum (the bytes stored from K to the end of the last group are zero). */
static inline int32_t pack_a_row_u8(uint8_t *dst, const uint8_t *a, int K, __m128i vx, bool safe16, bool sum) {
    __m128i acc = _mm_setzero_si128(), zero = _mm_setzero_si128();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + k)), vx);
        _mm_storeu_si128((__m128i *)(dst + k), v);
        if (sum) acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
    }
    int len = K - k;
    if (len > 0) {
        __m128i v = row_tail(a, K, len, vx, safe16);
        _mm_storeu_si128((__m128i *)(dst + k), v);
        if (sum) acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
    }
    return (int32_t)(_mm_cvtsi128_si64(acc) + _mm_extract_epi64(acc, 1));
}

/* Rows [m, m + rows) of A to dst: int16 (stride kpad elements) or, s7, bytes (stride kpad) with the
 * rows' sums in rs when rs is not NULL. */
static void pack_rows(void *dst, size_t kpad, const ot_qgemm_run *r, int K, int m, int rows, bool s7, int32_t *rs) {
    if (!s7) {
        pack_a(dst, kpad, r, K, m, rows);
        return;
    }
    const __m128i vx = _mm_set1_epi8((char)r->a_xor);
    size_t end = (size_t)(r->M - 1) * (size_t)r->lda + (size_t)K;
    for (int i = 0; i < rows; i++) {
        size_t off = (size_t)(m + i) * (size_t)r->lda;
        int32_t s = pack_a_row_u8((uint8_t *)dst + (size_t)i * kpad, r->a + off, K, vx, off + 16 <= end, rs != NULL);
        if (rs) rs[i] = s;
    }
}

/* The split variant: one row of A_u (K bytes, XOR vx) as u = max(A_u - L, 0) at dst, with each pair of
 * k whose u add up to more than 256 cut down to 256 (the first gives up the excess, which is less than
 * it: the second is at most 255). The rest -- A_u - L where A_u < L, the excess of a cut pair -- goes
 * to ent[*n] as residual entries (at most cap in all). Returns false when they would not fit. *sum gets
 * the row's sum of A_u. Bytes from K to the end of the last 16-byte group are zero. */
static inline bool pack_row_window(uint8_t *dst, const uint8_t *a, int K, __m128i vx, bool safe16, int L,
                                   split_ent *ent, int *n, int cap, int32_t *sum) {
    const __m128i vl = _mm_set1_epi8((char)L), ones = _mm_set1_epi8(1), lim = _mm_set1_epi16(256);
    const __m128i zero = _mm_setzero_si128();
    const uint8_t x = (uint8_t)_mm_cvtsi128_si32(vx);
    __m128i acc = zero;
    for (int k = 0; k < K; k += 16) {
        int len = K - k < 16 ? K - k : 16;
        __m128i v = len == 16 ? _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + k)), vx)
                              : row_tail(a, K, len, vx, safe16);
        __m128i u = _mm_subs_epu8(v, vl);
        _mm_storeu_si128((__m128i *)(dst + k), u);
        acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
        /* below the window: max(A_u, L) != A_u (only the row's own bytes count); pairs over 256: u0 + u1
         * from vpmaddubsw by ones, one mask bit per pair (its even byte) */
        unsigned low = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, vl), v)) & ((1u << len) - 1);
        unsigned high = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_maddubs_epi16(u, ones), lim)) & 0x5555u;
        if (!(low | high)) continue;
        if (*n + __builtin_popcount(low) + __builtin_popcount(high) > cap) return false;
        for (; low; low &= low - 1) {
            int kk = k + __builtin_ctz(low), r = L - (int)(a[kk] ^ x);   /* -(A_u - L) > 0 */
            ent[(*n)++] = (split_ent){.q = (uint32_t)(kk >> 2) * 64u | 0x80000000u, .pat = (uint32_t)r << (8 * (kk & 3))};
        }
        for (; high; high &= high - 1) {
            int kk = k + __builtin_ctz(high), ex = dst[kk] + dst[kk + 1] - 256;   /* <= dst[kk] - 1 */
            dst[kk] = (uint8_t)(dst[kk] - ex);
            ent[(*n)++] = (split_ent){.q = (uint32_t)(kk >> 2) * 64u, .pat = (uint32_t)ex << (8 * (kk & 3))};
        }
    }
    *sum = (int32_t)(_mm_cvtsi128_si64(acc) + _mm_extract_epi64(acc, 1));
    return true;
}

/* Scratch of the split variant for a block of up to `rows` rows: row sums, row offsets into the
 * entries, the entries (at most SPLIT_CAP), then packed A (room for the int16 fallback). A block whose
 * residual passes SPLIT_CAP runs the int16 kernel instead: past ~3 % of its elements the residual costs
 * more than the vpmaddubsw kernel saves (measured on 64 x 1024 x 1024 with activation-like rows). */
#define SPLIT_PER_1024 32
#define SPLIT_CAP(rows, K) ((size_t)(rows) * (size_t)(K) * SPLIT_PER_1024 / 1024)
static size_t al64(size_t x) { return (x + 63) / 64 * 64; }
static size_t split_scratch_size(int rows, int kpad) {
    size_t rr = (size_t)(rows + MR - 1) / MR * MR;
    return al64((rr + MR) * sizeof(int32_t)) + al64((rr + MR + 1) * sizeof(int32_t)) +
           al64(SPLIT_CAP(rr, kpad) * sizeof(split_ent)) + rr * (size_t)kpad * sizeof(int16_t) + 64;
}

/* Where the parts of the split scratch start, for a block of up to cap_rows rows. */
static void split_layout(void *scratch, int cap_rows, size_t kpad, int32_t **rs, int32_t **roff, split_ent **ent,
                         void **apk) {
    size_t rr = (size_t)(cap_rows + MR - 1) / MR * MR;
    char *base = scratch;
    *rs = (int32_t *)base;
    *roff = (int32_t *)(base + al64((rr + MR) * sizeof(int32_t)));
    *ent = (split_ent *)((char *)*roff + al64((rr + MR + 1) * sizeof(int32_t)));
    *apk = (char *)*ent + al64(SPLIT_CAP(rr, kpad) * sizeof(split_ent));
}

/* Rows [m, m + rows) of A for the split variant, windowed into apk (stride kpad) with their residual
 * entries and, when B has a zero point left in the kernel domain, the rows' sums of A_u - L in rs.
 * Returns false when the residual passes SPLIT_CAP: the block then takes the int16 kernel. */
static bool pack_rows_split(void *scratch, int cap_rows, size_t kpad, const ot_qgemm_run *r, int K, int m, int rows,
                            split_rows *sp, int32_t **rs_out, void **apk) {
    int32_t *rs, *roff;
    split_ent *ent;
    split_layout(scratch, cap_rows, kpad, &rs, &roff, &ent, apk);
    uint8_t *dst = *apk;
    const __m128i vx = _mm_set1_epi8((char)r->a_xor);
    size_t end = (size_t)(r->M - 1) * (size_t)r->lda + (size_t)K;
    /* (e.g. ~1 % of a Gaussian of sigma 30 around 128 falls outside) */
    int L = ot_qsplit_window_start(r->za_u);
    int n = 0, cap = (int)SPLIT_CAP(rows, K);
    for (int i = 0; i < rows; i++) {
        size_t off = (size_t)(m + i) * (size_t)r->lda;
        roff[i] = n;
        int32_t sum = 0;
        if (!pack_row_window(dst + (size_t)i * kpad, r->a + off, K, vx, off + 16 <= end, L, ent, &n, cap, &sum))
            return false;
        rs[i] = (int32_t)((uint32_t)sum - (uint32_t)K * (uint32_t)L);
    }
    roff[rows] = n;
    *rs_out = r->zbk ? rs : NULL;
    sp->L = L;
    sp->roff = roff;
    sp->ent = ent;
    return true;
}

/* Bytes of B per strip per k step are 64 in both kernels; a k step is 2 k (int16) or 4 k (s7). */
#define STEP_K(s7) ((s7) ? 4 : 2)
#define ELEM(s7) ((s7) ? sizeof(uint8_t) : sizeof(int16_t))

/* Scratch: s7 puts the row sums (one int32 per row of the block, 64-byte aligned) before packed A. */
static inline void split_scratch(void *scratch, int rows, bool s7, bool sums, void **apk, int32_t **rs) {
    size_t rs_bytes = s7 ? ((size_t)(rows + MR) * sizeof(int32_t) + 63) / 64 * 64 : 0;
    *rs = (s7 && sums) ? scratch : NULL;
    *apk = (char *)scratch + rs_bytes;
}

/* The tiles of packed rows [0, rows) of a block (first row m) against strips [n0, n1) of B (steps k steps of
 * 64 bytes per strip), strip by strip when by_strip (large B), else panel by panel. */
static inline __attribute__((always_inline)) void tiles(const ot_qgemm_run *r, const epi_c *e, const char *apk,
                                                        size_t lb, const char *bdata, int steps, int m, int rows,
                                                        int n0, int n1, ekind k, bool s7, const int32_t *rs,
                                                        const split_rows *sp, bool by_strip) {
    if (by_strip) {
        for (int n = n0; n < n1; n += NR) {
            const char *bs = bdata + (size_t)(n / NR) * (size_t)steps * 64;
            int nv = n1 - n < NR ? n1 - n : NR;
            for (int i = 0; i < rows; i += MR)
                tile_k(r, e, apk + (size_t)i * lb, lb, bs, steps, m + i, n, nv, rows - i < MR ? rows - i : MR, k,
                       i == 0, s7, rs ? rs + i : NULL, sp, i);
        }
        return;
    }
    for (int i = 0; i < rows; i += MR) {
        int R = rows - i < MR ? rows - i : MR;
        for (int n = n0; n < n1; n += NR) {
            const char *bs = bdata + (size_t)(n / NR) * (size_t)steps * 64;
            int nv = n1 - n < NR ? n1 - n : NR;
            tile_k(r, e, apk + (size_t)i * lb, lb, bs, steps, m + i, n, nv, R, k, false, s7, rs ? rs + i : NULL, sp,
                   i);
        }
    }
}

/* Rows [m, m + rows) of a block: packed, then all their tiles. The split variant packs them windowed
 * with a residual, or (dense residual) widened for the int16 kernel on the second copy of B. */
static inline __attribute__((always_inline)) void rows_run(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                           const epi_c *e, void *scratch, int cap_rows, int m,
                                                           int rows, int n0, int n1, ekind k, bool s7, bool split,
                                                           bool by_strip) {
    const int kpad = p->kpad;
    void *apk;
    int32_t *rs;
    if (split) {
        split_rows sp;
        if (pack_rows_split(scratch, cap_rows, (size_t)kpad, r, p->K, m, rows, &sp, &rs, &apk)) {
            tiles(r, e, apk, (size_t)kpad, p->data, kpad / 4, m, rows, n0, n1, k, true, rs, &sp, by_strip);
        } else {
            pack_a(apk, (size_t)kpad, r, p->K, m, rows);
            tiles(r, e, apk, (size_t)kpad * 2, p->data2, kpad / 2, m, rows, n0, n1, k, false, NULL, NULL, by_strip);
        }
        return;
    }
    split_scratch(scratch, cap_rows, s7, r->zbk != NULL, &apk, &rs);
    pack_rows(apk, (size_t)kpad, r, p->K, m, rows, s7, rs);
    tiles(r, e, apk, (size_t)kpad * ELEM(s7), p->data, kpad / STEP_K(s7), m, rows, n0, n1, k, s7, rs, NULL, by_strip);
}

/* Small B: pack a group of rows (a few KiB, so it stays in L1 with B) and run each of its panels of 6
 * rows against every strip. */
static inline __attribute__((always_inline)) void run_small(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                            const epi_c *e, void *scratch, int m0, int m1, int n0,
                                                            int n1, ekind k, bool s7, bool split) {
    /* (K = 0: no columns to pack; the group only has to be a positive number of panels) */
    int group = MR * (int)(8192 / ((size_t)MR * (size_t)(p->kpad > 0 ? p->kpad : 1) * ELEM(s7)));
    if (group < MR) group = MR;
    for (int g = m0; g < m1; g += group) {
        int g1 = m1 - g < group ? m1 : g + group;
        rows_run(p, r, e, scratch, m1 - m0, g, g1 - g, n0, n1, k, s7, split, false);
    }
}

/* Large B: pack the block's rows (L2), then strip by strip, all panels. */
static inline __attribute__((always_inline)) void run_large(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                            const epi_c *e, void *scratch, int m0, int m1, int n0,
                                                            int n1, ekind k, bool s7, bool split) {
    rows_run(p, r, e, scratch, m1 - m0, m0, m1 - m0, n0, n1, k, s7, split, true);
}

static inline __attribute__((always_inline)) void run(const ot_qgemm_packed *p, const ot_qgemm_run *r,
                                                      const epi_c *e, void *scratch, int m0, int m1, int n0, int n1,
                                                      ekind k, bool s7, bool split) {
    if (p->isa->b_size(p->kpad, p->npad) <= SMALL_B_BYTES)
        run_small(p, r, e, scratch, m0, m1, n0, n1, k, s7, split);
    else
        run_large(p, r, e, scratch, m0, m1, n0, n1, k, s7, split);
}

static inline __attribute__((always_inline)) void block_as(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0,
                                                           int m1, int n0, int n1, void *scratch, bool s7,
                                                           bool split) {
    epi_c e;
    memset(&e, 0, sizeof e);
    switch (r->type) {
    case OT_QGEMM_OUT_S32: run(p, r, &e, scratch, m0, m1, n0, n1, E_S32, s7, split); break;
    case OT_QGEMM_OUT_F32: run(p, r, &e, scratch, m0, m1, n0, n1, E_F32, s7, split); break;
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
            run(p, r, &e, scratch, m0, m1, n0, n1, E_U8_FULL, s7, split);
        else if (r->int_clamp && e.u8)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_U8, s7, split);
        else if (r->int_clamp && full)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_S8_FULL, s7, split);
        else if (r->int_clamp)
            run(p, r, &e, scratch, m0, m1, n0, n1, E_S8, s7, split);
        else
            run(p, r, &e, scratch, m0, m1, n0, n1, E_Q_FLOAT, s7, split);
        break;
    }
    }
}

static void block(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    block_as(p, r, m0, m1, n0, n1, scratch, false, false);
}

/* u8 x s7: B in the VNNI layout with 16-column strips, bytes of A plus row sums. */
static size_t b_size_s7(int kpad, int npad) { return (size_t)kpad * (size_t)npad; }

static void pack_b_s7(void *dst, const int16_t *bk, int K, int N, int kpad, int npad) {
    ot_qgemm_pack_b_quads(dst, bk, K, N, kpad, npad, NR);
}

static size_t scratch_size_s7(int mb, int kpad, int npad) {
    (void)npad;
    size_t rows = (size_t)(mb + MR - 1) / MR * MR;
    return rows * (size_t)kpad + ((rows + MR) * sizeof(int32_t) + 63) / 64 * 64 + 64;
}

static void block_s7(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1, void *scratch) {
    block_as(p, r, m0, m1, n0, n1, scratch, true, false);
}

const ot_qgemm_isa ot_qgemm_isa_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .kstep = 2, .bk_kind = OT_QGEMM_BK_ZB,
    .b_size = b_size, .pack_b = pack_b, .scratch_size = scratch_size, .block = block,
};

const ot_qgemm_isa ot_qgemm_isa_avx2_u8s7 = {
    .name = "avx2-u8s7", .mr = MR, .nr = NR, .kstep = 4, .bk_kind = OT_QGEMM_BK_S8,
    .b_size = b_size_s7, .pack_b = pack_b_s7, .scratch_size = scratch_size_s7, .block = block_s7,
};

/* The split variant: the u8s7 packing of B, A split per call (pack_rows_split). */
static size_t scratch_size_split(int mb, int kpad, int npad) {
    (void)npad;
    return split_scratch_size(mb, kpad);
}

/* What a block streams when its residual is sparse: one byte per element (its blocking budget). */
static size_t a_bytes_split(int mb, int kpad) { return (size_t)mb * (size_t)kpad; }

static void block_split(const ot_qgemm_packed *p, const ot_qgemm_run *r, int m0, int m1, int n0, int n1,
                        void *scratch) {
    block_as(p, r, m0, m1, n0, n1, scratch, true, true);
}

const ot_qgemm_isa ot_qgemm_isa_avx2_split = {
    .name = "avx2-split", .mr = MR, .nr = NR, .kstep = 4, .bk_kind = OT_QGEMM_BK_S8,
    .b_size = b_size_s7, .pack_b = pack_b_s7, .b2_size = b_size, .pack_b2 = pack_b,
    .scratch_size = scratch_size_split, .a_bytes = a_bytes_split, .block = block_split,
};
