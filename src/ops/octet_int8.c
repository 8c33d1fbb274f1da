/* Op family 'octet_int8': channels-last forms of int8 image ops that the int8 layout pass
 * (ir/passes/int8_layout.c) switches to, where no other family has them.
 *
 *   com.microsoft NhwcMaxPool   X [N, spatial..., C] uint8 or int8 (1-D or 2-D), attributes of ONNX
 *                               MaxPool without storage_order and Indices: kernel_shape, strides,
 *                               dilations, pads, auto_pad, ceil_mode. ONNX Runtime's op of that name.
 *   ai.octet NchwToNhwc         X [N, C, spatial...] -> [N, spatial..., C], and NhwcToNchw back: the
 *   ai.octet NhwcToNchw         layout changes at the edges of an NHWC chain (Transpose with a fixed
 *                               perm, for 1- and 4-byte elements, on the int8 kernels' tiled transpose).
 *   ai.octet QuantizeLinearToNhwc
 *                               x float [N, C, spatial...], scale, zero_point (scalars, uint8/int8) ->
 *                               QuantizeLinear(x) laid out [N, spatial..., C]: a network's quantized input
 *                               going straight into an NHWC chain.
 *   ai.octet QLinearLookup      an 8-bit tensor through a 256-entry table (ops/octet_lookup.c: the
 *                               session's form of DequantizeLinear -> HardSwish, Tanh, ... -> QuantizeLinear)
 * Output sizes follow ONNX Runtime's pool attributes (the same rules as octet's MaxPool in pool.c). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/qconv.h"
#include "kernels/quant_vec.h"
#include "ops/octet_lookup.h"
#include "ops/op.h"
#include "util/mem.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct nmp_geom {
    int64_t N, C, H, W, OH, OW;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
} nmp_geom;

/* One spatial axis: kernel k, stride s, dilation d, pads, input n -> output size (pool.c's rules). */
static octet_status axis_out(const ot_kernel *k, int64_t n, int64_t kk, int64_t ss, int64_t dd, int64_t pb, int64_t pe,
                             int mode, bool ceil_mode, int64_t *pb_out, int64_t *o_out) {
    if (kk < 1 || ss < 1 || dd < 1) return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape, strides and dilations must be >= 1");
    if (pb < 0 || pe < 0) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "negative pads are not supported");
    if (kk > INT_MAX / 4 || ss > INT_MAX / 4 || dd > INT_MAX / 4 || pb > INT_MAX / 4 || pe > INT_MAX / 4)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "pooling attributes are too large");
    int64_t need = 0;
    if (mode == 1 || mode == 2) {   /* SAME_UPPER, SAME_LOWER: the padding ignores the dilation, as ORT */
        int64_t target = (n + ss - 1) / ss;
        need = (target - 1) * ss + kk - n;
        pb = mode == 2 ? (need + 1) / 2 : need / 2;
    } else if (mode == 3) {
        pb = 0;
    } else if (pb >= kk || pe >= kk) {
        return ot_node_err(k, OCTET_ERR_SHAPE, "pads must be smaller than the kernel");
    } else {
        need = pb + pe;
    }
    int64_t span = n + need - dd * (kk - 1) - 1, o;
    if (span < 0) {
        o = 0;
    } else {
        o = ceil_mode ? (span + ss - 1) / ss + 1 : span / ss + 1;
        if (ceil_mode && o > 0 && (o - 1) * ss >= n + pb) o--;
    }
    *pb_out = pb;
    *o_out = o;
    return OCTET_OK;
}

