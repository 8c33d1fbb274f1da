/* Conv, ConvTranspose, Gemm, MatMul: hand-computed cases, and random shapes (odd sizes, pads,
 * strides, dilations, groups, depthwise, auto_pad, 1-D/2-D/3-D) against naive loops written here,
 * independently of the kernels; the AVX2 depthwise kernel against its scalar twin; error cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "kernels/dwconv_f32.h"
#include "kernels/gemm_f32.h"
#include "util/mem.h"
#include "ops/op.h"
#include "tensor/tensor.h"

/* ---- helpers ---- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rfloat(void) { return (float)((int)(rnd() % 2001) - 1000) / 1000.0f; }

static octet_tensor *tensor(int ndim, const int64_t *dims, const float *vals) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    assert_non_null(t);
    int64_t n = ot_tensor_numel(t);
    float *d = t->data;
    for (int64_t i = 0; i < n; i++) d[i] = vals ? vals[i] : rfloat();
    return t;
}

typedef struct op_env {
    ot_graph *g;
    ot_node *node;
} op_env;

static op_env env_new(const char *op, const char *domain) {
    op_env e;
    e.g = ot_graph_new("t");
    assert_non_null(e.g);
    e.node = ot_graph_add_node(e.g, op, domain, "n0");
    assert_non_null(e.node);
    return e;
}

static void env_free(op_env *e) { ot_graph_free(e->g); }

/* Prepare (with the weights as constants when const_w) + run; returns the status. */
static octet_status run_op(op_env *e, int opset, int threads, const octet_tensor **in, int n_in, octet_tensor *out,
                           bool const_w) {
    const ot_op_def *def = ot_op_find(e->node->domain, e->node->op_type);
    assert_non_null(def);
    ot_kernel k;
    memset(&k, 0, sizeof k);
    k.node = e->node;
    k.def = def;
    k.opset = opset;
    k.threads = threads;
    octet_status s = OCTET_OK;
    if (def->prepare) {
        const octet_tensor *consts[8] = {0};
        for (int i = 1; i < n_in && const_w; i++) consts[i] = in[i];
        s = def->prepare(&k, consts, n_in);
    }
    if (s == OCTET_OK) {
        octet_tensor *outs[1] = {out};
        s = def->run(&k, in, n_in, outs, 1);
    }
    if (def->release && k.state) def->release(k.state);
    return s;
}

static void expect_close(const float *got, const float *want, int64_t n, float atol, float rtol, const char *what) {
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(got[i] - want[i]);
        if (!(d <= atol + rtol * fabsf(want[i])))
            fail_msg("%s: element %lld: got %.7g, want %.7g", what, (long long)i, got[i], want[i]);
    }
}

/* ---- naive references ---- */

typedef struct ref_conv {
    int nsp;
    int64_t N, C, M, G;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
} ref_conv;

/* p's 1..3 spatial dims as 3, led by size-1 dims (stride and dilation 1, no padding). */
static void widen3(const ref_conv *p, int64_t in[3], int64_t out[3], int64_t k[3], int64_t s[3], int64_t d[3],
                   int64_t pb[3]) {
    int off = 3 - p->nsp;
    for (int i = 0; i < 3; i++) {
        bool real = i >= off;
        in[i] = real ? p->in[i - off] : 1;
        out[i] = real ? p->out[i - off] : 1;
        k[i] = real ? p->k[i - off] : 1;
        s[i] = real ? p->s[i - off] : 1;
        d[i] = real ? p->d[i - off] : 1;
        pb[i] = real ? p->pb[i - off] : 0;
    }
}

