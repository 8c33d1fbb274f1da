/* Op family 'conv': Conv, ConvTranspose (ai.onnx) and FusedConv (com.microsoft), float32, with
 * 1 to 3 spatial dimensions.
 *
 * Conv takes one of two paths:
 *  - depthwise (one input channel per group, 1-D/2-D): a direct kernel, 8 channels at a time in the
 *    vector lanes (dwconv_f32.h);
 *  - everything else: octet's GEMM (gemm_f32.h) with the weights packed once in prepare(), B read
 *    in place (1x1), from a padded copy of the image, or packed from im2col per block, and bias plus
 *    Relu/Clip applied as the output is stored.
 * The work is cut into (image, group, column or row tile) items spread over the threads, each with
 * a serial kernel. ConvTranspose is a GEMM (W^T x X, BLAS) followed by col2im. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/dwconv_f32.h"
#include "kernels/gemm_f32.h"
#include "kernels/im2col.h"
#include "kernels/scratch_f32.h"
#include "kernels/sgemm.h"
#include "ops/op.h"
#include "util/mem.h"

#define MAX_SP 3

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad_t;
typedef enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_LEAKY, ACT_SIGMOID, ACT_TANH, ACT_HARDSIGMOID } act_kind;

typedef struct conv_attrs {
    bool transpose;
    int n_kernel, n_strides, n_dil, n_pads, n_outpad, n_outshape;
    int64_t kernel[MAX_SP], strides[MAX_SP], dil[MAX_SP], pads[2 * MAX_SP], out_pad[MAX_SP], out_shape[MAX_SP + 2];
    int64_t group;
    auto_pad_t auto_pad;
    act_kind act;
    float act_a, act_b;
} conv_attrs;

/* Geometry of one run, after shapes and padding are resolved. */
typedef struct conv_shape {
    int nsp;
    int64_t N, C, M, G;          /* batch, input channels, output channels, groups */
    int64_t in[MAX_SP], out[MAX_SP], k[MAX_SP], s[MAX_SP], d[MAX_SP], pb[MAX_SP], pe[MAX_SP];
} conv_shape;

/* ---- attributes ---- */

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

static octet_status parse_attrs(const ot_kernel *k, bool transpose, conv_attrs *a) {
    memset(a, 0, sizeof *a);
    a->transpose = transpose;
    OT_TRY(get_ints(k, "kernel_shape", a->kernel, MAX_SP, &a->n_kernel));
    OT_TRY(get_ints(k, "strides", a->strides, MAX_SP, &a->n_strides));
    OT_TRY(get_ints(k, "dilations", a->dil, MAX_SP, &a->n_dil));
    OT_TRY(get_ints(k, "pads", a->pads, 2 * MAX_SP, &a->n_pads));
    if (transpose) {
        OT_TRY(get_ints(k, "output_padding", a->out_pad, MAX_SP, &a->n_outpad));
        OT_TRY(get_ints(k, "output_shape", a->out_shape, MAX_SP + 2, &a->n_outshape));
    }
    a->group = ot_node_attr_int(k->node, "group", 1);
    if (a->group < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "group must be >= 1, got %lld", (long long)a->group);
    const char *ap = ot_node_attr_string(k->node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == 0)
        a->auto_pad = PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        a->auto_pad = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        a->auto_pad = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        a->auto_pad = PAD_VALID;
    else
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown auto_pad '%s'", ap);
    for (int i = 0; i < a->n_strides; i++)
        if (a->strides[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "strides must be >= 1");
    for (int i = 0; i < a->n_dil; i++)
        if (a->dil[i] < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "dilations must be >= 1");
    for (int i = 0; i < a->n_pads; i++)
        if (a->pads[i] < 0) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "negative pads are not supported");
    for (int i = 0; i < a->n_outpad; i++)
        if (a->out_pad[i] < 0) return ot_node_err(k, OCTET_ERR_SHAPE, "output_padding must be >= 0");

    /* com.microsoft FusedConv: activation after the convolution */
    const char *act = ot_node_attr_string(k->node, "activation", NULL);
    if (act && !ot_domain_is_onnx(k->node->domain)) {
        const float *p;
        size_t np = ot_node_attr_floats(k->node, "activation_params", &p);
        if (strcmp(act, "Relu") == 0) {
            a->act = ACT_RELU;
        } else if (strcmp(act, "Clip") == 0) {
            a->act = ACT_CLIP;
            a->act_a = np > 0 ? p[0] : -INFINITY;
            a->act_b = np > 1 ? p[1] : INFINITY;
        } else if (strcmp(act, "LeakyRelu") == 0) {
            a->act = ACT_LEAKY;
            a->act_a = np > 0 ? p[0] : 0.01f;
        } else if (strcmp(act, "Sigmoid") == 0) {
            a->act = ACT_SIGMOID;
        } else if (strcmp(act, "Tanh") == 0) {
            a->act = ACT_TANH;
        } else if (strcmp(act, "HardSigmoid") == 0) {
            a->act = ACT_HARDSIGMOID;
            a->act_a = np > 0 ? p[0] : 0.2f;
            a->act_b = np > 1 ? p[1] : 0.5f;
        } else {
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unsupported activation '%s'", act);
        }
    }
    return OCTET_OK;
}

