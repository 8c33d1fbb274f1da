/* AVX2+FMA kernels of the blocked-layout convolution (see gemm_f32_nchwc.h). Each does the same
 * operations in the same order as its scalar twin in gemm_f32_nchwc.c, so results are bit-identical.
 * Direct tiles are specialized per (nf, P): the P*nf accumulators, nf weight vectors and one
 * broadcast fill at most 16 ymm registers. */
#include <float.h>
#include <immintrin.h>

#include "kernels/gemm_f32_nchwc.h"
#include "kernels/transpose8_avx2.h"

#define CB OT_NCHWC

static inline __m256 clamp8(__m256 v, __m256 lo, __m256 hi) {
    /* as the scalar v < lo ? lo : (v > hi ? hi : v): a NaN v passes through */
    return _mm256_min_ps(hi, _mm256_max_ps(lo, v));
}

/* The P x NF accumulators of a tile: the bias on the first K chunk, else the partial sums in y
 * (output pixel p of filter block f at y + f * ybs + p * ys). */
static inline __attribute__((always_inline)) void acc_load(__m256 *acc, const int NF, const int P, bool first,
                                                           const float *bias, const float *y, size_t ybs,
                                                           ptrdiff_t ys) {
    if (first) {
        const __m256 b0 = _mm256_loadu_ps(bias), b1 = NF > 1 ? _mm256_loadu_ps(bias + CB) : b0,
                     b2 = NF > 2 ? _mm256_loadu_ps(bias + 2 * CB) : b0;
#pragma GCC unroll 12
        for (int p = 0; p < P; p++) {
            acc[p * NF] = b0;
            if (NF > 1) acc[p * NF + 1] = b1;
            if (NF > 2) acc[p * NF + 2] = b2;
        }
    } else {
#pragma GCC unroll 12
        for (int p = 0; p < P; p++) {
            acc[p * NF] = _mm256_loadu_ps(y + p * ys);
            if (NF > 1) acc[p * NF + 1] = _mm256_loadu_ps(y + ybs + p * ys);
            if (NF > 2) acc[p * NF + 2] = _mm256_loadu_ps(y + 2 * ybs + p * ys);
        }
    }
}

/* Back to y: partial sums as they are, or on the last chunk + z (residual, same layout as y) and
 * clamped to [lo, hi]. */
static inline __attribute__((always_inline)) void acc_store(const __m256 *acc, const int NF, const int P, bool last,
                                                            float *y, size_t ybs, ptrdiff_t ys, const float *z,
                                                            float lo, float hi) {
    if (!last) {
#pragma GCC unroll 3
        for (int f = 0; f < NF; f++)
#pragma GCC unroll 12
            for (int p = 0; p < P; p++) _mm256_storeu_ps(y + f * ybs + p * ys, acc[p * NF + f]);
        return;
    }
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
#pragma GCC unroll 3
    for (int f = 0; f < NF; f++) {
        float *yf = y + f * ybs;
        const float *zf = z ? z + f * ybs : NULL;
#pragma GCC unroll 12
        for (int p = 0; p < P; p++) {
            __m256 v = acc[p * NF + f];
            if (zf) v = _mm256_add_ps(v, _mm256_loadu_ps(zf + p * ys));
            _mm256_storeu_ps(yf + p * ys, clamp8(v, vlo, vhi));
        }
    }
}

/* PS: the input step between pixels when it is a compile-time constant (blocked input at stride 1
 * or 2), so the broadcasts use fixed displacements instead of an address computation each; 0 = the
 * runtime pstep. L: taps per list entry -- 1, or 8 for the grouped tiles (lane l at input +l and
 * weights +l*NF*8, every address in the unrolled lane loop the entry's base plus a constant). */
