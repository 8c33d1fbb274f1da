/* ai.octet QLinearConvTranspose: the transposed convolution on 8-bit values, as QLinearConv is for Conv.
 * Session only: ir/passes/qdq_fuse.c makes it from
 *     DequantizeLinear(x), DequantizeLinear(w) [, bias] -> ConvTranspose -> [Relu | Clip] -> QuantizeLinear
 * so a QDQ ConvTranspose runs on the int8 GEMM with no float round trip (files octet writes keep the QDQ
 * form, which every runtime reads).
 *
 * Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (optional int32 with
 * scale x_scale * w_scale[m]). w is ConvTranspose's [C, M, kh, kw] (2-D, group 1); w_scale and
 * w_zero_point hold one value or M (per output channel: ONNX's axis 1). Everything but x must be constant.
 * Attributes: ConvTranspose's; octet_act_lo / octet_act_hi (a fused activation's bounds in the output's
 * quantized domain, as for QLinearConv); channels_last (x and y NHWC, set by the int8 layout pass).
 *
 *   acc[n, oh, ow, m] = B[m] + sum over c and taps (i, j) with oh = ih*sh - ph + i*dh, ow = iw*sw - pw + j*dw
 *                       of (x[n, ih, iw, c] - zx) * (w[c, m, i, j] - zw[m])                   (exact int32)
 *   y = clamp(round_half_even((float)acc * (x_scale * w_scale[m] / y_scale)) + zy, lo, hi)
 *
 * The product is the GEMM X[pixels, C] x W[C, taps * M] on ot_qgemm (weights packed once):
 *   - stride = kernel, no padding, dilation 1 (the 2x upsampling of FPN-style heads): every output gets
 *     exactly one tap, so the GEMM's requantizing epilogue makes y's bytes directly, one GEMM per kernel
 *     row (the kw taps of a kernel row land side by side in NHWC);
 *   - otherwise: int32 columns per input row, added into an int32 image (col2im), requantized once.
 * Both give the same bytes (the same acc and the same requantization). */
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qconv.h"
#include "kernels/qgemm.h"
#include "kernels/quant_vec.h"
#include "kernels/requant.h"
#include "ops/conv_geom.h"
#include "ops/op.h"
#include "ops/qcontrib_internal.h"
#include "util/mem.h"

typedef struct qct_state {
    ot_conv_attrs a;
    int C, M, kh, kw;
    bool tiling;                /* stride = kernel, no padding / dilation / output padding */
    ot_qgemm_packed **pb;       /* tiling: [kh] packs of kw*M columns (j*M + m); else [1] of kh*kw*M (t*M + m) */
    int npb;
    float *scale;               /* per GEMM column (tiling: kw*M) or per output channel (M) */
    int32_t *bias;              /* [M] (the general path's requantization), NULL when none */
    bool x_signed, y_signed;
    int32_t zx, zy, lo, hi;
} qct_state;

static void qct_release(void *p) {
    qct_state *st = p;
    if (!st) return;
    for (int i = 0; i < st->npb; i++) ot_qgemm_packed_free(st->pb[i]);
    free(st->pb);
    free(st->scale);
    free(st->bias);
    free(st);
}

static int32_t q8_at(const octet_tensor *t, int64_t i) {
    return t->dtype == OCTET_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static bool one_or(const octet_tensor *t, int64_t n) {
    int64_t c = ot_tensor_numel(t);
    return (c == 1 && t->ndim <= 1) || (t->ndim == 1 && c == n);
}

static bool attrs_tiling(const ot_conv_attrs *a, const int64_t *k) {
    if (a->auto_pad != OT_AUTO_PAD_NOTSET && a->auto_pad != OT_AUTO_PAD_VALID) return false;
    if (a->n_outshape) return false;
    for (int i = 0; i < 2; i++) {
        int64_t s = a->n_strides ? a->strides[i] : 1, d = a->n_dil ? a->dil[i] : 1;
        if (s != k[i] || d != 1 || (a->n_outpad && a->out_pad[i] != 0)) return false;
    }
    for (int i = 0; i < a->n_pads; i++)
        if (a->auto_pad == OT_AUTO_PAD_NOTSET && a->pads[i] != 0) return false;
    return true;
}

/* Pack columns [t0, t1) of taps (t = i*kw + j) as one GEMM B [C][(t1 - t0) * M], column (t - t0)*M + m. */
static octet_status pack_taps(qct_state *st, const octet_tensor *w, const int32_t *zw, bool zw_per_m,
                              const int32_t *bias, int t0, int t1, ot_qgemm_packed **out) {
    const int C = st->C, M = st->M, T = st->kh * st->kw, N = (t1 - t0) * M;
    uint8_t *b = ot_malloc((size_t)C * (size_t)N + 1);
    int32_t *zb = ot_malloc((size_t)N * sizeof *zb + 1), *bb = bias ? ot_malloc((size_t)N * sizeof *bb) : NULL;
    octet_status s = OCTET_OK;
    if (!b || !zb || (bias && !bb)) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    } else {
        const uint8_t *wd = w->data;
        for (int c = 0; c < C; c++)
            for (int t = t0; t < t1; t++)
                for (int m = 0; m < M; m++)
                    b[(size_t)c * N + (size_t)(t - t0) * M + m] = wd[((size_t)c * M + m) * T + t];
        for (int j = 0; j < N; j++) {
            zb[j] = zw[zw_per_m ? j % M : 0];
            if (bb) bb[j] = bias[j % M];
        }
        ot_qgemm_b d = {.K = C, .N = N, .b = b, .ldb = N, .b_signed = w->dtype == OCTET_INT8, .zb = zb,
                        .zb_count = N, .bias = bb, .za_hint = st->zx, .a_signed_hint = st->x_signed};
        s = ot_qgemm_pack_b(out, &d);
    }
    free(b);
    free(zb);
    free(bb);
    return s;
}