/* What prepare() keeps: the attributes, and for a GEMM-path Conv with constant weights, the weights
 * packed per group for ot_gemm_f32. */
typedef struct conv_state {
    conv_attrs a;
    const void *w_data;   /* the weights the packs were made from */
    int64_t n_packs;
    ot_gemm_f32_a *packs;
} conv_state;

static void conv_release(void *state) {
    conv_state *st = state;
    if (!st) return;
    for (int64_t g = 0; g < st->n_packs; g++) ot_gemm_f32_free_a(&st->packs[g]);
    free(st->packs);
    free(st);
}

/* Weights of group g as the GEMM's A: rows = output channels of the group, K = Cin/G * kernel. */
static octet_status pack_weights(const octet_tensor *w, int64_t G, ot_gemm_f32_a **out) {
    int64_t M = w->dims[0], Mg = M / G, kdim = 1;
    for (int i = 1; i < w->ndim; i++) kdim *= w->dims[i];
    ot_gemm_f32_a *p = ot_calloc((size_t)G, sizeof *p);
    if (!p) return ot_err(OCTET_ERR_NOMEM, "out of memory packing convolution weights");
    for (int64_t g = 0; g < G; g++)
        if (!ot_gemm_f32_pack_a(&p[g], (const float *)w->data + (size_t)(g * Mg * kdim), (int)Mg, (int)kdim,
                                (int)kdim)) {
            for (int64_t j = 0; j < g; j++) ot_gemm_f32_free_a(&p[j]);
            free(p);
            return ot_err(OCTET_ERR_NOMEM, "out of memory packing convolution weights");
        }
    *out = p;
    return OCTET_OK;
}

/* The GEMM path applies (depthwise convs have their own kernel). */
static bool uses_gemm(const octet_tensor *w) { return !(w->ndim <= 4 && w->dims[1] == 1); }

static octet_status conv_prepare_common(ot_kernel *k, const octet_tensor *const *consts, int n_in, bool transpose) {
    conv_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = parse_attrs(k, transpose, &st->a);
    const octet_tensor *w = n_in > 1 ? consts[1] : NULL;
    /* Pack only what run() will surely accept; anything odd is left for run() to report. */
    if (s == OCTET_OK && !transpose && w && w->dtype == OCTET_FLOAT && w->ndim >= 3 && w->ndim <= 2 + MAX_SP &&
        w->dims[0] > 0 && w->dims[0] % st->a.group == 0 && uses_gemm(w) &&
        ot_tensor_numel(w) / w->dims[0] * (w->dims[0] / st->a.group) <= INT_MAX && w->dims[0] <= INT_MAX) {
        s = pack_weights(w, st->a.group, &st->packs);
        if (s == OCTET_OK) {
            st->n_packs = st->a.group;
            st->w_data = w->data;
        }
    }
    if (s != OCTET_OK) {
        conv_release(st);
        return s;
    }
    k->state = st;
    return OCTET_OK;
}

static octet_status conv_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return conv_prepare_common(k, consts, n_in, false);
}

static octet_status convt_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return conv_prepare_common(k, consts, n_in, true);
}

/* ---- epilogue ---- */

static void apply_act(const conv_attrs *a, float *y, size_t n) {
    switch (a->act) {
    case ACT_NONE: break;
    case ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case ACT_CLIP:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < a->act_a ? a->act_a : (y[i] > a->act_b ? a->act_b : y[i]);
        break;
    case ACT_LEAKY:
        for (size_t i = 0; i < n; i++) y[i] = y[i] >= 0.0f ? y[i] : y[i] * a->act_a;
        break;
    case ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    case ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(y[i]);
        break;
    case ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = a->act_a * y[i] + a->act_b;
            y[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
        }
        break;
    }
}

