/* Blocked-layout float convolution: weight packing, the scalar kernels, and the drivers that walk an
 * image in runs of output pixels sharing one set of valid taps (see gemm_f32_nchwc.h). */
#include "kernels/gemm_f32_nchwc.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "util/mem.h"

#define CB OT_NCHWC

/* ---- packing ---- */

/* Output blocks in groups of 3 (the widest register tile), a remainder of 1 made 2 + 2. */
static int make_groups(int mb, int *gblock) {
    int n = 0, b = 0;
    while (b < mb) {
        int left = mb - b, nf = left >= 3 ? 3 : left;
        if (left == 4) nf = 2;
        if (gblock) gblock[n] = b;
        n++;
        b += nf;
    }
    if (gblock) gblock[n] = mb;
    return n;
}

bool ot_nchwc_pack(ot_nchwc_w *p, const float *w, const float *bias, int M, int C, int kh, int kw, bool depthwise) {
    memset(p, 0, sizeof *p);
    p->M = M;
    p->C = C;
    p->kh = kh;
    p->kw = kw;
    p->mb = ot_nchwc_blocks(M);
    p->depthwise = depthwise;
    const int taps = kh * kw;
    p->K = depthwise ? taps : C * taps;
    const size_t n = (size_t)p->mb * CB * (size_t)p->K;
    p->data = ot_aligned_alloc((n ? n : 1) * sizeof(float));
    p->bias = ot_aligned_alloc((size_t)p->mb * CB * sizeof(float));
    if (!depthwise) {
        p->ngroups = make_groups(p->mb, NULL);
        p->gblock = malloc(sizeof(int) * (size_t)(p->ngroups + 1));
    }
    if (!p->data || !p->bias || (!depthwise && !p->gblock)) {
        ot_nchwc_free(p);
        return false;
    }
    for (int m = 0; m < p->mb * CB; m++) p->bias[m] = bias && m < M ? bias[m] : 0.0f;
    if (depthwise) {
        /* [block][tap][8] */
        for (int b = 0; b < p->mb; b++)
            for (int t = 0; t < taps; t++)
                for (int l = 0; l < CB; l++) {
                    int m = b * CB + l;
                    p->data[((size_t)b * taps + t) * CB + l] = m < M ? w[(size_t)m * taps + t] : 0.0f;
                }
        return true;
    }
    make_groups(p->mb, p->gblock);
    const int K = p->K;
    p->lane_major = C % CB == 0 && taps > 1;
    for (int j = 0; j < p->ngroups; j++) {
        const int b0 = p->gblock[j], nf = p->gblock[j + 1] - b0;
        float *dst = p->data + (size_t)b0 * K * CB;
        /* [k][nf][8]; ks: k's index in w's own [C][kh][kw] order */
        for (int k = 0; k < K; k++) {
            const int ks = p->lane_major ? ((k / CB / taps) * CB + k % CB) * taps + k / CB % taps : k;
            for (int f = 0; f < nf; f++)
                for (int l = 0; l < CB; l++) {
                    int m = (b0 + f) * CB + l;
                    dst[((size_t)k * nf + f) * CB + l] = m < M ? w[(size_t)m * K + ks] : 0.0f;
                }
        }
    }
    return true;
}

void ot_nchwc_free(ot_nchwc_w *p) {
    ot_aligned_free(p->data);
    ot_aligned_free(p->bias);
    free(p->gblock);
    memset(p, 0, sizeof *p);
}

/* ---- scalar kernels ---- */

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

void ot_nchwc_tile_scalar(int nf, int P, int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o,
                          ptrdiff_t pstep, const float *w, const float *bias, float *y, size_t ybs, ptrdiff_t ys,
                          const float *z, bool first, bool last, float lo, float hi) {
    float acc[OT_NCHWC_TILE_MAX][3][CB];
    for (int p = 0; p < P; p++)
        for (int f = 0; f < nf; f++)
            for (int l = 0; l < CB; l++) acc[p][f][l] = first ? bias[f * CB + l] : y[f * ybs + p * ys + l];
    for (int t = 0; t < nt; t++) {
        const float *wt = w + (size_t)taps[t].k * nf * CB;
        for (int p = 0; p < P; p++) {
            const float xv = x[o + p * pstep + taps[t].xoff];
            for (int f = 0; f < nf; f++)
                for (int l = 0; l < CB; l++) acc[p][f][l] = fmaf(xv, wt[f * CB + l], acc[p][f][l]);
        }
    }
    for (int f = 0; f < nf; f++)
        for (int p = 0; p < P; p++)
            for (int l = 0; l < CB; l++) {
                size_t i = f * ybs + (size_t)(p * ys) + l;
                float v = acc[p][f][l];
                if (last) {
                    if (z) v += z[i];
                    v = clampf(v, lo, hi);
                }
                y[i] = v;
            }
}