static octet_status nmp_geometry(const ot_kernel *k, const octet_tensor *x, nmp_geom *g) {
    memset(g, 0, sizeof *g);
    if (x->ndim != 3 && x->ndim != 4)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input must have rank 3 or 4 (N, spatial..., C), got rank %d",
                           x->ndim);
    int nsp = x->ndim - 2;
    const ot_node *n = k->node;
    const int64_t *ks, *st, *dl, *pd;
    size_t nk = ot_node_attr_ints(n, "kernel_shape", &ks);
    size_t ns = ot_node_attr_ints(n, "strides", &st);
    size_t nd = ot_node_attr_ints(n, "dilations", &dl);
    size_t np = ot_node_attr_ints(n, "pads", &pd);
    if (nk != (size_t)nsp)
        return ot_node_err(k, OCTET_ERR_SHAPE, "kernel_shape has %zu values for %d spatial dimensions", nk, nsp);
    if ((ns && ns != (size_t)nsp) || (nd && nd != (size_t)nsp) || (np && np != 2 * (size_t)nsp))
        return ot_node_err(k, OCTET_ERR_SHAPE, "strides/dilations/pads do not match %d spatial dimensions", nsp);
    const char *ap = ot_node_attr_string(n, "auto_pad", "NOTSET");
    int mode = strcmp(ap, "SAME_UPPER") == 0 ? 1 : strcmp(ap, "SAME_LOWER") == 0 ? 2 : strcmp(ap, "VALID") == 0 ? 3 : 0;
    if (mode == 0 && ap[0] && strcmp(ap, "NOTSET") != 0)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "unknown auto_pad '%s'", ap);
    bool ceil_mode = ot_node_attr_int(n, "ceil_mode", 0) != 0;
    int64_t in[2] = {1, x->dims[1]}, kk[2] = {1, 1}, ss[2] = {1, 1}, dd[2] = {1, 1}, pb[2] = {0, 0}, o[2] = {1, 1};
    if (nsp == 2) in[0] = x->dims[1], in[1] = x->dims[2];
    for (int i = 0; i < nsp; i++) {
        int a = 2 - nsp + i;
        kk[a] = ks[i];
        ss[a] = ns ? st[i] : 1;
        dd[a] = nd ? dl[i] : 1;
        OT_TRY(axis_out(k, in[a], kk[a], ss[a], dd[a], np ? pd[i] : 0, np ? pd[nsp + i] : 0, mode, ceil_mode, &pb[a],
                        &o[a]));
    }
    g->N = x->dims[0];
    g->C = x->dims[x->ndim - 1];
    g->H = in[0], g->W = in[1], g->OH = o[0], g->OW = o[1];
    g->kh = kk[0], g->kw = kk[1], g->sh = ss[0], g->sw = ss[1], g->dh = dd[0], g->dw = dd[1];
    g->pt = pb[0], g->pl = pb[1];
    return OCTET_OK;
}

/* Taps a of one window axis that land inside [0, n): a in [*lo, *hi) with o*s - p + a*d in range. */
static void taps_inside(int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t n, int64_t *lo, int64_t *hi) {
    int64_t base = o * s - p;   /* input index of tap 0 */
    int64_t l = base >= 0 ? 0 : (-base + d - 1) / d;
    int64_t h = base > n - 1 ? 0 : (n - 1 - base) / d + 1;
    if (h > k) h = k;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* One output pixel: y[c] = the maximum of x[tap][c] over na x nb taps inside the image, x0 the first.
 * Maxima in the unsigned order after XOR with flip (0x80 for int8). Each 16-channel block is reduced in
 * a register over all taps (no read-modify-write of y per tap); a last partial block overlaps the one
 * before it (maxima of x, so recomputing channels is exact). */
static inline __attribute__((always_inline)) void max_pixel(uint8_t *y, const uint8_t *x0, int64_t na, int64_t nb,
                                                            int64_t row_step, int64_t col_step, int64_t C,
                                                            uint8_t flip) {
    int64_t c = 0;
#if defined(__SSE2__)
    if (C >= 16) {
        const __m128i f = _mm_set1_epi8((char)flip);
        for (;;) {
            __m128i acc = _mm_setzero_si128();
            for (int64_t a = 0; a < na; a++) {
                const uint8_t *xr = x0 + a * row_step + c;
                for (int64_t b = 0; b < nb; b++)
                    acc = _mm_max_epu8(acc, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(xr + b * col_step)), f));
            }
            _mm_storeu_si128((__m128i *)(y + c), _mm_xor_si128(acc, f));
            if (c + 16 == C) return;
            c = c + 32 <= C ? c + 16 : C - 16;
        }
    }
#endif
    for (; c < C; c++) {
        uint8_t m = 0;
        for (int64_t a = 0; a < na; a++)
            for (int64_t b = 0; b < nb; b++) {
                uint8_t v = (uint8_t)(x0[a * row_step + b * col_step + c] ^ flip);
                m = v > m ? v : m;
            }
        y[c] = (uint8_t)(m ^ flip);
    }
}

