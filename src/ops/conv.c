/* Op family 'conv': Conv, ConvTranspose (ai.onnx), FusedConv (com.microsoft) and NchwcConv
 * (ai.octet), float32, with 1 to 3 spatial dimensions. Geometry: conv_geom.h.
 *
 * Conv takes one of three paths:
 *  - depthwise (one input channel per group, 1-D/2-D): a direct kernel, 8 channels at a time in the
 *    vector lanes (dwconv_f32.h);
 *  - 2-D, group 1, more than one tap, AVX2: the blocked-layout direct kernel (gemm_f32_nchwc.h) on
 *    the image reordered to NCHWc, the output reordered back;
 *  - everything else: octet's GEMM (gemm_f32.h) with the weights packed once in prepare(), B read
 *    in place (1x1), from a padded copy of the image, or packed from im2col per block, and bias plus
 *    Relu/Clip applied as the output is stored.
 * The work is cut into (image, group, column or row tile) items spread over the threads, each with
 * a serial kernel. ConvTranspose is a GEMM (W^T x X, BLAS) followed by col2im. NchwcConv (made by
 * the NCHWc pass, ir/passes/nchwc.h) runs the blocked kernels on blocked tensors end to end, with a
 * sum input Z and an elementwise program as epilogue. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/dwconv_f32.h"
#include "kernels/gemm_f32.h"
#include "kernels/gemm_f32_nchwc.h"
#include "kernels/im2col.h"
#include "kernels/scratch_f32.h"
#include "kernels/sgemm.h"
#include "ops/conv_geom.h"
#include "ops/f32_fused.h"
#include "ops/op.h"
#include "util/mem.h"

#define MAX_SP OT_CONV_MAX_SP

typedef enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_LEAKY, ACT_SIGMOID, ACT_TANH, ACT_HARDSIGMOID } act_kind;

typedef struct conv_attrs {
    ot_conv_attrs g;   /* the geometry attributes (conv_geom.h) */
    bool transpose;
    act_kind act;
    float act_a, act_b;
} conv_attrs;

typedef ot_conv_shape conv_shape;

/* ---- attributes ---- */