void ot_nchwc_tile8_scalar(int nf, int P, int nt, const ot_nchwc_tap *taps, const float *x, ptrdiff_t o,
                           ptrdiff_t pstep, const float *w, const float *bias, float *y, size_t ybs, ptrdiff_t ys,
                           const float *z, bool first, bool last, float lo, float hi) {
    ot_nchwc_tap one[CB] = {{0, 0}};
    for (int t = 0; t < nt; t++) {
        for (int l = 0; l < CB; l++) one[l] = (ot_nchwc_tap){taps[t].xoff + l, taps[t].k + l};
        ot_nchwc_tile_scalar(nf, P, CB, one, x, o, pstep, w, bias, y, ybs, ys, z, first && t == 0,
                             last && t == nt - 1, lo, hi);
    }
    if (nt == 0) ot_nchwc_tile_scalar(nf, P, 0, one, x, o, pstep, w, bias, y, ybs, ys, z, first, last, lo, hi);
}

void ot_nchwc_pw_scalar(int nf, int P, int c0, int nc, const float *x, ptrdiff_t plane, const float *w,
                        const float *bias, float *y, size_t ybs, const float *z, bool first, bool last, float lo,
                        float hi) {
    float acc[OT_NCHWC_TILE_MAX][3][CB];
    for (int p = 0; p < P; p++)
        for (int f = 0; f < nf; f++)
            for (int l = 0; l < CB; l++) acc[p][f][l] = first ? bias[f * CB + l] : y[f * ybs + (size_t)p * CB + l];
    for (int c = 0; c < nc; c++) {
        const float *wt = w + (size_t)c * nf * CB, *xc = x + (ptrdiff_t)((c0 + c) / CB) * plane + (c0 + c) % CB;
        for (int p = 0; p < P; p++)
            for (int f = 0; f < nf; f++)
                for (int l = 0; l < CB; l++) acc[p][f][l] = fmaf(xc[p * CB], wt[f * CB + l], acc[p][f][l]);
    }
    for (int f = 0; f < nf; f++)
        for (int p = 0; p < P; p++)
            for (int l = 0; l < CB; l++) {
                size_t i = f * ybs + (size_t)p * CB + l;
                float v = acc[p][f][l];
                if (last) {
                    if (z) v += z[i];
                    v = clampf(v, lo, hi);
                }
                y[i] = v;
            }
}

void ot_nchwc_dw_scalar(int P, int nt, const int *xoff, const int *widx, const float *x, ptrdiff_t o, ptrdiff_t pstep,
                        const float *w, const float *bias, float *y, const float *z, float lo, float hi) {
    for (int p = 0; p < P; p++)
        for (int l = 0; l < CB; l++) {
            float acc = bias[l];
            for (int t = 0; t < nt; t++) acc = fmaf(w[widx[t] * CB + l], x[o + p * pstep + xoff[t] + l], acc);
            size_t i = (size_t)p * CB + l;
            if (z) acc += z[i];
            y[i] = clampf(acc, lo, hi);
        }
}

static void reorder_in_scalar(const float *x, int C, size_t hw, float *y) {
    for (int b = 0; b < ot_nchwc_blocks(C); b++)
        for (size_t p = 0; p < hw; p++)
            for (int l = 0; l < CB; l++) {
                int c = b * CB + l;
                y[((size_t)b * hw + p) * CB + l] = c < C ? x[(size_t)c * hw + p] : 0.0f;
            }
}

static void reorder_out_scalar(const float *x, int C, size_t hw, float *y) {
    for (int c = 0; c < C; c++)
        for (size_t p = 0; p < hw; p++) y[(size_t)c * hw + p] = x[((size_t)(c / CB) * hw + p) * CB + c % CB];
}

/* ---- elementwise programs ---- */

static inline float ew1(int op, float a, float b, float p0, float p1) {
    switch (op) {
    case OT_EW_ADD: return a + b;
    case OT_EW_SUB: return a - b;
    case OT_EW_MUL: return a * b;
    case OT_EW_DIV: return a / b;
    case OT_EW_MAX: return (a > b || a != a) ? a : b;
    case OT_EW_MIN: return (a < b || a != a) ? a : b;
    case OT_EW_PRELU: return a < 0 ? a * b : a;
    case OT_EW_RELU: return a < 0 ? 0.0f : a;
    case OT_EW_LEAKY: return a < 0 ? p0 * a : a;
    case OT_EW_CLIP: {
        float t = a < p0 ? p0 : a;
        return t > p1 ? p1 : t;
    }
    case OT_EW_HARDSIGMOID: {
        float v = p0 * a + p1;
        return v < 0 ? 0.0f : v > 1 ? 1.0f : v;
    }
    case OT_EW_HARDSWISH: {
        float v = a / 6.0f + 0.5f;
        return a * (v < 0 ? 0.0f : v > 1 ? 1.0f : v);
    }
    default: return a;
    }
}