/* Direct convolution with 1..3 spatial dims. */
static void naive_conv(const ref_conv *p, const float *x, const float *w, const float *b, float *y) {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
    widen3(p, in, out, k, s, d, pb);
    int64_t Cg = p->C / p->G, Mg = p->M / p->G;
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++) {
            int64_t g = m / Mg;
            for (int64_t o0 = 0; o0 < out[0]; o0++)
                for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        double acc = b ? b[m] : 0.0;
                        for (int64_t c = 0; c < Cg; c++)
                            for (int64_t a0 = 0; a0 < k[0]; a0++)
                                for (int64_t a1 = 0; a1 < k[1]; a1++)
                                    for (int64_t a2 = 0; a2 < k[2]; a2++) {
                                        int64_t i0 = o0 * s[0] - pb[0] + a0 * d[0];
                                        int64_t i1 = o1 * s[1] - pb[1] + a1 * d[1];
                                        int64_t i2 = o2 * s[2] - pb[2] + a2 * d[2];
                                        if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                                            continue;
                                        double xv = x[(((n * p->C + g * Cg + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
                                        double wv = w[(((m * Cg + c) * k[0] + a0) * k[1] + a1) * k[2] + a2];
                                        acc += xv * wv;
                                    }
                        y[(((n * p->M + m) * out[0] + o0) * out[1] + o1) * out[2] + o2] = (float)acc;
                    }
        }
}

/* Direct transposed convolution (scatter); W is [C, M/G, k...]. */
static void naive_convt(const ref_conv *p, const float *x, const float *w, const float *b, float *y) {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
    widen3(p, in, out, k, s, d, pb);
    int64_t Cg = p->C / p->G, Mg = p->M / p->G, osz = out[0] * out[1] * out[2];
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t i = 0; i < osz; i++) y[(n * p->M + m) * osz + i] = b ? b[m] : 0.0f;
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t c = 0; c < p->C; c++) {
            int64_t g = c / Cg;
            for (int64_t i0 = 0; i0 < in[0]; i0++)
                for (int64_t i1 = 0; i1 < in[1]; i1++)
                    for (int64_t i2 = 0; i2 < in[2]; i2++) {
                        float xv = x[(((n * p->C + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
                        for (int64_t mm = 0; mm < Mg; mm++)
                            for (int64_t a0 = 0; a0 < k[0]; a0++)
                                for (int64_t a1 = 0; a1 < k[1]; a1++)
                                    for (int64_t a2 = 0; a2 < k[2]; a2++) {
                                        int64_t o0 = i0 * s[0] - pb[0] + a0 * d[0];
                                        int64_t o1 = i1 * s[1] - pb[1] + a1 * d[1];
                                        int64_t o2 = i2 * s[2] - pb[2] + a2 * d[2];
                                        if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 ||
                                            o2 >= out[2])
                                            continue;
                                        int64_t m = g * Mg + mm;
                                        float wv = w[(((c * Mg + mm) * k[0] + a0) * k[1] + a1) * k[2] + a2];
                                        y[(((n * p->M + m) * out[0] + o0) * out[1] + o1) * out[2] + o2] += xv * wv;
                                    }
                    }
        }
}

/* ---- hand-computed cases ---- */

static void test_conv_hand(void **state) {
    (void)state;
    /* 3x3 image 1..9, 2x2 kernel of ones, no padding -> window sums */
    float xv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wv[4] = {1, 1, 1, 1}, bv[1] = {0.5f};
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2}, bd[1] = {1};
    octet_tensor *x = tensor(4, xd, xv), *w = tensor(4, wd, wv), *b = tensor(1, bd, bv);
    op_env e = env_new("Conv", "");
    octet_tensor y = {0};
    const octet_tensor *in[3] = {x, w, b};
    assert_int_equal(run_op(&e, 13, 1, in, 3, &y, true), OCTET_OK);
    assert_int_equal(y.ndim, 4);
    assert_int_equal(y.dims[2], 2);
    assert_int_equal(y.dims[3], 2);
    float want[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    expect_close(y.data, want, 4, 0, 0, "2x2 sums");
    ot_tensor_reset(&y);
    env_free(&e);

    /* same with pads 1 and stride 2: corners of the padded sums */
    e = env_new("Conv", "");
    int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
    ot_node_add_attr_ints(e.node, "pads", pads, 4);
    ot_node_add_attr_ints(e.node, "strides", strides, 2);
    assert_int_equal(run_op(&e, 13, 1, in, 2, &y, false), OCTET_OK);
    assert_int_equal(y.dims[2], 2);
    float want2[4] = {1, 5, 11, 28};  /* (1), (2+3), (4+7), (5+6+8+9) */
    expect_close(y.data, want2, 4, 0, 0, "pads+strides");
    ot_tensor_reset(&y);
    env_free(&e);

    /* depthwise, 2 channels, 3x3 kernel, pad 1: centre tap only for channel 0, all ones for channel 1 */
    float x2[18], w2[18] = {0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 18; i++) x2[i] = (float)(i % 9 + 1);
    int64_t x2d[4] = {1, 2, 3, 3}, w2d[4] = {2, 1, 3, 3};
    octet_tensor *xx = tensor(4, x2d, x2), *ww = tensor(4, w2d, w2);
    e = env_new("Conv", "");
    ot_node_add_attr_int(e.node, "group", 2);
    ot_node_add_attr_ints(e.node, "pads", pads, 4);
    const octet_tensor *in2[2] = {xx, ww};
    assert_int_equal(run_op(&e, 13, 2, in2, 2, &y, true), OCTET_OK);
    float want3[18] = {2, 4, 6, 8, 10, 12, 14, 16, 18, 12, 21, 16, 27, 45, 33, 24, 39, 28};
    expect_close(y.data, want3, 18, 0, 0, "depthwise");
    ot_tensor_reset(&y);
    env_free(&e);
    octet_tensor_free(xx);
    octet_tensor_free(ww);
    octet_tensor_free(x);
    octet_tensor_free(w);
    octet_tensor_free(b);
}

static void test_convt_hand(void **state) {
    (void)state;
    /* ONNX ConvTranspose documentation example: X = 0..8 (3x3), W = ones [1,2,3,3] */
    float xv[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, wv[18];
    for (int i = 0; i < 18; i++) wv[i] = 1;
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3};
    octet_tensor *x = tensor(4, xd, xv), *w = tensor(4, wd, wv);
    op_env e = env_new("ConvTranspose", "");
    octet_tensor y = {0};
    const octet_tensor *in[2] = {x, w};
    assert_int_equal(run_op(&e, 13, 1, in, 2, &y, true), OCTET_OK);
    assert_int_equal(y.dims[1], 2);
    assert_int_equal(y.dims[2], 5);
    assert_int_equal(y.dims[3], 5);
    float want[25] = {0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
    expect_close(y.data, want, 25, 0, 0, "convtranspose channel 0");
    expect_close((float *)y.data + 25, want, 25, 0, 0, "convtranspose channel 1");
    ot_tensor_reset(&y);
    env_free(&e);

    /* stride 3 with output_padding 1 -> 10x8 output (ONNX test_convtranspose_pads style) */
    e = env_new("ConvTranspose", "");
    int64_t strides[2] = {3, 2}, op[2] = {1, 1};
    ot_node_add_attr_ints(e.node, "strides", strides, 2);
    ot_node_add_attr_ints(e.node, "output_padding", op, 2);
    assert_int_equal(run_op(&e, 13, 1, in, 2, &y, true), OCTET_OK);
    assert_int_equal(y.dims[2], 10);
    assert_int_equal(y.dims[3], 8);
    const float *yd = y.data;
    /* last row/column come only from output_padding: zero */
    for (int c = 0; c < 8; c++) assert_true(yd[9 * 8 + c] == 0.0f);
    assert_true(yd[0] == 0.0f && yd[1] == 0.0f && yd[2] == 1.0f);
    ot_tensor_reset(&y);
    env_free(&e);
    octet_tensor_free(x);
    octet_tensor_free(w);
}

/* ---- random conv vs naive ---- */

static void random_conv_case(int iter, bool force_dw) {
    ref_conv p;
    memset(&p, 0, sizeof p);
    p.nsp = force_dw ? rint_in(1, 2) : (iter % 7 == 0 ? 3 : rint_in(1, 2));
    p.N = rint_in(1, 2);
    if (force_dw) {
        p.G = p.C = rint_in(1, 13);
        p.M = p.C * rint_in(1, 2);
    } else {
        p.G = rint_in(1, 3);
        p.C = p.G * rint_in(1, 4);
        p.M = p.G * rint_in(1, 4);
    }
    /* 0: no pads attribute, 1..2 explicit pads, 3 SAME_UPPER, 4 SAME_LOWER, 5 VALID */
    int auto_pad = rint_in(0, 5);
    bool with_dil = rnd() % 2, with_kshape = rnd() % 2, with_bias = rnd() % 3 != 0;
    int64_t pads[6] = {0}, strides[3], dil[3], ks[3], pe[3];
    for (int i = 0; i < p.nsp; i++) {
        int maxsz = p.nsp == 3 ? 6 : (p.nsp == 2 ? 17 : 40);
        p.k[i] = force_dw && i == p.nsp - 1 && rnd() % 2 ? (rnd() % 2 ? 3 : 5) : rint_in(1, p.nsp == 3 ? 3 : 5);
        p.s[i] = rint_in(1, 3);
        p.d[i] = with_dil && rnd() % 3 == 0 ? 2 : 1;
        int64_t dk = (p.k[i] - 1) * p.d[i] + 1;
        p.in[i] = rint_in((int)dk, (int)dk + maxsz);
        strides[i] = p.s[i];
        dil[i] = p.d[i];
        ks[i] = p.k[i];
        if (auto_pad == 1 || auto_pad == 2) {
            pads[i] = p.pb[i] = rint_in(0, (int)(p.k[i] > 1 ? p.k[i] - 1 : 1));
            pads[p.nsp + i] = pe[i] = rint_in(0, (int)(p.k[i] > 1 ? p.k[i] - 1 : 1));
        } else if (auto_pad == 3 || auto_pad == 4) {
            /* SAME: output = ceil(in / stride); the odd pad goes to the end (UPPER) or start (LOWER) */
            int64_t o = (p.in[i] + p.s[i] - 1) / p.s[i];
            int64_t total = (o - 1) * p.s[i] + dk - p.in[i];
            if (total < 0) total = 0;
            p.pb[i] = auto_pad == 3 ? total / 2 : total - total / 2;
            pe[i] = total - p.pb[i];
        } else {
            p.pb[i] = pe[i] = 0;
        }
        p.out[i] = (p.in[i] + p.pb[i] + pe[i] - dk) / p.s[i] + 1;
    }
    int64_t xd[5] = {p.N, p.C}, wd[5] = {p.M, p.C / p.G}, bd[1] = {p.M};
    for (int i = 0; i < p.nsp; i++) {
        xd[2 + i] = p.in[i];
        wd[2 + i] = p.k[i];
    }
    octet_tensor *x = tensor(2 + p.nsp, xd, NULL), *w = tensor(2 + p.nsp, wd, NULL), *b = tensor(1, bd, NULL);
    op_env e = env_new("Conv", "");
    ot_node_add_attr_int(e.node, "group", p.G);
    ot_node_add_attr_ints(e.node, "strides", strides, (size_t)p.nsp);
    if (with_dil) ot_node_add_attr_ints(e.node, "dilations", dil, (size_t)p.nsp);
    if (with_kshape) ot_node_add_attr_ints(e.node, "kernel_shape", ks, (size_t)p.nsp);
    if (auto_pad == 1 || auto_pad == 2) ot_node_add_attr_ints(e.node, "pads", pads, (size_t)(2 * p.nsp));
    static const char *names[] = {NULL, NULL, NULL, "SAME_UPPER", "SAME_LOWER", "VALID"};
    if (names[auto_pad]) ot_node_add_attr_string(e.node, "auto_pad", names[auto_pad]);
    int64_t yd[5] = {p.N, p.M}, ysz = p.N * p.M;
    for (int i = 0; i < p.nsp; i++) {
        yd[2 + i] = p.out[i];
        ysz *= p.out[i];
    }
    float *want = malloc(sizeof(float) * (size_t)(ysz + 1));
    naive_conv(&p, x->data, w->data, with_bias ? b->data : NULL, want);
    const octet_tensor *in[3] = {x, w, b};
    for (int threads = 1; threads <= 2; threads++) {
        octet_tensor y = {0};
        octet_status st = run_op(&e, 13, threads, in, with_bias ? 3 : 2, &y, threads == 1);
        if (st != OCTET_OK) fail_msg("case %d: %s", iter, octet_last_error());
        assert_int_equal(y.ndim, 2 + p.nsp);
        for (int i = 0; i < 2 + p.nsp; i++)
            if (y.dims[i] != yd[i])
                fail_msg("case %d: output dim %d is %lld, want %lld", iter, i, (long long)y.dims[i], (long long)yd[i]);
        char what[64];
        snprintf(what, sizeof what, "conv case %d (threads %d)", iter, threads);
        expect_close(y.data, want, ysz, 1e-4f, 1e-4f, what);
        ot_tensor_reset(&y);
    }
    free(want);
    env_free(&e);
    octet_tensor_free(x);
    octet_tensor_free(w);
    octet_tensor_free(b);
}

static void test_conv_random(void **state) {
    (void)state;
    for (int i = 0; i < 300; i++) random_conv_case(i, false);
}

static void test_conv_depthwise_random(void **state) {
    (void)state;
    for (int i = 0; i < 200; i++) random_conv_case(i, true);
}

/* Bigger GEMM-path shapes: several tiles, thread splits, 1x1 pointwise. */
static void test_conv_gemm_shapes(void **state) {
    (void)state;
    static const int shapes[][8] = {
        /* C, M, H, W, k, s, pad, group */
        {16, 24, 29, 31, 1, 1, 0, 1}, {24, 32, 37, 41, 3, 1, 1, 1}, {8, 16, 61, 23, 3, 2, 1, 1},
        {3, 8, 45, 67, 7, 2, 3, 1},   {12, 12, 19, 19, 3, 1, 1, 3}, {32, 64, 7, 7, 3, 1, 1, 1},
        {64, 40, 9, 11, 1, 2, 0, 1},  {6, 10, 33, 33, 5, 1, 2, 2},
    };
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        const int *sh = shapes[t];
        ref_conv p;
        memset(&p, 0, sizeof p);
        p.nsp = 2;
        p.N = 2;
        p.C = sh[0];
        p.M = sh[1];
        p.G = sh[7];
        for (int i = 0; i < 2; i++) {
            p.k[i] = sh[4];
            p.s[i] = sh[5];
            p.d[i] = 1;
            p.pb[i] = sh[6];
        }
        p.in[0] = sh[2];
        p.in[1] = sh[3];
        for (int i = 0; i < 2; i++) p.out[i] = (p.in[i] + 2 * p.pb[i] - p.k[i]) / p.s[i] + 1;
        int64_t xd[4] = {p.N, p.C, p.in[0], p.in[1]}, wd[4] = {p.M, p.C / p.G, p.k[0], p.k[1]}, bd[1] = {p.M};
        octet_tensor *x = tensor(4, xd, NULL), *w = tensor(4, wd, NULL), *b = tensor(1, bd, NULL);
        op_env e = env_new("Conv", "");
        int64_t pads[4] = {sh[6], sh[6], sh[6], sh[6]}, strides[2] = {sh[5], sh[5]};
        ot_node_add_attr_ints(e.node, "pads", pads, 4);
        ot_node_add_attr_ints(e.node, "strides", strides, 2);
        ot_node_add_attr_int(e.node, "group", p.G);
        int64_t ysz = p.N * p.M * p.out[0] * p.out[1];
        float *want = malloc(sizeof(float) * (size_t)ysz);
        naive_conv(&p, x->data, w->data, b->data, want);
        const octet_tensor *in[3] = {x, w, b};
        for (int threads = 1; threads <= 3; threads++) {
            octet_tensor y = {0};
            assert_int_equal(run_op(&e, 11, threads, in, 3, &y, true), OCTET_OK);
            char what[64];
            snprintf(what, sizeof what, "gemm shape %zu threads %d", t, threads);
            expect_close(y.data, want, ysz, 1e-3f, 1e-4f, what);
            ot_tensor_reset(&y);
        }
        free(want);
        env_free(&e);
        octet_tensor_free(x);
        octet_tensor_free(w);
        octet_tensor_free(b);
    }
}

/* The AVX2 depthwise kernel against the scalar twin on every stride/dilation/size mix. */
static void test_dwconv_kernels(void **state) {
    (void)state;
    if (!ot_dwconv_f32_has_avx2()) skip();
    for (int it = 0; it < 400; it++) {
        ot_dw_geom g;
        memset(&g, 0, sizeof g);
        g.kh = rint_in(1, 5);
        g.kw = it % 3 == 0 ? 3 : rint_in(1, 7);
        g.sh = rint_in(1, 3);
        g.sw = rint_in(1, 3);
        g.dh = rint_in(1, 2);
        g.dw = rint_in(1, 2);
        g.pt = rint_in(0, g.kh);
        g.pl = rint_in(0, g.kw);
        int pb = rint_in(0, g.kh), pr = rint_in(0, g.kw);
        g.H = rint_in((g.kh - 1) * g.dh + 1, 40);
        g.W = rint_in((g.kw - 1) * g.dw + 1, 80);
        g.OH = (g.H + g.pt + pb - (g.kh - 1) * g.dh - 1) / g.sh + 1;
        g.OW = (g.W + g.pl + pr - (g.kw - 1) * g.dw - 1) / g.sw + 1;
        size_t n = (size_t)g.H * g.W, on = (size_t)g.OH * g.OW;
        float *x = malloc(n * sizeof *x), *w = malloc(sizeof(float) * (size_t)(g.kh * g.kw));
        float *y1 = malloc(on * sizeof *y1), *y2 = malloc(on * sizeof *y2);
        float *scratch = malloc(ot_dwconv_f32_scratch(&g) * sizeof(float) + 64);
        for (size_t i = 0; i < n; i++) x[i] = rfloat();
        for (int i = 0; i < g.kh * g.kw; i++) w[i] = rfloat();
        float bias = rfloat();
        ot_dwconv_f32_scalar(&g, x, w, bias, y1, scratch);
        ot_dwconv_f32_avx2(&g, x, w, bias, y2, scratch);
        /* bit-identical: same tap order, one rounding per fused multiply-add */
        expect_close(y2, y1, (int64_t)on, 0.0f, 0.0f, "avx2 vs scalar depthwise");
        free(x);
        free(w);
        free(y1);
        free(y2);
        free(scratch);

        /* the 8-channel kernel against the scalar one, channel by channel (nch 1..8) */
        int nch = 1 + it % 8;
        float *x8 = malloc(n * 8 * sizeof *x8), *w8 = malloc(sizeof(float) * 8 * (size_t)(g.kh * g.kw));
        float *b8 = malloc(8 * sizeof *b8), *y8 = malloc(on * 8 * sizeof *y8), *yr = malloc(on * sizeof *yr);
        float *s8 = malloc(ot_dwconv8_f32_scratch(&g) * sizeof(float) + 64);
        float *s1 = malloc(ot_dwconv_f32_scratch(&g) * sizeof(float) + 64);
        for (size_t i = 0; i < n * 8; i++) x8[i] = rfloat();
        for (int i = 0; i < 8 * g.kh * g.kw; i++) w8[i] = rfloat();
        for (int i = 0; i < 8; i++) b8[i] = rfloat();
        for (size_t i = 0; i < on * 8; i++) y8[i] = 12345.0f;
        ot_dwconv8_f32_avx2(&g, x8, n, w8, b8, y8, on, nch, s8);
        for (int c = 0; c < 8; c++) {
            if (c >= nch) {  /* channels past nch are not touched */
                for (size_t i = 0; i < on; i++) assert_true(y8[c * on + i] == 12345.0f);
                continue;
            }
            ot_dwconv_f32_scalar(&g, x8 + c * n, w8 + c * g.kh * g.kw, b8[c], yr, s1);
            expect_close(y8 + c * on, yr, (int64_t)on, 0.0f, 0.0f, "8-channel vs scalar depthwise");
        }
        free(x8);
        free(w8);
        free(b8);
        free(y8);
        free(yr);
        free(s8);
        free(s1);
    }
}


/* ---- the conv GEMM: every B mode, AVX2 vs scalar twin (bit-identical) and vs naive sums ---- */

static void run_gemm_modes(int M, int Cin, int H, int W, int k, int s, int d, int p, const char *what) {
    ot_conv_geom g;
    memset(&g, 0, sizeof g);
    g.channels = Cin;
    g.in[0] = g.out[0] = g.k[0] = g.s[0] = g.d[0] = 1;
    g.in[1] = H;
    g.in[2] = W;
    g.k[1] = g.k[2] = k;
    g.s[1] = g.s[2] = s;
    g.d[1] = g.d[2] = d;
    g.p[1] = g.p[2] = p;
    g.out[1] = (H + 2 * p - (k - 1) * d - 1) / s + 1;
    g.out[2] = (W + 2 * p - (k - 1) * d - 1) / s + 1;
    const int K = Cin * k * k, N = g.out[1] * g.out[2];
    float *x = malloc(sizeof(float) * (size_t)Cin * H * W), *w = malloc(sizeof(float) * (size_t)M * K);
    float *bias = malloc(sizeof(float) * (size_t)M), *ref = malloc(sizeof(float) * (size_t)M * N);
    float *y1 = malloc(sizeof(float) * (size_t)M * N), *y2 = malloc(sizeof(float) * (size_t)M * N);
    for (int i = 0; i < Cin * H * W; i++) x[i] = rfloat();
    for (int i = 0; i < M * K; i++) w[i] = rfloat();
    for (int i = 0; i < M; i++) bias[i] = rfloat();
    ref_conv rc;
    memset(&rc, 0, sizeof rc);
    rc.nsp = 2;
    rc.N = 1;
    rc.C = Cin;
    rc.M = M;
    rc.G = 1;
    for (int i = 0; i < 2; i++) {
        rc.in[i] = g.in[1 + i];
        rc.out[i] = g.out[1 + i];
        rc.k[i] = k;
        rc.s[i] = s;
        rc.d[i] = d;
        rc.pb[i] = p;
    }
    naive_conv(&rc, x, w, bias, ref);
    ot_gemm_f32_a pa;
    assert_true(ot_gemm_f32_pack_a(&pa, w, M, K, K));
    float *scratch = ot_aligned_alloc(ot_gemm_f32_scratch() * sizeof(float));
    /* packed im2col, and (when the geometry allows) direct over a padded copy or in place */
    ot_conv_pad pad;
    ot_conv_pad_dims(&g, &pad);
    float *padded = ot_aligned_alloc(sizeof(float) * (size_t)Cin * pad.ch_stride);
    int *koff = malloc(sizeof(int) * (size_t)K);
    ot_conv_pad_f32(&g, &pad, x, padded);
    for (int mode = 0; mode < 3; mode++) {
        ot_gemm_f32_b b;
        memset(&b, 0, sizeof b);
        if (mode == 0) {
            b.conv = &g;
            b.image = x;
        } else if (mode == 1) {
            ot_conv_pad_direct(&g, &pad, padded, koff, &b);
        } else {
            if (k != 1 || s != 1 || p != 0) continue;
            for (int i = 0; i < K; i++) koff[i] = i * H * W;
            b.koff = koff;
            b.base = x;
            b.row_w = N;
        }
        /* split columns and rows the way threads do */
        int nsplit = 1 + (int)(rnd() % 3), msplit = 6 * (1 + (int)(rnd() % 3));
        for (int pass = 0; pass < 2; pass++) {
            ot_gemm_f32_force_scalar(pass == 1);
            float *y = pass ? y2 : y1;
            for (int c0 = 0; c0 < N; c0 += (N + nsplit - 1) / nsplit)
                for (int m0 = 0; m0 < M; m0 += msplit) {
                    int c1 = c0 + (N + nsplit - 1) / nsplit, m1 = m0 + msplit;
                    ot_gemm_f32(&pa, m0, m1 < M ? m1 : M, &b, c0, c1 < N ? c1 : N, y, N, bias, -INFINITY, INFINITY,
                                scratch);
                }
        }
        ot_gemm_f32_force_scalar(false);
        char msg[128];
        snprintf(msg, sizeof msg, "%s mode %d vs naive", what, mode);
        expect_close(y1, ref, (int64_t)M * N, 1e-4f, 1e-4f, msg);
        snprintf(msg, sizeof msg, "%s mode %d avx2 vs scalar", what, mode);
        if (ot_dwconv_f32_has_avx2()) expect_close(y1, y2, (int64_t)M * N, 0.0f, 0.0f, msg);
    }
    /* the clamp (Relu / Clip fused into the store) */
    ot_gemm_f32_b b;
    memset(&b, 0, sizeof b);
    b.conv = &g;
    b.image = x;
    ot_gemm_f32(&pa, 0, M, &b, 0, N, y1, N, bias, -0.25f, 0.5f, scratch);
    for (int i = 0; i < M * N; i++) {
        float want = ref[i] < -0.25f ? -0.25f : (ref[i] > 0.5f ? 0.5f : ref[i]);
        if (fabsf(y1[i] - want) > 1e-4f) fail_msg("%s clamp: element %d got %g want %g", what, i, y1[i], want);
    }
    ot_gemm_f32_free_a(&pa);
    ot_aligned_free(scratch);
    ot_aligned_free(padded);
    free(koff);
    free(x);
    free(w);
    free(bias);
    free(ref);
    free(y1);
    free(y2);
}

static void test_gemm_f32_modes(void **state) {
    (void)state;
    run_gemm_modes(7, 5, 9, 37, 1, 1, 1, 0, "1x1");
    run_gemm_modes(13, 3, 11, 40, 3, 1, 1, 1, "3x3");
    run_gemm_modes(20, 4, 13, 45, 3, 2, 1, 1, "3x3 s2");
    run_gemm_modes(6, 2, 17, 50, 5, 1, 2, 3, "5x5 d2");
    run_gemm_modes(31, 40, 8, 21, 3, 1, 1, 1, "K > 256 blocks");
    run_gemm_modes(100, 30, 6, 33, 1, 1, 1, 0, "M > 96 blocks");
    run_gemm_modes(9, 2, 7, 70, 7, 3, 1, 3, "7x7 s3");
    for (int i = 0; i < 20; i++) {
        int k = rint_in(1, 4), s = rint_in(1, 3), d = rint_in(1, 2), p = rint_in(0, k - 1);
        int H = rint_in((k - 1) * d + 1, 12), W = rint_in((k - 1) * d + 1, 60);
        run_gemm_modes(rint_in(1, 20), rint_in(1, 9), H, W, k, s, d, p, "random");
    }
}

/* ---- ConvTranspose vs naive ---- */

static void test_convt_random(void **state) {
    (void)state;
    for (int iter = 0; iter < 150; iter++) {
        ref_conv p;
        memset(&p, 0, sizeof p);
        p.nsp = iter % 6 == 0 ? 3 : rint_in(1, 2);
        p.N = rint_in(1, 2);
        p.G = rint_in(1, 3);
        p.C = p.G * rint_in(1, 3);
        p.M = p.G * rint_in(1, 3);
        int64_t pads[6], strides[3], dil[3], opad[3], oshape[3];
        bool use_oshape = iter % 4 == 3;
        for (int i = 0; i < p.nsp; i++) {
            p.k[i] = rint_in(1, p.nsp == 3 ? 3 : 4);
            p.s[i] = rint_in(1, 3);
            p.d[i] = rint_in(1, 2);
            p.in[i] = rint_in(1, p.nsp == 3 ? 5 : 12);
            opad[i] = rint_in(0, (int)p.s[i] - 1);  /* ONNX Runtime rejects output_padding >= stride */
            int64_t dk = (p.k[i] - 1) * p.d[i] + 1;
            int64_t full = (p.in[i] - 1) * p.s[i] + opad[i] + dk;
            pads[i] = rint_in(0, (int)(p.k[i] - 1));
            pads[p.nsp + i] = rint_in(0, (int)(p.k[i] - 1));
            if (full - pads[i] - pads[p.nsp + i] < 1) pads[i] = pads[p.nsp + i] = 0;
            strides[i] = p.s[i];
            dil[i] = p.d[i];
            if (use_oshape) {
                /* total padding = full - out; ONNX Runtime puts the odd one at the start */
                int64_t total = rint_in(0, (int)(full > 1 ? (full - 1 < 3 ? full - 1 : 3) : 0));
                oshape[i] = full - total;
                p.pb[i] = total - total / 2;
                p.out[i] = oshape[i];
            } else {
                p.pb[i] = pads[i];
                p.out[i] = full - pads[i] - pads[p.nsp + i];
            }
        }
        int64_t xd[5] = {p.N, p.C}, wd[5] = {p.C, p.M / p.G}, bd[1] = {p.M};
        for (int i = 0; i < p.nsp; i++) {
            xd[2 + i] = p.in[i];
            wd[2 + i] = p.k[i];
        }
        octet_tensor *x = tensor(2 + p.nsp, xd, NULL), *w = tensor(2 + p.nsp, wd, NULL), *b = tensor(1, bd, NULL);
        op_env e = env_new("ConvTranspose", "");
        ot_node_add_attr_int(e.node, "group", p.G);
        ot_node_add_attr_ints(e.node, "strides", strides, (size_t)p.nsp);
        ot_node_add_attr_ints(e.node, "dilations", dil, (size_t)p.nsp);
        ot_node_add_attr_ints(e.node, "output_padding", opad, (size_t)p.nsp);
        if (use_oshape)
            ot_node_add_attr_ints(e.node, "output_shape", oshape, (size_t)p.nsp);
        else
            ot_node_add_attr_ints(e.node, "pads", pads, (size_t)(2 * p.nsp));
        int64_t ysz = p.N * p.M;
        for (int i = 0; i < p.nsp; i++) ysz *= p.out[i];
        float *want = malloc(sizeof(float) * (size_t)ysz);
        bool with_bias = iter % 2 == 0;
        naive_convt(&p, x->data, w->data, with_bias ? b->data : NULL, want);
        const octet_tensor *in[3] = {x, w, b};
        for (int threads = 1; threads <= 2; threads++) {
            octet_tensor y = {0};
            octet_status st = run_op(&e, 13, threads, in, with_bias ? 3 : 2, &y, true);
            if (st != OCTET_OK) fail_msg("convt case %d: %s", iter, octet_last_error());
            for (int i = 0; i < p.nsp; i++)
                if (y.dims[2 + i] != p.out[i]) fail_msg("convt case %d: dim %d is %lld, want %lld", iter, i, (long long)y.dims[2 + i], (long long)p.out[i]);
            expect_close(y.data, want, ysz, 1e-4f, 1e-4f, "convtranspose");
            ot_tensor_reset(&y);
        }
        free(want);
        env_free(&e);
        octet_tensor_free(x);
        octet_tensor_free(w);
        octet_tensor_free(b);
    }
}

/* ---- errors ---- */

static void test_conv_errors(void **state) {
    (void)state;
    int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {4, 2, 3, 3}, bd[1] = {5};
    octet_tensor *x = tensor(4, xd, NULL), *w = tensor(4, wd, NULL), *b = tensor(1, bd, NULL);
    octet_tensor y = {0};
    /* channel mismatch: W expects 2 channels, X has 3 */
    op_env e = env_new("Conv", "");
    const octet_tensor *in[3] = {x, w, b};
    assert_int_equal(run_op(&e, 13, 1, in, 2, &y, true), OCTET_ERR_SHAPE);
    assert_non_null(strstr(octet_last_error(), "channel"));
    env_free(&e);
    /* bias of the wrong length (W fixed to 3 input channels) */
    int64_t wd2[4] = {4, 3, 3, 3};
    octet_tensor *w2 = tensor(4, wd2, NULL);
    const octet_tensor *in2[3] = {x, w2, b};
    e = env_new("Conv", "");
    assert_int_equal(run_op(&e, 13, 1, in2, 3, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    /* kernel larger than the padded input */
    int64_t wd3[4] = {4, 3, 9, 9};
    octet_tensor *w3 = tensor(4, wd3, NULL);
    const octet_tensor *in3[2] = {x, w3};
    e = env_new("Conv", "");
    assert_int_equal(run_op(&e, 13, 1, in3, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    /* group that does not divide the channels */
    e = env_new("Conv", "");
    ot_node_add_attr_int(e.node, "group", 2);
    assert_int_equal(run_op(&e, 13, 1, in2, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    /* wrong number of strides, bad auto_pad, stride 0 */
    e = env_new("Conv", "");
    int64_t st3[3] = {1, 1, 1};
    ot_node_add_attr_ints(e.node, "strides", st3, 3);
    assert_int_equal(run_op(&e, 13, 1, in2, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    e = env_new("Conv", "");
    ot_node_add_attr_string(e.node, "auto_pad", "SAME_MIDDLE");
    assert_int_not_equal(run_op(&e, 13, 1, in2, 2, &y, true), OCTET_OK);
    env_free(&e);
    e = env_new("Conv", "");
    int64_t st0[2] = {0, 1};
    ot_node_add_attr_ints(e.node, "strides", st0, 2);
    assert_int_equal(run_op(&e, 13, 1, in2, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    /* rank mismatch between X and W */
    int64_t wd4[3] = {4, 3, 3};
    octet_tensor *w4 = tensor(3, wd4, NULL);
    const octet_tensor *in4[2] = {x, w4};
    e = env_new("Conv", "");
    assert_int_equal(run_op(&e, 13, 1, in4, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    /* ConvTranspose channel mismatch */
    e = env_new("ConvTranspose", "");
    assert_int_equal(run_op(&e, 13, 1, in, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    ot_tensor_reset(&y);
    octet_tensor_free(x);
    octet_tensor_free(w);
    octet_tensor_free(w2);
    octet_tensor_free(w3);
    octet_tensor_free(w4);
    octet_tensor_free(b);
}


/* ---- Resize features newer than the per-op test generator's checker (opsets 18/19) ---- */

static octet_tensor *i64_tensor(int64_t n, const int64_t *v) {
    int64_t d[1] = {n};
    octet_tensor *t = ot_tensor_new(OCTET_INT64, 1, d);
    assert_non_null(t);
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    return t;
}

static void run_resize_sizes(int opset, const int64_t *axes, int n_axes, const char *policy, const octet_tensor *x,
                             const int64_t *sizes, int n_sizes, octet_tensor *y) {
    op_env e = env_new("Resize", "");
    ot_node_add_attr_string(e.node, "mode", "nearest");
    ot_node_add_attr_string(e.node, "coordinate_transformation_mode", "asymmetric");
    ot_node_add_attr_string(e.node, "nearest_mode", "floor");
    if (n_axes) ot_node_add_attr_ints(e.node, "axes", axes, (size_t)n_axes);
    if (policy) ot_node_add_attr_string(e.node, "keep_aspect_ratio_policy", policy);
    octet_tensor *sz = i64_tensor(n_sizes, sizes);
    const octet_tensor *in[4] = {x, NULL, NULL, sz};
    octet_status st = run_op(&e, opset, 1, in, 4, y, false);
    if (st != OCTET_OK) fail_msg("resize: %s", octet_last_error());
    octet_tensor_free(sz);
    env_free(&e);
}

static void test_resize_opset18(void **state) {
    (void)state;
    /* axes: only the last axis, 2 -> 4 columns: each column doubled */
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t xd[4] = {1, 1, 2, 4};
    octet_tensor *x = tensor(4, xd, xv);
    octet_tensor y = {0};
    int64_t ax[1] = {-1}, sz[1] = {8};
    run_resize_sizes(18, ax, 1, NULL, x, sz, 1, &y);
    assert_int_equal(y.dims[2], 2);
    assert_int_equal(y.dims[3], 8);
    float want1[16] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8};
    expect_close(y.data, want1, 16, 0, 0, "axes=[-1]");
    /* keep_aspect_ratio_policy on axes [2, 3], sizes [4, 4]: scales 2 and 1 */
    int64_t ax2[2] = {2, 3}, sz2[2] = {4, 4};
    run_resize_sizes(18, ax2, 2, "not_larger", x, sz2, 2, &y);  /* scale 1: unchanged */
    assert_int_equal(y.dims[2], 2);
    assert_int_equal(y.dims[3], 4);
    expect_close(y.data, xv, 8, 0, 0, "not_larger");
    run_resize_sizes(18, ax2, 2, "not_smaller", x, sz2, 2, &y); /* scale 2: 4 x 8 */
    assert_int_equal(y.dims[2], 4);
    assert_int_equal(y.dims[3], 8);
    const float *yd = y.data;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 8; c++) assert_true(yd[r * 8 + c] == xv[(r / 2) * 4 + c / 2]);
    run_resize_sizes(18, ax2, 2, "stretch", x, sz2, 2, &y);     /* 4 x 4 */
    assert_int_equal(y.dims[2], 4);
    assert_int_equal(y.dims[3], 4);
    ot_tensor_reset(&y);
    /* antialias is refused clearly */
    op_env e = env_new("Resize", "");
    ot_node_add_attr_string(e.node, "mode", "linear");
    ot_node_add_attr_int(e.node, "antialias", 1);
    float sv[4] = {1, 1, 0.5f, 0.5f};
    int64_t sd[1] = {4};
    octet_tensor *sc = tensor(1, sd, sv);
    const octet_tensor *in[3] = {x, NULL, sc};
    assert_int_equal(run_op(&e, 18, 1, in, 3, &y, false), OCTET_ERR_UNSUPPORTED);
    assert_non_null(strstr(octet_last_error(), "antialias"));
    env_free(&e);
    /* half_pixel_symmetric (19), linear 1-D 4 -> 6: ONNX's reference formula, by hand */
    e = env_new("Resize", "");
    ot_node_add_attr_string(e.node, "mode", "linear");
    ot_node_add_attr_string(e.node, "coordinate_transformation_mode", "half_pixel_symmetric");
    float lv[4] = {0, 10, 20, 30};
    int64_t ld[1] = {4};
    octet_tensor *lx = tensor(1, ld, lv);
    float s15[1] = {1.5f};
    int64_t s1d[1] = {1};
    octet_tensor *ls = tensor(1, s1d, s15);
    const octet_tensor *lin[3] = {lx, NULL, ls};
    assert_int_equal(run_op(&e, 19, 1, lin, 3, &y, false), OCTET_OK);
    assert_int_equal(y.dims[0], 6);
    /* out 6 = 1.5 * 4 exactly, so offset 0: x = (o + 0.5) / 1.5 - 0.5, clamped to [0, 3] */
    for (int o = 0; o < 6; o++) {
        double xo = (o + 0.5) / 1.5 - 0.5;
        if (xo < 0) xo = 0;
        if (xo > 3) xo = 3;
        float want = (float)(xo * 10.0);
        if (fabsf(((float *)y.data)[o] - want) > 1e-4f) fail_msg("half_pixel_symmetric %d: %g vs %g", o, ((float *)y.data)[o], want);
    }
    env_free(&e);
    ot_tensor_reset(&y);
    octet_tensor_free(lx);
    octet_tensor_free(ls);
    octet_tensor_free(sc);
    octet_tensor_free(x);
}


/* ---- empty tensors: no crash, right shapes ---- */

static void test_empty_shapes(void **state) {
    (void)state;
    octet_tensor y = {0};
    /* batch 0 */
    int64_t xd[4] = {0, 4, 5, 5}, wd[4] = {6, 4, 3, 3};
    octet_tensor *x = tensor(4, xd, NULL), *w = tensor(4, wd, NULL);
    op_env e = env_new("Conv", "");
    const octet_tensor *in[2] = {x, w};
    assert_int_equal(run_op(&e, 13, 2, in, 2, &y, true), OCTET_OK);
    assert_int_equal(y.dims[0], 0);
    assert_int_equal(y.dims[1], 6);
    env_free(&e);
    octet_tensor_free(x);
    /* zero input channels: output = bias */
    int64_t xd2[4] = {1, 0, 5, 5}, wd2[4] = {3, 0, 3, 3}, bd[1] = {3};
    float bv[3] = {1, 2, 3};
    octet_tensor *x2 = tensor(4, xd2, NULL), *w2 = tensor(4, wd2, NULL), *b = tensor(1, bd, bv);
    e = env_new("Conv", "");
    int64_t pads[4] = {1, 1, 1, 1};
    ot_node_add_attr_ints(e.node, "pads", pads, 4);
    const octet_tensor *in2[3] = {x2, w2, b};
    assert_int_equal(run_op(&e, 13, 1, in2, 3, &y, true), OCTET_OK);
    assert_int_equal(ot_tensor_numel(&y), 75);
    for (int i = 0; i < 75; i++) assert_true(((float *)y.data)[i] == bv[i / 25]);
    env_free(&e);
    /* an input of height 0 with enough padding: every window is padding */
    int64_t xd3[4] = {1, 2, 0, 4}, wd3[4] = {2, 2, 3, 3};
    octet_tensor *x3 = tensor(4, xd3, NULL), *w3 = tensor(4, wd3, NULL);
    e = env_new("Conv", "");
    int64_t pads3[4] = {2, 1, 2, 1};
    ot_node_add_attr_ints(e.node, "pads", pads3, 4);
    const octet_tensor *in3[3] = {x3, w3, b};
    b->dims[0] = 2;
    assert_int_equal(run_op(&e, 13, 1, in3, 3, &y, true), OCTET_OK);
    assert_int_equal(y.dims[2], 2);
    for (int i = 0; i < ot_tensor_numel(&y); i++) assert_true(((float *)y.data)[i] == bv[i / 8]);
    env_free(&e);
    b->dims[0] = 3;
    /* pools and resize on empty batches */
    int64_t pd[4] = {0, 3, 6, 6};
    octet_tensor *px = tensor(4, pd, NULL);
    const octet_tensor *pin[1] = {px};
    e = env_new("MaxPool", "");
    int64_t ks[2] = {2, 2};
    ot_node_add_attr_ints(e.node, "kernel_shape", ks, 2);
    assert_int_equal(run_op(&e, 13, 2, pin, 1, &y, false), OCTET_OK);
    assert_int_equal(y.dims[0], 0);
    env_free(&e);
    e = env_new("GlobalAveragePool", "");
    assert_int_equal(run_op(&e, 13, 2, pin, 1, &y, false), OCTET_OK);
    assert_int_equal(y.dims[3], 1);
    env_free(&e);
    e = env_new("Resize", "");
    float sv[4] = {1, 1, 2, 2};
    int64_t sd[1] = {4};
    octet_tensor *sc = tensor(1, sd, sv);
    const octet_tensor *rin[3] = {px, NULL, sc};
    assert_int_equal(run_op(&e, 13, 1, rin, 3, &y, false), OCTET_OK);
    assert_int_equal(y.dims[2], 12);
    env_free(&e);
    /* Gemm / MatMul with an empty side */
    int64_t ad[2] = {0, 5}, bbd[2] = {5, 3};
    octet_tensor *a = tensor(2, ad, NULL), *bb = tensor(2, bbd, NULL);
    const octet_tensor *gin[2] = {a, bb};
    e = env_new("Gemm", "");
    assert_int_equal(run_op(&e, 13, 1, gin, 2, &y, false), OCTET_OK);
    assert_int_equal(y.dims[0], 0);
    env_free(&e);
    e = env_new("MatMul", "");
    assert_int_equal(run_op(&e, 13, 1, gin, 2, &y, false), OCTET_OK);
    assert_int_equal(y.dims[1], 3);
    env_free(&e);
    ot_tensor_reset(&y);
    octet_tensor_free(a);
    octet_tensor_free(bb);
    octet_tensor_free(sc);
    octet_tensor_free(px);
    octet_tensor_free(x3);
    octet_tensor_free(w3);
    octet_tensor_free(x2);
    octet_tensor_free(w2);
    octet_tensor_free(b);
    octet_tensor_free(w);
}

/* ---- Gemm / MatMul ---- */

static void naive_matmul(int64_t M, int64_t N, int64_t K, const float *a, int64_t sam, int64_t sak, const float *b,
                         int64_t sbk, int64_t sbn, float *y) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t q = 0; q < K; q++) acc += (double)a[i * sam + q * sak] * b[q * sbk + j * sbn];
            y[i * N + j] = (float)acc;
        }
}

static void test_gemm(void **state) {
    (void)state;
    /* hand case: [[1,2],[3,4]] x [[5,6],[7,8]] + [1, 2] */
    float av[4] = {1, 2, 3, 4}, bv[4] = {5, 6, 7, 8}, cv[2] = {1, 2};
    int64_t d22[2] = {2, 2}, d2[1] = {2};
    octet_tensor *a = tensor(2, d22, av), *b = tensor(2, d22, bv), *c = tensor(1, d2, cv);
    op_env e = env_new("Gemm", "");
    octet_tensor y = {0};
    const octet_tensor *in[3] = {a, b, c};
    assert_int_equal(run_op(&e, 13, 1, in, 3, &y, true), OCTET_OK);
    float want[4] = {20, 24, 44, 52};
    expect_close(y.data, want, 4, 0, 0, "gemm hand");
    ot_tensor_reset(&y);
    env_free(&e);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_tensor_free(c);

    for (int it = 0; it < 120; it++) {
        int64_t M = rint_in(1, 40), N = rint_in(1, 40), K = rint_in(1, 50);
        if (it % 10 == 0) M = rint_in(100, 300);
        int ta = rnd() % 2, tb = rnd() % 2;
        float alpha = rnd() % 2 ? 1.0f : rfloat(), beta = rnd() % 2 ? 1.0f : rfloat();
        int cform = rint_in(0, 6);  /* none, scalar, [N], [1,N], [M,1], [M,N], [1] */
        int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
        int64_t cd[2];
        int cnd = 0;
        switch (cform) {
        case 1: cnd = 0; break;
        case 2: cnd = 1; cd[0] = N; break;
        case 3: cnd = 2; cd[0] = 1; cd[1] = N; break;
        case 4: cnd = 2; cd[0] = M; cd[1] = 1; break;
        case 5: cnd = 2; cd[0] = M; cd[1] = N; break;
        case 6: cnd = 1; cd[0] = 1; break;
        default: break;
        }
        a = tensor(2, ad, NULL);
        b = tensor(2, bd, NULL);
        c = cform ? tensor(cnd, cd, NULL) : NULL;
        float *ref = malloc(sizeof(float) * (size_t)(M * N));
        naive_matmul(M, N, K, a->data, ta ? 1 : K, ta ? M : 1, b->data, tb ? 1 : N, tb ? K : 1, ref);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                float cvv = 0;
                const float *cdat = c ? c->data : NULL;
                if (cform == 1 || cform == 6) cvv = cdat[0];
                if (cform == 2 || cform == 3) cvv = cdat[j];
                if (cform == 4) cvv = cdat[i];
                if (cform == 5) cvv = cdat[i * N + j];
                ref[i * N + j] = alpha * ref[i * N + j] + beta * cvv;
            }
        e = env_new("Gemm", "");
        if (ta) ot_node_add_attr_int(e.node, "transA", 1);
        if (tb) ot_node_add_attr_int(e.node, "transB", 1);
        ot_node_add_attr_float(e.node, "alpha", alpha);
        ot_node_add_attr_float(e.node, "beta", beta);
        const octet_tensor *gin[3] = {a, b, c};
        assert_int_equal(run_op(&e, 13, 1 + it % 2, gin, c ? 3 : 2, &y, true), OCTET_OK);
        assert_int_equal(y.dims[0], M);
        assert_int_equal(y.dims[1], N);
        expect_close(y.data, ref, M * N, 1e-4f, 1e-4f, "gemm random");
        ot_tensor_reset(&y);
        env_free(&e);
        free(ref);
        octet_tensor_free(a);
        octet_tensor_free(b);
        octet_tensor_free(c);
    }
    /* mismatched inner dimension and a non-broadcastable C */
    int64_t d23[2] = {2, 3}, d3[1] = {3};
    a = tensor(2, d22, NULL);
    b = tensor(2, d23, NULL);
    c = tensor(1, d3, NULL);
    e = env_new("Gemm", "");
    const octet_tensor *bad[3] = {b, b, NULL};
    assert_int_equal(run_op(&e, 13, 1, bad, 2, &y, true), OCTET_ERR_SHAPE);
    const octet_tensor *bad2[3] = {a, a, c};
    assert_int_equal(run_op(&e, 13, 1, bad2, 3, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    ot_tensor_reset(&y);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_tensor_free(c);
}

static void test_matmul(void **state) {
    (void)state;
    for (int it = 0; it < 200; it++) {
        int64_t M = rint_in(1, 9), N = rint_in(1, 9), K = rint_in(1, 11);
        if (it % 17 == 0) {
            M = rint_in(50, 130);
            N = rint_in(50, 130);
            K = rint_in(50, 130);
        }
        int ra = rint_in(1, 4), rb = rint_in(1, 4);
        /* batch dims: right-aligned, each either shared, 1 on one side, or missing */
        int nb = (ra > 2 ? ra - 2 : 0) > (rb > 2 ? rb - 2 : 0) ? ra - 2 : (rb > 2 ? rb - 2 : 0);
        int64_t bat[4];
        for (int i = 0; i < nb; i++) bat[i] = rint_in(1, 3);
        int64_t ad[6], bd[6];
        int an = 0, bn = 0;
        int bna = ra > 2 ? ra - 2 : 0, bnb = rb > 2 ? rb - 2 : 0;
        for (int i = 0; i < bna; i++) ad[an++] = rnd() % 4 == 0 ? 1 : bat[nb - bna + i];
        for (int i = 0; i < bnb; i++) bd[bn++] = rnd() % 4 == 0 ? 1 : bat[nb - bnb + i];
        if (ra >= 2) ad[an++] = M;
        ad[an++] = K;
        bd[bn++] = K;
        if (rb >= 2) bd[bn++] = N;
        octet_tensor *a = tensor(an, ad, NULL), *b = tensor(bn, bd, NULL);
        /* reference: iterate output batch */
        int64_t ob[4];
        int64_t nbat = 1;
        for (int i = 0; i < nb; i++) {
            int ia = i - (nb - bna), ib = i - (nb - bnb);
            int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
            ob[i] = da > db ? da : db;
            nbat *= ob[i];
        }
        float *ref = malloc(sizeof(float) * (size_t)(nbat * M * N));
        for (int64_t bi = 0; bi < nbat; bi++) {
            int64_t rem = bi, oa = 0, obb = 0, sa = 1, sb = 1;
            for (int i = nb - 1; i >= 0; i--) {
                int64_t idx = rem % ob[i];
                rem /= ob[i];
                int ia = i - (nb - bna), ib = i - (nb - bnb);
                int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
                oa += (da == 1 ? 0 : idx) * sa;
                obb += (db == 1 ? 0 : idx) * sb;
                sa *= da;
                sb *= db;
            }
            int64_t am = ra >= 2 ? M : 1, bnn = rb >= 2 ? N : 1;
            naive_matmul(am, bnn, K, (float *)a->data + oa * am * K, K, 1, (float *)b->data + obb * K * bnn, bnn, 1,
                         ref + bi * am * bnn);
        }
        op_env e = env_new("MatMul", "");
        octet_tensor y = {0};
        const octet_tensor *in[2] = {a, b};
        octet_status st = run_op(&e, 13, 1 + it % 2, in, 2, &y, true);
        if (st != OCTET_OK) fail_msg("matmul %d: %s", it, octet_last_error());
        int64_t yn = nbat * (ra >= 2 ? M : 1) * (rb >= 2 ? N : 1);
        assert_int_equal(ot_tensor_numel(&y), yn);
        assert_int_equal(y.ndim, nb + (ra >= 2) + (rb >= 2));
        expect_close(y.data, ref, yn, 1e-4f, 1e-4f, "matmul");
        ot_tensor_reset(&y);
        env_free(&e);
        free(ref);
        octet_tensor_free(a);
        octet_tensor_free(b);
    }
    /* inner mismatch, batch mismatch */
    int64_t d1[3] = {2, 3, 4}, d2[3] = {3, 4, 5}, d3[2] = {5, 6};
    octet_tensor *a = tensor(3, d1, NULL), *b = tensor(3, d2, NULL), *c = tensor(2, d3, NULL);
    op_env e = env_new("MatMul", "");
    octet_tensor y = {0};
    const octet_tensor *i1[2] = {a, b}, *i2[2] = {a, c};
    assert_int_equal(run_op(&e, 13, 1, i1, 2, &y, true), OCTET_ERR_SHAPE);
    assert_int_equal(run_op(&e, 13, 1, i2, 2, &y, true), OCTET_ERR_SHAPE);
    env_free(&e);
    ot_tensor_reset(&y);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_tensor_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_hand),
        cmocka_unit_test(test_convt_hand),
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_conv_depthwise_random),
        cmocka_unit_test(test_conv_gemm_shapes),
        cmocka_unit_test(test_dwconv_kernels),
        cmocka_unit_test(test_gemm_f32_modes),
        cmocka_unit_test(test_convt_random),
        cmocka_unit_test(test_conv_errors),
        cmocka_unit_test(test_resize_opset18),
        cmocka_unit_test(test_empty_shapes),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