static octet_status qct_prepare_impl(ot_kernel *k, const octet_tensor *const *c, int n_in, qct_state *st) {
    OT_TRY(ot_conv_attrs_parse_transpose(k, &st->a));
    for (int i = 1; i < 8; i++)
        if (i >= n_in || !c[i])
            return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input %d must be a constant (weights, scales, zero points)", i);
    if (n_in > 8 && ot_node_input(k->node, 8) && !c[8])
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input 8 (B) must be a constant");
    const octet_tensor *xs = c[1], *xz = c[2], *w = c[3], *ws = c[4], *wz = c[5], *ys = c[6], *yz = c[7];
    const octet_tensor *b = n_in > 8 ? c[8] : NULL;
    if (st->a.group != 1) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "only group 1 is supported");
    if (!qc_is_q8(w->dtype) || w->ndim != 4)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "w must be a 4-D uint8 or int8 tensor [C, M, kh, kw]");
    if (!qc_is_q8(xz->dtype) || !qc_is_q8(yz->dtype) || !one_or(xz, 1) || !one_or(yz, 1) || wz->dtype != w->dtype)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "zero points must be 8-bit scalars (w's per channel allowed)");
    if (xs->dtype != OCTET_FLOAT || ys->dtype != OCTET_FLOAT || ws->dtype != OCTET_FLOAT || !one_or(xs, 1) ||
        !one_or(ys, 1))
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scales must be float32 scalars (w's per channel allowed)");
    if (w->dims[0] > INT_MAX / 2 || w->dims[1] > INT_MAX / 2 || w->dims[2] > 64 || w->dims[3] > 64 ||
        w->dims[0] < 1 || w->dims[1] < 1 || w->dims[2] < 1 || w->dims[3] < 1)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "weight shape out of range");
    st->C = (int)w->dims[0];
    st->M = (int)w->dims[1];
    st->kh = (int)w->dims[2];
    st->kw = (int)w->dims[3];
    const int M = st->M;
    if (!one_or(ws, M) || !one_or(wz, M))
        return ot_node_err(k, OCTET_ERR_SHAPE, "w_scale and w_zero_point must hold 1 or %d values", M);
    if (b && (b->dtype != OCTET_INT32 || b->ndim != 1 || b->dims[0] != M))
        return ot_node_err(k, OCTET_ERR_SHAPE, "B must be int32 [%d]", M);
    if (st->a.n_kernel && (st->a.kernel[0] != st->kh || st->a.kernel[1] != st->kw))
        return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape does not match w");
    st->x_signed = xz->dtype == OCTET_INT8;
    st->y_signed = yz->dtype == OCTET_INT8;
    st->zx = q8_at(xz, 0);
    st->zy = q8_at(yz, 0);
    OT_TRY(qc_act_bounds(k, yz->dtype, &st->lo, &st->hi));
    int32_t zw[1024], *zwp = M <= 1024 ? zw : ot_malloc((size_t)M * sizeof *zwp);
    if (!zwp) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool zw_per_m = ot_tensor_numel(wz) > 1;
    for (int m = 0; m < (zw_per_m ? M : 1); m++) zwp[m] = q8_at(wz, m);
    const int64_t kdims[2] = {st->kh, st->kw};
    st->tiling = attrs_tiling(&st->a, kdims);
    const int ncol = st->tiling ? st->kw * M : M;
    st->scale = ot_malloc((size_t)ncol * sizeof *st->scale);
    st->npb = st->tiling ? st->kh : 1;
    st->pb = ot_calloc((size_t)st->npb, sizeof *st->pb);
    if (b) st->bias = ot_malloc((size_t)M * sizeof *st->bias);
    octet_status s = OCTET_OK;
    if (!st->scale || !st->pb || (b && !st->bias)) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    const float sx = ((const float *)xs->data)[0], sy = ((const float *)ys->data)[0];
    for (int j = 0; s == OCTET_OK && j < ncol; j++)
        st->scale[j] = ot_requant_scale(sx, ((const float *)ws->data)[ot_tensor_numel(ws) > 1 ? j % M : 0], sy);
    if (s == OCTET_OK && b) memcpy(st->bias, b->data, (size_t)M * sizeof *st->bias);
    for (int i = 0; s == OCTET_OK && i < st->npb; i++)
        s = st->tiling ? pack_taps(st, w, zwp, zw_per_m, st->bias, i * st->kw, (i + 1) * st->kw, &st->pb[i])
                       : pack_taps(st, w, zwp, zw_per_m, NULL, 0, st->kh * st->kw, &st->pb[i]);
    if (zwp != zw) free(zwp);
    return s;
}