static inline float ew_operand(const ot_ewprog *pg, const float *r, int ref, int block, int lane) {
    if (ref >= 0) return r[ref];
    const int k = -1 - ref;
    return pg->per_channel[k] ? pg->value[k][block * CB + lane] : pg->value[k][0];
}

void ot_ewprog_run_scalar(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride,
                          int block0) {
    float r[OT_EW_MAX_INS + 1];
    for (int f = 0; f < nblk; f++)
        for (int v = 0; v < n; v++)
            for (int l = 0; l < CB; l++) {
                float *e = y + f * bstride + v * stride + l;
                r[0] = *e;
                for (int i = 0; i < pg->n; i++) {
                    const ot_ew_ins *in = &pg->ins[i];
                    r[i + 1] = ew1(in->op, ew_operand(pg, r, in->a, block0 + f, l),
                                   ew_operand(pg, r, in->b, block0 + f, l), in->p0, in->p1);
                }
                *e = r[pg->n];
            }
}

void ot_ewprog_run_floats(const ot_ewprog *pg, float *y, size_t n) {
    float r[OT_EW_MAX_INS + 1];
    for (size_t j = 0; j < n; j++) {
        r[0] = y[j];
        for (int i = 0; i < pg->n; i++) {
            const ot_ew_ins *in = &pg->ins[i];
            r[i + 1] = ew1(in->op, ew_operand(pg, r, in->a, 0, 0), ew_operand(pg, r, in->b, 0, 0), in->p0, in->p1);
        }
        y[j] = r[pg->n];
    }
}

/* ---- dispatch ---- */

static bool g_force_scalar;

void ot_nchwc_force_scalar(bool on) { g_force_scalar = on; }

static bool use_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return !g_force_scalar && ot_kernels_get()->isa >= OT_ISA_AVX2;
#else
    return false;
#endif
}

void ot_ewprog_run(const ot_ewprog *pg, float *y, int n, ptrdiff_t stride, int nblk, ptrdiff_t bstride, int block0) {
    if (use_avx2())
        ot_ewprog_run_avx2(pg, y, n, stride, nblk, bstride, block0);
    else
        ot_ewprog_run_scalar(pg, y, n, stride, nblk, bstride, block0);
}

void ot_nchwc_reorder_in(const float *x, int C, size_t hw, float *y) {
    if (use_avx2())
        ot_nchwc_reorder_in_avx2(x, C, hw, y);
    else
        reorder_in_scalar(x, C, hw, y);
}

void ot_nchwc_reorder_out(const float *x, int C, size_t hw, float *y) {
    if (use_avx2())
        ot_nchwc_reorder_out_avx2(x, C, hw, y);
    else
        reorder_out_scalar(x, C, hw, y);
}

/* ---- drivers ---- */

static void tap_range(int i0, int k, int d, int n, int *lo, int *hi) { ot_nchwc_tap_range(i0, k, d, n, lo, hi); }

/* Input addressing: element (c, ih, iw) is at coff(c) + ih*rs + iw*ps. */
typedef struct in_addr {
    size_t plane;   /* floats per channel (plain) or per block */
    ptrdiff_t rs, ps;
    bool blocked;
} in_addr;

static inline ptrdiff_t coff(const in_addr *ia, int c) {
    return ia->blocked ? (ptrdiff_t)((size_t)(c / CB) * ia->plane + (size_t)(c % CB))
                       : (ptrdiff_t)((size_t)c * ia->plane);
}

/* Taps are summed in chunks whose weights (KCH taps x nf x 8 floats) stay in L1 while a band of
 * output pixels is swept; partial sums wait in the output. */
#ifndef KCH_BYTES
#define KCH_BYTES (16 * 1024)
#endif

/* The windows of valid kernel rows / columns: outputs fall into a few classes (top border,
 * interior, bottom border, ...), each with one list of taps (in k order) per (row, column) class. */
typedef struct win_classes {
    int n;
    int *lo, *hi;   /* per class */
    int *cls;       /* per output row / column */
} win_classes;

/* The window changes monotonically along the axis, so each class is one run of outputs. */
static int count_classes(int out, int stride, int pad, int k, int d, int n) {
    int cnt = 0, plo = -1, phi = -1;
    for (int o = 0; o < out; o++) {
        int lo, hi;
        tap_range(o * stride - pad, k, d, n, &lo, &hi);
        if (lo != plo || hi != phi) cnt++;
        plo = lo;
        phi = hi;
    }
    return cnt;
}

static bool classify(int out, int stride, int pad, int k, int d, int n, win_classes *wc) {
    wc->n = 0;
    wc->cls = malloc(sizeof(int) * (size_t)(out ? out : 1) * 3);
    if (!wc->cls) return false;
    wc->lo = wc->cls + out;
    wc->hi = wc->lo + out;
    for (int o = 0; o < out; o++) {
        int lo, hi;
        tap_range(o * stride - pad, k, d, n, &lo, &hi);
        if (wc->n == 0 || wc->lo[wc->n - 1] != lo || wc->hi[wc->n - 1] != hi) {
            wc->lo[wc->n] = lo;
            wc->hi[wc->n] = hi;
            wc->n++;
        }
        wc->cls[o] = wc->n - 1;
    }
    return true;
}