/* Rows [0, m) of a block with leading dimension ld, columns [0, n): add bias[row] (may be NULL),
 * the matching block of z (may be NULL), then the activation. */
static void epilogue(const conv_attrs *a, float *y, size_t ld, int m, int n, const float *bias, const float *z) {
    if (!bias && !z && a->act == ACT_NONE) return;
    for (int r = 0; r < m; r++) {
        float *yr = y + (size_t)r * ld;
        if (bias) {
            const float b = bias[r];
            for (int c = 0; c < n; c++) yr[c] += b;
        }
        if (z) {
            const float *zr = z + (size_t)r * ld;
            for (int c = 0; c < n; c++) yr[c] += zr[c];
        }
        apply_act(a, yr, (size_t)n);
    }
}

/* ---- shapes ---- */

static octet_status check_f32(const ot_kernel *k, const octet_tensor *t, int i) { return ot_check_dtype(k, t, i, OCTET_FLOAT); }

/* Common checks of X, W, B and the per-axis attributes; fills s except out/pb/pe. */
static octet_status read_shapes(const ot_kernel *k, const conv_attrs *a, const octet_tensor *x, const octet_tensor *w,
                                const octet_tensor *b, conv_shape *s) {
    memset(s, 0, sizeof *s);
    OT_TRY(check_f32(k, x, 0));
    OT_TRY(check_f32(k, w, 1));
    if (x->ndim < 3)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank >= 3 (N, C, spatial...), got rank %d", x->ndim);
    if (x->ndim - 2 > MAX_SP)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%d spatial dimensions; at most %d are supported", x->ndim - 2,
                           MAX_SP);
    if (w->ndim != x->ndim)
        return ot_node_err(k, OCTET_ERR_SHAPE, "weight W has rank %d but X has rank %d", w->ndim, x->ndim);
    int nsp = x->ndim - 2;
    s->nsp = nsp;
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->G = a->group;
    if (s->C % s->G != 0)
        return ot_node_err(k, OCTET_ERR_SHAPE, "input channels %lld are not divisible by group %lld", (long long)s->C,
                           (long long)s->G);
    if (!a->transpose) {
        s->M = w->dims[0];
        if (w->dims[1] * s->G != s->C)
            return ot_node_err(k, OCTET_ERR_SHAPE,
                               "channel mismatch: X has %lld channels but W expects %lld x group %lld = %lld",
                               (long long)s->C, (long long)w->dims[1], (long long)s->G, (long long)(w->dims[1] * s->G));
        if (s->M % s->G != 0)
            return ot_node_err(k, OCTET_ERR_SHAPE, "output channels %lld are not divisible by group %lld",
                               (long long)s->M, (long long)s->G);
    } else {
        if (w->dims[0] != s->C)
            return ot_node_err(k, OCTET_ERR_SHAPE, "channel mismatch: X has %lld channels but W has %lld input channels",
                               (long long)s->C, (long long)w->dims[0]);
        s->M = w->dims[1] * s->G;
    }
    for (int i = 0; i < nsp; i++) {
        s->in[i] = x->dims[2 + i];
        s->k[i] = w->dims[2 + i];
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
    }
    if (b) {
        OT_TRY(check_f32(k, b, 2));
        if (b->ndim != 1 || b->dims[0] != s->M)
            return ot_node_err(k, OCTET_ERR_SHAPE, "bias B must have shape [%lld], got rank %d with %lld elements",
                               (long long)s->M, b->ndim, (long long)ot_tensor_numel(b));
    }
    /* Kernels index with int: keep every per-image quantity in range. */
    int64_t kprod = 1, inprod = 1;
    for (int i = 0; i < nsp; i++) {
        if (s->in[i] > INT_MAX / 4 || s->k[i] > INT_MAX / 4 || s->s[i] > INT_MAX / 4 || s->d[i] > INT_MAX / 4 ||
            s->pb[i] > INT_MAX / 4 || s->pe[i] > INT_MAX / 4)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "spatial sizes are too large");
        kprod *= s->k[i];
        inprod *= s->in[i];
        if (kprod > INT_MAX || inprod > INT_MAX || (s->k[i] - 1) * s->d[i] + 1 > INT_MAX / 4)
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "spatial sizes are too large");
    }
    if (s->C > INT_MAX || s->M > INT_MAX || s->N > INT_MAX || (s->C / s->G) * kprod > INT_MAX ||
        (s->M / s->G) * kprod > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "channel counts are too large");
    return OCTET_OK;
}