static inline __attribute__((always_inline)) void tile_impl(const int NF, const int P, const int PS, const int L,
                                                            int nt, const ot_nchwc_tap *taps, const float *x,
                                                            ptrdiff_t o, ptrdiff_t pstep, const float *w,
                                                            const float *bias, float *y, size_t ybs, ptrdiff_t ys,
                                                            const float *z, bool first, bool last, float lo,
                                                            float hi) {
    __m256 acc[OT_NCHWC_TILE_MAX];
    acc_load(acc, NF, P, first, bias, y, ybs, ys);
    const float *xo = x + o;
    for (int t = 0; t < nt; t++) {
        const float *xt = xo + taps[t].xoff;
        const float *wt = w + (size_t)taps[t].k * (NF * CB);
#pragma GCC unroll 8
        for (int l = 0; l < L; l++) {
            const float *wl = wt + l * NF * CB;
            const __m256 w0 = _mm256_load_ps(wl);
            const __m256 w1 = NF > 1 ? _mm256_load_ps(wl + CB) : w0;
            const __m256 w2 = NF > 2 ? _mm256_load_ps(wl + 2 * CB) : w0;
#pragma GCC unroll 12
            for (int p = 0; p < P; p++) {
                const __m256 xv = _mm256_broadcast_ss(xt + l + p * (PS ? PS : pstep));
                acc[p * NF] = _mm256_fmadd_ps(xv, w0, acc[p * NF]);
                if (NF > 1) acc[p * NF + 1] = _mm256_fmadd_ps(xv, w1, acc[p * NF + 1]);
                if (NF > 2) acc[p * NF + 2] = _mm256_fmadd_ps(xv, w2, acc[p * NF + 2]);
            }
        }
    }
    acc_store(acc, NF, P, last, y, ybs, ys, z, lo, hi);
}

#define TILE_ARGS                                                                                                \
    int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o, ptrdiff_t pstep, const float *w, const float *bias, \
        float *y, size_t ybs, ptrdiff_t ys, const float *z, bool first, bool last, float lo, float hi
#define TILE_PASS nt, taps, x, o, pstep, w, bias, y, ybs, ys, z, first, last, lo, hi
#define DEF_TILE(NF, P, PS, L) \
    static void tile##L##_##NF##_##P##_##PS(TILE_ARGS) { tile_impl(NF, P, PS, L, TILE_PASS); }
#define DEF_TILES(PS, L)                                                                                           \
    DEF_TILE(1, 1, PS, L) DEF_TILE(1, 2, PS, L) DEF_TILE(1, 3, PS, L) DEF_TILE(1, 4, PS, L) DEF_TILE(1, 5, PS, L)  \
    DEF_TILE(1, 6, PS, L) DEF_TILE(1, 7, PS, L) DEF_TILE(1, 8, PS, L) DEF_TILE(1, 9, PS, L)                        \
    DEF_TILE(1, 10, PS, L) DEF_TILE(1, 11, PS, L) DEF_TILE(1, 12, PS, L) DEF_TILE(2, 1, PS, L)                     \
    DEF_TILE(2, 2, PS, L) DEF_TILE(2, 3, PS, L) DEF_TILE(2, 4, PS, L) DEF_TILE(2, 5, PS, L) DEF_TILE(2, 6, PS, L)  \
    DEF_TILE(3, 1, PS, L) DEF_TILE(3, 2, PS, L) DEF_TILE(3, 3, PS, L) DEF_TILE(3, 4, PS, L)
DEF_TILES(0, 1)
DEF_TILES(8, 1)
DEF_TILES(16, 1)
DEF_TILES(0, 8)
DEF_TILES(8, 8)
DEF_TILES(16, 8)

