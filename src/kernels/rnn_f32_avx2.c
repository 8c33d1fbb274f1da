/* AVX2 + FMA kernels for the recurrent ops; scalar twins in rnn_f32.c / rnn_f32_math.h. */
#include "kernels/rnn_f32.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "kernels/rnn_f32_math.h"

/* MR batch rows x NP panels (16 columns each) of C += A · W^T. acc = sum over k in order, with one
 * FMA per k, then added to C: the same sequence as ot_rnn_gemm_acc_ref. MR*NP <= 4 keeps the 2*MR*NP
 * accumulators and the operands in the 16 ymm registers. The accumulators are named variables (an
 * array of vectors is too big for GCC to keep in registers); ACC(i) picks one by a constant index. */
#define ACC(i) (*((i) == 0 ? &v0 : (i) == 1 ? &v1 : (i) == 2 ? &v2 : (i) == 3 ? &v3 : (i) == 4 ? &v4 : \
                  (i) == 5 ? &v5 : (i) == 6 ? &v6 : &v7))

static inline __attribute__((always_inline)) void tile(const int MR, const int NP, int k, const float *a, int lda,
                                                       const float *panel, size_t pstride, float *c, int ldc,
                                                       int ncols) {
    __m256 v0 = _mm256_setzero_ps(), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
    for (int kk = 0; kk < k; kk++) {
        /* one cache line per panel per k: fetch a few lines ahead to keep more misses in flight */
#pragma GCC unroll 4
        for (int p = 0; p < NP; p++)
            _mm_prefetch((const char *)(panel + p * pstride + (size_t)(kk + 8) * OT_RNN_PANEL), _MM_HINT_T0);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + kk);
#pragma GCC unroll 8
            for (int j = 0; j < 2 * NP; j++) {
                const float *src = panel + (j / 2) * pstride + (size_t)kk * OT_RNN_PANEL + 8 * (j % 2);
                ACC(r * 2 * NP + j) = _mm256_fmadd_ps(av, _mm256_loadu_ps(src), ACC(r * 2 * NP + j));
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
        float *cr = c + (size_t)r * ldc;
        if (ncols >= NP * OT_RNN_PANEL) {
#pragma GCC unroll 8
            for (int j = 0; j < 2 * NP; j++)
                _mm256_storeu_ps(cr + 8 * j, _mm256_add_ps(_mm256_loadu_ps(cr + 8 * j), ACC(r * 2 * NP + j)));
        } else {
            float tmp[64];
#pragma GCC unroll 8
            for (int j = 0; j < 2 * NP; j++) _mm256_storeu_ps(tmp + 8 * j, ACC(r * 2 * NP + j));
            for (int j = 0; j < ncols; j++) cr[j] += tmp[j];
        }
    }
}

/* One small function per tile shape, so each gets its accumulators in registers. */
#define TILE_FN(MR, NP)                                                                                   \
    static __attribute__((noinline)) void tile_##MR##x##NP(int k, const float *a, int lda, const float *panel, \
                                                           size_t pstride, float *c, int ldc, int ncols) {    \
        tile(MR, NP, k, a, lda, panel, pstride, c, ldc, ncols);                                           \
    }
TILE_FN(1, 4)
TILE_FN(1, 3)
TILE_FN(1, 2)
TILE_FN(1, 1)
TILE_FN(2, 2)
TILE_FN(2, 1)
TILE_FN(3, 1)
TILE_FN(4, 1)
#define TILE(MR, NP) tile_##MR##x##NP(k, ar, lda, panel, pstride, cr, ldc, ncols)

/* Column groups of 4 panels outside, row blocks of 4 inside: a group (4*16*k floats) stays in L2
 * while every row block uses it, so larger m (the input projection) does not re-stream W. */
void ot_rnn_gemm_acc_avx2(int m, int n0, int n1, int k, const float *a, int lda, const float *packed, float *c,
                          int ldc) {
    size_t pstride = (size_t)OT_RNN_PANEL * k;
    for (int g = n0; g < n1; g += 4 * OT_RNN_PANEL) {
        int gend = n1 - g < 4 * OT_RNN_PANEL ? n1 : g + 4 * OT_RNN_PANEL;
        for (int i = 0; i < m; i += 4) {
            int mr = m - i < 4 ? m - i : 4;
            int max_np = mr == 1 ? 4 : mr == 2 ? 2 : 1;
            const float *ar = a + (size_t)i * lda;
            for (int j = g; j < gend;) {
                int left = gend - j;
                int np = (left + OT_RNN_PANEL - 1) / OT_RNN_PANEL;
                if (np > max_np) np = max_np;
                int ncols = left < np * OT_RNN_PANEL ? left : np * OT_RNN_PANEL;
                const float *panel = packed + (size_t)(j / OT_RNN_PANEL) * pstride;
                float *cr = c + (size_t)i * ldc + j;
                switch (mr * 8 + np) {
                case 1 * 8 + 4: TILE(1, 4); break;
                case 1 * 8 + 3: TILE(1, 3); break;
                case 1 * 8 + 2: TILE(1, 2); break;
                case 1 * 8 + 1: TILE(1, 1); break;
                case 2 * 8 + 2: TILE(2, 2); break;
                case 2 * 8 + 1: TILE(2, 1); break;
                case 3 * 8 + 1: TILE(3, 1); break;
                default: TILE(4, 1); break;
                }
                j += ncols;
            }
        }
    }
}

/* Vector twin of ot_rnn_exp1. */
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(OT_RNN_EXP_LO)), _mm256_set1_ps(OT_RNN_EXP_HI));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(OT_RNN_LOG2E), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fmadd_ps(fx, _mm256_set1_ps(-OT_RNN_LN2_HI), x);
    r = _mm256_fmadd_ps(fx, _mm256_set1_ps(-OT_RNN_LN2_LO), r);
    __m256 y = _mm256_set1_ps(OT_RNN_EXP_P0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(OT_RNN_EXP_P1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(OT_RNN_EXP_P2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(OT_RNN_EXP_P3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(OT_RNN_EXP_P4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(OT_RNN_EXP_P5));
    __m256 r2 = _mm256_mul_ps(r, r);
    y = _mm256_fmadd_ps(y, r2, r);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

static inline __m256 sigmoid8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

static inline __m256 tanh8(__m256 x) {
    __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    /* small |x|: odd polynomial */
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(OT_RNN_TANH_T0), z, _mm256_set1_ps(OT_RNN_TANH_T1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(OT_RNN_TANH_T2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(OT_RNN_TANH_T3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(OT_RNN_TANH_T4));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    /* large |x|: 1 - 2/(e^{2|x|} + 1), sign of x */
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp8(_mm256_mul_ps(_mm256_set1_ps(2.0f), _mm256_min_ps(ax, _mm256_set1_ps(OT_RNN_TANH_BIG))));
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(OT_RNN_TANH_SMALL), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, is_small);
}

void ot_rnn_sigmoid_avx2(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, sigmoid8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = ot_rnn_sigmoid1(x[i]);
}

void ot_rnn_tanh_avx2(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, tanh8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = ot_rnn_tanh1(x[i]);
}

#endif