static octet_status conv_out_shape(const ot_kernel *k, const conv_attrs *a, conv_shape *s) {
    int64_t prod = 1;
    for (int i = 0; i < s->nsp; i++) {
        int64_t dk = (s->k[i] - 1) * s->d[i] + 1;
        if (a->auto_pad == PAD_SAME_UPPER || a->auto_pad == PAD_SAME_LOWER) {
            int64_t out = (s->in[i] + s->s[i] - 1) / s->s[i];
            int64_t total = (out - 1) * s->s[i] + dk - s->in[i];
            if (total < 0) total = 0;
            s->pb[i] = a->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            s->pe[i] = total - s->pb[i];
        } else if (a->auto_pad == PAD_VALID) {
            s->pb[i] = s->pe[i] = 0;
        }
        int64_t span = s->in[i] + s->pb[i] + s->pe[i] - dk;
        if (span < 0)
            return ot_node_err(k, OCTET_ERR_SHAPE,
                               "spatial dimension %d: input %lld plus padding %lld+%lld is smaller than the dilated "
                               "kernel %lld",
                               i, (long long)s->in[i], (long long)s->pb[i], (long long)s->pe[i], (long long)dk);
        s->out[i] = span / s->s[i] + 1;
        prod *= s->out[i];
        if (prod > INT_MAX) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "output spatial size is too large");
    }
    return OCTET_OK;
}

/* ConvTranspose output size and padding, as ONNX Runtime 1.30 computes them. With output_shape or
 * SAME_*, the total padding is max(0, full size - wanted size) (SAME: wanted = in * stride);
 * SAME_UPPER puts the odd pixel at the end, NOTSET and SAME_LOWER at the start. The output is the
 * wanted size with output_shape, else full size - padding. Like ONNX Runtime, the result must map
 * back onto the input (in = (out + pads - dilated kernel) / stride + 1), which rejects an
 * output_padding of stride or more and output shapes too far from the input's. */
static octet_status convt_out_shape(const ot_kernel *k, const conv_attrs *a, conv_shape *s) {
    int nsp = s->nsp;
    if (a->n_outshape && a->n_outshape != nsp && a->n_outshape != nsp + 2)
        return ot_node_err(k, OCTET_ERR_SHAPE, "output_shape has %d values for %d spatial dimensions", a->n_outshape,
                           nsp);
    int64_t prod = 1;
    for (int i = 0; i < nsp; i++) {
        int64_t adj = a->n_outpad ? a->out_pad[i] : 0;
        int64_t dk = (s->k[i] - 1) * s->d[i] + 1;
        int64_t full = (s->in[i] - 1) * s->s[i] + adj + dk;  /* output size with no padding */
        int64_t want = -1;
        if (a->n_outshape) want = a->out_shape[a->n_outshape == nsp ? i : i + 2];
        else if (a->auto_pad == PAD_SAME_UPPER || a->auto_pad == PAD_SAME_LOWER) want = s->in[i] * s->s[i];
        if (a->n_outshape && want < 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "output_shape[%d] is %lld", i, (long long)want);
        if (want >= 0) {
            int64_t total = full - want;
            if (total < 0) total = 0;
            s->pb[i] = a->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            s->pe[i] = total - s->pb[i];
        } else if (a->auto_pad == PAD_VALID) {
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
        prod *= s->out[i];
        if (prod > INT_MAX) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "output spatial size is too large");
    }
    return OCTET_OK;
}

/* 1..3 spatial dims -> the 3-D geometry the kernels use (leading extents 1). */
static void to_geom(const conv_shape *s, int channels, bool transpose, ot_conv_geom *g) {
    memset(g, 0, sizeof *g);
    g->channels = channels;
    int off = MAX_SP - s->nsp;
    for (int i = 0; i < MAX_SP; i++) {
        g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
        g->p[i] = 0;
    }
    for (int i = 0; i < s->nsp; i++) {
        /* For ConvTranspose the "image" is its output and the "columns" are its input positions. */
        g->in[off + i] = (int)(transpose ? s->out[i] : s->in[i]);
        g->out[off + i] = (int)(transpose ? s->in[i] : s->out[i]);
        g->k[off + i] = (int)s->k[i];
        g->s[off + i] = (int)s->s[i];
        g->d[off + i] = (int)s->d[i];
        g->p[off + i] = (int)s->pb[i];
    }
}

