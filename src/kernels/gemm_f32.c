#include "kernels/gemm_f32.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu.h"
#include "util/mem.h"

#define MR OT_GEMM_F32_MR
#define NR OT_GEMM_F32_NR
/* Blocking (overridable for tuning): a packed 16-column panel of KC rows is 16 KiB and stays in L1;
 * the B block (KC x NB) and the A rows swept per panel (MC x KC) stay in L2. */
#ifndef KC
#define KC 256
#endif
#ifndef NB
#define NB 128
#endif
#ifndef MC
#define MC 96
#endif

bool ot_gemm_f32_pack_a(ot_gemm_f32_a *p, const float *a, int m, int k, int lda) {
    memset(p, 0, sizeof *p);
    size_t panels = (size_t)(m + MR - 1) / MR, n = panels * (size_t)k * MR;
    p->data = ot_aligned_alloc((n ? n : 1) * sizeof(float));
    if (!p->data) return false;
    p->m = m;
    p->k = k;
    for (size_t pi = 0; pi < panels; pi++) {
        float *dst = p->data + pi * (size_t)k * MR;
        for (int kk = 0; kk < k; kk++)
            for (int r = 0; r < MR; r++) {
                size_t row = pi * MR + (size_t)r;
                dst[(size_t)kk * MR + (size_t)r] = row < (size_t)m ? a[row * (size_t)lda + (size_t)kk] : 0.0f;
            }
    }
    return true;
}

void ot_gemm_f32_free_a(ot_gemm_f32_a *p) {
    ot_aligned_free(p->data);
    memset(p, 0, sizeof *p);
}

size_t ot_gemm_f32_scratch(void) { return (size_t)KC * NB + NB; }

/* ---- packing B: block [k0, k0+kc) x [n0, n0+nb) into panels [nb/16][kc][16] ---- */

static void pack_b_dense(const ot_gemm_f32_b *b, int k0, int kc, int n0, int nb, float *dst) {
    int full = nb / NR * NR;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = b->b + (size_t)(k0 + kk) * b->ldb + n0;
        float *d = dst + (size_t)kk * NR;
        for (int j = 0; j < full; j += NR, d += (size_t)kc * NR) {
            /* the rows are far apart, so the prefetchers miss them: ask for the next block's run */
            __builtin_prefetch(src + j + NB, 0, 2);
            for (int i = 0; i < NR; i++) d[i] = src[j + i];
        }
        if (full < nb) {
            int rem = nb - full;
            for (int i = 0; i < rem; i++) d[i] = src[full + i];
            for (int i = rem; i < NR; i++) d[i] = 0.0f;
        }
    }
}

