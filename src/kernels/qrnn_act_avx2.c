/* AVX2 + FMA logistic / tanh, op for op the fused branch of qc_logistic / qc_tanh (src/ops/qcontrib.c).
 * max/min operand order keeps the scalar NaN behaviour: maxps(c, x) returns x when x is NaN. */
#include <immintrin.h>

#include "kernels/qrnn_act.h"

int ot_qrnn_logistic_fma_avx2(float *v, int n) {
    const __m256 a9 = _mm256_set1_ps(4.37031012579801e-11f), a7 = _mm256_set1_ps(1.15627324459942e-07f),
                 a5 = _mm256_set1_ps(6.08574864600143e-05f), a3 = _mm256_set1_ps(8.51377133304701e-03f),
                 a1 = _mm256_set1_ps(2.48287947061529e-01f);
    const __m256 b10 = _mm256_set1_ps(6.10247389755681e-13f), b8 = _mm256_set1_ps(5.76102136993427e-09f),
                 b6 = _mm256_set1_ps(6.29106785017040e-06f), b4 = _mm256_set1_ps(1.70198817374094e-03f),
                 b2 = _mm256_set1_ps(1.16817656904453e-01f), b0 = _mm256_set1_ps(9.93151921023180e-01f);
    const __m256 lo = _mm256_set1_ps(-18.0f), hi = _mm256_set1_ps(18.0f), half = _mm256_set1_ps(0.5f),
                 zero = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        x = _mm256_max_ps(lo, x);
        x = _mm256_min_ps(hi, x);
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 p = _mm256_fmadd_ps(x2, a9, a7);
        p = _mm256_fmadd_ps(x2, p, a5);
        p = _mm256_fmadd_ps(x2, p, a3);
        p = _mm256_fmadd_ps(x2, p, a1);
        __m256 q = _mm256_fmadd_ps(x2, b10, b8);
        q = _mm256_fmadd_ps(x2, q, b6);
        q = _mm256_fmadd_ps(x2, q, b4);
        q = _mm256_fmadd_ps(x2, q, b2);
        q = _mm256_fmadd_ps(x2, q, b0);
        p = _mm256_mul_ps(x, p);
        __m256 r = _mm256_add_ps(_mm256_div_ps(p, q), half);
        _mm256_storeu_ps(v + i, _mm256_max_ps(zero, r));
    }
    return i;
}

int ot_qrnn_tanh_fma_avx2(float *v, int n) {
    const __m256 a13 = _mm256_set1_ps(-2.76076847742355e-16f), a11 = _mm256_set1_ps(2.00018790482477e-13f),
                 a9 = _mm256_set1_ps(-8.60467152213735e-11f), a7 = _mm256_set1_ps(5.12229709037114e-08f),
                 a5 = _mm256_set1_ps(1.48572235717979e-05f), a3 = _mm256_set1_ps(6.37261928875436e-04f),
                 a1 = _mm256_set1_ps(4.89352455891786e-03f);
    const __m256 b6 = _mm256_set1_ps(1.19825839466702e-06f), b4 = _mm256_set1_ps(1.18534705686654e-04f),
                 b2 = _mm256_set1_ps(2.26843463243900e-03f), b0 = _mm256_set1_ps(4.89352518554385e-03f);
    const __m256 lo = _mm256_set1_ps(-9.0f), hi = _mm256_set1_ps(9.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        x = _mm256_max_ps(lo, x);
        x = _mm256_min_ps(hi, x);
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 p = _mm256_fmadd_ps(x2, a13, a11);
        p = _mm256_fmadd_ps(x2, p, a9);
        p = _mm256_fmadd_ps(x2, p, a7);
        p = _mm256_fmadd_ps(x2, p, a5);
        p = _mm256_fmadd_ps(x2, p, a3);
        p = _mm256_fmadd_ps(x2, p, a1);
        __m256 q = _mm256_fmadd_ps(x2, b6, b4);
        q = _mm256_fmadd_ps(x2, q, b2);
        q = _mm256_fmadd_ps(x2, q, b0);
        _mm256_storeu_ps(v + i, _mm256_div_ps(_mm256_mul_ps(x, p), q));
    }
    return i;
}