static octet_status nhwc_maxpool_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                     int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    if (x->dtype != OCTET_UINT8 && x->dtype != OCTET_INT8)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "input is %s; uint8 and int8 are supported",
                           octet_dtype_name(x->dtype));
    nmp_geom g;
    OT_TRY(nmp_geometry(k, x, &g));
    if (!out[0]) return OCTET_OK;
    int64_t dims[4] = {g.N, g.OH, g.OW, g.C};
    if (x->ndim == 3) dims[1] = g.OW, dims[2] = g.C;
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, dims));
    const uint8_t flip = x->dtype == OCTET_INT8 ? 0x80 : 0;
    const int64_t rows = g.N * g.OH, C = g.C;
    if (rows == 0 || g.OW == 0 || C == 0) return OCTET_OK;
    const uint8_t *xd = x->data;
    uint8_t *yd = out[0]->data;
    const int64_t row_step = g.dh * g.W * C, col_step = g.dw * C;
    int threads = (double)rows * g.OW * C * g.kh * g.kw < 65536.0 ? 1 : k->threads;
    /* columns [owa, owb) have their whole window row inside the image */
    int64_t owa = (g.pl + g.sw - 1) / g.sw, span = g.W - 1 - (g.kw - 1) * g.dw + g.pl;
    int64_t owb = span < 0 ? 0 : span / g.sw + 1;
    if (owb > g.OW) owb = g.OW;
    if (owa > owb) owa = owb;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = r / g.OH, oh = r % g.OH, a0, a1;
        taps_inside(oh, g.sh, g.pt, g.dh, g.kh, g.H, &a0, &a1);
        const int64_t ih = oh * g.sh - g.pt + a0 * g.dh;   /* the first row inside (when a0 < a1) */
        uint8_t *yr = yd + r * g.OW * C;
        const bool full = a1 - a0 == g.kh;
        const int64_t mid0 = full ? owa : g.OW, mid1 = full ? owb : g.OW;
        if (full) {   /* whole windows in the middle of the row (2x2 and 3x3: unrolled copies) */
            const uint8_t *xr = xd + (n * g.H + ih) * g.W * C;
            for (int64_t ow = mid0; ow < mid1; ow++) {
                const uint8_t *x0 = xr + (ow * g.sw - g.pl) * C;
                if (g.kh == 2 && g.kw == 2)
                    max_pixel(yr + ow * C, x0, 2, 2, row_step, col_step, C, flip);
                else if (g.kh == 3 && g.kw == 3)
                    max_pixel(yr + ow * C, x0, 3, 3, row_step, col_step, C, flip);
                else
                    max_pixel(yr + ow * C, x0, g.kh, g.kw, row_step, col_step, C, flip);
            }
        }
        for (int part = 0; part < 2; part++) {   /* the edges: [0, mid0) and [mid1, OW) */
            for (int64_t ow = part ? mid1 : 0, end = part ? g.OW : mid0; ow < end; ow++) {
                int64_t b0, b1;
                taps_inside(ow, g.sw, g.pl, g.dw, g.kw, g.W, &b0, &b1);
                uint8_t *y = yr + ow * C;
                if (a0 == a1 || b0 == b1) {   /* a window entirely in the padding: the lowest value, */
                    memset(y, flip, (size_t)C);  /* which is flip (0, or 0x80 = -128) */
                    continue;
                }
                const int64_t iw = ow * g.sw - g.pl + b0 * g.dw;
                max_pixel(y, xd + ((n * g.H + ih) * g.W + iw) * C, a1 - a0, b1 - b0, row_step, col_step, C, flip);
            }
        }
    }
    return OCTET_OK;
}

/* ---- layout changes ---- */

static octet_status layout_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                               bool to_nhwc) {
    OT_TRY(ot_check_inputs(k, in, n_in, 1, 1));
    const octet_tensor *x = in[0];
    size_t esz = octet_dtype_size(x->dtype);
    if (esz != 1 && esz != 4)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "%s tensors are not supported (1- or 4-byte elements only)",
                           octet_dtype_name(x->dtype));
    if (x->ndim < 3) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 3, got %d", x->ndim);
    int64_t dims[OCTET_MAX_DIMS], N = x->dims[0], C = to_nhwc ? x->dims[1] : x->dims[x->ndim - 1], S = 1;
    dims[0] = N;
    for (int i = 0; i < x->ndim - 2; i++) {
        int64_t d = x->dims[to_nhwc ? 2 + i : 1 + i];
        dims[(to_nhwc ? 1 : 2) + i] = d;
        S *= d;
    }
    dims[to_nhwc ? x->ndim - 1 : 1] = C;
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], x->dtype, x->ndim, dims));
    size_t img = (size_t)C * (size_t)S * esz;
    for (int64_t n = 0; n < N && img; n++)
        ot_qconv_transpose((char *)out[0]->data + (size_t)n * img, (const char *)x->data + (size_t)n * img,
                           (size_t)(to_nhwc ? C : S), (size_t)(to_nhwc ? S : C), esz, k->threads);
    return OCTET_OK;
}

