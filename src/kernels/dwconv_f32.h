/* Depthwise 2-D convolution of one fp32 plane (1-D is H = 1): every output channel reads one input
 * channel, so there is no reduction over channels and a GEMM would waste its time on packing.
 *
 * The input plane is first staged into zero-padded rows split into stride phases (phase p holds
 * padded columns p, p+s, p+2s, ...). Then every kernel tap of every stride and dilation is a
 * contiguous, in-bounds load of a staged row, which is what the vector kernel wants. */
#ifndef OT_DWCONV_F32_H
#define OT_DWCONV_F32_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ot_dw_geom {
    int H, W, OH, OW;
    int kh, kw;  /* kernel */
    int sh, sw;  /* strides */
    int dh, dw;  /* dilations */
    int pt, pl;  /* padding before (top, left); the end padding follows from OH, OW */
} ot_dw_geom;

/* Floats of scratch one call needs (one buffer per thread). */
size_t ot_dwconv_f32_scratch(const ot_dw_geom *g);

/* y[OH*OW] = bias + sum over taps of w[kh*kw] * x[H*W] (cross-correlation, as ONNX Conv).
 * Picks the AVX2+FMA kernel when the CPU has it. */
void ot_dwconv_f32(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch);

/* The portable kernel and the AVX2+FMA one (the latter only when ot_dwconv_f32_has_avx2()). */
void ot_dwconv_f32_scalar(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch);
void ot_dwconv_f32_avx2(const ot_dw_geom *g, const float *x, const float *w, float bias, float *y, float *scratch);
bool ot_dwconv_f32_has_avx2(void);

/* 8 channels at once (AVX2+FMA only): planes x + c*xs -> y + c*ys for c < nch (<= 8), weights
 * w[c][kh*kw], bias[c] (may be NULL). Bit-identical to the per-plane kernels (same tap order; the
 * zero padding only adds exact zeros). */
size_t ot_dwconv8_f32_scratch(const ot_dw_geom *g);
void ot_dwconv8_f32_avx2(const ot_dw_geom *g, const float *x, size_t xs, const float *w, const float *bias, float *y,
                         size_t ys, int nch, float *scratch);

/* Shared by both kernels: staged row layout and the staging itself. */
int ot_dwconv_f32_row_len(const ot_dw_geom *g);   /* floats per phase row (Wq) */
void ot_dwconv_f32_stage(const ot_dw_geom *g, const float *x, float *scratch);

#endif
