/* Conv attribute parsing and output geometry (see conv_geom.h). */
#include "ops/conv_geom.h"

#include <limits.h>
#include <string.h>

static octet_status get_ints(const ot_kernel *k, const char *name, int64_t *dst, int max, int *count) {
    const int64_t *v;
    size_t n = ot_node_attr_ints(k->node, name, &v);
    if (n > (size_t)max)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "attribute %s has %zu values; at most %d are supported", name, n,
                           max);
    for (size_t i = 0; i < n; i++) dst[i] = v[i];
    *count = (int)n;
    return OCTET_OK;
}

octet_status ot_conv_attrs_parse_transpose(const ot_kernel *k, ot_conv_attrs *a) {
    OT_TRY(ot_conv_attrs_parse(k, a));
    OT_TRY(get_ints(k, "output_padding", a->out_pad, OT_CONV_MAX_SP, &a->n_outpad));
    OT_TRY(get_ints(k, "output_shape", a->out_shape, OT_CONV_MAX_SP + 2, &a->n_outshape));
    for (int i = 0; i < a->n_outpad; i++)
        if (a->out_pad[i] < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "output_padding must be >= 0");
    return OCTET_OK;
}

octet_status ot_conv_attrs_parse(const ot_kernel *k, ot_conv_attrs *a) {
    memset(a, 0, sizeof *a);
    OT_TRY(get_ints(k, "kernel_shape", a->kernel, OT_CONV_MAX_SP, &a->n_kernel));
    OT_TRY(get_ints(k, "strides", a->strides, OT_CONV_MAX_SP, &a->n_strides));
    OT_TRY(get_ints(k, "dilations", a->dil, OT_CONV_MAX_SP, &a->n_dil));
    OT_TRY(get_ints(k, "pads", a->pads, 2 * OT_CONV_MAX_SP, &a->n_pads));
    a->group = ot_node_attr_int(k->node, "group", 1);
    if (a->group < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "group must be >= 1, got %lld", (long long)a->group);
    const char *ap = ot_node_attr_string(k->node, "auto_pad", "NOTSET");
    if (ap[0] == 0 || strcmp(ap, "NOTSET") == 0)
        a->auto_pad = OT_AUTO_PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        a->auto_pad = OT_AUTO_PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        a->auto_pad = OT_AUTO_PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        a->auto_pad = OT_AUTO_PAD_VALID;
    else
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown auto_pad '%s'", ap);
    for (int i = 0; i < a->n_kernel; i++)
        if (a->kernel[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape values must be >= 1");
    for (int i = 0; i < a->n_strides; i++)
        if (a->strides[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "strides must be >= 1");
    for (int i = 0; i < a->n_dil; i++)
        if (a->dil[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "dilations must be >= 1");
    for (int i = 0; i < a->n_pads; i++)
        if (a->pads[i] < 0) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "negative pads are not supported");
    return OCTET_OK;
}

int64_t ot_conv_out_pixels(const ot_conv_shape *s) {
    int64_t p = 1;
    for (int i = 0; i < s->nsp; i++) p *= s->out[i];
    return p;
}

int64_t ot_conv_in_pixels(const ot_conv_shape *s) {
    int64_t p = 1;
    for (int i = 0; i < s->nsp; i++) p *= s->in[i];
    return p;
}

/* Per-axis checks shared by both directions (spatial dims of X from index sp0); fills in, k, s, d, pb, pe. */
static octet_status common_axes(const ot_kernel *k, const ot_conv_attrs *a, int x_ndim, const int64_t *x_dims,
                                int sp0, const int64_t *w_dims, ot_conv_shape *s) {
    int nsp = x_ndim - 2;
    s->nsp = nsp;
    for (int i = 0; i < nsp; i++) {
        s->in[i] = x_dims[sp0 + i];
        s->k[i] = w_dims[2 + i];
        if (s->k[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel dimension %d is %lld", i, (long long)s->k[i]);
    }
    if (a->n_kernel) {
        if (a->n_kernel != nsp)
            return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape has %d values for %d spatial dimensions", a->n_kernel,
                               nsp);
        for (int i = 0; i < nsp; i++)
            if (a->kernel[i] != s->k[i])
                return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape[%d] = %lld does not match W dimension %lld", i,
                                   (long long)a->kernel[i], (long long)s->k[i]);
    }
#define CHECK_LEN(cnt, want, name)                                                                               \
    if ((cnt) && (cnt) != (want))                                                                                \
        return ot_node_err(k, OCTET_ERR_SHAPE, "%s has %d values, expected %d for %d spatial dimensions", name, cnt, \
                           want, nsp);
    CHECK_LEN(a->n_strides, nsp, "strides")
    CHECK_LEN(a->n_dil, nsp, "dilations")
    CHECK_LEN(a->n_pads, 2 * nsp, "pads")
    CHECK_LEN(a->n_outpad, nsp, "output_padding")
#undef CHECK_LEN
    for (int i = 0; i < nsp; i++) {
        s->s[i] = a->n_strides ? a->strides[i] : 1;
        s->d[i] = a->n_dil ? a->dil[i] : 1;
        s->pb[i] = a->n_pads ? a->pads[i] : 0;
        s->pe[i] = a->n_pads ? a->pads[nsp + i] : 0;
        if (s->in[i] < 0 || s->in[i] > INT_MAX / 4 || s->k[i] > INT_MAX / 4 || s->s[i] > INT_MAX / 4 ||
            s->d[i] > INT_MAX / 4 || s->pb[i] > INT_MAX / 4 || s->pe[i] > INT_MAX / 4 ||
            (s->k[i] - 1) * s->d[i] > INT_MAX / 4)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "spatial sizes are too large");
    }
    return OCTET_OK;
}

octet_status ot_conv_shape_resolve(const ot_kernel *k, const ot_conv_attrs *a, int x_ndim, const int64_t *x_dims,
                                   bool channels_last, int w_ndim, const int64_t *w_dims, int max_sp,
                                   ot_conv_shape *s) {
    memset(s, 0, sizeof *s);
    if (max_sp > OT_CONV_MAX_SP) max_sp = OT_CONV_MAX_SP;
    if (x_ndim < 3)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 3 (N, C, spatial...), got rank %d", x_ndim);
    if (x_ndim - 2 > max_sp)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%d spatial dimensions; at most %d are supported", x_ndim - 2,
                           max_sp);
    if (w_ndim != x_ndim)
        return ot_node_err(k, OCTET_ERR_SHAPE, "weight W has rank %d but X has rank %d", w_ndim, x_ndim);
    const int nsp = x_ndim - 2;
    s->N = x_dims[0];
    s->C = channels_last ? x_dims[x_ndim - 1] : x_dims[1];
    s->G = a->group;
    s->M = w_dims[0];
    if (s->C % s->G != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input channels %lld are not divisible by group %lld", (long long)s->C,
                           (long long)s->G);
    if (w_dims[1] * s->G != s->C)
        return ot_node_err(k, OCTET_ERR_SHAPE,
                           "channel mismatch: X has %lld channels but W expects %lld x group %lld = %lld",
                           (long long)s->C, (long long)w_dims[1], (long long)s->G, (long long)(w_dims[1] * s->G));
    if (s->M < 1 || s->M % s->G != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "output channels %lld are not a positive multiple of group %lld",
                           (long long)s->M, (long long)s->G);
    OT_TRY(common_axes(k, a, x_ndim, x_dims, channels_last ? 1 : 2, w_dims, s));

    int64_t kprod = 1, inprod = 1, outprod = 1;
    for (int i = 0; i < nsp; i++) {
        int64_t dk = (s->k[i] - 1) * s->d[i] + 1;
        if (a->auto_pad == OT_AUTO_PAD_SAME_UPPER || a->auto_pad == OT_AUTO_PAD_SAME_LOWER) {
            int64_t out = (s->in[i] + s->s[i] - 1) / s->s[i];
            int64_t total = (out - 1) * s->s[i] + dk - s->in[i];
            if (total < 0) total = 0;
            s->pb[i] = a->auto_pad == OT_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            s->pe[i] = total - s->pb[i];
        } else if (a->auto_pad == OT_AUTO_PAD_VALID) {
            s->pb[i] = s->pe[i] = 0;
        }
        int64_t span = s->in[i] + s->pb[i] + s->pe[i] - dk;
        if (span < 0)
            return ot_node_err(k, OCTET_ERR_SHAPE,
                               "spatial dimension %d: input %lld plus padding %lld+%lld is smaller than the dilated "
                               "kernel %lld",
                               i, (long long)s->in[i], (long long)s->pb[i], (long long)s->pe[i], (long long)dk);
        s->out[i] = span / s->s[i] + 1;
        kprod *= s->k[i];
        inprod *= s->in[i];
        outprod *= s->out[i];
        if (kprod > INT_MAX || inprod > INT_MAX || outprod > INT_MAX)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "spatial sizes are too large");
    }
    if (s->N < 0 || s->N > INT_MAX || s->C > INT_MAX || s->M > INT_MAX || (s->C / s->G) * kprod > INT_MAX / 2 ||
        s->C * inprod > INT_MAX || s->M * outprod > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "tensor sizes are too large");
    return OCTET_OK;
}

