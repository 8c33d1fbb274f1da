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

size_t ot_gemm_f32_scratch(void) { return (size_t)KC * NB; }

/* ---- packing B: block [k0, k0+kc) x [n0, n0+nb) into panels [nb/16][kc][16] ---- */

/* Write len values of row kk starting at block column j: copied from src (stride st) or zeros. */
static void put_run(float *dst, int kc, int kk, int j, const float *src, int st, int len) {
    while (len > 0) {
        int lane = j & (NR - 1), chunk = NR - lane < len ? NR - lane : len;
        float *d = dst + (size_t)(j / NR) * kc * NR + (size_t)kk * NR + lane;
        if (!src)
            for (int i = 0; i < chunk; i++) d[i] = 0.0f;
        else if (st == 1)
            for (int i = 0; i < chunk; i++) d[i] = src[i];
        else
            for (int i = 0; i < chunk; i++) d[i] = src[(size_t)i * st];
        if (src) src += (size_t)chunk * st;
        j += chunk;
        len -= chunk;
    }
}

static void pack_b_dense(const ot_gemm_f32_b *b, int k0, int kc, int n0, int nb, float *dst) {
    int full = nb / NR * NR;
    for (int kk = 0; kk < kc; kk++) {
        const float *src = b->b + (size_t)(k0 + kk) * b->ldb + n0;
        for (int j = 0; j < full; j += NR) {
            float *d = dst + (size_t)(j / NR) * kc * NR + (size_t)kk * NR;
            memcpy(d, src + j, NR * sizeof(float));
        }
        if (full < nb) {
            float *d = dst + (size_t)(full / NR) * kc * NR + (size_t)kk * NR;
            int rem = nb - full;
            memcpy(d, src + full, (size_t)rem * sizeof(float));
            memset(d + rem, 0, (size_t)(NR - rem) * sizeof(float));
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

static void pack_b_im2col(const ot_gemm_f32_b *b, int k0, int kc, int n0, int nb, float *dst) {
    const ot_conv_geom *g = b->conv;
    const int D = g->in[0], H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const size_t plane = (size_t)D * H * W;
    for (int kk = 0; kk < kc; kk++) {
        int k = k0 + kk, e = k % g->k[2], t = k / g->k[2];
        int bb = t % g->k[1], a = (t / g->k[1]) % g->k[0], c = t / (g->k[1] * g->k[0]);
        const float *xc = b->image + (size_t)c * plane;
        int wlo, whi;
        valid_range(W, OW, g->s[2], g->p[2], e * g->d[2], &wlo, &whi);
        int iw0 = e * g->d[2] - g->p[2];
        for (int n = n0; n < n0 + nb;) {
            int r = n / OW, ow = n % OW, len = OW - ow < n0 + nb - n ? OW - ow : n0 + nb - n;
            int j = n - n0;
            int od = r / OH, oh = r % OH;
            int id = od * g->s[0] - g->p[0] + a * g->d[0], ih = oh * g->s[1] - g->p[1] + bb * g->d[1];
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
                put_run(dst, kc, kk, j, NULL, 0, len);
            } else {
                const float *row = xc + ((size_t)id * H + ih) * W;
                int lo = wlo > ow ? wlo : ow, hi = whi < ow + len ? whi : ow + len;
                if (hi <= lo) {
                    put_run(dst, kc, kk, j, NULL, 0, len);
                } else {
                    if (lo > ow) put_run(dst, kc, kk, j, NULL, 0, lo - ow);
                    put_run(dst, kc, kk, j + (lo - ow), row + iw0 + lo * g->s[2], g->s[2], hi - lo);
                    if (hi < ow + len) put_run(dst, kc, kk, j + (hi - ow), NULL, 0, ow + len - hi);
                }
            }
            n += len;
        }
    }
    /* zero the unused columns of the last panel */
    int full = (nb + NR - 1) / NR * NR;
    if (full > nb)
        for (int kk = 0; kk < kc; kk++) put_run(dst, kc, kk, nb, NULL, 0, full - nb);
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

static ot_gemm_f32_kernel_fn g_forced;

void ot_gemm_f32_force_kernel(ot_gemm_f32_kernel_fn fn) { g_forced = fn; }

ot_gemm_f32_kernel_fn ot_gemm_f32_kernel(void) {
    if (g_forced) return g_forced;
#if defined(__x86_64__) || defined(__i386__)
    if (ot_kernels_get()->isa >= OT_ISA_AVX2) return ot_gemm_f32_kernel_avx2;
#endif
    return ot_gemm_f32_kernel_scalar;
}

/* ---- driver ---- */

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
    const ot_gemm_f32_kernel_fn kern = ot_gemm_f32_kernel();
    for (int n = n0; n < n1; n += NB) {
        const int nb = n1 - n < NB ? n1 - n : NB;
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = K - k0 < KC ? K - k0 : KC;
            const bool first = k0 == 0, last = k0 + kc >= K;
            if (b->conv)
                pack_b_im2col(b, k0, kc, n, nb, scratch);
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