/* Output positions o in [lo, hi) whose input o*s - p + t lies inside [0, n). */
static void valid_range(int n, int out, int s, int p, int t, int *lo, int *hi) {
    int base = t - p;
    int l = base >= 0 ? 0 : (-base + s - 1) / s;
    int h = n - 1 - base < 0 ? 0 : (n - 1 - base) / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* One im2col row (tap kk) over columns [n0, n0+nb) into tmp, then into the panels with
 * fixed-size 16-float copies: the row is a few contiguous runs of input rows (one per output row
 * the block touches; found once per block), so both steps are plain copy loops. */
typedef struct seg {
    int ow, len, j;   /* first output column, count, position in the block */
    int d0, h0;       /* input depth/row of tap (0, 0) */
} seg;

static void pack_b_im2col(const ot_gemm_f32_b *b, int k0, int kc, int n0, int nb, float *dst, float *tmp) {
    const ot_conv_geom *g = b->conv;
    const int D = g->in[0], H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const size_t plane = (size_t)D * H * W;
    const int full = (nb + NR - 1) / NR * NR;
    seg segs[NB + 1];
    int ns = 0;
    for (int n = n0; n < n0 + nb; ns++) {
        int r = n / OW, ow = n % OW, len = OW - ow < n0 + nb - n ? OW - ow : n0 + nb - n;
        segs[ns].ow = ow;
        segs[ns].len = len;
        segs[ns].j = n - n0;
        segs[ns].d0 = (r / OH) * g->s[0] - g->p[0];
        segs[ns].h0 = (r % OH) * g->s[1] - g->p[1];
        n += len;
    }
    for (int j = nb; j < full; j++) tmp[j] = 0.0f;
    int k = k0, e = k % g->k[2], bb = (k / g->k[2]) % g->k[1], a = (k / (g->k[2] * g->k[1])) % g->k[0];
    int c = k / (g->k[2] * g->k[1] * g->k[0]);
    for (int kk = 0; kk < kc; kk++) {
        const float *xc = b->image + (size_t)c * plane;
        int wlo, whi;
        valid_range(W, OW, g->s[2], g->p[2], e * g->d[2], &wlo, &whi);
        const int iw0 = e * g->d[2] - g->p[2], sw = g->s[2], da = a * g->d[0], hb = bb * g->d[1];
        for (int si = 0; si < ns; si++) {
            const seg *sg = &segs[si];
            const int ow = sg->ow, len = sg->len, id = sg->d0 + da, ih = sg->h0 + hb;
            float *tr = tmp + sg->j;
            int lo = wlo > ow ? wlo : ow, hi = whi < ow + len ? whi : ow + len;
            if (id < 0 || id >= D || ih < 0 || ih >= H || hi <= lo) {
                memset(tr, 0, (size_t)len * sizeof *tr);
                continue;
            }
            const float *row = xc + ((size_t)id * H + ih) * W + iw0;
            if (lo > ow) memset(tr, 0, (size_t)(lo - ow) * sizeof *tr);
            if (sw == 1)
                memcpy(tr + (lo - ow), row + lo, (size_t)(hi - lo) * sizeof *tr);
            else
                for (int o = lo; o < hi; o++) tr[o - ow] = row[(size_t)o * sw];
            if (hi < ow + len) memset(tr + (hi - ow), 0, (size_t)(ow + len - hi) * sizeof *tr);
        }
        float *d = dst + (size_t)kk * NR;
        for (int j = 0; j < full; j += NR, d += (size_t)kc * NR) memcpy(d, tmp + j, NR * sizeof(float));
        /* next tap: e fastest, then b, a, c */
        if (++e == g->k[2]) {
            e = 0;
            if (++bb == g->k[1]) {
                bb = 0;
                if (++a == g->k[0]) {
                    a = 0;
                    c++;
                }
            }
        }
    }
}

/* ---- micro-kernels ---- */

void ot_gemm_f32_kernel_scalar(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool first,
                               bool last, const float *bias, float lo, float hi) {
    float acc[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++)
            acc[r][j] = r >= mr ? 0.0f : first ? (bias ? bias[r] : 0.0f) : (j < nr ? c[(size_t)r * ldc + j] : 0.0f);
    /* fmaf keeps this bit-identical to the FMA kernel (same order, one rounding per step) */
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r][j] = fmaf(a[k * MR + r], b[k * NR + j], acc[r][j]);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float v = acc[r][j];
            if (last) v = v < lo ? lo : (v > hi ? hi : v);
            c[(size_t)r * ldc + j] = v;
        }
}

void ot_gemm_f32_kernel_direct_scalar(int kc, const float *a, const float *b, const int *koff, float *c, int ldc,
                                      int mr, bool first, bool last, const float *bias, float lo, float hi) {
    float acc[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++)
            acc[r][j] = r >= mr ? 0.0f : first ? (bias ? bias[r] : 0.0f) : c[(size_t)r * ldc + j];
    for (int k = 0; k < kc; k++) {
        const float *bk = b + koff[k];
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NR; j++) acc[r][j] = fmaf(a[k * MR + r], bk[j], acc[r][j]);
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < NR; j++) {
            float v = acc[r][j];
            if (last) v = v < lo ? lo : (v > hi ? hi : v);
            c[(size_t)r * ldc + j] = v;
        }
}

static bool g_force_scalar;