typedef void (*tile_fn)(TILE_ARGS);
#define TABLE(PS, L)                                                                                               \
    {{tile##L##_1_1_##PS, tile##L##_1_2_##PS, tile##L##_1_3_##PS, tile##L##_1_4_##PS, tile##L##_1_5_##PS,          \
      tile##L##_1_6_##PS, tile##L##_1_7_##PS, tile##L##_1_8_##PS, tile##L##_1_9_##PS, tile##L##_1_10_##PS,         \
      tile##L##_1_11_##PS, tile##L##_1_12_##PS},                                                                   \
     {tile##L##_2_1_##PS, tile##L##_2_2_##PS, tile##L##_2_3_##PS, tile##L##_2_4_##PS, tile##L##_2_5_##PS,          \
      tile##L##_2_6_##PS},                                                                                         \
     {tile##L##_3_1_##PS, tile##L##_3_2_##PS, tile##L##_3_3_##PS, tile##L##_3_4_##PS}}
static const tile_fn g_tiles[2][3][3][OT_NCHWC_TILE_MAX] = {{TABLE(0, 1), TABLE(8, 1), TABLE(16, 1)},
                                                            {TABLE(0, 8), TABLE(8, 8), TABLE(16, 8)}};

void ot_nchwc_tile_avx2(int nf, int P, int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o,
                        ptrdiff_t pstep, const float *w, const float *bias, float *y, size_t ybs, ptrdiff_t ys,
                        const float *z, bool first, bool last, float lo, float hi) {
    const int v = pstep == 8 ? 1 : pstep == 16 ? 2 : 0;
    g_tiles[0][v][nf - 1][P - 1](TILE_PASS);
}

void ot_nchwc_tile8_avx2(int nf, int P, int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o,
                         ptrdiff_t pstep, const float *w, const float *bias, float *y, size_t ybs, ptrdiff_t ys,
                         const float *z, bool first, bool last, float lo, float hi) {
    const int v = pstep == 8 ? 1 : pstep == 16 ? 2 : 0;
    g_tiles[1][v][nf - 1][P - 1](TILE_PASS);
}

/* ---- pointwise: taps are the input channels, in blocks of 8 (no tap list) ---- */

static inline __attribute__((always_inline)) void pw_impl(const int NF, const int P, int c0, int nc, const float *x,
                                                          ptrdiff_t plane, const float *w, const float *bias,
                                                          float *y, size_t ybs, const float *z, bool first,
                                                          bool last, float lo, float hi) {
    __m256 acc[OT_NCHWC_TILE_MAX];
    acc_load(acc, NF, P, first, bias, y, ybs, CB);
#define PW_STEP(XL)                                                                    \
    {                                                                                  \
        const __m256 w0 = _mm256_load_ps(w);                                           \
        const __m256 w1 = NF > 1 ? _mm256_load_ps(w + CB) : w0;                        \
        const __m256 w2 = NF > 2 ? _mm256_load_ps(w + 2 * CB) : w0;                    \
        w += NF * CB;                                                                  \
        _Pragma("GCC unroll 12") for (int p = 0; p < P; p++) {                         \
            const __m256 xv = _mm256_broadcast_ss((XL) + p * CB);                     \
            acc[p * NF] = _mm256_fmadd_ps(xv, w0, acc[p * NF]);                        \
            if (NF > 1) acc[p * NF + 1] = _mm256_fmadd_ps(xv, w1, acc[p * NF + 1]);    \
            if (NF > 2) acc[p * NF + 2] = _mm256_fmadd_ps(xv, w2, acc[p * NF + 2]);    \
        }                                                                              \
    }
    const float *xb = x + (ptrdiff_t)(c0 / CB) * plane;
    int c = 0;
    for (; c + CB <= nc; c += CB, xb += plane) {
        PW_STEP(xb + 0) PW_STEP(xb + 1) PW_STEP(xb + 2) PW_STEP(xb + 3)
        PW_STEP(xb + 4) PW_STEP(xb + 5) PW_STEP(xb + 6) PW_STEP(xb + 7)
    }
    for (int l = 0; c < nc; c++, l++) PW_STEP(xb + l)
#undef PW_STEP
    acc_store(acc, NF, P, last, y, ybs, CB, z, lo, hi);
}

#define PW_ARGS                                                                                                    \
    int c0, int nc, const float *x, ptrdiff_t plane, const float *w, const float *bias, float *y, size_t ybs,       \
        const float *z, bool first, bool last, float lo, float hi
#define PW_PASS c0, nc, x, plane, w, bias, y, ybs, z, first, last, lo, hi
#define DEF_PW(NF, P) \
    static void pw_##NF##_##P(PW_ARGS) { pw_impl(NF, P, PW_PASS); }
DEF_PW(1, 1) DEF_PW(1, 2) DEF_PW(1, 3) DEF_PW(1, 4) DEF_PW(1, 5) DEF_PW(1, 6)
DEF_PW(1, 7) DEF_PW(1, 8) DEF_PW(1, 9) DEF_PW(1, 10) DEF_PW(1, 11) DEF_PW(1, 12)
DEF_PW(2, 1) DEF_PW(2, 2) DEF_PW(2, 3) DEF_PW(2, 4) DEF_PW(2, 5) DEF_PW(2, 6)
DEF_PW(3, 1) DEF_PW(3, 2) DEF_PW(3, 3) DEF_PW(3, 4)

typedef void (*pw_fn)(PW_ARGS);
static const pw_fn g_pw[3][OT_NCHWC_TILE_MAX] = {
    {pw_1_1, pw_1_2, pw_1_3, pw_1_4, pw_1_5, pw_1_6, pw_1_7, pw_1_8, pw_1_9, pw_1_10, pw_1_11, pw_1_12},
    {pw_2_1, pw_2_2, pw_2_3, pw_2_4, pw_2_5, pw_2_6},
    {pw_3_1, pw_3_2, pw_3_3, pw_3_4},
};

void ot_nchwc_pw_avx2(int nf, int P, int c0, int nc, const float *x, ptrdiff_t plane, const float *w,
                      const float *bias, float *y, size_t ybs, const float *z, bool first, bool last, float lo,
                      float hi) {
    g_pw[nf - 1][P - 1](PW_PASS);
}

/* ---- depthwise ---- */

static inline __attribute__((always_inline)) void dw_impl(const int P, const int PS, int nt, const int *xoff,
                                                          const int *widx,
                                                          const float *x, ptrdiff_t o, ptrdiff_t pstep,
                                                          const float *w, const float *bias, float *y,
                                                          const float *z, float lo, float hi) {
    __m256 acc[8];
    const __m256 vb = _mm256_loadu_ps(bias);
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) acc[p] = vb;
    const float *xo = x + o;
    for (int t = 0; t < nt; t++) {
        const __m256 wv = _mm256_load_ps(w + widx[t] * CB);
        const float *xt = xo + xoff[t];
#pragma GCC unroll 8
        for (int p = 0; p < P; p++) acc[p] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xt + p * (PS ? PS : pstep)), acc[p]);
    }
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) {
        __m256 v = acc[p];
        if (z) v = _mm256_add_ps(v, _mm256_loadu_ps(z + p * CB));
        _mm256_storeu_ps(y + p * CB, clamp8(v, vlo, vhi));
    }
}