/* ---- Conv kernels ---- */

typedef struct run_ctx {
    const conv_attrs *a;
    const conv_shape *s;
    const float *x, *w, *bias, *z;
    float *y;
    int threads;
} run_ctx;

static octet_status conv_depthwise(const run_ctx *r) {
    const conv_shape *s = r->s;
    ot_dw_geom g = {0};
    g.H = g.OH = 1;
    g.kh = g.sh = g.dh = 1;
    int h = s->nsp == 2 ? 0 : -1, w = s->nsp - 1;
    if (h >= 0) {
        g.H = (int)s->in[h];
        g.OH = (int)s->out[h];
        g.kh = (int)s->k[h];
        g.sh = (int)s->s[h];
        g.dh = (int)s->d[h];
        g.pt = (int)s->pb[h];
    }
    g.W = (int)s->in[w];
    g.OW = (int)s->out[w];
    g.kw = (int)s->k[w];
    g.sw = (int)s->s[w];
    g.dw = (int)s->d[w];
    g.pl = (int)s->pb[w];
    const int64_t M = s->M, mult = s->M / s->G, planes = s->N * M;
    const size_t in_plane = (size_t)g.H * g.W, out_plane = (size_t)g.OH * g.OW, ktaps = (size_t)g.kh * g.kw;
    /* One input channel per output channel and AVX2: 8 channels per call, in the vector lanes. */
    /* (very wide stride-1 planes are as fast per plane, without the interleaving) */
    const bool blocked = mult == 1 && ot_kernels_get()->isa >= OT_ISA_AVX2 && !(g.sw == 1 && g.OW >= 200);
    const int64_t cblocks = (M + 7) / 8, items = blocked ? s->N * cblocks : planes;
    const size_t scratch_n = blocked ? ot_dwconv8_f32_scratch(&g) : ot_dwconv_f32_scratch(&g);
    int threads = r->threads;
    if (threads > items) threads = (int)(items > 0 ? items : 1);
    if ((double)planes * out_plane * ktaps < 32768.0) threads = 1;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        float *scratch = ot_scratch_f32(OT_SCRATCH_DW, scratch_n + 8);
        if (!scratch) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (!scratch) continue;
            if (blocked) {
                const int64_t n = it / cblocks, c0 = (it % cblocks) * 8;
                const int nch = M - c0 < 8 ? (int)(M - c0) : 8;
                const size_t p0 = (size_t)(n * M + c0);
                float *yp = r->y + p0 * out_plane;
                ot_dwconv8_f32_avx2(&g, r->x + p0 * in_plane, in_plane, r->w + (size_t)c0 * ktaps,
                                    r->bias ? r->bias + c0 : NULL, yp, out_plane, nch, scratch);
                if (r->z || r->a->act != ACT_NONE)
                    epilogue(r->a, yp, out_plane, 1, (int)(out_plane * nch), NULL, r->z ? r->z + p0 * out_plane : NULL);
                continue;
            }
            const int64_t p = it, n = p / M, m = p % M;
            const float *xp = r->x + ((size_t)n * s->C + (size_t)(m / mult)) * in_plane;
            float *yp = r->y + (size_t)p * out_plane;
            ot_dwconv_f32(&g, xp, r->w + (size_t)m * ktaps, r->bias ? r->bias[m] : 0.0f, yp, scratch);
            if (r->z || r->a->act != ACT_NONE)
                epilogue(r->a, yp, out_plane, 1, (int)out_plane, NULL, r->z ? r->z + (size_t)p * out_plane : NULL);
        }
        ot_scratch_f32_done(OT_SCRATCH_DW, scratch);
    }
    return failed ? ot_err(OCTET_ERR_NOMEM, "out of memory in depthwise convolution") : OCTET_OK;
}

/* Clamp bounds the GEMM can apply while storing (Relu, Clip); other activations run afterwards. */
static bool act_clamp(const conv_attrs *a, float *lo, float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (a->act == ACT_NONE) return true;
    if (a->act == ACT_RELU) {
        *lo = 0.0f;
        return true;
    }
    if (a->act == ACT_CLIP) {
        *lo = a->act_a;
        *hi = a->act_b;
        return true;
    }
    return false;
}

