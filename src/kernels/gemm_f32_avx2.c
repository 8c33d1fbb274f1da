/* 6x16 fp32 micro-kernel, AVX2 + FMA: 12 accumulators, two B vectors and one broadcast A value
 * per step. Same arithmetic order as ot_gemm_f32_kernel_scalar, so the results are bit-identical. */
#include <immintrin.h>

#include "kernels/gemm_f32.h"

static inline __m256i lane_mask(int n) {
    static const int m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    n = n < 0 ? 0 : (n > 8 ? 8 : n);
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

void ot_gemm_f32_kernel_avx2(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool first,
                             bool last, const float *bias, float lo, float hi) {
    __m256 acc[6][2];
    const __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    const bool full = nr == 16;
    for (int r = 0; r < 6; r++) {
        if (r >= mr) {
            acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        } else if (first) {
            acc[r][0] = acc[r][1] = _mm256_set1_ps(bias ? bias[r] : 0.0f);
        } else if (full) {
            acc[r][0] = _mm256_loadu_ps(c + (size_t)r * ldc);
            acc[r][1] = _mm256_loadu_ps(c + (size_t)r * ldc + 8);
        } else {
            acc[r][0] = _mm256_maskload_ps(c + (size_t)r * ldc, m0);
            acc[r][1] = _mm256_maskload_ps(c + (size_t)r * ldc + 8, m1);
        }
    }
    __m256 c00 = acc[0][0], c01 = acc[0][1], c10 = acc[1][0], c11 = acc[1][1], c20 = acc[2][0], c21 = acc[2][1];
    __m256 c30 = acc[3][0], c31 = acc[3][1], c40 = acc[4][0], c41 = acc[4][1], c50 = acc[5][0], c51 = acc[5][1];
    for (int k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
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
        b += 16;
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20, acc[2][1] = c21;
    acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int r = 0; r < mr; r++) {
        __m256 v0 = acc[r][0], v1 = acc[r][1];
        if (last) {
            /* same as the scalar v < lo ? lo : (v > hi ? hi : v): with v second, NaN passes through */
            v0 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v0));
            v1 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, v1));
        }
        float *cr = c + (size_t)r * ldc;
        if (full) {
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
        } else {
            _mm256_maskstore_ps(cr, m0, v0);
            _mm256_maskstore_ps(cr + 8, m1, v1);
        }
    }
}