#define DW_ARGS                                                                                                    \
    int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o, ptrdiff_t pstep, const float *w,        \
        const float *bias, float *y, const float *z, float lo, float hi
#define DW_PASS nt, xoff, widx, x, o, pstep, w, bias, y, z, lo, hi
#define DEF_DW(P, PS) \
    static void dw_##P##_##PS(DW_ARGS) { dw_impl(P, PS, DW_PASS); }
#define DEF_DWS(PS)                                                                                                \
    DEF_DW(1, PS) DEF_DW(2, PS) DEF_DW(3, PS) DEF_DW(4, PS) DEF_DW(5, PS) DEF_DW(6, PS) DEF_DW(7, PS) DEF_DW(8, PS)
DEF_DWS(0)
DEF_DWS(8)
DEF_DWS(16)

typedef void (*dw_fn)(DW_ARGS);
#define DW_TABLE(PS) {dw_1_##PS, dw_2_##PS, dw_3_##PS, dw_4_##PS, dw_5_##PS, dw_6_##PS, dw_7_##PS, dw_8_##PS}
static const dw_fn g_dw[3][8] = {DW_TABLE(0), DW_TABLE(8), DW_TABLE(16)};

void ot_nchwc_dw_avx2(int P, int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o, ptrdiff_t pstep,
                      const float *w, const float *bias, float *y, const float *z, float lo, float hi) {
    const int v = pstep == 8 ? 1 : pstep == 16 ? 2 : 0;
    g_dw[v][P - 1](DW_PASS);
}

/* ---- reorders ---- */

void ot_nchwc_reorder_in_avx2(const float *x, int C, size_t hw, float *y) {
    const int nb = ot_nchwc_blocks(C);
    for (int b = 0; b < nb; b++) {
        const int nc = C - b * CB < CB ? C - b * CB : CB;
        const float *xb = x + (size_t)b * CB * hw;
        float *yb = y + (size_t)b * hw * CB;
        size_t p = 0;
        for (; p + 8 <= hw; p += 8) {
            __m256 r[8];
            for (int c = 0; c < CB; c++) r[c] = c < nc ? _mm256_loadu_ps(xb + (size_t)c * hw + p) : _mm256_setzero_ps();
            ot_transpose8_ps(r);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(yb + (p + j) * CB, r[j]);
        }
        for (; p < hw; p++)
            for (int c = 0; c < CB; c++) yb[p * CB + c] = c < nc ? xb[(size_t)c * hw + p] : 0.0f;
    }
}

