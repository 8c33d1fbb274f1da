#include "kernels/im2col.h"

/* Range [lo, hi) of output positions o whose input o*s - p + t*d lies inside [0, n). */
static void valid_range(int n, int out, int s, int p, int off, int *lo, int *hi) {
    int base = off - p; /* input index at o = 0 */
    int l = base >= 0 ? 0 : (-base + s - 1) / s;
    int h = n - 1 - base < 0 ? 0 : (n - 1 - base) / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

bool ot_col2im_is_tiling(const ot_conv_geom *g) {
    for (int i = 0; i < 3; i++)
        if (g->k[i] != g->s[i] || (g->d[i] != 1 && g->k[i] > 1) || g->p[i] != 0 || g->in[i] != g->out[i] * g->s[i])
            return false;
    return true;
}

void ot_col2im_set_f32(const ot_conv_geom *g, const float *col, int r0, int r1, int c0, int c1, const float *bias,
                       float *x) {
    const int H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2];
    const int kd = g->k[0], kh = g->k[1], kw = g->k[2];
    const size_t plane = (size_t)g->in[0] * H * W, ncol = (size_t)(r1 - r0) * OW;
    for (int c = c0; c < c1; c++) {
        const float bv = bias ? bias[c] : 0.0f;
        float *xc = x + (size_t)c * plane;
        const float *cc = col + (size_t)c * kd * kh * kw * ncol;
        for (int a = 0; a < kd; a++)
            for (int b = 0; b < kh; b++)
                for (int r = r0; r < r1; r++) {
                    const int od = r / OH, oh = r % OH;
                    float *dst = xc + ((size_t)(od * kd + a) * H + (size_t)(oh * kh + b)) * W;
                    const float *src = cc + ((size_t)(a * kh + b) * kw) * ncol + (size_t)(r - r0) * OW;
                    if (kw == 2) { /* the common 2x upsampling: two rows interleaved */
                        const float *s0 = src, *s1 = src + ncol;
                        for (int ow = 0; ow < OW; ow++) {
                            dst[2 * ow] = s0[ow] + bv;
                            dst[2 * ow + 1] = s1[ow] + bv;
                        }
                        continue;
                    }
                    for (int e = 0; e < kw; e++)
                        for (int ow = 0; ow < OW; ow++) dst[ow * kw + e] = src[(size_t)e * ncol + ow] + bv;
                }
    }
}

void ot_col2im_add_f32(const ot_conv_geom *g, const float *col, int r0, int r1, int c0, int c1, float *x) {
    const int D = g->in[0], H = g->in[1], W = g->in[2];
    const int OH = g->out[1], OW = g->out[2];
    const size_t plane = (size_t)D * H * W, ncol = (size_t)(r1 - r0) * OW;
    const size_t kprod = (size_t)g->k[0] * g->k[1] * g->k[2];
    for (int c = c0; c < c1; c++) {
        float *xc = x + (size_t)c * plane;
        const float *cc = col + (size_t)c * kprod * ncol;
        for (int a = 0; a < g->k[0]; a++)
            for (int b = 0; b < g->k[1]; b++)
                for (int e = 0; e < g->k[2]; e++) {
                    const float *src = cc;
                    cc += ncol;
                    int wlo, whi;
                    valid_range(W, OW, g->s[2], g->p[2], e * g->d[2], &wlo, &whi);
                    int iw0 = e * g->d[2] - g->p[2];
                    for (int r = r0; r < r1; r++, src += OW) {
                        int od = r / OH, oh = r % OH;
                        int id = od * g->s[0] - g->p[0] + a * g->d[0];
                        int ih = oh * g->s[1] - g->p[1] + b * g->d[1];
                        if (id < 0 || id >= D || ih < 0 || ih >= H) continue;
                        float *dst = xc + ((size_t)id * H + ih) * W;
                        const int sw = g->s[2];
                        for (int ow = wlo; ow < whi; ow++) dst[iw0 + ow * sw] += src[ow];
                    }
                }
    }
}
