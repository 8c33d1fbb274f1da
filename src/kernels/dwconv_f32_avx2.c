/* AVX2+FMA depthwise kernel over staged rows (see dwconv_f32.h): 8 output columns per vector,
 * 4 vectors per step so the FMA latency is hidden; 3x3 keeps its 9 weights in registers. */
#include <immintrin.h>
#include <string.h>

#include "kernels/dwconv_f32.h"
#include "kernels/transpose8_avx2.h"

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

/* ---- 8 channels at once, channels in the vector lanes (NCHW8c on the fly) ----
 * Input rows are interleaved into a zero-padded band [rows][padded width][8], every tap of every
 * stride and dilation is then one 8-float load, and no lane is wasted on narrow planes. */

#define DW8_BAND_FLOATS 16384 /* 64 KiB of interleaved input rows per band */

static int dw8_wp(const ot_dw_geom *g) { return (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1; }

/* Output rows per band and input rows they need. */
static void dw8_band(const ot_dw_geom *g, int *rows_out, int *rows_in) {
    int wp = dw8_wp(g), ext = (g->kh - 1) * g->dh + 1;
    int cap = DW8_BAND_FLOATS / (wp * 8);
    int r = cap >= ext ? (cap - ext) / g->sh + 1 : 1;
    if (r > g->OH) r = g->OH;
    if (r < 1) r = 1;
    *rows_out = r;
    *rows_in = (r - 1) * g->sh + ext;
}

size_t ot_dwconv8_f32_scratch(const ot_dw_geom *g) {
    int ro, ri;
    dw8_band(g, &ro, &ri);
    return (size_t)ri * dw8_wp(g) * 8 + (size_t)(g->OW + 8) * 8 + (size_t)g->kh * g->kw * 8 + 64;
}

/* Band row of input row ih (may be padding): 8 channels interleaved over padded columns [0, wp). */
static void dw8_fill_row(const ot_dw_geom *g, const float *x, size_t xs, int nch, int ih, int wp, float *row) {
    if (ih < 0 || ih >= g->H) {
        memset(row, 0, (size_t)wp * 8 * sizeof(float));
        return;
    }
    const int W = g->W, pl = g->pl;
    /* padded column c holds input column c - pl */
    int lo = pl < wp ? pl : wp, hi = pl + W < wp ? pl + W : wp;
    if (lo > 0) memset(row, 0, (size_t)lo * 8 * sizeof(float));
    if (hi < wp) memset(row + (size_t)(hi > lo ? hi : lo) * 8, 0, (size_t)(wp - (hi > lo ? hi : lo)) * 8 * sizeof(float));
    const float *src[8];
    for (int c = 0; c < 8; c++) src[c] = c < nch ? x + (size_t)c * xs + (size_t)ih * W : NULL;
    int col = lo;
    for (; col + 8 <= hi; col += 8) {
        __m256 r[8];
        for (int c = 0; c < 8; c++) r[c] = src[c] ? _mm256_loadu_ps(src[c] + (col - pl)) : _mm256_setzero_ps();
        ot_transpose8_ps(r);
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(row + (size_t)(col + j) * 8, r[j]);
    }
    for (; col < hi; col++)
        for (int c = 0; c < 8; c++) row[(size_t)col * 8 + c] = src[c] ? src[c][col - pl] : 0.0f;
}

void ot_dwconv8_f32_avx2(const ot_dw_geom *g, const float *x, size_t xs, const float *w, const float *bias, float *y,
                         size_t ys, int nch, float *scratch) {
    if (g->OH <= 0 || g->OW <= 0) return;
    const int wp = dw8_wp(g), OW = g->OW, taps = g->kh * g->kw;
    int rows_out, rows_in;
    dw8_band(g, &rows_out, &rows_in);
    float *band = scratch;
    float *obuf = band + (size_t)rows_in * wp * 8;
    float *wv = obuf + (size_t)(OW + 8) * 8;
    /* weights interleaved per tap: wv[t][c] */
    for (int t = 0; t < taps; t++)
        for (int c = 0; c < 8; c++) wv[t * 8 + c] = c < nch ? w[(size_t)c * taps + t] : 0.0f;
    float bb[8];
    for (int c = 0; c < 8; c++) bb[c] = c < nch && bias ? bias[c] : 0.0f;
    const __m256 vb = _mm256_loadu_ps(bb);
    const int sx = g->sw * 8, dx = g->dw * 8;  /* float steps between output pixels / kernel columns */
    for (int oh0 = 0; oh0 < g->OH; oh0 += rows_out) {
        const int nr = g->OH - oh0 < rows_out ? g->OH - oh0 : rows_out;
        const int ih0 = oh0 * g->sh - g->pt, nin = (nr - 1) * g->sh + (g->kh - 1) * g->dh + 1;
        for (int i = 0; i < nin; i++) dw8_fill_row(g, x, xs, nch, ih0 + i, wp, band + (size_t)i * wp * 8);
        for (int r = 0; r < nr; r++) {
            const float *base = band + (size_t)r * g->sh * wp * 8;
            int ow = 0;
            for (; ow + 4 <= OW; ow += 4) {
                __m256 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
                const float *p0 = base + (size_t)ow * sx;
                for (int a = 0; a < g->kh; a++) {
                    const float *pr = p0 + (size_t)a * g->dh * wp * 8;
                    const float *wt = wv + (size_t)a * g->kw * 8;
                    for (int b = 0; b < g->kw; b++) {
                        const __m256 wk = _mm256_loadu_ps(wt + b * 8);
                        const float *pb = pr + b * dx;
                        a0 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(pb), a0);
                        a1 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(pb + sx), a1);
                        a2 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(pb + 2 * sx), a2);
                        a3 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(pb + 3 * sx), a3);
                    }
                }
                _mm256_storeu_ps(obuf + (size_t)ow * 8, a0);
                _mm256_storeu_ps(obuf + (size_t)(ow + 1) * 8, a1);
                _mm256_storeu_ps(obuf + (size_t)(ow + 2) * 8, a2);
                _mm256_storeu_ps(obuf + (size_t)(ow + 3) * 8, a3);
            }
            for (; ow < OW; ow++) {
                __m256 a0 = vb;
                const float *p0 = base + (size_t)ow * sx;
                for (int a = 0; a < g->kh; a++)
                    for (int b = 0; b < g->kw; b++)
                        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wv + (size_t)(a * g->kw + b) * 8),
                                             _mm256_loadu_ps(p0 + (size_t)a * g->dh * wp * 8 + b * dx), a0);
                _mm256_storeu_ps(obuf + (size_t)ow * 8, a0);
            }
            /* back to planes */
            const int oh = oh0 + r;
            int o = 0;
            for (; o + 8 <= OW; o += 8) {
                __m256 v[8];
                for (int j = 0; j < 8; j++) v[j] = _mm256_loadu_ps(obuf + (size_t)(o + j) * 8);
                ot_transpose8_ps(v);
                for (int c = 0; c < nch; c++) _mm256_storeu_ps(y + (size_t)c * ys + (size_t)oh * OW + o, v[c]);
            }
            for (; o < OW; o++)
                for (int c = 0; c < nch; c++) y[(size_t)c * ys + (size_t)oh * OW + o] = obuf[(size_t)o * 8 + c];
        }
    }
}
