/* Conv attributes and output geometry shared by the convolution-like ops (Conv, FusedConv,
 * ConvTranspose, ConvInteger, QLinearConv, and anything else with ONNX Conv's attribute set).
 *
 * Attributes: kernel_shape (must match W), strides, dilations, pads [b1..bn, e1..en], group,
 * auto_pad NOTSET | SAME_UPPER | SAME_LOWER | VALID. Output size per spatial axis, as ONNX Runtime:
 *   SAME_*: total = max(0, (ceil(in / s) - 1) * s + (k - 1) * d + 1 - in); SAME_UPPER puts
 *           total / 2 at the start (the odd pixel at the end), SAME_LOWER total - total / 2;
 *   VALID:  no padding;  NOTSET: the pads attribute (default 0);
 *   out = (in + pb + pe - ((k - 1) * d + 1)) / s + 1.
 * (ONNX Runtime refuses SAME_* with dilation > 1; octet computes it with the dilated kernel.)
 * ConvTranspose: see ot_convt_shape_resolve. */
#ifndef OT_CONV_GEOM_H
#define OT_CONV_GEOM_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

#define OT_CONV_MAX_SP 3

typedef enum ot_auto_pad {
    OT_AUTO_PAD_NOTSET = 0,
    OT_AUTO_PAD_SAME_UPPER,
    OT_AUTO_PAD_SAME_LOWER,
    OT_AUTO_PAD_VALID
} ot_auto_pad;

typedef struct ot_conv_attrs {
    int n_kernel, n_strides, n_dil, n_pads;   /* value counts (0 = attribute absent) */
    int64_t kernel[OT_CONV_MAX_SP], strides[OT_CONV_MAX_SP], dil[OT_CONV_MAX_SP], pads[2 * OT_CONV_MAX_SP];
    int64_t group;
    ot_auto_pad auto_pad;
    /* ConvTranspose only (ot_conv_attrs_parse_transpose) */
    int n_outpad, n_outshape;
    int64_t out_pad[OT_CONV_MAX_SP], out_shape[OT_CONV_MAX_SP + 2];
} ot_conv_attrs;

/* One run's geometry. Spatial arrays hold nsp entries; pb/pe are the resolved paddings. */
typedef struct ot_conv_shape {
    int nsp;
    int64_t N, C, M, G;   /* batch, input channels, output channels, groups */
    int64_t in[OT_CONV_MAX_SP], out[OT_CONV_MAX_SP], k[OT_CONV_MAX_SP], s[OT_CONV_MAX_SP], d[OT_CONV_MAX_SP];
    int64_t pb[OT_CONV_MAX_SP], pe[OT_CONV_MAX_SP];
} ot_conv_shape;

/* Read and range-check the node's Conv attributes. */
octet_status ot_conv_attrs_parse(const ot_kernel *k, ot_conv_attrs *a);
/* The same plus ConvTranspose's output_padding and output_shape. */
octet_status ot_conv_attrs_parse_transpose(const ot_kernel *k, ot_conv_attrs *a);

/* Check X ([N, C, spatial...], or [N, spatial..., C] when channels_last) against W
 * ([M, C/group, kernel...]) and the attributes, and compute the output geometry. At most max_sp
 * (<= OT_CONV_MAX_SP) spatial dimensions. Every per-image quantity is checked to fit an int. */
octet_status ot_conv_shape_resolve(const ot_kernel *k, const ot_conv_attrs *a, int x_ndim, const int64_t *x_dims,
                                   bool channels_last, int w_ndim, const int64_t *w_dims, int max_sp,
                                   ot_conv_shape *s);

/* ConvTranspose: X [N, C, spatial...], W [C, M/group, kernel...]; s->M = W[1] * group. Output size and
 * padding as ONNX Runtime 1.30 computes them: with output_shape or SAME_*, the total padding is
 * max(0, full size - wanted size) (SAME: wanted = in * stride), SAME_UPPER puts the odd pixel at the
 * end, NOTSET and SAME_LOWER at the start; the output is the wanted size with output_shape, else
 * full size - padding. Like ONNX Runtime, the result must map back onto the input
 * (in = (out + pads - dilated kernel) / stride + 1), which rejects an output_padding of stride or
 * more and output shapes too far from the input's. */
octet_status ot_convt_shape_resolve(const ot_kernel *k, const ot_conv_attrs *a, int x_ndim, const int64_t *x_dims,
                                    int w_ndim, const int64_t *w_dims, ot_conv_shape *s);

/* Product of the output's spatial extents (and of the input's). */
int64_t ot_conv_out_pixels(const ot_conv_shape *s);
int64_t ot_conv_in_pixels(const ot_conv_shape *s);

#endif