static octet_status to_nhwc_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    return layout_run(k, in, n_in, out, true);
}

static octet_status to_nchw_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out) {
    (void)n_out;
    return layout_run(k, in, n_in, out, false);
}

/* ---- QuantizeLinear straight into NHWC ---- */

/* Pixels per block: C rows of this many quantized bytes are transposed while in L1. */
#define QNHWC_BLOCK 512

static octet_status quantize_nhwc_run(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out,
                                      int n_out) {
    (void)n_out;
    OT_TRY(ot_check_inputs(k, in, n_in, 3, 3));
    const octet_tensor *x = in[0], *sc = in[1], *zpt = in[2];
    OT_TRY(ot_check_dtype(k, x, 0, OCTET_FLOAT));
    OT_TRY(ot_check_dtype(k, sc, 1, OCTET_FLOAT));
    if (ot_tensor_numel(sc) != 1 || ot_tensor_numel(zpt) != 1 || sc->ndim > 1 || zpt->ndim > 1)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "scale and zero point must be scalars");
    if (zpt->dtype != OCTET_UINT8 && zpt->dtype != OCTET_INT8)
        return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "the zero point must be uint8 or int8, got %s",
                           octet_dtype_name(zpt->dtype));
    if (x->ndim < 3) return ot_node_err(k, OCTET_ERR_SHAPE, "input must have rank >= 3, got %d", x->ndim);
    const float scale = *(const float *)sc->data;
    const bool sgn = zpt->dtype == OCTET_INT8;
    const int32_t zp = (int32_t)ot_tensor_get_i64(zpt, 0);
    int64_t dims[OCTET_MAX_DIMS], N = x->dims[0], C = x->dims[1], S = 1;
    dims[0] = N;
    for (int i = 2; i < x->ndim; i++) dims[i - 1] = x->dims[i], S *= x->dims[i];
    dims[x->ndim - 1] = C;
    if (!out[0]) return OCTET_OK;
    OT_TRY(ot_tensor_alloc(out[0], zpt->dtype, x->ndim, dims));
    if (N * C * S == 0) return OCTET_OK;
    if (C > INT_MAX / QNHWC_BLOCK) return ot_node_err(k, OCTET_ERR_UNSUPPORTED, "too many channels");
    const int64_t nb = (S + QNHWC_BLOCK - 1) / QNHWC_BLOCK, items = N * nb;
    int threads = (double)N * C * S < 65536.0 || items < 2 ? 1 : k->threads;
    const float *xd = x->data;
    uint8_t *yd = out[0]->data;
    int failed = 0;
#pragma omp parallel num_threads(threads) if (threads > 1) reduction(| : failed)
    {
        uint8_t *tmp = ot_malloc((size_t)C * QNHWC_BLOCK);
        if (!tmp) failed = 1;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            if (!tmp) continue;
            int64_t n = it / nb, s0 = (it % nb) * QNHWC_BLOCK, len = S - s0 < QNHWC_BLOCK ? S - s0 : QNHWC_BLOCK;
            const float *xs = xd + (size_t)n * C * (size_t)S + (size_t)s0;
            uint8_t *ys = yd + ((size_t)n * S + (size_t)s0) * (size_t)C;
            if (C <= 4) {   /* RGB and the like: quantize and interleave in one pass */
                ot_qvec_quantize_nhwc(xs, (size_t)S, (int)C, (size_t)len, scale, zp, sgn, ys);
                continue;
            }
            for (int64_t c = 0; c < C; c++)   /* exactly QuantizeLinear's loop, on a run of one plane */
                ot_qvec_quantize(xs + (size_t)c * (size_t)S, (size_t)len, scale, zp, sgn, tmp + (size_t)c * (size_t)len);
            ot_qconv_transpose(ys, tmp, (size_t)C, (size_t)len, 1, 1);
        }
        free(tmp);
    }
    return failed ? ot_err(OCTET_ERR_NOMEM, "out of memory") : OCTET_OK;
}

const ot_op_def ot_ops_octet_int8[] = {
    {"com.microsoft", "NhwcMaxPool", NULL, nhwc_maxpool_run, NULL},
    {"ai.octet", "NchwToNhwc", NULL, to_nhwc_run, NULL},
    {"ai.octet", "NhwcToNchw", NULL, to_nchw_run, NULL},
    {"ai.octet", "QuantizeLinearToNhwc", NULL, quantize_nhwc_run, NULL},
    {"ai.octet", "QLinearLookup", ot_qlookup_prepare, ot_qlookup_run, ot_qlookup_release},
    {NULL, NULL, NULL, NULL, NULL},
};
