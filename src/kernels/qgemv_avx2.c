/* qgemv, AVX2 variant: per pair of k, one dword broadcast of (a16[2q], a16[2q+1]) and, per 8 columns,
 * 16 int8 of B sign-extended to int16 (vpmovsxbw) and vpmaddwd: exact int32 pair sums. Up to three
 * strips (96 columns, 12 accumulators) at a time.
 * u8s7 (7-bit B, see qgemv.h): per 4 k one dword broadcast of the bytes of A and, per 8 columns,
 * vpmaddubsw on 32 bytes of B (pair sums that cannot saturate), vpmaddwd by ones, vpaddd; then
 * - za_u * colsum[n] per column.
 * split (full 8-bit B, see qgemv.h): the u8s7 loop on the windowed bytes of A, then per residual entry
 * one vpmaddubsw of |r| (in k's byte of a dword) with B's quad, vpmaddwd by +-1; or, when A took the
 * int16 form, the int16 loop on the pairs copy. */
#include <immintrin.h>
#include <string.h>

#include "kernels/qgemm.h"   /* ot_qsplit_window_start */
#include "kernels/qgemv.h"

#define NB OT_QGEMV_NB

static inline __m256i ld8(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }

static inline __m256i bcast_pair(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

static inline __m256i bcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* u8 x s7: one vpmaddubsw of x and 32 bytes of B, widened to int32 pair sums of pairs. */
static inline __m256i dot4(__m256i x, const int8_t *b, __m256i ones) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, _mm256_loadu_si256((const __m256i *)b)), ones);
}

/* +1 and -1 as int16: vpmaddwd by them widens a residual product with its sign. */
static const int16_t kSign[2][16] __attribute__((aligned(32))) = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}};

/* kern for u8s7: the same strips and accumulators, over kq steps of 4 k (4 NB bytes per strip), then (split)
 * the residual entries of the prepared A, then the column correction - za_u * colsum. */