void ot_gemm_f32_force_scalar(bool on) { g_force_scalar = on; }

static bool use_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return !g_force_scalar && ot_kernels_get()->isa >= OT_ISA_AVX2;
#else
    return false;
#endif
}

/* ---- padded, phase-split images for direct convolution ---- */

void ot_conv_pad_dims(const ot_conv_geom *g, ot_conv_pad *p) {
    int rows = (g->out[1] - 1) * g->s[1] + (g->k[1] - 1) * g->d[1] + 1;
    p->hp = rows > 0 ? rows : 1;
    p->wq = g->out[2] + (g->k[2] - 1) * g->d[2] / g->s[2];
    p->ch_stride = (size_t)p->hp * g->s[2] * p->wq;
}

void ot_conv_pad_f32(const ot_conv_geom *g, const ot_conv_pad *p, const float *image, float *dst) {
    const int H = g->in[1], W = g->in[2], sw = g->s[2], pl = g->p[2], wq = p->wq;
    for (int c = 0; c < g->channels; c++) {
        const float *xc = image + (size_t)c * H * W;
        float *dc = dst + (size_t)c * p->ch_stride;
        for (int r = 0; r < p->hp; r++) {
            int ih = r - g->p[1];
            float *row = dc + (size_t)r * sw * wq;
            if (ih < 0 || ih >= H) {
                memset(row, 0, (size_t)sw * wq * sizeof *row);
                continue;
            }
            const float *src = xc + (size_t)ih * W;
            for (int ph = 0; ph < sw; ph++) {
                float *d = row + (size_t)ph * wq;
                /* element q is input column q*sw + ph - pl */
                int qlo = 0, qhi = wq;
                while (qlo < wq && qlo * sw + ph - pl < 0) d[qlo++] = 0.0f;
                while (qhi > qlo && (qhi - 1) * sw + ph - pl >= W) d[--qhi] = 0.0f;
                const float *s = src + (qlo * sw + ph - pl);
                if (sw == 1)
                    memcpy(d + qlo, s, (size_t)(qhi - qlo) * sizeof *d);
                else
                    for (int q = qlo; q < qhi; q++) d[q] = s[(size_t)(q - qlo) * sw];
            }
        }
    }
}

void ot_conv_pad_direct(const ot_conv_geom *g, const ot_conv_pad *p, const float *dst, int *koff, ot_gemm_f32_b *b) {
    const int sw = g->s[2], wq = p->wq;
    int k = 0;
    for (int c = 0; c < g->channels; c++)
        for (int a = 0; a < g->k[1]; a++)
            for (int e = 0; e < g->k[2]; e++) {
                int t = e * g->d[2];
                koff[k++] = (int)((size_t)c * p->ch_stride + (size_t)a * g->d[1] * sw * wq + (size_t)(t % sw) * wq +
                                  (size_t)(t / sw));
            }
    memset(b, 0, sizeof *b);
    b->koff = koff;
    b->base = dst;
    b->row_w = g->out[2];
    b->row_stride = g->s[1] * sw * wq;
}

/* ---- driver ---- */

/* B read in place: tiles of 16 columns inside one row; a narrower tile at a row's end is copied
 * into a zero-padded panel and run through the packed kernel. */