static octet_status conv_gemm(const run_ctx *r, const ot_gemm_f32_a *packs) {
    const conv_shape *s = r->s;
    ot_conv_geom g;
    const int64_t G = s->G, Cg = s->C / G, Mg = s->M / G;
    to_geom(s, (int)Cg, false, &g);
    const int kprod = g.k[0] * g.k[1] * g.k[2];
    const int64_t kdim = Cg * kprod;
    const int S_out = g.out[0] * g.out[1] * g.out[2];
    const size_t S_in = (size_t)g.in[0] * g.in[1] * g.in[2];
    bool pointwise = kprod == 1;
    for (int i = 0; i < MAX_SP; i++)
        if (g.s[i] != 1 || g.p[i] != 0 || g.out[i] != g.in[i]) pointwise = false;

    ot_gemm_f32_a *own = NULL;
    if (!packs) {  /* weights not constant: pack them for this run */
        octet_tensor wt = {0};
        int64_t wd[2] = {s->M, kdim};
        wt.dtype = OCTET_FLOAT;
        wt.ndim = 2;
        memcpy(wt.dims, wd, sizeof wd);
        wt.data = (void *)r->w;
        OT_TRY(pack_weights(&wt, G, &own));
        packs = own;
    }
    float lo, hi;
    bool clamp_in_gemm = act_clamp(r->a, &lo, &hi) && !r->z;
    if (!clamp_in_gemm) lo = -INFINITY, hi = INFINITY;

    /* How B is read. Packing B into panels costs a pass but makes every later read contiguous, so
     * it pays off once enough output channels (rows of A) reuse each panel; with few of them, read
     * B in place (1x1: the image itself; k x k, 1-D/2-D with rows wide enough for 16-column tiles:
     * a zero-padded copy of the image, which also suits inputs with very few channels). */
    enum { B_POINTWISE, B_PADDED, B_PACKED } mode = B_PACKED;
    ot_conv_pad pad = {0};
    const bool few_rows = Mg <= 48;
    if (pointwise && few_rows && (double)kdim * S_in < 2.0e9) {
        mode = B_POINTWISE;
    } else if (!pointwise && s->nsp <= 2 && g.out[2] >= 16 && (few_rows || Cg <= 4)) {
        ot_conv_pad_dims(&g, &pad);
        if ((double)Cg * pad.ch_stride < 2.0e9) mode = B_PADDED;
    }
    int *koff = NULL;
    float *padded = NULL;
    ot_gemm_f32_b bdir = {0};
    if (mode != B_PACKED) {
        koff = ot_malloc(sizeof(int) * (size_t)kdim);
        if (mode == B_PADDED) padded = ot_scratch_f32(OT_SCRATCH_PAD, (size_t)Cg * pad.ch_stride);
        if (!koff || (mode == B_PADDED && !padded)) {
            free(koff);
            ot_scratch_f32_done(OT_SCRATCH_PAD, padded);
            if (own) {
                for (int64_t gi = 0; gi < G; gi++) ot_gemm_f32_free_a(&own[gi]);
                free(own);
            }
            return ot_err(OCTET_ERR_NOMEM, "out of memory in convolution");
        }
        if (mode == B_POINTWISE) {
            for (int64_t k = 0; k < kdim; k++) koff[k] = (int)(k * (int64_t)S_in);
            bdir.koff = koff;
            bdir.row_w = S_out;
        } else {
            ot_conv_pad_direct(&g, &pad, padded, koff, &bdir);
        }
    }

    /* Work: per (image, group), column tiles (whole output rows when B is padded) or, with few
     * columns, row tiles, spread over the threads. */
    const int64_t images = s->N * G;
    int threads = r->threads;
    if ((double)Mg * kdim * S_out * images < 200000.0) threads = 1;
    int64_t col_tiles = 1, row_tiles = 1;
    if (threads > 1) {
        int64_t per = mode == B_PADDED ? threads : (images < 2LL * threads ? (2LL * threads + images - 1) / images : 1);
        if (S_out >= 64 * per)
            col_tiles = per;
        else if (S_out >= 64 * threads)
            col_tiles = threads;
        else
            row_tiles = (Mg + 5) / 6 < threads ? (Mg + 5) / 6 : threads;
    }
    const int OW = g.out[2];
    int col_chunk = (int)((S_out + col_tiles - 1) / col_tiles + 15) / 16 * 16;
    if (mode == B_PADDED) {
        int rows = S_out / OW, rc = (int)((rows + col_tiles - 1) / col_tiles);
        col_chunk = rc * OW;
    }
    const int row_chunk = (int)(((Mg + row_tiles - 1) / row_tiles + 5) / 6 * 6);
    const int64_t tiles = col_tiles * row_tiles;
    /* padded mode goes image by image (the copy is shared); the others run every item at once */
    const int64_t outer = mode == B_PADDED ? images : 1, items = mode == B_PADDED ? tiles : images * tiles;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        float *scratch = ot_scratch_f32(OT_SCRATCH_GEMM, ot_gemm_f32_scratch());
        if (!scratch) {
#pragma omp atomic write
            failed = 1;
        }
        for (int64_t o = 0; o < outer; o++) {
            if (mode == B_PADDED) {
                const int64_t n = o / G, gi = o % G;
                const float *xg = r->x + ((size_t)n * s->C + (size_t)gi * Cg) * S_in;
#pragma omp for schedule(static)
                for (int64_t c = 0; c < Cg; c++) {
                    ot_conv_geom g1 = g;
                    g1.channels = 1;
                    ot_conv_pad_f32(&g1, &pad, xg + (size_t)c * S_in, padded + (size_t)c * pad.ch_stride);
                }
            }
#pragma omp for schedule(dynamic, 1)
            for (int64_t it = 0; it < items; it++) {
                if (!scratch) continue;
                const int64_t img = mode == B_PADDED ? o : it / tiles, t = it % tiles;
                const int64_t n = img / G, gi = img % G;
                int c0 = (int)(t % col_tiles) * col_chunk, c1 = c0 + col_chunk < S_out ? c0 + col_chunk : S_out;
                int m0 = (int)(t / col_tiles) * row_chunk, m1 = m0 + row_chunk < Mg ? m0 + row_chunk : (int)Mg;
                if (c0 >= c1 || m0 >= m1) continue;
                const float *xg = r->x + ((size_t)n * s->C + (size_t)gi * Cg) * S_in;
                float *yg = r->y + ((size_t)n * s->M + (size_t)gi * Mg) * S_out;
                ot_gemm_f32_b b = bdir;
                if (mode == B_POINTWISE) {
                    b.base = xg;
                } else if (mode == B_PACKED) {
                    b.conv = &g;
                    b.image = xg;
                }
                ot_gemm_f32(&packs[gi], m0, m1, &b, c0, c1, yg, S_out, r->bias ? r->bias + gi * Mg : NULL, lo, hi,
                            scratch);
                if (!clamp_in_gemm) {
                    float *yt = yg + (size_t)m0 * S_out + c0;
                    const float *zt = r->z ? r->z + (yt - r->y) : NULL;
                    epilogue(r->a, yt, (size_t)S_out, m1 - m0, c1 - c0, NULL, zt);
                }
            }
        }
        ot_scratch_f32_done(OT_SCRATCH_GEMM, scratch);
    }
    free(koff);
    ot_scratch_f32_done(OT_SCRATCH_PAD, padded);
    if (own) {
        for (int64_t gi = 0; gi < G; gi++) ot_gemm_f32_free_a(&own[gi]);
        free(own);
    }
    return failed ? ot_err(OCTET_ERR_NOMEM, "out of memory in convolution") : OCTET_OK;
}