/* Entries of every tap list together (conv_direct pads the input instead when they are too many). */
static double list_entries(const ot_nchwc_geom *g) {
    return (double)g->C * g->kh * g->kw * count_classes(g->OH, g->sh, g->pt, g->kh, g->dh, g->H) *
           count_classes(g->OW, g->sw, g->pl, g->kw, g->dw, g->W);
}


typedef struct direct_plan {
    win_classes rows, cols;
    bool grouped;            /* entries are groups of 8 lanes (ot_nchwc_tile8_*) */
    int nchunks, kch;
    ot_nchwc_tap *taps;      /* every list, back to back */
    size_t *start;           /* per list: first entry */
    int *cpos;               /* per list: nchunks + 1 chunk starts (relative to the list) */
} direct_plan;

static void plan_free(direct_plan *dp) {
    free(dp->rows.cls);
    free(dp->cols.cls);
    free(dp->taps);
    free(dp->start);
    free(dp->cpos);
}

static bool plan_make(const ot_nchwc_geom *g, const ot_nchwc_w *w, const in_addr *ia, bool flat, direct_plan *dp) {
    memset(dp, 0, sizeof *dp);
    static int zero = 0, one = 1;
    if (flat) {
        dp->rows.n = dp->cols.n = 1;
        dp->rows.lo = dp->cols.lo = &zero;
        dp->rows.hi = dp->cols.hi = &one;
    } else if (!classify(g->OH, g->sh, g->pt, g->kh, g->dh, g->H, &dp->rows) ||
               !classify(g->OW, g->sw, g->pl, g->kw, g->dw, g->W, &dp->cols)) {
        plan_free(dp);
        return false;
    }
    /* the smallest group decides the chunk: nf = 1 keeps the most taps per chunk */
    int nf_max = 1;
    for (int j = 0; j < w->ngroups; j++)
        if (w->gblock[j + 1] - w->gblock[j] > nf_max) nf_max = w->gblock[j + 1] - w->gblock[j];
    const int kmax = KCH_BYTES / (nf_max * CB * (int)sizeof(float));
    dp->nchunks = (w->K + kmax - 1) / kmax;
    if (dp->nchunks < 1) dp->nchunks = 1;
    dp->kch = (w->K + dp->nchunks - 1) / dp->nchunks;  /* chunks of equal size */
    dp->grouped = w->lane_major && ia->blocked && !flat;
    if ((flat && ia->blocked) || dp->grouped) {
        /* the pointwise kernel takes whole channel blocks per chunk, the grouped one whole groups */
        dp->kch = (dp->kch + CB - 1) / CB * CB;
        dp->nchunks = (w->K + dp->kch - 1) / dp->kch;
    }
    if (dp->kch < 1) dp->kch = 1;
    const int nl = dp->rows.n * dp->cols.n;
    size_t total = 0;
    for (int r = 0; r < dp->rows.n; r++)
        for (int c = 0; c < dp->cols.n; c++)
            total += (size_t)g->C * (dp->rows.hi[r] - dp->rows.lo[r]) * (dp->cols.hi[c] - dp->cols.lo[c]);
    dp->taps = malloc(sizeof(ot_nchwc_tap) * (total ? total : 1));
    dp->start = malloc(sizeof(size_t) * (size_t)nl);
    dp->cpos = malloc(sizeof(int) * (size_t)nl * (dp->nchunks + 1));
    if (!dp->taps || !dp->start || !dp->cpos) {
        plan_free(dp);
        return false;
    }
    size_t n = 0;
    for (int r = 0; r < dp->rows.n; r++)
        for (int cc = 0; cc < dp->cols.n; cc++) {
            const int li = r * dp->cols.n + cc;
            int *cp = dp->cpos + (size_t)li * (dp->nchunks + 1);
            dp->start[li] = n;
            int chunk = 0, len = 0;
            cp[0] = 0;
            /* in k order (chunks are runs of k): lane_major puts a block's 8 lanes innermost */
            const int lanes = w->lane_major ? CB : 1, outer = g->C / lanes;
            for (int co = 0; co < outer; co++)
                for (int a = dp->rows.lo[r]; a < dp->rows.hi[r]; a++)
                    for (int b = dp->cols.lo[cc]; b < dp->cols.hi[cc]; b++)
                        for (int l = 0; l < (dp->grouped ? 1 : lanes); l++) {
                            const int c = co * lanes + l;
                            const int k = w->lane_major ? ((co * g->kh + a) * g->kw + b) * CB + l
                                                        : (c * g->kh + a) * g->kw + b;
                            while (k >= (chunk + 1) * dp->kch) cp[++chunk] = len;
                            dp->taps[n + len].xoff =
                                (int)(coff(ia, c) + (ptrdiff_t)a * g->dh * ia->rs + (ptrdiff_t)b * g->dw * ia->ps);
                            dp->taps[n + len].k = k;
                            len++;
                        }
            while (chunk < dp->nchunks) cp[++chunk] = len;
            n += (size_t)len;
        }
    return true;
}