static octet_status qct_prepare(ot_kernel *k, const octet_tensor *const *consts, int n_in) {
    qct_state *st = ot_calloc(1, sizeof *st);
    if (!st) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status s = qct_prepare_impl(k, consts, n_in, st);
    if (s != OCTET_OK) {
        qct_release(st);
        return s;
    }
    k->state = st;
    return OCTET_OK;
}

/* N images [C][P] -> [P][C] (to_nhwc) or [P][C] -> [C][P], with the int8 ops' tiled transpose. */
static void permute8(uint8_t *dst, const uint8_t *src, int64_t N, int64_t C, int64_t P, bool to_nhwc, int threads) {
    const size_t img = (size_t)C * (size_t)P;
    for (int64_t n = 0; n < N; n++)
        ot_qconv_transpose(dst + (size_t)n * img, src + (size_t)n * img, to_nhwc ? (size_t)C : (size_t)P,
                           to_nhwc ? (size_t)P : (size_t)C, 1, threads);
}

typedef struct qct_job {
    const qct_state *st;
    const uint8_t *x;     /* NHWC */
    uint8_t *y;           /* NHWC */
    int N, H, W, OH, OW;
    int sh, sw, dh, dw, ph, pw;
} qct_job;

static octet_status run_tiling(const qct_job *r, int threads) {
    const qct_state *st = r->st;
    const int C = st->C, M = st->M, kh = st->kh, kw = st->kw;
    /* Per kernel row i, one GEMM over all input pixels: row (n, ih, iw) holds output pixels
     * (n, ih*kh + i, iw*kw + j) for j < kw, so the W rows of an input row are one contiguous run of the
     * output row ih*kh + i; a copy puts each run in place (one call per kernel row, not per image row). */
    const size_t rows = (size_t)r->N * r->H, run = (size_t)r->W * kw * M;
    uint8_t *tmp = ot_malloc(rows * run + 1);
    if (!tmp) return ot_err(OCTET_ERR_NOMEM, "QLinearConvTranspose: out of memory");
    octet_status s = OCTET_OK;
    for (int i = 0; s == OCTET_OK && i < kh; i++) {
        ot_qgemm_out o = {.type = st->y_signed ? OT_QGEMM_OUT_S8 : OT_QGEMM_OUT_U8, .c = tmp, .ldc = kw * M,
                          .scale = st->scale, .scale_per_col = true, .zp = st->zy, .lo = st->lo, .hi = st->hi};
        s = ot_qgemm(st->pb[i], (int)(rows * (size_t)r->W), r->x, C, st->zx, st->x_signed, &o, threads);
        int t = (double)rows * run < 262144.0 ? 1 : threads;
#pragma omp parallel for num_threads(t) if (t > 1) schedule(static)
        for (size_t row = 0; row < rows; row++) {
            size_t n = row / (size_t)r->H, ih = row % (size_t)r->H;
            memcpy(r->y + ((n * (size_t)r->OH + ih * (size_t)kh + (size_t)i) * (size_t)r->OW) * (size_t)M,
                   tmp + row * run, run);
        }
    }
    free(tmp);
    return s;
}

