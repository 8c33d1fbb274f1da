#include "kernels/dwconv_f32.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu.h"

/* Columns the vector kernel computes per row: OW rounded up to whole 8-float vectors. */
static int vec_cols(const ot_dw_geom *g) { return (g->OW + 7) / 8 * 8; }

int ot_dwconv_f32_row_len(const ot_dw_geom *g) { return vec_cols(g) + (g->kw - 1) * g->dw / g->sw; }

size_t ot_dwconv_f32_scratch(const ot_dw_geom *g) {
    return (size_t)g->H * g->sw * (size_t)ot_dwconv_f32_row_len(g);
}

/* Staged row ih, phase p, element q = padded column q*sw + p = input column q*sw + p - pl (0 outside). */
void ot_dwconv_f32_stage(const ot_dw_geom *g, const float *x, float *scratch) {
    const int W = g->W, sw = g->sw, pl = g->pl, wq = ot_dwconv_f32_row_len(g);
    for (int ih = 0; ih < g->H; ih++) {
        const float *src = x + (size_t)ih * W;
        float *row = scratch + (size_t)ih * sw * wq;
        if (sw == 1) {
            /* columns -pl .. wq-1-pl */
            int lead = pl < wq ? pl : wq;
            memset(row, 0, (size_t)lead * sizeof *row);
            int n = wq - lead;
            int c0 = lead - pl;  /* first input column, >= 0 */
            int copy = W - c0 < n ? W - c0 : n;
            if (copy < 0) copy = 0;
            memcpy(row + lead, src + c0, (size_t)copy * sizeof *row);
            memset(row + lead + copy, 0, (size_t)(n - copy) * sizeof *row);
            continue;
        }
        for (int p = 0; p < sw; p++) {
            float *dst = row + (size_t)p * wq;
            for (int q = 0; q < wq; q++) {
                long col = (long)q * sw + p - pl;
                dst[q] = col >= 0 && col < W ? src[col] : 0.0f;
            }
        }
    }
}

void ot_dwconv_f32_scalar(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch) {
    if (g->OH <= 0 || g->OW <= 0) return;
    ot_dwconv_f32_stage(g, x, scratch);
    const int wq = ot_dwconv_f32_row_len(g), OW = g->OW;
    for (int oh = 0; oh < g->OH; oh++) {
        float *yr = y + (size_t)oh * OW;
        for (int o = 0; o < OW; o++) yr[o] = bias;
        for (int a = 0; a < g->kh; a++) {
            int ih = oh * g->sh - g->pt + a * g->dh;
            if (ih < 0 || ih >= g->H) continue;
            const float *row = scratch + (size_t)ih * g->sw * wq;
            for (int b = 0; b < g->kw; b++) {
                int t = b * g->dw;
                const float *src = row + (size_t)(t % g->sw) * wq + t / g->sw;
                const float wv = w[a * g->kw + b];
                /* fmaf: bit-identical to the FMA kernel, which sums the taps in this same order */
                for (int o = 0; o < OW; o++) yr[o] = fmaf(wv, src[o], yr[o]);
            }
        }
    }
}

bool ot_dwconv_f32_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return ot_cpu_isa_supported(OT_ISA_AVX2);
#else
    return false;
#endif
}

void ot_dwconv_f32(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch) {
#if defined(__x86_64__) || defined(__i386__)
    /* the kernel table's choice, so OCTET_ISA=scalar reaches the scalar kernel too */
    if (ot_kernels_get()->isa >= OT_ISA_AVX2) {
        ot_dwconv_f32_avx2(g, x, w, bias, y, scratch);
        return;
    }
#endif
    ot_dwconv_f32_scalar(g, x, w, bias, y, scratch);
}
