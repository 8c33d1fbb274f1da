/* AVX2+FMA depthwise kernel over staged rows (see dwconv_f32.h): 8 output columns per vector,
 * 4 vectors per step so the FMA latency is hidden; 3x3 keeps its 9 weights in registers. */
#include <immintrin.h>

#include "kernels/dwconv_f32.h"

/* Mask with the first n (0..8) lanes set. */
static inline __m256i tail_mask(int n) {
    static const int m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

typedef struct tap {
    const float *src;  /* staged row + phase + offset for this tap */
    __m256 w;
} tap;

/* One output row: taps[0..nt) are the kernel taps whose input row exists. */
static void row_generic(const tap *taps, int nt, __m256 vb, float *yr, int OW) {
    int o = 0;
    for (; o + 32 <= OW; o += 32) {
        __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
        for (int t = 0; t < nt; t++) {
            const float *s = taps[t].src + o;
            a0 = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(s), a0);
            a1 = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(s + 8), a1);
            a2 = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(s + 16), a2);
            a3 = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(s + 24), a3);
        }
        _mm256_storeu_ps(yr + o, a0);
        _mm256_storeu_ps(yr + o + 8, a1);
        _mm256_storeu_ps(yr + o + 16, a2);
        _mm256_storeu_ps(yr + o + 24, a3);
    }
    for (; o < OW; o += 8) {
        __m256 a0 = vb;
        for (int t = 0; t < nt; t++) a0 = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(taps[t].src + o), a0);
        if (o + 8 <= OW)
            _mm256_storeu_ps(yr + o, a0);
        else
            _mm256_maskstore_ps(yr + o, tail_mask(OW - o), a0);
    }
}

/* 3x3 with all three input rows present: weights stay in registers. */
static void row_3x3(const tap *tp, __m256 vb, float *yr, int OW) {
    const __m256 w0 = tp[0].w, w1 = tp[1].w, w2 = tp[2].w, w3 = tp[3].w, w4 = tp[4].w, w5 = tp[5].w, w6 = tp[6].w,
                 w7 = tp[7].w, w8 = tp[8].w;
    const float *s0 = tp[0].src, *s1 = tp[1].src, *s2 = tp[2].src, *s3 = tp[3].src, *s4 = tp[4].src,
                *s5 = tp[5].src, *s6 = tp[6].src, *s7 = tp[7].src, *s8 = tp[8].src;
#define DW_TAP9(acc, o)                                              \
    acc = _mm256_fmadd_ps(w0, _mm256_loadu_ps(s0 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w1, _mm256_loadu_ps(s1 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w2, _mm256_loadu_ps(s2 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w3, _mm256_loadu_ps(s3 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w4, _mm256_loadu_ps(s4 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w5, _mm256_loadu_ps(s5 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w6, _mm256_loadu_ps(s6 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w7, _mm256_loadu_ps(s7 + (o)), acc);       \
    acc = _mm256_fmadd_ps(w8, _mm256_loadu_ps(s8 + (o)), acc);
    int o = 0;
    for (; o + 32 <= OW; o += 32) {
        __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
        DW_TAP9(a0, o)
        DW_TAP9(a1, o + 8)
        DW_TAP9(a2, o + 16)
        DW_TAP9(a3, o + 24)
        _mm256_storeu_ps(yr + o, a0);
        _mm256_storeu_ps(yr + o + 8, a1);
        _mm256_storeu_ps(yr + o + 16, a2);
        _mm256_storeu_ps(yr + o + 24, a3);
    }
    for (; o < OW; o += 8) {
        __m256 a0 = vb;
        DW_TAP9(a0, o)
        if (o + 8 <= OW)
            _mm256_storeu_ps(yr + o, a0);
        else
            _mm256_maskstore_ps(yr + o, tail_mask(OW - o), a0);
    }
#undef DW_TAP9
}

void ot_dwconv_f32_avx2(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch) {
    if (g->OH <= 0 || g->OW <= 0) return;
    ot_dwconv_f32_stage(g, x, scratch);
    const int wq = ot_dwconv_f32_row_len(g), OW = g->OW, ntap = g->kh * g->kw;
    const __m256 vb = _mm256_set1_ps(bias);
    tap taps_small[64];
    tap *taps = taps_small;
    /* Kernels with more than 64 taps take them in rows: run row by row of the kernel. */
    const bool whole = ntap <= 64;
    for (int oh = 0; oh < g->OH; oh++) {
        float *yr = y + (size_t)oh * OW;
        if (whole) {
            int nt = 0;
            for (int a = 0; a < g->kh; a++) {
                int ih = oh * g->sh - g->pt + a * g->dh;
                if (ih < 0 || ih >= g->H) continue;
                const float *row = scratch + (size_t)ih * g->sw * wq;
                for (int b = 0; b < g->kw; b++) {
                    int t = b * g->dw;
                    taps[nt].src = row + (size_t)(t % g->sw) * wq + t / g->sw;
                    taps[nt].w = _mm256_set1_ps(w[a * g->kw + b]);
                    nt++;
                }
            }
            if (nt == 9 && g->kh == 3 && g->kw == 3)
                row_3x3(taps, vb, yr, OW);
            else
                row_generic(taps, nt, vb, yr, OW);
            continue;
        }
        /* Huge kernels: accumulate kernel row by kernel row through y. */
        bool first = true;
        for (int a = 0; a < g->kh; a++) {
            int ih = oh * g->sh - g->pt + a * g->dh;
            if (ih < 0 || ih >= g->H) continue;
            const float *row = scratch + (size_t)ih * g->sw * wq;
            for (int b0 = 0; b0 < g->kw; b0 += 64) {
                int nt = 0;
                for (int b = b0; b < g->kw && b < b0 + 64; b++) {
                    int t = b * g->dw;
                    taps[nt].src = row + (size_t)(t % g->sw) * wq + t / g->sw;
                    taps[nt].w = _mm256_set1_ps(w[a * g->kw + b]);
                    nt++;
                }
                if (first) {
                    row_generic(taps, nt, vb, yr, OW);
                    first = false;
                } else {
                    /* add into the partial row: y += taps */
                    for (int o = 0; o < OW; o += 8) {
                        int n = OW - o < 8 ? OW - o : 8;
                        __m256i m = tail_mask(n);
                        __m256 acc = _mm256_maskload_ps(yr + o, m);
                        for (int t = 0; t < nt; t++)
                            acc = _mm256_fmadd_ps(taps[t].w, _mm256_loadu_ps(taps[t].src + o), acc);
                        _mm256_maskstore_ps(yr + o, m, acc);
                    }
                }
            }
        }
        if (first) /* every kernel row fell into the padding */
            for (int o = 0; o < OW; o++) yr[o] = bias;
    }
}