/* Pixels per tile for nf blocks. */
static int tile_p(int nf) { return OT_NCHWC_TILE_MAX / nf; }

/* npix output pixels in a line (input step pstep, output step ys) sharing one tap list: tiles as
 * equal as possible (a narrow last tile would leave too few accumulators to hide the FMA latency). */
static void direct_run(const ot_nchwc_tile_fn tile, int nf, int nt, const ot_nchwc_tap *taps, const float *x,
                       ptrdiff_t o, ptrdiff_t pstep, int npix, const float *w, const float *bias, float *y,
                       size_t ybs, ptrdiff_t ys, const float *z, bool first, bool last, float lo, float hi,
                       const ot_ewprog *post, int block) {
    const int P = tile_p(nf), ntiles = (npix + P - 1) / P;
    for (int i = 0, p = 0; i < ntiles; i++) {
        const int np = (npix - p) / (ntiles - i) + ((npix - p) % (ntiles - i) ? 1 : 0);
        tile(nf, np, nt, taps, x, o + p * pstep, pstep, w, bias, y + p * ys, ybs, ys, z ? z + p * ys : NULL, first,
             last, lo, hi);
        if (last && post) ot_ewprog_run(post, y + p * ys, np, ys, nf, (ptrdiff_t)ybs, block); /* still in L1 */
        p += np;
    }
}

/* The same for the pointwise kernel (no tap list). */
static void pw_run(const ot_nchwc_pw_fn pw, int nf, int c0, int nc, const float *x, ptrdiff_t plane, int npix,
                   const float *w, const float *bias, float *y, size_t ybs, const float *z, bool first, bool last,
                   float lo, float hi, const ot_ewprog *post, int block) {
    const int P = tile_p(nf), ntiles = (npix + P - 1) / P;
    for (int i = 0, p = 0; i < ntiles; i++) {
        const int np = (npix - p) / (ntiles - i) + ((npix - p) % (ntiles - i) ? 1 : 0);
        pw(nf, np, c0, nc, x + (ptrdiff_t)p * CB, plane, w, bias, y + (size_t)p * CB, ybs,
           z ? z + (size_t)p * CB : NULL, first, last, lo, hi);
        if (last && post) ot_ewprog_run(post, y + (size_t)p * CB, np, CB, nf, (ptrdiff_t)ybs, block);
        p += np;
    }
}

/* Output pixels per work item: enough that each chunk's weights are reused many times. */
#ifndef BAND_PIXELS
#define BAND_PIXELS 96
#endif

/* Outputs along an axis whose whole kernel window lies inside the input. */
static int count_full(int out, int stride, int pad, int k, int d, int n) {
    int cnt = 0;
    for (int o = 0; o < out; o++) {
        int lo, hi;
        tap_range(o * stride - pad, k, d, n, &lo, &hi);
        cnt += lo == 0 && hi == k;
    }
    return cnt;
}

/* Small images have many border pixels, whose short runs make narrow tiles: there, a zero-padded
 * copy of the input (cheap at that size) makes every output pixel an interior one. */
static bool want_padding(const ot_nchwc_geom *g) {
    if (g->pt == 0 && g->pl == 0 && count_full(g->OH, g->sh, 0, g->kh, g->dh, g->H) == g->OH &&
        count_full(g->OW, g->sw, 0, g->kw, g->dw, g->W) == g->OW)
        return false;
    const double npix = (double)g->OH * g->OW;
    const double inner = (double)count_full(g->OH, g->sh, g->pt, g->kh, g->dh, g->H) *
                         count_full(g->OW, g->sw, g->pl, g->kw, g->dw, g->W);
    const double bytes = (double)(g->nchw_in ? g->C : ot_nchwc_blocks(g->C) * CB) * (g->H + g->kh * g->dh) *
                         (g->W + g->kw * g->dw) * sizeof(float);
    return (npix - inner) > 0.1 * npix && bytes <= 4.0 * 1024 * 1024;
}

static bool conv_direct(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y,
                        float lo, float hi, const ot_ewprog *post, int threads);