static inline __attribute__((always_inline)) void kern_s7(const ot_qgemv_packed *p, const int16_t *a16, int s,
                                                          size_t sb, int kq, __m256i acc[12], int ns, bool split) {
    const uint8_t *au = (const uint8_t *)a16;
    const int8_t *b0 = p->data + (size_t)s * sb, *b1 = b0 + (ns > 1 ? sb : 0), *b2 = b0 + (ns > 2 ? 2 * sb : 0);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    __m256i c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (int q = 0; q < kq; q++, b0 += 4 * NB, b1 += 4 * NB, b2 += 4 * NB) {
        __m256i x = bcast4(au + 4 * q);
        c0 = _mm256_add_epi32(c0, dot4(x, b0, ones));
        c1 = _mm256_add_epi32(c1, dot4(x, b0 + 32, ones));
        c2 = _mm256_add_epi32(c2, dot4(x, b0 + 64, ones));
        c3 = _mm256_add_epi32(c3, dot4(x, b0 + 96, ones));
        if (ns > 1) {
            c4 = _mm256_add_epi32(c4, dot4(x, b1, ones));
            c5 = _mm256_add_epi32(c5, dot4(x, b1 + 32, ones));
            c6 = _mm256_add_epi32(c6, dot4(x, b1 + 64, ones));
            c7 = _mm256_add_epi32(c7, dot4(x, b1 + 96, ones));
        }
        if (ns > 2) {
            c8 = _mm256_add_epi32(c8, dot4(x, b2, ones));
            c9 = _mm256_add_epi32(c9, dot4(x, b2 + 32, ones));
            c10 = _mm256_add_epi32(c10, dot4(x, b2 + 64, ones));
            c11 = _mm256_add_epi32(c11, dot4(x, b2 + 96, ones));
        }
    }
    if (split) {   /* + r B[k][n] per entry: one product per lane, vpmaddwd by the entry's sign */
        int32_t ne;
        memcpy(&ne, au + p->kpad + 4, sizeof ne);
        const uint8_t *ent = au + p->kpad + 8;   /* (read with memcpy: a16 need only be 2-byte aligned) */
        const int8_t *s0 = p->data + (size_t)s * sb, *s1 = s0 + (ns > 1 ? sb : 0), *s2 = s0 + (ns > 2 ? 2 * sb : 0);
        for (int e = 0; e < ne; e++) {
            uint32_t q, pat;
            memcpy(&q, ent + 8 * (size_t)e, sizeof q);
            memcpy(&pat, ent + 8 * (size_t)e + 4, sizeof pat);
            size_t o = q & 0x7fffffffu;
            __m256i x = _mm256_set1_epi32((int)pat);
            __m256i sg = _mm256_load_si256((const __m256i *)kSign[q >> 31]);
            c0 = _mm256_add_epi32(c0, dot4(x, s0 + o, sg));
            c1 = _mm256_add_epi32(c1, dot4(x, s0 + o + 32, sg));
            c2 = _mm256_add_epi32(c2, dot4(x, s0 + o + 64, sg));
            c3 = _mm256_add_epi32(c3, dot4(x, s0 + o + 96, sg));
            if (ns > 1) {
                c4 = _mm256_add_epi32(c4, dot4(x, s1 + o, sg));
                c5 = _mm256_add_epi32(c5, dot4(x, s1 + o + 32, sg));
                c6 = _mm256_add_epi32(c6, dot4(x, s1 + o + 64, sg));
                c7 = _mm256_add_epi32(c7, dot4(x, s1 + o + 96, sg));
            }
            if (ns > 2) {
                c8 = _mm256_add_epi32(c8, dot4(x, s2 + o, sg));
                c9 = _mm256_add_epi32(c9, dot4(x, s2 + o + 32, sg));
                c10 = _mm256_add_epi32(c10, dot4(x, s2 + o + 64, sg));
                c11 = _mm256_add_epi32(c11, dot4(x, s2 + o + 96, sg));
            }
        }
    }
    acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3, acc[4] = c4, acc[5] = c5, acc[6] = c6, acc[7] = c7;
    acc[8] = c8, acc[9] = c9, acc[10] = c10, acc[11] = c11;
    int32_t za_u;
    memcpy(&za_u, au + p->kpad, sizeof za_u);
    const __m256i vz = _mm256_set1_epi32(za_u);
    for (int i = 0; i < 4 * ns; i++) {
        __m256i cs = _mm256_loadu_si256((const __m256i *)(p->colsum + (size_t)s * NB + 8 * (size_t)i));
        acc[i] = _mm256_sub_epi32(acc[i], _mm256_mullo_epi32(vz, cs));
    }
}

void ot_qgemv_strip_avx2_u8s7(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t out[NB]) {
    __m256i acc[12];
    kern_s7(p, a16, s, (size_t)p->kpad * NB, p->kpad / 4, acc, 1, false);
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(out + 8 * i), acc[i]);
}

/* acc[4i..4i+3] for strip i < ns (1 to 3 strips: b, b + sb, b + 2 sb), over kp pairs. Three strips (12
 * accumulators) keep three streams of B in flight, which helps when the matrix comes from L3. */
static inline __attribute__((always_inline)) void kern(const int16_t *a16, const int8_t *b, size_t sb, int kp,
                                                       __m256i acc[12], int ns) {
    const int8_t *b0 = b, *b1 = b + (ns > 1 ? sb : 0), *b2 = b + (ns > 2 ? 2 * sb : 0);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    __m256i c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (int q = 0; q < kp; q++, b0 += 2 * NB, b1 += 2 * NB, b2 += 2 * NB) {
        __m256i x = bcast_pair(a16 + 2 * q);
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(ld8(b0), x));
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(ld8(b0 + 16), x));
        c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(ld8(b0 + 32), x));
        c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(ld8(b0 + 48), x));
        if (ns > 1) {
            c4 = _mm256_add_epi32(c4, _mm256_madd_epi16(ld8(b1), x));
            c5 = _mm256_add_epi32(c5, _mm256_madd_epi16(ld8(b1 + 16), x));
            c6 = _mm256_add_epi32(c6, _mm256_madd_epi16(ld8(b1 + 32), x));
            c7 = _mm256_add_epi32(c7, _mm256_madd_epi16(ld8(b1 + 48), x));
        }
        if (ns > 2) {
            c8 = _mm256_add_epi32(c8, _mm256_madd_epi16(ld8(b2), x));
            c9 = _mm256_add_epi32(c9, _mm256_madd_epi16(ld8(b2 + 16), x));
            c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(ld8(b2 + 32), x));
            c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(ld8(b2 + 48), x));
        }
    }
    acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3, acc[4] = c4, acc[5] = c5, acc[6] = c6, acc[7] = c7;
    acc[8] = c8, acc[9] = c9, acc[10] = c10, acc[11] = c11;
}