/* ConvTranspose: input rows per column-matrix tile, so the tile stays around L2 size. */
static int tile_rows(int rows, int ow, int64_t kdim) {
    int64_t cols = (256 * 1024 / 4) / (kdim > 0 ? kdim : 1);
    if (cols < 256) cols = 256;
    int64_t tr = (cols + ow - 1) / ow;
    if (tr < 1) tr = 1;
    if (tr > rows) tr = rows;
    return (int)tr;
}

static octet_status conv_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    bool fused = !ot_domain_is_onnx(k->node->domain);
    OT_TRY(ot_check_inputs(k, in, n_in, 2, fused ? 4 : 3));
    conv_attrs local;
    const conv_state *st = k->state;
    const conv_attrs *a = st ? &st->a : NULL;
    if (!a) {
        OT_TRY(parse_attrs(k, false, &local));
        a = &local;
    }
    if (!out[0]) return OCTET_OK;
    const octet_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL, *z = n_in > 3 ? in[3] : NULL;
    conv_shape s;
    OT_TRY(read_shapes(k, a, x, w, b, &s));
    OT_TRY(conv_out_shape(k, a, &s));
    int64_t dims[2 + MAX_SP] = {s.N, s.M};
    for (int i = 0; i < s.nsp; i++) dims[2 + i] = s.out[i];
    if (z) {
        OT_TRY(check_f32(k, z, 3));
        bool same = z->ndim == 2 + s.nsp;
        for (int i = 0; same && i < z->ndim; i++) same = z->dims[i] == dims[i];
        if (!same) return ot_node_err(k, OCTET_ERR_SHAPE, "input Z must have the output's shape");
    }
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 2 + s.nsp, dims));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;
    run_ctx r = {a, &s, x->data, w->data, b ? b->data : NULL, z ? z->data : NULL, out[0]->data, k->threads};
    if (s.C == s.G && s.nsp <= 2) return conv_depthwise(&r);
    /* prepacked weights, if prepare() saw these very weights */
    const ot_gemm_f32_a *packs = st && st->packs && st->w_data == w->data && st->n_packs == s.G ? st->packs : NULL;
    return conv_gemm(&r, packs);
}