/* The same convolution over a zero-padded copy of x (no padding left in the geometry). */
static bool conv_padded(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y,
                        float lo, float hi, const ot_ewprog *post, int threads) {
    ot_nchwc_geom gp = *g;
    const int eh = (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1, ew = (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    gp.H = eh > g->H + g->pt ? eh : g->H + g->pt;
    gp.W = ew > g->W + g->pl ? ew : g->W + g->pl;
    gp.pt = gp.pl = 0;
    const int lanes = g->nchw_in ? 1 : CB, planes = g->nchw_in ? g->C : ot_nchwc_blocks(g->C);
    const size_t in_plane = (size_t)g->H * g->W * lanes, pplane = (size_t)gp.H * gp.W * lanes;
    float *xp = ot_aligned_alloc((size_t)planes * pplane * sizeof(float));
    if (!xp) return false;
    const int copy_threads = (double)planes * pplane < 65536.0 ? 1 : threads;
#pragma omp parallel for num_threads(copy_threads) if (copy_threads > 1) schedule(static)
    for (int c = 0; c < planes; c++) {
        float *d = xp + (size_t)c * pplane;
        const float *src = x + (size_t)c * in_plane;
        memset(d, 0, pplane * sizeof(float));
        for (int ih = 0; ih < g->H; ih++)
            memcpy(d + ((size_t)(ih + g->pt) * gp.W + g->pl) * lanes, src + (size_t)ih * g->W * lanes,
                   (size_t)g->W * lanes * sizeof(float));
    }
    bool ok = conv_direct(&gp, w, xp, z, y, lo, hi, post, threads);
    ot_aligned_free(xp);
    return ok;
}

static bool conv_direct(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y,
                        float lo, float hi, const ot_ewprog *post, int threads) {
    /* (huge kernels with huge padding would need too many tap lists: padded too) */
    if (want_padding(g) || ((g->pt || g->pl) && list_entries(g) > 4.0e6))
        return conv_padded(g, w, x, z, y, lo, hi, post, threads);
    in_addr ia;
    ia.blocked = !g->nchw_in;
    ia.plane = (size_t)g->H * g->W * (ia.blocked ? CB : 1);
    ia.ps = ia.blocked ? CB : 1;
    ia.rs = (ptrdiff_t)g->W * ia.ps;
    const ot_nchwc_tile_fn tile1 = use_avx2() ? ot_nchwc_tile_avx2 : ot_nchwc_tile_scalar;
    const ot_nchwc_pw_fn pw = use_avx2() ? ot_nchwc_pw_avx2 : ot_nchwc_pw_scalar;
    /* 1x1, stride 1, no padding: the image is one row of OH*OW pixels */
    const bool flat = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
                      g->OH == g->H && g->OW == g->W;
    direct_plan dp;
    if (!plan_make(g, w, &ia, flat, &dp)) return false;
    const ot_nchwc_tile_fn tile = !dp.grouped ? tile1 : use_avx2() ? ot_nchwc_tile8_avx2 : ot_nchwc_tile8_scalar;
    /* work items: (band, group); a band is a run of pixels of the flat row, or whole output rows */
    const int64_t npix = (int64_t)g->OH * g->OW;
    int band_rows = 1, band_pix = BAND_PIXELS;
    if (!flat) {
        /* at least 4 rows, so the border columns make vertical tiles of 3 or 4 pixels */
        band_rows = (BAND_PIXELS + g->OW - 1) / g->OW;
        if (band_rows < 4) band_rows = 4;
        if (band_rows > g->OH) band_rows = g->OH;
    }
    const int64_t bands = flat ? (npix + band_pix - 1) / band_pix : (g->OH + band_rows - 1) / band_rows;
    const int64_t items = bands * w->ngroups;
    const size_t ybs = (size_t)npix * CB;
    if ((double)g->M * w->K * npix < 200000.0) threads = 1;
    if (threads > items) threads = (int)(items > 0 ? items : 1);
    const ptrdiff_t hstep = (ptrdiff_t)g->sw * ia.ps, vstep = (ptrdiff_t)g->sh * ia.rs, yrow = (ptrdiff_t)g->OW * CB;
    /* dynamic: when another process holds a core, the other thread takes the remaining items
     * instead of waiting at the barrier */
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t band = it / w->ngroups;
        const int j = (int)(it % w->ngroups);
        const int b0 = w->gblock[j], nf = w->gblock[j + 1] - b0;
        const float *wg = w->data + (size_t)b0 * w->K * CB, *bg = w->bias + (size_t)b0 * CB;
        float *yg = y + (size_t)b0 * ybs;
        const float *zg = z ? z + (size_t)b0 * ybs : NULL;
        for (int ch = 0; ch < dp.nchunks; ch++) {
            const bool first = ch == 0, last = ch == dp.nchunks - 1;
            if (flat && ia.blocked) {
                const int p0 = (int)(band * band_pix), p1 = p0 + band_pix < npix ? p0 + band_pix : (int)npix;
                const int c0 = ch * dp.kch, nc = w->K - c0 < dp.kch ? w->K - c0 : dp.kch;
                pw_run(pw, nf, c0, nc, x + (ptrdiff_t)p0 * CB, (ptrdiff_t)ia.plane, p1 - p0, wg + (size_t)c0 * nf * CB,
                       bg, yg + (size_t)p0 * CB, ybs, zg ? zg + (size_t)p0 * CB : NULL, first, last, lo, hi, post, b0);
                continue;
            }
            if (flat) {
                const int p0 = (int)(band * band_pix), p1 = p0 + band_pix < npix ? p0 + band_pix : (int)npix;
                const int *cp = dp.cpos;
                direct_run(tile, nf, cp[ch + 1] - cp[ch], dp.taps + cp[ch], x, (ptrdiff_t)p0 * ia.ps, ia.ps, p1 - p0,
                           wg, bg, yg + (size_t)p0 * CB, ybs, CB, zg ? zg + (size_t)p0 * CB : NULL, first, last, lo,
                           hi, post, b0);
                continue;
            }
            /* rectangles of one (row class, column class): a uniform grid, tiled along its longer side */
            const int r0 = (int)band * band_rows, r1 = r0 + band_rows < g->OH ? r0 + band_rows : g->OH;
            for (int ra = r0; ra < r1;) {
                const int rc = dp.rows.cls[ra];
                int rb = ra + 1;
                while (rb < r1 && dp.rows.cls[rb] == rc) rb++;
                for (int ca = 0; ca < g->OW;) {
                    const int cc = dp.cols.cls[ca];
                    int cb = ca + 1;
                    while (cb < g->OW && dp.cols.cls[cb] == cc) cb++;
                    const int li = rc * dp.cols.n + cc;
                    const int *cp = dp.cpos + (size_t)li * (dp.nchunks + 1);
                    const int nt = cp[ch + 1] - cp[ch];
                    const ot_nchwc_tap *tp = dp.taps + dp.start[li] + cp[ch];
                    const bool horiz = cb - ca >= rb - ra || cb - ca >= tile_p(nf);
                    const int lines = horiz ? rb - ra : cb - ca, len = horiz ? cb - ca : rb - ra;
                    for (int l = 0; l < lines; l++) {
                        const int oh = horiz ? ra + l : ra, ow = horiz ? ca : ca + l;
                        const ptrdiff_t o =
                            (ptrdiff_t)(oh * g->sh - g->pt) * ia.rs + (ptrdiff_t)(ow * g->sw - g->pl) * ia.ps;
                        const size_t yo = ((size_t)oh * g->OW + ow) * CB;
                        direct_run(tile, nf, nt, tp, x, o, horiz ? hstep : vstep, len, wg, bg, yg + yo, ybs,
                                   horiz ? CB : yrow, zg ? zg + yo : NULL, first, last, lo, hi, post, b0);
                    }
                    ca = cb;
                }
                ra = rb;
            }
        }
    }
    plan_free(&dp);
    return true;
}

#define DW_P 8
#define DW_STAGE_BYTES (32 * 1024)

/* Depthwise: per block, a band of output rows at a time; the input rows the band needs are first
 * staged with their zero padding (a few KiB, in L1), so every tap of every output is an in-bounds
 * load at a fixed offset and every pixel takes the full-width kernel. The padding adds exact zeros,
 * as octet's plain depthwise kernels do. */
static bool conv_depthwise(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y,
                           float lo, float hi, const ot_ewprog *post, int threads) {
    const ot_nchwc_dw_fn kern = use_avx2() ? ot_nchwc_dw_avx2 : ot_nchwc_dw_scalar;
    const int taps = g->kh * g->kw, mb = w->mb;
    const size_t in_plane = (size_t)g->H * g->W * CB, out_plane = (size_t)g->OH * g->OW * CB;
    const int ext_h = (g->kh - 1) * g->dh + 1, ext_w = (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    const int wp = ext_w > g->W + g->pl ? ext_w : g->W + g->pl;  /* staged row width */
    const size_t row_f = (size_t)wp * CB;
    int band = 1;
    while (band < g->OH && ((size_t)band * g->sh + ext_h) * row_f * sizeof(float) <= DW_STAGE_BYTES) band++;
    const int rows_max = (band - 1) * g->sh + ext_h, nbands = (g->OH + band - 1) / band;
    const int64_t items = (int64_t)mb * nbands;
    if ((double)mb * CB * taps * g->OH * g->OW < 32768.0) threads = 1;
    if (threads > items) threads = (int)(items > 0 ? items : 1);
    const ptrdiff_t pstep = (ptrdiff_t)g->sw * CB;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int *xoff = malloc(sizeof(int) * 2 * (size_t)taps);
        float *stage = ot_aligned_alloc((size_t)rows_max * row_f * sizeof(float));
        if (!xoff || !stage) {
#pragma omp atomic write
            failed = 1;
        } else {
            for (int a = 0; a < g->kh; a++)
                for (int e = 0; e < g->kw; e++) {
                    xoff[a * g->kw + e] = (int)((size_t)a * g->dh * row_f + (size_t)e * g->dw * CB);
                    xoff[taps + a * g->kw + e] = a * g->kw + e;
                }
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < items; it++) {
            if (!xoff || !stage) continue;
            const int b = (int)(it / nbands), r0 = (int)(it % nbands) * band;
            const int r1 = r0 + band < g->OH ? r0 + band : g->OH;
            const float *xb = x + (size_t)b * in_plane, *wb = w->data + (size_t)b * taps * CB, *bb = w->bias + b * CB;
            const int ih0 = r0 * g->sh - g->pt, rows = (r1 - r0 - 1) * g->sh + ext_h;
            for (int i = 0; i < rows; i++) {
                float *dst = stage + (size_t)i * row_f;
                const int ih = ih0 + i;
                if (ih < 0 || ih >= g->H) {
                    memset(dst, 0, row_f * sizeof(float));
                    continue;
                }
                memset(dst, 0, (size_t)g->pl * CB * sizeof(float));
                memcpy(dst + (size_t)g->pl * CB, xb + (size_t)ih * g->W * CB, (size_t)g->W * CB * sizeof(float));
                memset(dst + (size_t)(g->pl + g->W) * CB, 0, (size_t)(wp - g->pl - g->W) * CB * sizeof(float));
            }
            for (int oh = r0; oh < r1; oh++) {
                float *yr = y + (size_t)b * out_plane + (size_t)oh * g->OW * CB;
                const float *zr = z ? z + (size_t)b * out_plane + (size_t)oh * g->OW * CB : NULL;
                const ptrdiff_t o = (ptrdiff_t)(oh - r0) * g->sh * (ptrdiff_t)row_f;
                for (int p = 0; p < g->OW; p += DW_P) {
                    const int P = g->OW - p < DW_P ? g->OW - p : DW_P;
                    kern(P, taps, xoff, xoff + taps, stage, o + (ptrdiff_t)p * pstep, pstep, wb, bb,
                         yr + (size_t)p * CB, zr ? zr + (size_t)p * CB : NULL, lo, hi);
                    if (post) ot_ewprog_run(post, yr + (size_t)p * CB, P, CB, 1, 0, b);
                }
            }
        }
        free(xoff);
        ot_aligned_free(stage);
    }
    return !failed;
}

/* ---- max pooling ---- */

void ot_nchwc_maxrow_scalar(const ot_nchwc_geom *g, const float *xb, int oh, float *yr) {
    int a0, a1;
    tap_range(oh * g->sh - g->pt, g->kh, g->dh, g->H, &a0, &a1);
    for (int ow = 0; ow < g->OW; ow++) {
        int b0, b1;
        tap_range(ow * g->sw - g->pl, g->kw, g->dw, g->W, &b0, &b1);
        float *yo = yr + (size_t)ow * CB;
        for (int l = 0; l < CB; l++) yo[l] = -FLT_MAX;
        for (int a = a0; a < a1; a++)
            for (int b = b0; b < b1; b++) {
                const int ih = oh * g->sh - g->pt + a * g->dh, iw = ow * g->sw - g->pl + b * g->dw;
                const float *xv = xb + ((size_t)ih * g->W + iw) * CB;
                for (int l = 0; l < CB; l++) yo[l] = yo[l] > xv[l] ? yo[l] : xv[l];
            }
    }
}

void ot_nchwc_maxpool(const ot_nchwc_geom *g, int64_t planes, const float *x, float *y, int threads) {
    const ot_nchwc_maxrow_fn row = use_avx2() ? ot_nchwc_maxrow_avx2 : ot_nchwc_maxrow_scalar;
    const int64_t items = planes * g->OH;
    if ((double)items * g->OW * g->kh * g->kw * CB < 65536.0) threads = 1;
    if (threads > items) threads = (int)(items > 0 ? items : 1);
    if (threads > 1 && omp_in_parallel()) threads = 1;
    const size_t in_plane = (size_t)g->H * g->W * CB, out_plane = (size_t)g->OH * g->OW * CB;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 4)
    for (int64_t it = 0; it < items; it++) {
        const int64_t p = it / g->OH;
        const int oh = (int)(it % g->OH);
        row(g, x + (size_t)p * in_plane, oh, y + (size_t)p * out_plane + (size_t)oh * g->OW * CB);
    }
}

bool ot_nchwc_conv(const ot_nchwc_geom *g, const ot_nchwc_w *w, const float *x, const float *z, float *y, float lo,
                   float hi, const ot_ewprog *post, int threads) {
    if (g->OH <= 0 || g->OW <= 0 || w->mb <= 0) return true;
    if (threads > 1 && omp_in_parallel()) threads = 1;
    if (post && post->n == 0) post = NULL;
    return w->depthwise ? conv_depthwise(g, w, x, z, y, lo, hi, post, threads)
                        : conv_direct(g, w, x, z, y, lo, hi, post, threads);
}
