/* qgemv, AVX2 variant: per pair of k, one dword broadcast of (a16[2q], a16[2q+1]) and, per 8 columns,
 * 16 int8 of B sign-extended to int16 (vpmovsxbw) and vpmaddwd: exact int32 pair sums. Two strips
 * (64 columns, 8 accumulators) at a time to hide the multiply latency. */
#include <immintrin.h>
#include <string.h>

#include "kernels/qgemv.h"

#define NB OT_QGEMV_NB

static inline __m256i ld8(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }

static inline __m256i bcast_pair(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* acc[0..3] (strip b0) and, when two, acc[4..7] (strip b1), over kp pairs. */
static inline __attribute__((always_inline)) void kern(const int16_t *a16, const int8_t *b0, const int8_t *b1, int kp,
                                                       __m256i acc[8], int two) {
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (int q = 0; q < kp; q++, b0 += 2 * NB, b1 += 2 * NB) {
        __m256i x = bcast_pair(a16 + 2 * q);
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(ld8(b0), x));
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(ld8(b0 + 16), x));
        c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(ld8(b0 + 32), x));
        c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(ld8(b0 + 48), x));
        if (two) {
            c4 = _mm256_add_epi32(c4, _mm256_madd_epi16(ld8(b1), x));
            c5 = _mm256_add_epi32(c5, _mm256_madd_epi16(ld8(b1 + 16), x));
            c6 = _mm256_add_epi32(c6, _mm256_madd_epi16(ld8(b1 + 32), x));
            c7 = _mm256_add_epi32(c7, _mm256_madd_epi16(ld8(b1 + 48), x));
        }
    }
    acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3, acc[4] = c4, acc[5] = c5, acc[6] = c6, acc[7] = c7;
}

void ot_qgemv_strip_avx2(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t out[NB]) {
    int kp = p->kpad / 2;
    const int8_t *b = p->data + (size_t)s * kp * NB * 2;
    __m256i acc[8];
    kern(a16, b, b, kp, acc, 0);
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(out + 8 * i), acc[i]);
}

/* y[n..n+nv) = (float)(acc - corr) * scale + y, 8 columns per vector. */
static inline void epi(const __m256i *acc, __m256i vcorr, const float *scale, bool per_col, float *y, int n, int nv) {
    for (int g = 0; g < 4 && 8 * g < nv; g++) {
        int m = nv - 8 * g < 8 ? nv - 8 * g : 8, c = n + 8 * g;
        __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[g], vcorr));
        if (m == 8) {
            __m256 sc = per_col ? _mm256_loadu_ps(scale + c) : _mm256_set1_ps(scale[0]);
            _mm256_storeu_ps(y + c, _mm256_add_ps(_mm256_mul_ps(f, sc), _mm256_loadu_ps(y + c)));
        } else {
            float t[8];
            _mm256_storeu_ps(t, f);
            for (int j = 0; j < m; j++) {
                float v = t[j] * scale[per_col ? c + j : 0];
                y[c + j] = v + y[c + j];
            }
        }
    }
}

void ot_qgemv_f32_acc_avx2(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                           bool scale_per_col, float *y, int s0, int s1) {
    int kp = p->kpad / 2, N = p->N;
    size_t sbytes = (size_t)kp * NB * 2;
    const __m256i vcorr = _mm256_set1_epi32(corr);
    int s = s0;
    for (; s < s1; s += 2) {
        int two = s + 1 < s1;
        __m256i acc[8];
        const int8_t *b0 = p->data + (size_t)s * sbytes;
        if (two) kern(a16, b0, b0 + sbytes, kp, acc, 1);
        else kern(a16, b0, b0, kp, acc, 0);
        for (int h = 0; h <= two; h++) {
            int n = (s + h) * NB, nv = N - n < NB ? N - n : NB;
            epi(acc + 4 * h, vcorr, scale, scale_per_col, y, n, nv);
        }
    }
}