void ot_nchwc_reorder_out_avx2(const float *x, int C, size_t hw, float *y) {
    const int nb = ot_nchwc_blocks(C);
    for (int b = 0; b < nb; b++) {
        const int nc = C - b * CB < CB ? C - b * CB : CB;
        const float *xb = x + (size_t)b * hw * CB;
        float *yb = y + (size_t)b * CB * hw;
        size_t p = 0;
        for (; p + 8 <= hw; p += 8) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(xb + (p + j) * CB);
            ot_transpose8_ps(r);
            for (int c = 0; c < nc; c++) _mm256_storeu_ps(yb + (size_t)c * hw + p, r[c]);
        }
        for (; p < hw; p++)
            for (int c = 0; c < nc; c++) yb[(size_t)c * hw + p] = xb[p * CB + c];
    }
}

/* ---- elementwise programs: instruction by instruction over a batch of vectors ---- */

#define EW_BATCH 16

static inline __m256 ew_blend(__m256 a, __m256 b, __m256 mask) { return _mm256_blendv_ps(a, b, mask); }

static inline __m256 ew_clamp01(__m256 v) {
    /* v < 0 ? 0 : v > 1 ? 1 : v (a NaN v stays) */
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    __m256 r = ew_blend(v, one, _mm256_cmp_ps(v, one, _CMP_GT_OQ));
    return ew_blend(r, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
}

/* One instruction over nv vectors: the op is chosen once, outside the loop. */
static inline void ew_step(const ot_ew_ins *in, __m256 *d, const __m256 *ra, const __m256 *rb, int nv) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    const __m256 p0 = _mm256_set1_ps(in->p0), p1 = _mm256_set1_ps(in->p1);
#define A (ra[v])
#define B (rb[v])
#define LOOP(EXPR)                                  \
    for (int v = 0; v < nv; v++) {                  \
        const __m256 a = A, b = B;                  \
        (void)b;                                    \
        d[v] = (EXPR);                              \
    }                                               \
    break;
    switch (in->op) {
    case OT_EW_ADD: LOOP(_mm256_add_ps(a, b))
    case OT_EW_SUB: LOOP(_mm256_sub_ps(a, b))
    case OT_EW_MUL: LOOP(_mm256_mul_ps(a, b))
    case OT_EW_DIV: LOOP(_mm256_div_ps(a, b))
    case OT_EW_MAX:
        LOOP(ew_blend(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q))))
    case OT_EW_MIN:
        LOOP(ew_blend(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q))))
    case OT_EW_PRELU: LOOP(ew_blend(a, _mm256_mul_ps(a, b), _mm256_cmp_ps(a, zero, _CMP_LT_OQ)))
    case OT_EW_RELU: LOOP(ew_blend(a, zero, _mm256_cmp_ps(a, zero, _CMP_LT_OQ)))
    case OT_EW_LEAKY: LOOP(ew_blend(a, _mm256_mul_ps(p0, a), _mm256_cmp_ps(a, zero, _CMP_LT_OQ)))
    case OT_EW_CLIP:
        for (int v = 0; v < nv; v++) {
            const __m256 a = A, t = ew_blend(a, p0, _mm256_cmp_ps(a, p0, _CMP_LT_OQ));
            d[v] = ew_blend(t, p1, _mm256_cmp_ps(t, p1, _CMP_GT_OQ));
        }
        break;
    case OT_EW_HARDSIGMOID: LOOP(ew_clamp01(_mm256_add_ps(_mm256_mul_ps(p0, a), p1)))
    case OT_EW_HARDSWISH:
        LOOP(_mm256_mul_ps(a, ew_clamp01(_mm256_add_ps(_mm256_div_ps(a, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f)))))
    default: LOOP(a)
    }
#undef LOOP
#undef A
#undef B
    (void)one;
}

