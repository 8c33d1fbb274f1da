/* AVX2 loops of QLinearAdd / QLinearMul (qcontrib_ew.c has the scalar definitions). The same float
 * operations in the same order: explicit FMAs where MLAS's AVX2 kernel fuses, separate multiply and add
 * where MLAS rounds twice (C11 mode compiles with -ffp-contract=off, so nothing else gets fused). */
#include <immintrin.h>
#include <math.h>

#include "ops/qcontrib_internal.h"

/* 32 int32 within the output type -> 32 bytes in order */
static inline __m256i narrow32(__m256i i0, __m256i i1, __m256i i2, __m256i i3, bool sgn) {
    __m256i w0 = _mm256_packs_epi32(i0, i1), w1 = _mm256_packs_epi32(i2, i3);
    __m256i b = sgn ? _mm256_packs_epi16(w0, w1) : _mm256_packus_epi16(w0, w1);
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline __m256 load8f(const uint8_t *p, bool sgn) {
    __m128i b = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b));
}

static inline __m256i load8i(const uint8_t *p, bool sgn) {
    __m128i b = _mm_loadl_epi64((const __m128i *)p);
    return sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

static inline int32_t ld(const uint8_t *p, int64_t i, bool sgn) { return sgn ? (int8_t)p[i] : p[i]; }

/* cvtps (NaN/overflow -> INT32_MIN) then clamp: what MLAS's packs do */
static inline __m256i cvt_clamp(__m256 v, __m256i lo, __m256i hi) {
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi);
}

void qc_add_fma_avx2(const void *xv, const void *yv, int64_t sy, int64_t n, bool sgn, float rx, float ry,
                     float fixed, void *outv) {
    const uint8_t *x = xv, *y = yv;
    uint8_t *out = outv;
    int32_t lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    const __m256 vrx = _mm256_set1_ps(rx), vry = _mm256_set1_ps(ry), vf = _mm256_set1_ps(fixed);
    const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    int64_t i = 0;
    if (sy == 0) {
        /* a repeated y folds into the fixed part first: fma(y0, ry, fixed) */
        const __m256 vf1 = _mm256_set1_ps(fmaf((float)ld(y, 0, sgn), ry, fixed));
        for (; i + 32 <= n; i += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++)
                q[j] = cvt_clamp(_mm256_fmadd_ps(load8f(x + i + 8 * j, sgn), vrx, vf1), vlo, vhi);
            _mm256_storeu_si256((__m256i *)(out + i), narrow32(q[0], q[1], q[2], q[3], sgn));
        }
    } else if (sy == 1) {
        for (; i + 32 <= n; i += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                __m256 t = _mm256_fmadd_ps(load8f(y + i + 8 * j, sgn), vry, vf);
                q[j] = cvt_clamp(_mm256_fmadd_ps(load8f(x + i + 8 * j, sgn), vrx, t), vlo, vhi);
            }
            _mm256_storeu_si256((__m256i *)(out + i), narrow32(q[0], q[1], q[2], q[3], sgn));
        }
    }
    for (; i < n; i++) {
        float v = fmaf((float)ld(x, i, sgn), rx, fmaf((float)ld(y, i * sy, sgn), ry, fixed));
        int32_t r = qc_cvt_sat(v, lo, hi);
        out[i] = (uint8_t)r;
    }
}

void qc_mul_avx2(const void *av, int64_t sa, const void *bv, int64_t sb, int64_t n, bool sgn, int32_t za,
                 int32_t zb, float ratio, float zc, void *outv) {
    const uint8_t *a = av, *b = bv;
    uint8_t *out = outv;
    int32_t lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    const __m256 vr = _mm256_set1_ps(ratio), vzc = _mm256_set1_ps(zc);
    const __m256i vza = _mm256_set1_epi32(za), vzb = _mm256_set1_epi32(zb);
    const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    int64_t i = 0;
    if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
        const __m256i a0 = _mm256_set1_epi32(ld(a, 0, sgn) - za), b0 = _mm256_set1_epi32(ld(b, 0, sgn) - zb);
        for (; i + 32 <= n; i += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                __m256i va = sa ? _mm256_sub_epi32(load8i(a + i + 8 * j, sgn), vza) : a0;
                __m256i vb = sb ? _mm256_sub_epi32(load8i(b + i + 8 * j, sgn), vzb) : b0;
                __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(va, vb)), vr);
                q[j] = cvt_clamp(_mm256_add_ps(p, vzc), vlo, vhi);
            }
            _mm256_storeu_si256((__m256i *)(out + i), narrow32(q[0], q[1], q[2], q[3], sgn));
        }
    }
    for (; i < n; i++) {
        int32_t prod = (ld(a, i * sa, sgn) - za) * (ld(b, i * sb, sgn) - zb);
        float p = (float)prod * ratio;
        out[i] = (uint8_t)qc_cvt_sat(p + zc, lo, hi);
    }
}
