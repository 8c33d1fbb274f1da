/* 8-bit integer convolution driver (ConvInteger, QLinearConv) on the qgemm and dwconv_s8 kernels.
 *
 *   acc[n][m][o] = bias[m] + sum over c in m's group, taps t inside the image of
 *                  (x[n][c][o*s - pb + t*d] - zx) * (w[m][c][t] - zw[m])          (exact int32)
 *   y = acc (OUT_S32), or clamp(round_half_even((float)acc * scale[m]) + zy, lo, hi) (OUT_U8 / OUT_S8,
 *       requant.h); taps in the padding contribute 0 (they read x = zx).
 *
 * Layouts: x and y are NCHW (ONNX) or NHWC (channels_last); w is ONNX's [M][C/G][k...]. 1 to 3
 * spatial dimensions (lower ranks are handled as leading extents of 1).
 * The kernels are channels-last, so NCHW data changes layout on the way (SSE2 16x16 byte transposes):
 *   - depthwise (G == C == M, 1-D/2-D, 8-bit output): ot_dwconv_s8, NCHW in blocks of 32 channels
 *     (transpose the block in, convolve, transpose out, all in L2; blocks run in parallel);
 *   - 1x1, stride 1, no padding: the qgemm straight on the (channels-last) image, lda = C;
 *   - 3x3, one group, unit_stride promised, C >= 16 with at most 1/4 of Winograd's padded channels
 *     empty, AVX2 or scalar: exact integer Winograd F(2x2, 3x3) (qwino.h; 2.25x fewer multiplies,
 *     bit-identical results; with fewer channels its padding and transforms cost more than that);
 *   - otherwise: im2col tiles (taps outer, channels inner; padding filled with zx) into the qgemm,
 *     weights reordered to [M][taps][C/G] and packed once. With kw*C <= 32 bytes (a first layer),
 *     im2col copies the image rows a tile reads into a zx-padded band and moves each kernel row with
 *     one 16/32-byte copy.
 *   GEMM tiles of output pixels run in parallel; for NCHW output each tile is transposed into place
 *   while it is in cache. NCHW input images are transposed once per image.
 * Results are bit-identical for every thread count and kernel variant (per-element arithmetic is
 * the same whatever the tiling). */
#ifndef OT_QCONV_H
#define OT_QCONV_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "kernels/qgemm.h"
#include "octet.h"

#define OT_QCONV_MAX_SP 3

typedef struct ot_qconv_desc {
    int nsp;                    /* spatial dimensions, 1..3 */
    int C, M, G;                /* input channels, output channels, groups (C % G == M % G == 0) */
    int k[OT_QCONV_MAX_SP];     /* kernel extents, nsp entries */
    const void *w;              /* [M][C/G][k...], int8 or uint8 */
    bool w_signed;
    const int32_t *zw;          /* NULL (= 0) or zw_count values in w's type range */
    int zw_count;               /* 1 or M */
    const int32_t *bias;        /* NULL or [M] */
    int32_t zx;                 /* input zero point (padding value) */
    bool x_signed;
    ot_qgemm_out_type out_type; /* OT_QGEMM_OUT_S32, _U8 or _S8 */
    const float *scale;         /* U8/S8: scale_count multipliers s_x*s_w[m]/s_y */
    int scale_count;            /* 1 or M */
    int32_t zy, lo, hi;         /* U8/S8: output zero point and clamp bounds */
    bool channels_last;         /* x, y are [N][spatial...][C] */
    bool unit_stride;           /* promise: run only with strides and dilations of 1, which lets a 3x3
                                 * convolution use integer Winograd (qwino.h) instead of im2col; a run
                                 * that breaks it fails, whichever kernel was chosen */
} ot_qconv_desc;

typedef struct ot_qconv_geom {
    int N;
    int in[OT_QCONV_MAX_SP], out[OT_QCONV_MAX_SP];   /* nsp entries each */
    int s[OT_QCONV_MAX_SP], d[OT_QCONV_MAX_SP];      /* strides, dilations */
    int p[OT_QCONV_MAX_SP];                          /* padding before; the end padding follows from out */
} ot_qconv_geom;

typedef struct ot_qconv ot_qconv;

/* Pack the weights (and the constant epilogue parameters) for one kernel variant. The descriptor's
 * arrays are copied; they need not outlive the call. */
octet_status ot_qconv_create(ot_qconv **out, const ot_qconv_desc *d, ot_isa isa);
void ot_qconv_free(ot_qconv *q);
/* Bytes per output element (4 for S32, else 1). */
int ot_qconv_out_elem(const ot_qconv *q);
/* y = conv(x); x, y in the descriptor's layout and types. */
octet_status ot_qconv_run(const ot_qconv *q, const ot_qconv_geom *g, const void *x, void *y, int threads);

/* [rows][cols] -> [cols][rows] for elements of esz = 1 or 4 bytes (SSE2 tiles; large copies split over
 * threads): the layout change of the int8 ops, e.g. one NCHW image (rows = C) to NHWC. */
void ot_qconv_transpose(void *dst, const void *src, size_t rows, size_t cols, size_t esz, int threads);

#endif