void ot_qgemv_strip_avx2(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t out[NB]) {
    int kp = p->kpad / 2;
    const int8_t *b = (p->split ? p->data2 : p->data) + (size_t)s * kp * NB * 2;
    __m256i acc[12];
    kern(a16, b, 0, kp, acc, 1);
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(out + 8 * i), acc[i]);
}

void ot_qgemv_strip_avx2_split(const ot_qgemv_packed *p, const int16_t *a16, int s, int32_t out[NB]) {
    if (!ot_qgemv_a_windowed(p, a16)) {
        ot_qgemv_strip_avx2(p, a16, s, out);
        return;
    }
    __m256i acc[12];
    kern_s7(p, a16, s, (size_t)p->kpad * NB, p->kpad / 4, acc, 1, true);
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)(out + 8 * i), acc[i]);
}

/* y[n..n+nv) = (float)(acc - corr) * scale + add (or + 0), 8 columns per vector. */
static inline void epi(const __m256i *acc, __m256i vcorr, const float *scale, bool per_col, const float *add,
                       float *y, int n, int nv) {
    for (int g = 0; g < 4 && 8 * g < nv; g++) {
        int m = nv - 8 * g < 8 ? nv - 8 * g : 8, c = n + 8 * g;
        __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[g], vcorr));
        if (m == 8) {
            __m256 sc = per_col ? _mm256_loadu_ps(scale + c) : _mm256_set1_ps(scale[0]);
            __m256 ad = add ? _mm256_loadu_ps(add + c) : _mm256_setzero_ps();
            _mm256_storeu_ps(y + c, _mm256_add_ps(_mm256_mul_ps(f, sc), ad));
        } else {
            float t[8];
            _mm256_storeu_ps(t, f);
            for (int j = 0; j < m; j++) {
                float v = t[j] * scale[per_col ? c + j : 0];
                y[c + j] = v + (add ? add[c + j] : 0.0f);
            }
        }
    }
}

static inline __attribute__((always_inline)) void f32_as(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr,
                                                         const float *scale, bool scale_per_col, const float *add,
                                                         float *y, int s0, int s1, bool s7, bool split) {
    int kp = p->kpad / 2, N = p->N;
    size_t sbytes = (size_t)p->kpad * NB;   /* both layouts */
    const __m256i vcorr = _mm256_set1_epi32(corr);
    const int8_t *data = (p->split && !s7) ? p->data2 : p->data;
    for (int s = s0; s < s1;) {
        int ns = s1 - s >= 3 ? 3 : s1 - s;
        __m256i acc[12];
        const int8_t *b = data + (size_t)s * sbytes;
        if (s7) {
            if (ns == 3) kern_s7(p, a16, s, sbytes, kp / 2, acc, 3, split);
            else if (ns == 2) kern_s7(p, a16, s, sbytes, kp / 2, acc, 2, split);
            else kern_s7(p, a16, s, sbytes, kp / 2, acc, 1, split);
        } else if (ns == 3) {
            kern(a16, b, sbytes, kp, acc, 3);
        } else if (ns == 2) {
            kern(a16, b, sbytes, kp, acc, 2);
        } else {
            kern(a16, b, sbytes, kp, acc, 1);
        }
        for (int h = 0; h < ns; h++) {
            int n = (s + h) * NB, nv = N - n < NB ? N - n : NB;
            epi(acc + 4 * h, vcorr, scale, scale_per_col, add, y, n, nv);
        }
        s += ns;
    }
}