/* ---- ConvTranspose ---- */

static octet_status convt_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 3));
    conv_attrs local;
    const conv_state *st = k->state;
    const conv_attrs *a = st ? &st->a : NULL;
    if (!a) {
        OT_TRY(parse_attrs(k, true, &local));
        a = &local;
    }
    if (!out[0]) return OCTET_OK;
    const octet_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_shape s;
    OT_TRY(read_shapes(k, a, x, w, b, &s));
    OT_TRY(convt_out_shape(k, a, &s));
    int64_t dims[2 + MAX_SP] = {s.N, s.M};
    for (int i = 0; i < s.nsp; i++) dims[2 + i] = s.out[i];
    OT_TRY(ot_tensor_alloc(out[0], OCTET_FLOAT, 2 + s.nsp, dims));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;

    const int64_t G = s.G, Cg = s.C / G, Mg = s.M / G;
    ot_conv_geom g;
    to_geom(&s, (int)Mg, true, &g);
    const int kprod = g.k[0] * g.k[1] * g.k[2];
    const int64_t rowsz = Mg * kprod;  /* rows of the column matrix */
    const int OWc = g.out[2], rows = g.out[0] * g.out[1];
    const size_t S_in = (size_t)rows * OWc, S_out = (size_t)g.in[0] * g.in[1] * g.in[2];
    int tr = tile_rows(rows, OWc, rowsz > Cg ? rowsz : Cg);
    float *col = ot_scratch_f32(OT_SCRATCH_COL, (size_t)rowsz * (size_t)tr * OWc);
    if (!col) return ot_err(OCTET_ERR_NOMEM, "out of memory for the transposed convolution's column buffer");
    const float *X = x->data, *W = w->data, *B = b ? b->data : NULL;
    float *Y = out[0]->data;
    int threads = k->threads;
    if (threads > Mg) threads = (int)Mg;
    if ((double)Mg * S_out < 32768.0) threads = 1;
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            float *yg = Y + ((size_t)n * s.M + (size_t)gi * Mg) * S_out;
            for (int64_t m = 0; m < Mg; m++) {
                float v = B ? B[gi * Mg + m] : 0.0f;
                float *ym = yg + (size_t)m * S_out;
                for (size_t i = 0; i < S_out; i++) ym[i] = v;
            }
            const float *xg = X + ((size_t)n * s.C + (size_t)gi * Cg) * S_in;
            const float *wg = W + (size_t)gi * Cg * rowsz;
            for (int r0 = 0; r0 < rows; r0 += tr) {
                int r1 = r0 + tr < rows ? r0 + tr : rows, ncols = (r1 - r0) * OWc;
                /* col[Mg*k, cols] = Wg^T[Mg*k, Cg] x Xg[Cg, cols] */
                ot_sgemm_mt(k->threads, true, false, (int)rowsz, ncols, (int)Cg, 1.0f, wg, (int)rowsz,
                            xg + (size_t)r0 * OWc, (int)S_in, 0.0f, col, ncols);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
                for (int t = 0; t < threads; t++) {
                    int c0 = (int)(Mg * t / threads), c1 = (int)(Mg * (t + 1) / threads);
                    ot_col2im_add_f32(&g, col, r0, r1, c0, c1, yg);
                }
            }
        }
    ot_scratch_f32_done(OT_SCRATCH_COL, col);
    return OCTET_OK;
}

const ot_op_def ot_ops_conv[] = {
    {"", "Conv", conv_prepare, conv_run, conv_release},
    {"", "ConvTranspose", convt_prepare, convt_run, conv_release},
    {"com.microsoft", "FusedConv", conv_prepare, conv_run, conv_release},
    {NULL, NULL, NULL, NULL, NULL},
};
