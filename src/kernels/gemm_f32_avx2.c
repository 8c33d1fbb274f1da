/* 6x16 fp32 micro-kernel, AVX2 + FMA: 12 accumulators, two B vectors and one broadcast A value
 * per step (15 of the 16 ymm registers; nothing else may stay live across the loop, or the
 * compiler spills an accumulator). Same arithmetic order as ot_gemm_f32_kernel_scalar, so the
 * results are bit-identical. */
#include <immintrin.h>

#include "kernels/gemm_f32.h"

static inline __m256i lane_mask(int n) {
    static const int m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    n = n < 0 ? 0 : (n > 8 ? 8 : n);
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

/* Initial value of row r's two vectors. */
static inline void init_row(int r, int mr, int nr, bool first, const float *bias, const float *c, int ldc,
                            __m256 *v0, __m256 *v1) {
    if (r >= mr) {
        *v0 = *v1 = _mm256_setzero_ps();
    } else if (first) {
        *v0 = *v1 = _mm256_set1_ps(bias ? bias[r] : 0.0f);
    } else if (nr == 16) {
        *v0 = _mm256_loadu_ps(c + (size_t)r * ldc);
        *v1 = _mm256_loadu_ps(c + (size_t)r * ldc + 8);
    } else {
        *v0 = _mm256_maskload_ps(c + (size_t)r * ldc, lane_mask(nr));
        *v1 = _mm256_maskload_ps(c + (size_t)r * ldc + 8, lane_mask(nr - 8));
    }
}

static inline void store_row(int r, int mr, int nr, bool clamp, float lo, float hi, float *c, int ldc, __m256 v0,
                             __m256 v1) {
    if (r >= mr) return;
    if (clamp) {
        /* same as the scalar v < lo ? lo : (v > hi ? hi : v): with v second, NaN passes through */
        const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
        v0 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v0));
        v1 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v1));
    }
    float *cr = c + (size_t)r * ldc;
    if (nr == 16) {
        _mm256_storeu_ps(cr, v0);
        _mm256_storeu_ps(cr + 8, v1);
    } else {
        _mm256_maskstore_ps(cr, lane_mask(nr), v0);
        _mm256_maskstore_ps(cr + 8, lane_mask(nr - 8), v1);
    }
}

/* The kernel body. B rows are 16 packed floats (b + 16 k) or, with koff (the direct convolution),
 * 16 floats at b + koff[k]. always_inline: each caller gets its own copy with koff's test folded. */
static inline __attribute__((always_inline)) void kernel_6x16(int kc, const float *a, const float *b, const int *koff,
                                                              float *c, int ldc, int mr, int nr, bool first, bool last,
                                                              const float *bias, float lo, float hi) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    init_row(0, mr, nr, first, bias, c, ldc, &c00, &c01);
    init_row(1, mr, nr, first, bias, c, ldc, &c10, &c11);
    init_row(2, mr, nr, first, bias, c, ldc, &c20, &c21);
    init_row(3, mr, nr, first, bias, c, ldc, &c30, &c31);
    init_row(4, mr, nr, first, bias, c, ldc, &c40, &c41);
    init_row(5, mr, nr, first, bias, c, ldc, &c50, &c51);
    for (int k = 0; k < kc; k++) {
        const float *bk = koff ? b + koff[k] : b;
        const __m256 b0 = koff ? _mm256_loadu_ps(bk) : _mm256_load_ps(bk);
        const __m256 b1 = koff ? _mm256_loadu_ps(bk + 8) : _mm256_load_ps(bk + 8);
        __m256 av = _mm256_broadcast_ss(a);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
        a += 6;
        if (!koff) b += 16;
    }
    store_row(0, mr, nr, last, lo, hi, c, ldc, c00, c01);
    store_row(1, mr, nr, last, lo, hi, c, ldc, c10, c11);
    store_row(2, mr, nr, last, lo, hi, c, ldc, c20, c21);
    store_row(3, mr, nr, last, lo, hi, c, ldc, c30, c31);
    store_row(4, mr, nr, last, lo, hi, c, ldc, c40, c41);
    store_row(5, mr, nr, last, lo, hi, c, ldc, c50, c51);
}

void ot_gemm_f32_kernel_avx2(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool first,
                             bool last, const float *bias, float lo, float hi) {
    kernel_6x16(kc, a, b, NULL, c, ldc, mr, nr, first, last, bias, lo, hi);
}

void ot_gemm_f32_kernel_direct_avx2(int kc, const float *a, const float *b, const int *koff, float *c, int ldc, int mr,
                                    bool first, bool last, const float *bias, float lo, float hi) {
    kernel_6x16(kc, a, b, koff, c, ldc, mr, 16, first, last, bias, lo, hi);
}