octet_status ot_convt_shape_resolve(const ot_kernel *k, const ot_conv_attrs *a, int x_ndim, const int64_t *x_dims,
                                    int w_ndim, const int64_t *w_dims, ot_conv_shape *s) {
    memset(s, 0, sizeof *s);
    if (x_ndim < 3)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 3 (N, C, spatial...), got rank %d", x_ndim);
    if (x_ndim - 2 > OT_CONV_MAX_SP)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%d spatial dimensions; at most %d are supported", x_ndim - 2,
                           OT_CONV_MAX_SP);
    if (w_ndim != x_ndim)
        return ot_node_err(k, OCTET_ERR_SHAPE, "weight W has rank %d but X has rank %d", w_ndim, x_ndim);
    s->N = x_dims[0];
    s->C = x_dims[1];
    s->G = a->group;
    if (s->C % s->G != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input channels %lld are not divisible by group %lld", (long long)s->C,
                           (long long)s->G);
    if (w_dims[0] != s->C)
        return ot_node_err(k, OCTET_ERR_SHAPE, "channel mismatch: X has %lld channels but W has %lld input channels",
                           (long long)s->C, (long long)w_dims[0]);
    s->M = w_dims[1] * s->G;
    OT_TRY(common_axes(k, a, x_ndim, x_dims, 2, w_dims, s));
    const int nsp = s->nsp;
    if (a->n_outshape && a->n_outshape != nsp && a->n_outshape != nsp + 2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "output_shape has %d values for %d spatial dimensions", a->n_outshape,
                           nsp);
    int64_t kprod = 1, inprod = 1, outprod = 1;
    for (int i = 0; i < nsp; i++) {
        int64_t adj = a->n_outpad ? a->out_pad[i] : 0;
        int64_t dk = (s->k[i] - 1) * s->d[i] + 1;
        int64_t full = (s->in[i] - 1) * s->s[i] + adj + dk;  /* output size with no padding */
        int64_t want = -1;
        if (a->n_outshape)
            want = a->out_shape[a->n_outshape == nsp ? i : i + 2];
        else if (a->auto_pad == OT_AUTO_PAD_SAME_UPPER || a->auto_pad == OT_AUTO_PAD_SAME_LOWER)
            want = s->in[i] * s->s[i];
        if (a->n_outshape && want < 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "output_shape[%d] is %lld", i, (long long)want);
        if (want >= 0) {
            int64_t total = full - want;
            if (total < 0) total = 0;
            s->pb[i] = a->auto_pad == OT_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            s->pe[i] = total - s->pb[i];
        } else if (a->auto_pad == OT_AUTO_PAD_VALID) {
            s->pb[i] = s->pe[i] = 0;
        }
        s->out[i] = a->n_outshape ? want : full - s->pb[i] - s->pe[i];
        if (s->out[i] < 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "spatial dimension %d of the output would be %lld", i,
                               (long long)s->out[i]);
        int64_t span = s->out[i] + s->pb[i] + s->pe[i] - dk;
        if (span < 0 || span / s->s[i] + 1 != s->in[i])
            return ot_node_err(k, OCTET_ERR_SHAPE,
                               "output size %lld of spatial dimension %d does not map back onto input size %lld "
                               "(kernel %lld, stride %lld, dilation %lld, output_padding %lld)",
                               (long long)s->out[i], i, (long long)s->in[i], (long long)s->k[i], (long long)s->s[i],
                               (long long)s->d[i], (long long)adj);
        kprod *= s->k[i];
        inprod *= s->in[i];
        outprod *= s->out[i];
        if (kprod > INT_MAX || inprod > INT_MAX || outprod > INT_MAX)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "spatial sizes are too large");
    }
    if (s->N < 0 || s->N > INT_MAX || s->C > INT_MAX || s->M > INT_MAX || (s->M / s->G) * kprod > INT_MAX / 2 ||
        (s->C / s->G) * kprod > INT_MAX / 2 || s->C * inprod > INT_MAX || s->M * outprod > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "tensor sizes are too large");
    return OCTET_OK;
}