static void gemm_direct(const ot_gemm_f32_a *a, int m0, int m1, const ot_gemm_f32_b *b, int n0, int n1, float *c,
                        int ldc, const float *bias, float lo, float hi, float *scratch, bool avx2) {
    const int K = a->k;
    const ot_gemm_f32_kernel_fn kp = avx2 ? ot_gemm_f32_kernel_avx2 : ot_gemm_f32_kernel_scalar;
    const ot_gemm_f32_kernel_direct_fn kd = avx2 ? ot_gemm_f32_kernel_direct_avx2 : ot_gemm_f32_kernel_direct_scalar;
    /* columns per pass: the C block (rows x columns) stays in L2 while K is swept */
    int span = (64 * 1024) / (m1 - m0);
    span = span < NR ? NR : span / NR * NR;
    for (int c0 = n0; c0 < n1; c0 += span) {
    const int c1 = n1 - c0 < span ? n1 : c0 + span;
    for (int k0 = 0; k0 < K; k0 += KC) {
        const int kc = K - k0 < KC ? K - k0 : KC;
        const bool first = k0 == 0, last = k0 + kc >= K;
        const int *koff = b->koff + k0;
        for (int mb = m0; mb < m1; mb += MC) {
            const int me = m1 - mb < MC ? m1 - mb : MC;
            for (int n = c0; n < c1;) {
                const int r = n / b->row_w, col = n % b->row_w;
                int nr = b->row_w - col < NR ? b->row_w - col : NR;
                if (c1 - n < nr) nr = c1 - n;
                const float *bt = b->base + (size_t)r * b->row_stride + col;
                if (nr < NR) {
                    for (int kk = 0; kk < kc; kk++) {
                        const float *src = bt + koff[kk];
                        float *d = scratch + (size_t)kk * NR;
                        for (int j = 0; j < nr; j++) d[j] = src[j];
                        for (int j = nr; j < NR; j++) d[j] = 0.0f;
                    }
                }
                for (int i = mb; i < mb + me; i += MR) {
                    const int mr = mb + me - i < MR ? mb + me - i : MR;
                    const float *ap = a->data + (size_t)(i / MR) * K * MR + (size_t)k0 * MR;
                    float *ct = c + (size_t)i * ldc + n;
                    const float *bi = bias ? bias + i : NULL;
                    if (nr == NR)
                        kd(kc, ap, bt, koff, ct, ldc, mr, first, last, bi, lo, hi);
                    else
                        kp(kc, ap, scratch, ct, ldc, mr, nr, first, last, bi, lo, hi);
                }
                n += nr;
            }
        }
    }
    }
}

void ot_gemm_f32(const ot_gemm_f32_a *a, int m0, int m1, const ot_gemm_f32_b *b, int n0, int n1, float *c, int ldc,
                 const float *bias, float lo, float hi, float *scratch) {
    const int K = a->k;
    if (m1 <= m0 || n1 <= n0) return;
    if (K == 0) {
        for (int i = m0; i < m1; i++)
            for (int j = n0; j < n1; j++) {
                float v = bias ? bias[i] : 0.0f;
                c[(size_t)i * ldc + j] = v < lo ? lo : (v > hi ? hi : v);
            }
        return;
    }
    const bool avx2 = use_avx2();
    if (b->koff) {
        gemm_direct(a, m0, m1, b, n0, n1, c, ldc, bias, lo, hi, scratch, avx2);
        return;
    }
    const ot_gemm_f32_kernel_fn kern = avx2 ? ot_gemm_f32_kernel_avx2 : ot_gemm_f32_kernel_scalar;
    for (int n = n0; n < n1; n += NB) {
        const int nb = n1 - n < NB ? n1 - n : NB;
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = K - k0 < KC ? K - k0 : KC;
            const bool first = k0 == 0, last = k0 + kc >= K;
            if (b->conv)
                pack_b_im2col(b, k0, kc, n, nb, scratch, scratch + (size_t)KC * NB);
            else
                pack_b_dense(b, k0, kc, n, nb, scratch);
            for (int mb = m0; mb < m1; mb += MC) {
                const int me = m1 - mb < MC ? m1 - mb : MC;
                for (int j = 0; j < nb; j += NR) {
                    const float *bp = scratch + (size_t)(j / NR) * kc * NR;
                    const int nr = nb - j < NR ? nb - j : NR;
                    for (int i = mb; i < mb + me; i += MR) {
                        const int mr = mb + me - i < MR ? mb + me - i : MR;
                        const float *ap = a->data + (size_t)(i / MR) * K * MR + (size_t)k0 * MR;
                        kern(kc, ap, bp, c + (size_t)i * ldc + n + j, ldc, mr, nr, first, last, bias ? bias + i : NULL,
                             lo, hi);
                    }
                }
            }
        }
    }
}