static octet_status parse_attrs(const ot_kernel *k, bool transpose, conv_attrs *a) {
    memset(a, 0, sizeof *a);
    a->transpose = transpose;
    OT_TRY(transpose ? ot_conv_attrs_parse_transpose(k, &a->g) : ot_conv_attrs_parse(k, &a->g));

    /* com.microsoft FusedConv (and octet's NchwcConv): activation after the convolution */
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

/* What prepare() keeps: the attributes, and with constant weights, the weights packed for the path
 * run() takes: per group for ot_gemm_f32, or once for the blocked-layout kernels (gemm_f32_nchwc.h). */
typedef struct conv_state {
    conv_attrs a;
    bool blocked_op;          /* ai.octet NchwcConv: blocked input/output */
    const void *w_data;       /* the weights the packs were made from */
    const void *b_data;       /* the bias packed with the blocked weights (NULL: none) */
    int64_t n_packs;
    ot_gemm_f32_a *packs;
    bool has_nchwc;
    ot_nchwc_w nchwc;
} conv_state;

static void conv_release(void *state) {
    conv_state *st = state;
    if (!st) return;
    for (int64_t g = 0; g < st->n_packs; g++) ot_gemm_f32_free_a(&st->packs[g]);
    free(st->packs);
    if (st->has_nchwc) ot_nchwc_free(&st->nchwc);
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

/* A plain (NCHW) Conv takes the blocked direct kernel when it has AVX2 and the weights are 2-D,
 * group 1, with more than one tap: it reads the image in place instead of packing im2col panels
 * (the input and output are reordered around it). 1x1 convolutions stay on the GEMM, which reads
 * NCHW images in place. */
static bool nchw_takes_direct(const octet_tensor *w, int64_t group) {
    return ot_kernels_get()->isa >= OT_ISA_AVX2 && w->ndim == 4 && group == 1 && w->dims[2] * w->dims[3] > 1;
}

/* Pack w (and bias b, may be NULL) for the blocked kernels; depthwise when group == M and W[1] == 1. */
static octet_status pack_nchwc(const octet_tensor *w, const octet_tensor *b, int64_t group, ot_nchwc_w *p) {
    const bool dw = group > 1;
    int64_t M = w->dims[0], C = w->dims[1] * group;
    if (!ot_nchwc_pack(p, w->data, b ? b->data : NULL, (int)M, dw ? 1 : (int)C, (int)w->dims[2], (int)w->dims[3], dw))
        return ot_err(OCTET_ERR_NOMEM, "out of memory packing convolution weights");
    return OCTET_OK;
}

/* W shapes the blocked kernels take: 2-D, group 1, or depthwise (one input channel per output). */
static bool nchwc_weights_ok(const octet_tensor *w, const octet_tensor *b, int64_t group) {
    if (!w || w->dtype != OCTET_FLOAT || w->ndim != 4 || w->dims[0] < 1 || w->dims[0] > INT_MAX / 2) return false;
    if (b && (b->dtype != OCTET_FLOAT || b->ndim != 1 || b->dims[0] != w->dims[0])) return false;
    for (int i = 1; i < 4; i++)
        if (w->dims[i] < 1 || w->dims[i] > 4096) return false;
    if ((double)w->dims[1] * w->dims[2] * w->dims[3] > INT_MAX / 16) return false;
    return group == 1 || (w->dims[1] == 1 && group == w->dims[0]);
}

static octet_status conv_prepare_common(ot_kernel *k, const octet_tensor *const *consts, int n_in, bool transpose,
                                        bool blocked_op) {
    conv_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    st->blocked_op = blocked_op;
    octet_status s = parse_attrs(k, transpose, &st->a);
    const octet_tensor *w = n_in > 1 ? consts[1] : NULL, *b = n_in > 2 ? consts[2] : NULL;
    const int64_t group = st->a.g.group;
    /* Pack only what run() will surely accept; anything odd is left for run() to report. (A bias that
     * is not constant is supplied at run time.) */
    if (s == OCTET_OK && !transpose && w && nchwc_weights_ok(w, b, group) &&
        (blocked_op || nchw_takes_direct(w, group))) {
        s = pack_nchwc(w, b, group, &st->nchwc);
        if (s == OCTET_OK) {
            st->has_nchwc = true;
            st->w_data = w->data;
            st->b_data = b ? b->data : NULL;
        }
    } else if (s == OCTET_OK && !transpose && !blocked_op && w && w->dtype == OCTET_FLOAT && w->ndim >= 3 &&
               w->ndim <= 2 + MAX_SP && w->dims[0] > 0 && w->dims[0] % group == 0 && uses_gemm(w) &&
               ot_tensor_numel(w) / w->dims[0] * (w->dims[0] / group) <= INT_MAX && w->dims[0] <= INT_MAX) {
        s = pack_weights(w, group, &st->packs);
        if (s == OCTET_OK) {
            st->n_packs = group;
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
    return conv_prepare_common(k, consts, n_in, false, false);
}

static octet_status convt_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return conv_prepare_common(k, consts, n_in, true, false);
}

static octet_status nchwc_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    return conv_prepare_common(k, consts, n_in, false, true);
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

static octet_status check_bias(const ot_kernel *k, const octet_tensor *b, const conv_shape *s) {
    if (!b) return OCTET_OK;
    OT_TRY(check_f32(k, b, 2));
    if (b->ndim != 1 || b->dims[0] != s->M)
        return ot_node_err(k, OCTET_ERR_SHAPE, "bias B must have shape [%lld], got rank %d with %lld elements",
                           (long long)s->M, b->ndim, (long long)ot_tensor_numel(b));
    return OCTET_OK;
}

/* X, W, B of a Conv against the attributes; the geometry of the run. */
static octet_status conv_shapes(const ot_kernel *k, const conv_attrs *a, const octet_tensor *x, const octet_tensor *w,
                                const octet_tensor *b, conv_shape *s) {
    OT_TRY(check_f32(k, x, 0));
    OT_TRY(check_f32(k, w, 1));
    OT_TRY(ot_conv_shape_resolve(k, &a->g, x->ndim, x->dims, false, w->ndim, w->dims, MAX_SP, s));
    return check_bias(k, b, s);
}

static octet_status convt_shapes(const ot_kernel *k, const conv_attrs *a, const octet_tensor *x,
                                 const octet_tensor *w, const octet_tensor *b, conv_shape *s) {
    OT_TRY(check_f32(k, x, 0));
    OT_TRY(check_f32(k, w, 1));
    OT_TRY(ot_convt_shape_resolve(k, &a->g, x->ndim, x->dims, w->ndim, w->dims, s));
    return check_bias(k, b, s);
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

/* ---- blocked-layout kernels ---- */

/* The run's geometry for the blocked kernels (2-D). */
static void to_nchwc_geom(const conv_shape *s, bool nchw_in, ot_nchwc_geom *g) {
    memset(g, 0, sizeof *g);
    g->C = (int)s->C;
    g->M = (int)s->M;
    g->H = (int)s->in[0];
    g->W = (int)s->in[1];
    g->OH = (int)s->out[0];
    g->OW = (int)s->out[1];
    g->kh = (int)s->k[0];
    g->kw = (int)s->k[1];
    g->sh = (int)s->s[0];
    g->sw = (int)s->s[1];
    g->dh = (int)s->d[0];
    g->dw = (int)s->d[1];
    g->pt = (int)s->pb[0];
    g->pl = (int)s->pb[1];
    g->nchw_in = nchw_in;
}

/* Blocked images stay within int offsets (the kernels' tap offsets are int). */
static bool ohw_fits(const conv_shape *s) {
    double in = (double)ot_nchwc_blocks(s->C) * OT_NCHWC * s->in[0] * s->in[1];
    double out = (double)ot_nchwc_blocks(s->M) * OT_NCHWC * s->out[0] * s->out[1];
    return in < INT_MAX / 2 && out < INT_MAX / 2;
}

/* The packed weights for this run: prepare()'s, with this run's bias when it was not constant.
 * *tmp receives a buffer to free. */
static octet_status nchwc_weights(const conv_state *st, const float *bias, ot_nchwc_w *wv, float **tmp) {
    *wv = st->nchwc;
    *tmp = NULL;
    if ((const void *)bias == st->b_data) return OCTET_OK;
    float *bb = ot_aligned_alloc((size_t)wv->mb * OT_NCHWC * sizeof(float));
    if (!bb) return ot_err(OCTET_ERR_NOMEM, "out of memory in convolution");
    for (int m = 0; m < wv->mb * OT_NCHWC; m++) bb[m] = bias && m < wv->M ? bias[m] : 0.0f;
    wv->bias = *tmp = bb;
    return OCTET_OK;
}

/* Copy channels between layouts, block by block over the threads. */
static void reorder(bool to_blocked, const float *x, int C, size_t hw, float *y, int threads) {
    const int nb = ot_nchwc_blocks(C);
    if ((double)C * hw < 65536.0) threads = 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int b = 0; b < nb; b++) {
        const int nc = C - b * OT_NCHWC < OT_NCHWC ? C - b * OT_NCHWC : OT_NCHWC;
        const size_t off = (size_t)b * OT_NCHWC * hw;
        if (to_blocked)
            ot_nchwc_reorder_in(x + off, nc, hw, y + off);
        else
            ot_nchwc_reorder_out(x + off, nc, hw, y + off);
    }
}

/* A plain NCHW Conv on the blocked direct kernel: input reordered to blocks (read in place when it
 * has only a few channels), output reordered back, then Z and the activations the kernel cannot
 * apply, as the GEMM path does. */
static octet_status conv_nchw_direct(const run_ctx *r, const conv_state *st) {
    const conv_shape *s = r->s;
    const bool nchw_in = s->C <= 4;
    ot_nchwc_geom g;
    to_nchwc_geom(s, nchw_in, &g);
    ot_nchwc_w wv;
    float *tmp_bias;
    OT_TRY(nchwc_weights(st, r->bias, &wv, &tmp_bias));
    float lo, hi;
    const bool clamp_in_kernel = act_clamp(r->a, &lo, &hi) && !r->z;
    if (!clamp_in_kernel) lo = -INFINITY, hi = INFINITY;
    const size_t hw = (size_t)g.H * g.W, ohw = (size_t)g.OH * g.OW;
    float *xb = nchw_in ? NULL : ot_scratch_f32(OT_SCRATCH_PAD, (size_t)ot_nchwc_blocks(g.C) * OT_NCHWC * hw);
    float *yb = ot_scratch_f32(OT_SCRATCH_COL, (size_t)wv.mb * OT_NCHWC * ohw);
    octet_status ret = OCTET_OK;
    if ((!nchw_in && !xb) || !yb) ret = ot_err(OCTET_ERR_NOMEM, "out of memory in convolution");
    for (int64_t n = 0; n < s->N && ret == OCTET_OK; n++) {
        const float *xn = r->x + (size_t)n * g.C * hw;
        float *yn = r->y + (size_t)n * g.M * ohw;
        if (!nchw_in) reorder(true, xn, g.C, hw, xb, r->threads);
        if (!ot_nchwc_conv(&g, &wv, nchw_in ? xn : xb, NULL, yb, lo, hi, NULL, r->threads)) {
            ret = ot_err(OCTET_ERR_NOMEM, "out of memory in convolution");
            break;
        }
        reorder(false, yb, g.M, ohw, yn, r->threads);
        if (!clamp_in_kernel)
            epilogue(r->a, yn, ohw, g.M, (int)ohw, NULL, r->z ? r->z + (size_t)n * g.M * ohw : NULL);
    }
    ot_scratch_f32_done(OT_SCRATCH_PAD, xb);
    ot_scratch_f32_done(OT_SCRATCH_COL, yb);
    ot_aligned_free(tmp_bias);
    return ret;
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

/* The attributes prepare() parsed into the state, or (no state) parsed now into *local. */
static octet_status run_attrs(const ot_kernel *k, bool transposed, conv_attrs *local, const conv_attrs **a) {
    const conv_state *st = k->state;
    if (st) {
        *a = &st->a;
        return OCTET_OK;
    }
    OT_TRY(parse_attrs(k, transposed, local));
    *a = local;
    return OCTET_OK;
}

static octet_status conv_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    bool fused = !ot_domain_is_onnx(k->node->domain);
    OT_TRY(ot_check_inputs(k, in, n_in, 2, fused ? 4 : 3));
    conv_attrs local;
    const conv_state *st = k->state;
    const conv_attrs *a;
    OT_TRY(run_attrs(k, false, &local, &a));
    if (!out[0]) return OCTET_OK;
    const octet_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL, *z = n_in > 3 ? in[3] : NULL;
    conv_shape s;
    OT_TRY(conv_shapes(k, a, x, w, b, &s));
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
    if (st && st->has_nchwc && st->w_data == w->data && s.nsp == 2 && s.G == 1 && ohw_fits(&s))
        return conv_nchw_direct(&r, st);
    /* prepacked weights, if prepare() saw these very weights */
    const ot_gemm_f32_a *packs = st && st->packs && st->w_data == w->data && st->n_packs == s.G ? st->packs : NULL;
    return conv_gemm(&r, packs);
}

/* ---- ai.octet NchwcConv: the blocked layout end to end ----
 * Inputs X, W, B?, Z?: X blocked [N, ceil(C/8), H, W, 8] (or plain [N, C, H, W] with nchw_input=1,
 * group 1 only), W and B as Conv's, Z (optional) blocked like the output; attributes Conv's plus
 * FusedConv's activation / activation_params. Output blocked [N, ceil(M/8), OH, OW, 8]:
 * act(conv(X) + B + Z). Group 1 or depthwise (group = C = M). Made by the NCHWc pass (nchwc.h). */

/* Z of another shape than the output (it broadcasts over N, H or W): the output takes the
 * broadcast shape, out = t + z elementwise, then the activation. */
static octet_status add_broadcast(const ot_kernel *k, const conv_attrs *a, const octet_tensor *t,
                                  const octet_tensor *z, octet_tensor *out) {
    int64_t d[5];
    for (int i = 0; i < 5; i++) {
        if (t->dims[i] != z->dims[i] && t->dims[i] != 1 && z->dims[i] != 1)
            return ot_node_err(k, OCTET_ERR_SHAPE, "input Z does not broadcast against the output");
        d[i] = t->dims[i] == 1 ? z->dims[i] : t->dims[i];
    }
    OT_TRY(ot_tensor_alloc(out, OCTET_FLOAT, 5, d));
    const float *tp = t->data, *zp = z->data;
    float *y = out->data;
    size_t ts[5], zs[5], st = 1, sz = 1;
    for (int i = 4; i >= 0; i--) {
        ts[i] = t->dims[i] == 1 ? 0 : st;
        zs[i] = z->dims[i] == 1 ? 0 : sz;
        st *= (size_t)t->dims[i];
        sz *= (size_t)z->dims[i];
    }
    size_t o = 0;
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++)
                for (int64_t i3 = 0; i3 < d[3]; i3++)
                    for (int64_t i4 = 0; i4 < d[4]; i4++, o++)
                        y[o] = tp[i0 * ts[0] + i1 * ts[1] + i2 * ts[2] + i3 * ts[3] + i4 * ts[4]] +
                               zp[i0 * zs[0] + i1 * zs[1] + i2 * zs[2] + i3 * zs[3] + i4 * zs[4]];
    apply_act(a, y, o);
    return OCTET_OK;
}

static octet_status nchwc_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 4 + OT_EW_MAX_CONST));
    conv_attrs local;
    const conv_state *st = k->state;
    const conv_attrs *a;
    OT_TRY(run_attrs(k, false, &local, &a));
    if (!out[0]) return OCTET_OK;
    const octet_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL, *z = n_in > 3 ? in[3] : NULL;
    OT_TRY(check_f32(k, x, 0));
    OT_TRY(check_f32(k, w, 1));
    ot_ewprog post;
    OT_TRY(ot_ewprog_parse(k, in, n_in, 4, ot_nchwc_blocks(w->dims[0]), 1, &post));
    const bool nchw_in = ot_node_attr_int(k->node, "nchw_input", 0) != 0;
    const int64_t G = a->g.group;
    if (w->ndim != 4) return ot_node_err(k, OCTET_ERR_SHAPE, "weight W must have rank 4, got %d", w->ndim);
    const int64_t C = w->dims[1] * G;
    int64_t xd[4];
    if (nchw_in) {
        if (x->ndim != 4) return ot_node_err(k, OCTET_ERR_SHAPE, "input X must have rank 4, got %d", x->ndim);
        memcpy(xd, x->dims, sizeof xd);
    } else {
        if (x->ndim != 5 || x->dims[4] != OT_NCHWC || x->dims[1] != ot_nchwc_blocks(C))
            return ot_node_err(k, OCTET_ERR_SHAPE, "input X must be blocked [N, %d, H, W, 8] for %lld channels",
                               ot_nchwc_blocks(C), (long long)C);
        int64_t d[4] = {x->dims[0], C, x->dims[2], x->dims[3]};
        memcpy(xd, d, sizeof xd);
    }
    conv_shape s;
    OT_TRY(ot_conv_shape_resolve(k, &a->g, 4, xd, false, w->ndim, w->dims, 2, &s));
    OT_TRY(check_bias(k, b, &s));
    const bool dw = G > 1;
    if (dw && (G != C || w->dims[1] != 1 || s.M != C || nchw_in))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "grouped convolutions other than depthwise are not supported");
    if (!ohw_fits(&s)) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "tensor sizes are too large");
    ot_nchwc_geom g;
    to_nchwc_geom(&s, nchw_in, &g);
    const int mb = ot_nchwc_blocks(s.M);
    int64_t od[5] = {s.N, mb, s.out[0], s.out[1], OT_NCHWC};
    bool z_same = true;
    if (z) {
        OT_TRY(check_f32(k, z, 3));
        if (z->ndim != 5) return ot_node_err(k, OCTET_ERR_SHAPE, "input Z must be blocked like the output");
        for (int i = 0; i < 5; i++) z_same = z_same && z->dims[i] == od[i];
    }
    /* weights: prepare()'s pack when it saw these very weights, else packed for this run */
    ot_nchwc_w own = {0};
    const conv_state *use = st;
    conv_state tmp_st;
    if (!st || !st->has_nchwc || st->w_data != w->data) {
        if (!nchwc_weights_ok(w, NULL, G)) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unsupported weight shape");
        OT_TRY(pack_nchwc(w, b, G, &own));
        memset(&tmp_st, 0, sizeof tmp_st);
        tmp_st.nchwc = own;
        tmp_st.b_data = b ? b->data : NULL;
        use = &tmp_st;
    }
    ot_nchwc_w wv;
    float *tmp_bias;
    octet_status ret = nchwc_weights(use, b ? b->data : NULL, &wv, &tmp_bias);
    octet_tensor t = {0};
    octet_tensor *y = z && !z_same ? &t : out[0];
    if (ret == OCTET_OK) ret = ot_tensor_alloc(y, OCTET_FLOAT, 5, od);
    if (ret == OCTET_OK && ot_tensor_numel(y) > 0) {
        float lo, hi;
        const bool clamp_in_kernel = act_clamp(a, &lo, &hi) && z_same;
        if (!clamp_in_kernel) lo = -INFINITY, hi = INFINITY;
        /* the program runs after the activation: in the kernel only when the kernel applies it */
        const bool post_in_kernel = clamp_in_kernel && post.n > 0;
        const size_t xsz = nchw_in ? (size_t)C * g.H * g.W : (size_t)ot_nchwc_blocks(C) * OT_NCHWC * g.H * g.W;
        const size_t ysz = (size_t)mb * OT_NCHWC * g.OH * g.OW;
        for (int64_t n = 0; n < s.N && ret == OCTET_OK; n++) {
            const float *zn = z && z_same ? (const float *)z->data + (size_t)n * ysz : NULL;
            if (!ot_nchwc_conv(&g, &wv, (const float *)x->data + (size_t)n * xsz, zn, (float *)y->data + (size_t)n * ysz,
                               lo, hi, post_in_kernel ? &post : NULL, k->threads))
                ret = ot_err(OCTET_ERR_NOMEM, "out of memory in convolution");
        }
        if (ret == OCTET_OK && z && !z_same)
            ret = add_broadcast(k, a, y, z, out[0]);
        else if (ret == OCTET_OK && !clamp_in_kernel)
            apply_act(a, y->data, (size_t)ot_tensor_numel(y));
        if (ret == OCTET_OK && post.n > 0 && !post_in_kernel) {
            octet_tensor *o = out[0];
            const size_t planes = (size_t)o->dims[0] * o->dims[1], pv = (size_t)o->dims[2] * o->dims[3];
            for (size_t p = 0; p < planes; p++)
                ot_ewprog_run(&post, (float *)o->data + p * pv * OT_NCHWC, (int)pv, OT_NCHWC, 1, 0, (int)(p % (size_t)mb));
        }
    }
    ot_tensor_reset(&t);
    ot_aligned_free(tmp_bias);
    if (use != st) ot_nchwc_free(&own);
    return ret;
}

/* ---- ConvTranspose ---- */

static octet_status convt_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    OT_TRY(ot_check_inputs(k, in, n_in, 2, 3));
    conv_attrs local;
    const conv_attrs *a;
    OT_TRY(run_attrs(k, true, &local, &a));
    if (!out[0]) return OCTET_OK;
    const octet_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_shape s;
    OT_TRY(convt_shapes(k, a, x, w, b, &s));
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
    /* stride = kernel (2x upsampling): every output gets one product sum, written once with the bias */
    const bool tiling = ot_col2im_is_tiling(&g);
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            float *yg = Y + ((size_t)n * s.M + (size_t)gi * Mg) * S_out;
            for (int64_t m = 0; m < Mg && !tiling; m++) {
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
                    if (tiling) ot_col2im_set_f32(&g, col, r0, r1, c0, c1, B ? B + gi * Mg : NULL, yg);
                    else ot_col2im_add_f32(&g, col, r0, r1, c0, c1, yg);
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
    {"ai.octet", "NchwcConv", nchwc_prepare, nchwc_run, conv_release},
    {NULL, NULL, NULL, NULL, NULL},
};
