/* Convolution geometry with up to 3 spatial dimensions on NC[D]HW data, and col2im for the
 * transposed convolution. Lower-rank convolutions use extent 1 for the missing leading dimensions
 * (1-D = 1x1xW). The column (im2col) matrix of a convolution has one row per (channel, kernel tap),
 * ((c*kD + a)*kH + b)*kW + e, and one column per output position; ot_gemm_f32 packs it straight
 * from the image (gemm_f32.h). */
#ifndef OT_IM2COL_H
#define OT_IM2COL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ot_conv_geom {
    int channels;   /* channels of the image this call sees (one group) */
    int in[3];      /* input extents D, H, W */
    int out[3];     /* output extents OD, OH, OW */
    int k[3];       /* kernel extents */
    int s[3];       /* strides */
    int d[3];       /* dilations */
    int p[3];       /* padding before each dimension */
} ot_conv_geom;

/* The adjoint of im2col. Output "rows" are (od, oh) pairs, OD*OH of them, each OW wide; for rows
 * [r0, r1) of a column matrix col[channels*kD*kH*kW][(r1-r0)*OW], add every entry into the image
 * x[channels][D][H][W] at the position im2col would have read it from (entries over padding are
 * dropped). Channels [c0, c1) only, so callers can split channels across threads. */
void ot_col2im_add_f32(const ot_conv_geom *g, const float *col, int r0, int r1, int c0, int c1, float *x);

/* True when every image position gets exactly one column entry: stride = kernel, no dilation, no
 * padding, image = columns x stride (a transposed convolution that only spreads pixels out). */
bool ot_col2im_is_tiling(const ot_conv_geom *g);
/* For such a geometry: x = col + bias[c] (bias may be NULL), written once, nothing read from x. */
void ot_col2im_set_f32(const ot_conv_geom *g, const float *col, int r0, int r1, int c0, int c1, const float *bias,
                       float *x);

#endif