static octet_status run_general(const qct_job *r, int threads) {
    const qct_state *st = r->st;
    const int M = st->M, kh = st->kh, kw = st->kw, T = kh * kw, C = st->C;
    const size_t npix = (size_t)r->N * r->OH * r->OW;
    int32_t *acc = ot_calloc(npix * (size_t)M + 1, sizeof *acc);
    int32_t *cols = ot_malloc((size_t)r->W * T * M * sizeof *cols + 1);
    octet_status s = acc && cols ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "QLinearConvTranspose: out of memory");
    for (int n = 0; s == OCTET_OK && n < r->N; n++)
        for (int ih = 0; s == OCTET_OK && ih < r->H; ih++) {
            ot_qgemm_out o = {.type = OT_QGEMM_OUT_S32, .c = cols, .ldc = T * M};
            s = ot_qgemm(st->pb[0], r->W, r->x + ((size_t)n * r->H + ih) * r->W * C, C, st->zx, st->x_signed, &o,
                         threads);
            for (int i = 0; s == OCTET_OK && i < kh; i++) {
                int oh = ih * r->sh - r->ph + i * r->dh;
                if (oh < 0 || oh >= r->OH) continue;
                for (int iw = 0; iw < r->W; iw++)
                    for (int j = 0; j < kw; j++) {
                        int ow = iw * r->sw - r->pw + j * r->dw;
                        if (ow < 0 || ow >= r->OW) continue;
                        int32_t *a = acc + (((size_t)n * r->OH + oh) * r->OW + ow) * M;
                        const int32_t *cc = cols + ((size_t)iw * T + (size_t)(i * kw + j)) * M;
                        for (int m = 0; m < M; m++) a[m] = (int32_t)((uint32_t)a[m] + (uint32_t)cc[m]);
                    }
            }
        }
    if (s == OCTET_OK)
        ot_qvec_requantize_s32(acc, (int)npix, M, M, st->bias, st->scale, true, st->zy, st->lo, st->hi, st->y_signed,
                               r->y, M);
    free(acc);
    free(cols);
    return s;
}

static octet_status qct_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 8, 9));
    const qct_state *st = k->state;
    if (!st) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "needs constant weights, scales and zero points");
    const octet_tensor *x = in[0];
    if (x->dtype != (st->x_signed ? OCTET_INT8 : OCTET_UINT8) || x->ndim != 4)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input 0 (x) must be a 4-D %s tensor",
                           st->x_signed ? "int8" : "uint8");
    const bool cl = ot_node_attr_int(k->node, "channels_last", 0) != 0;
    const int64_t xd[4] = {x->dims[0], cl ? x->dims[3] : x->dims[1], cl ? x->dims[1] : x->dims[2],
                           cl ? x->dims[2] : x->dims[3]};
    const int64_t wd[4] = {st->C, st->M, st->kh, st->kw};
    ot_conv_shape s;
    OT_TRY(ot_convt_shape_resolve(k, &st->a, 4, xd, 4, wd, &s));
    if (!out[0]) return OCTET_OK;
    const int64_t M = st->M;
    int64_t od[4] = {s.N, cl ? s.out[0] : M, cl ? s.out[1] : s.out[0], cl ? M : s.out[1]};
    OT_TRY(ot_tensor_alloc(out[0], st->y_signed ? OCTET_INT8 : OCTET_UINT8, 4, od));
    if (ot_tensor_numel(out[0]) == 0) return OCTET_OK;
    if (s.N > INT_MAX || (double)s.N * s.in[0] * s.in[1] > INT_MAX || (double)s.N * s.out[0] * s.out[1] > INT_MAX)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "tensor sizes are too large");
    const size_t xn = (size_t)ot_tensor_numel(x), yn = (size_t)ot_tensor_numel(out[0]);
    if (xn == 0) return ot_node_err(k, OCTET_ERR_SHAPE, "input 0 (x) is empty");
    uint8_t *xt = cl ? NULL : ot_malloc(xn), *yt = cl ? NULL : ot_malloc(yn);
    if (!cl && (!xt || !yt)) {
        free(xt);
        free(yt);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    if (xt) permute8(xt, x->data, s.N, st->C, s.in[0] * s.in[1], true, k->threads);
    qct_job r = {st, cl ? x->data : xt, cl ? out[0]->data : yt, (int)s.N, (int)s.in[0], (int)s.in[1],
                 (int)s.out[0], (int)s.out[1], (int)s.s[0], (int)s.s[1], (int)s.d[0], (int)s.d[1], (int)s.pb[0],
                 (int)s.pb[1]};
    octet_status rs = st->tiling ? run_tiling(&r, k->threads) : run_general(&r, k->threads);
    if (rs == OCTET_OK && !cl) permute8(out[0]->data, yt, s.N, M, s.out[0] * s.out[1], false, k->threads);
    free(xt);
    free(yt);
    return rs;
}

const ot_op_def ot_ops_octet_qconvt[] = {
    {"ai.octet", "QLinearConvTranspose", qct_prepare, qct_run, qct_release},
    {NULL, NULL, NULL, NULL, NULL},
};
