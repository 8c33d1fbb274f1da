/* AVX2 versions of the hot functions of unary.c. The transcendental ones go through glibc's libmvec:
 * _ZGVdN8v_expf / tanhf / erff are libmvec's 8-wide AVX2 variants (within ~3 ulp, so ~3e-7
 * relative); a ragged tail goes through the same vector call on a padded copy, so an element's value
 * never depends on where a thread's range starts. HardSigmoid and HardSwish repeat the scalar
 * expression operation for operation (a true division, no FMA: -std=c11 keeps the compiler from
 * contracting), and maxps/minps with the constant first pick exactly what the scalar ?: picks (NaN and
 * -0 included), so they are bit-identical to the scalar loops. Compiled with -mavx2 -mfma (file name). */
#include <string.h> /* also defines __GLIBC__ */

#include "ops/unary_internal.h"

#if defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>
__m256 _ZGVdN8v_expf(__m256 x);
__m256 _ZGVdN8v_tanhf(__m256 x);
__m256 _ZGVdN8v_erff(__m256 x);

static inline __m256 v8_sigmoid(__m256 x, const un_params *c) {
    (void)c;
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_setzero_ps(), ax)); /* e^-|x| never overflows */
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
    return _mm256_blendv_ps(s, _mm256_mul_ps(e, s), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}
static inline __m256 v8_tanh(__m256 x, const un_params *c) { (void)c; return _ZGVdN8v_tanhf(x); }
static inline __m256 v8_erf(__m256 x, const un_params *c) { (void)c; return _ZGVdN8v_erff(x); }
static inline __m256 v8_exp(__m256 x, const un_params *c) { (void)c; return _ZGVdN8v_expf(x); }
static inline __m256 v8_gelu(__m256 x, const un_params *c) {
    (void)c;
    __m256 e = _ZGVdN8v_erff(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
static inline __m256 v8_gelu_tanh(__m256 x, const un_params *c) {
    (void)c;
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 in = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286535588f),
                              _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    __m256 t = _ZGVdN8v_tanhf(in);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
}
/* a < 0 ? 0 : a > 1 ? 1 : a, as unary.c: maxps(0, a) is 0 > a ? 0 : a and minps(1, b) is 1 < b ? 1 : b */
static inline __m256 v8_unit_clamp(__m256 a) {
    return _mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_max_ps(_mm256_setzero_ps(), a));
}
static inline __m256 v8_hard_sigmoid(__m256 x, const un_params *c) {
    __m256 a = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps((float)c->alpha), x), _mm256_set1_ps((float)c->beta));
    return v8_unit_clamp(a);
}
static inline __m256 v8_hard_swish(__m256 x, const un_params *c) {
    (void)c;
    __m256 a = _mm256_add_ps(_mm256_div_ps(x, _mm256_set1_ps(6.0f)), _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(x, v8_unit_clamp(a));
}

#define V8_LOOP(NAME, F)                                                                   \
    void NAME(const un_params *c, int64_t n, void *out, const void *in) {           \
        float *o = (float *)out;                                                           \
        const float *x = (const float *)in;                                                \
        int64_t i = 0;                                                                     \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, F(_mm256_loadu_ps(x + i), c)); \
        if (i < n) {                                                                       \
            float buf[8] = {0};                                                            \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof *buf);                             \
            _mm256_storeu_ps(buf, F(_mm256_loadu_ps(buf), c));                             \
            memcpy(o + i, buf, (size_t)(n - i) * sizeof *buf);                             \
        }                                                                                  \
    }
V8_LOOP(sigmoid_v8, v8_sigmoid)
V8_LOOP(tanh_v8, v8_tanh)
V8_LOOP(erf_v8, v8_erf)
V8_LOOP(exp_v8, v8_exp)
V8_LOOP(gelu_v8, v8_gelu)
V8_LOOP(gelu_tanh_v8, v8_gelu_tanh)
V8_LOOP(hard_sigmoid_v8, v8_hard_sigmoid)
V8_LOOP(hard_swish_v8, v8_hard_swish)
#endif
