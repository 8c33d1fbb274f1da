/* AVX2 + FMA logistic / tanh, op for op the fused branch of qc_logistic / qc_tanh (src/ops/qcontrib.c).
 * max/min operand order keeps the scalar NaN behaviour: maxps(c, x) returns x when x is NaN. */
#include <immintrin.h>

#include "kernels/qrnn_act.h"

static inline __m256 logistic8(__m256 x) {
    const __m256 a9 = _mm256_set1_ps(4.37031012579801e-11f), a7 = _mm256_set1_ps(1.15627324459942e-07f),
                 a5 = _mm256_set1_ps(6.08574864600143e-05f), a3 = _mm256_set1_ps(8.51377133304701e-03f),
                 a1 = _mm256_set1_ps(2.48287947061529e-01f);
    const __m256 b10 = _mm256_set1_ps(6.10247389755681e-13f), b8 = _mm256_set1_ps(5.76102136993427e-09f),
                 b6 = _mm256_set1_ps(6.29106785017040e-06f), b4 = _mm256_set1_ps(1.70198817374094e-03f),
                 b2 = _mm256_set1_ps(1.16817656904453e-01f), b0 = _mm256_set1_ps(9.93151921023180e-01f);
    const __m256 lo = _mm256_set1_ps(-18.0f), hi = _mm256_set1_ps(18.0f), half = _mm256_set1_ps(0.5f),
                 zero = _mm256_setzero_ps();
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
    return _mm256_max_ps(zero, r);
}

static inline __m256 tanh8(__m256 x) {
    const __m256 a13 = _mm256_set1_ps(-2.76076847742355e-16f), a11 = _mm256_set1_ps(2.00018790482477e-13f),
                 a9 = _mm256_set1_ps(-8.60467152213735e-11f), a7 = _mm256_set1_ps(5.12229709037114e-08f),
                 a5 = _mm256_set1_ps(1.48572235717979e-05f), a3 = _mm256_set1_ps(6.37261928875436e-04f),
                 a1 = _mm256_set1_ps(4.89352455891786e-03f);
    const __m256 b6 = _mm256_set1_ps(1.19825839466702e-06f), b4 = _mm256_set1_ps(1.18534705686654e-04f),
                 b2 = _mm256_set1_ps(2.26843463243900e-03f), b0 = _mm256_set1_ps(4.89352518554385e-03f);
    const __m256 lo = _mm256_set1_ps(-9.0f), hi = _mm256_set1_ps(9.0f);
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
    return _mm256_div_ps(_mm256_mul_ps(x, p), q);
}

int ot_qrnn_logistic_fma_avx2(float *v, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, logistic8(_mm256_loadu_ps(v + i)));
    return i;
}

int ot_qrnn_tanh_fma_avx2(float *v, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, tanh8(_mm256_loadu_ps(v + i)));
    return i;
}

/* ORT's clip_add_bias: v = x + b; v < clip ? v : clip; -clip < v ? v : -clip (a NaN sum becomes clip), and
 * clip_ignore_bias: x > clip ? clip : x < -clip ? -clip : x (NaN stays). minps/maxps(a, b) are a < b ? a : b
 * and a > b ? a : b, so the operand order gives each select exactly. */
static inline __m256 clip_bias8(__m256 x, const float *b, __m256 clip, __m256 nclip) {
    if (b) {
        x = _mm256_add_ps(x, _mm256_loadu_ps(b));
        return _mm256_max_ps(_mm256_min_ps(x, clip), nclip);
    }
    return _mm256_max_ps(nclip, _mm256_min_ps(clip, x));
}

int ot_qrnn_lstm_cell_fma_avx2(const float *pi, const float *po, const float *pf, const float *pc, const float *bias,
                               int H, float clip, float *c, float *h, int n) {
    const __m256 vc = _mm256_set1_ps(clip), nc = _mm256_set1_ps(-clip);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = logistic8(clip_bias8(_mm256_loadu_ps(pi + i), bias ? bias + i : NULL, vc, nc));
        __m256 gf = logistic8(clip_bias8(_mm256_loadu_ps(pf + i), bias ? bias + 2 * H + i : NULL, vc, nc));
        __m256 gc = tanh8(clip_bias8(_mm256_loadu_ps(pc + i), bias ? bias + 3 * H + i : NULL, vc, nc));
        __m256 cv = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(c + i), gf), _mm256_mul_ps(gi, gc));
        _mm256_storeu_ps(c + i, cv);
        __m256 go = logistic8(clip_bias8(_mm256_loadu_ps(po + i), bias ? bias + H + i : NULL, vc, nc));
        _mm256_storeu_ps(h + i, _mm256_mul_ps(tanh8(cv), go));
    }
    return i;
}