void ot_qgemv_f32_avx2(const ot_qgemv_packed *p, const int16_t *a16, int32_t corr, const float *scale,
                       bool scale_per_col, const float *add, float *y, int s0, int s1) {
    if (p->u8s7) f32_as(p, a16, corr, scale, scale_per_col, add, y, s0, s1, true, false);
    else if (p->split && ot_qgemv_a_windowed(p, a16)) f32_as(p, a16, corr, scale, scale_per_col, add, y, s0, s1, true, true);
    else f32_as(p, a16, corr, scale, scale_per_col, add, y, s0, s1, false, false);
}

/* The split form of a prepared A (see qgemv.h, and pack_row_window in qgemm_avx2.c for the same split of
 * a GEMM row), 16 k at a time: u = max(A_u - L, 0) with pairs over 256 cut, residual entries after the
 * header at byte kpad. *asum gets the sum of A_u over k < K. */
bool ot_qgemv_window_avx2(const ot_qgemv_packed *p, const uint8_t *a, uint8_t x, int32_t za_u, uint8_t *dst,
                          uint32_t *asum) {
    int K = p->K, kpad = p->kpad, L = ot_qsplit_window_start(za_u);
    if (kpad < 8) return false;   /* no room for the header before the flag at byte 2 kpad */
    /* An entry costs one more 4-k step of the strips. Up to ~3 % of K (as the GEMM): lstm2x512's
     * recurrent steps take the windowed form 62 % of the time at 6 % and ran no faster than at 3 %. */
    int cap = (kpad - 8) / 8, cap3 = K * 32 / 1024, n = 0;
    if (cap3 < cap) cap = cap3;
    if (cap > 64) cap = 64;   /* the staging room (K up to 2048 at ~3 %) */
    uint32_t ent[2 * 64];   /* (entries staged, see below) */
    const __m128i vx = _mm_set1_epi8((char)x), vl = _mm_set1_epi8((char)L), ones = _mm_set1_epi8(1);
    const __m128i lim = _mm_set1_epi16(256), zero = _mm_setzero_si128();
    const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i acc = zero;
    for (int k = 0; k < kpad; k += 16) {
        int len = K - k > 16 ? 16 : K - k > 0 ? K - k : 0;
        __m128i v;
        if (len == 16) {
            v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + k)), vx);
        } else {
            uint8_t tail[16] = {0};
            memcpy(tail, a + k, (size_t)len);
            v = _mm_and_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)tail), vx),
                              _mm_cmpgt_epi8(_mm_set1_epi8((char)len), idx));
        }
        __m128i u = _mm_subs_epu8(v, vl);
        if (len < 16) u = _mm_and_si128(u, _mm_cmpgt_epi8(_mm_set1_epi8((char)len), idx));
        acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
        unsigned low = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, vl), v)) & ((1u << len) - 1);
        unsigned high = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_maddubs_epi16(u, ones), lim)) & 0x5555u;
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, u);
        if (low | high) {
            if (n + __builtin_popcount(low) + __builtin_popcount(high) > cap) return false;
            for (; low; low &= low - 1) {
                int j = __builtin_ctz(low), kk = k + j;
                ent[2 * n] = (uint32_t)(kk >> 2) * 4u * NB | 0x80000000u;
                ent[2 * n + 1] = (uint32_t)(L - (int)(a[kk] ^ x)) << (8 * (kk & 3));
                n++;
            }
            for (; high; high &= high - 1) {   /* cut to 256: the excess is less than t[j] (t[j + 1] <= 255) */
                int j = __builtin_ctz(high), kk = k + j, ex = t[j] + t[j + 1] - 256;
                t[j] = (uint8_t)(t[j] - ex);
                ent[2 * n] = (uint32_t)(kk >> 2) * 4u * NB;
                ent[2 * n + 1] = (uint32_t)ex << (8 * (kk & 3));
                n++;
            }
        }
        memcpy(dst + k, t, 16);   /* (may reach past kpad, within 2 kpad: the header goes in after) */
    }
    /* The entries go in last, for the same reason: staged, at most 64. */
    memcpy(dst + kpad + 8, ent, (size_t)n * 2 * sizeof(uint32_t));
    int32_t zl = za_u - L;
    memcpy(dst + kpad, &zl, sizeof zl);
    memcpy(dst + kpad + 4, &n, sizeof n);
    *asum = (uint32_t)(_mm_cvtsi128_si64(acc) + _mm_extract_epi64(acc, 1));
    return true;
}