static inline __m256 ew_const(const ot_ewprog *pg, int ref, int block) {
    const int k = -1 - ref;
    return pg->per_channel[k] ? _mm256_loadu_ps(pg->value[k] + block * CB) : _mm256_set1_ps(pg->value[k][0]);
}

/* Batches of up to EW_BATCH vectors, across blocks (a tile's nf blocks go in one batch); a constant
 * operand is expanded per vector, for the block the vector belongs to. */
void ot_ewprog_run_avx2(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride,
                        int block0) {
    __m256 r[OT_EW_MAX_INS + 1][EW_BATCH], ca[EW_BATCH], cb[EW_BATCH];
    int blk[EW_BATCH];
    float *addr[EW_BATCH];
    const int total = n * nblk;
    for (int t0 = 0; t0 < total; t0 += EW_BATCH) {
        const int nv = total - t0 < EW_BATCH ? total - t0 : EW_BATCH;
        for (int v = 0; v < nv; v++) {
            const int f = (t0 + v) / n, j = (t0 + v) % n;
            blk[v] = block0 + f;
            addr[v] = y + f * bstride + j * stride;
            r[0][v] = _mm256_loadu_ps(addr[v]);
        }
        for (int i = 0; i < pg->n; i++) {
            const ot_ew_ins *in = &pg->ins[i];
            if (in->a < 0)
                for (int v = 0; v < nv; v++) ca[v] = ew_const(pg, in->a, blk[v]);
            if (in->b < 0)
                for (int v = 0; v < nv; v++) cb[v] = ew_const(pg, in->b, blk[v]);
            ew_step(in, r[i + 1], in->a >= 0 ? r[in->a] : ca, in->b >= 0 ? r[in->b] : cb, nv);
        }
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(addr[v], r[pg->n][v]);
    }
}

/* ---- max pooling: y = y > x ? y : x is _mm256_max_ps(y, x) exactly (a NaN x wins, a NaN y loses) ---- */

void ot_nchwc_maxrow_avx2(const ot_nchwc_geom *g, const float *xb, int oh, float *yr) {
    int a0, a1;
    const int ih0 = oh * g->sh - g->pt;
    ot_nchwc_tap_range(ih0, g->kh, g->dh, g->H, &a0, &a1);
    const ptrdiff_t rs = (ptrdiff_t)g->W * CB;
    int ow = 0;
    while (ow < g->OW) {
        int b0, b1;
        ot_nchwc_tap_range(ow * g->sw - g->pl, g->kw, g->dw, g->W, &b0, &b1);
        /* 4 pixels at once while they share the window */
        int e0 = 0, e1 = 0;
        if (ow + 4 <= g->OW) ot_nchwc_tap_range((ow + 3) * g->sw - g->pl, g->kw, g->dw, g->W, &e0, &e1);
        const int np = ow + 4 <= g->OW && e0 == b0 && e1 == b1 ? 4 : 1;
        const float *x0 = xb + (ptrdiff_t)ih0 * rs + (ptrdiff_t)(ow * g->sw - g->pl) * CB;
        const ptrdiff_t ps = (ptrdiff_t)g->sw * CB;
        __m256 m0 = _mm256_set1_ps(-FLT_MAX), m1 = m0, m2 = m0, m3 = m0;
        for (int a = a0; a < a1; a++) {
            const float *xr = x0 + (ptrdiff_t)a * g->dh * rs;
            for (int b = b0; b < b1; b++) {
                const float *xv = xr + (ptrdiff_t)b * g->dw * CB;
                m0 = _mm256_max_ps(m0, _mm256_loadu_ps(xv));
                if (np == 4) {
                    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(xv + ps));
                    m2 = _mm256_max_ps(m2, _mm256_loadu_ps(xv + 2 * ps));
                    m3 = _mm256_max_ps(m3, _mm256_loadu_ps(xv + 3 * ps));
                }
            }
        }
        float *yo = yr + (size_t)ow * CB;
        _mm256_storeu_ps(yo, m0);
        if (np == 4) {
            _mm256_storeu_ps(yo + CB, m1);
            _mm256_storeu_ps(yo + 2 * CB, m2);
            _mm256_storeu_ps(yo + 3 * CB, m3);
        }
        ow += np;
    }
}
