/* MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv against plain references written here
 * (int64 accumulation, then requant.h's float formula spelled out again), over random odd shapes,
 * pads, strides, dilations, groups, depthwise, every auto_pad, per-channel scales and zero points,
 * uint8 and int8 operands, constant and run-time weights; 1 and 2 threads must give identical bytes.
 * The int8 conv driver (kernels/qconv.h) is also checked directly, NCHW and NHWC, with the scalar
 * kernels against the best ones this CPU has. Finally the whole program re-runs itself with
 * OCTET_ISA=scalar, so every op is also checked on the scalar kernels against the same references. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "kernels/cpu.h"
#include "kernels/qconv.h"
#include "ops/op.h"
#include "tensor/tensor.h"

/* ---- helpers ---- */

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static int rint_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rfloat_in(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 100001) / 100000.0f; }

static int qlo(octet_dtype t) { return t == OCTET_INT8 ? -128 : 0; }
static int qhi(octet_dtype t) { return t == OCTET_INT8 ? 127 : 255; }
static octet_dtype rand_q8(void) { return (rnd() & 1) ? OCTET_INT8 : OCTET_UINT8; }

static octet_tensor *qtensor(octet_dtype dt, int ndim, const int64_t *dims, int lo, int hi) {
    octet_tensor *t = ot_tensor_new(dt, ndim, dims);
    assert_non_null(t);
    int64_t n = ot_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) ot_tensor_set_f64(t, i, (double)rint_in(lo, hi));
    return t;
}

static octet_tensor *qscalar(octet_dtype dt, int v) {
    octet_tensor *t = ot_tensor_new(dt, 0, NULL);
    assert_non_null(t);
    ot_tensor_set_f64(t, 0, v);
    return t;
}

static octet_tensor *fscalar(float v) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    assert_non_null(t);
    *(float *)t->data = v;
    return t;
}

static octet_tensor *fvector(int n, float lo, float hi) {
    int64_t d[1] = {n};
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 1, d);
    assert_non_null(t);
    for (int i = 0; i < n; i++) ((float *)t->data)[i] = rfloat_in(lo, hi);
    return t;
}

static int64_t geti(const octet_tensor *t, int64_t i) { return ot_tensor_get_i64(t, i); }

typedef struct op_env {
    ot_graph *g;
    ot_node *node;
} op_env;

/* A node with inputs named in0..in{n-1} ("" where omitted[i]). */
static op_env env_new(const char *op, int n_in, const octet_tensor *const *in) {
    op_env e;
    e.g = ot_graph_new("t");
    assert_non_null(e.g);
    e.node = ot_graph_add_node(e.g, op, "", "n0");
    assert_non_null(e.node);
    char bufs[12][16];
    const char *names[12];
    for (int i = 0; i < n_in; i++) {
        snprintf(bufs[i], sizeof bufs[i], "in%d", i);
        names[i] = in[i] ? bufs[i] : "";
    }
    assert_int_equal(ot_node_set_inputs(e.node, n_in, names), OCTET_OK);
    const char *outs[1] = {"y"};
    assert_int_equal(ot_node_set_outputs(e.node, 1, outs), OCTET_OK);
    return e;
}

static void env_free(op_env *e) { ot_graph_free(e->g); }

/* prepare (inputs 1.. as constants when const_rest) + run. */
static octet_status run_op(op_env *e, int opset, int threads, const octet_tensor **in, int n_in, octet_tensor *out,
                           bool const_rest) {
    const ot_op_def *def = ot_op_find("", e->node->op_type);
    assert_non_null(def);
    ot_kernel k;
    memset(&k, 0, sizeof k);
    k.node = e->node;
    k.def = def;
    k.opset = opset;
    k.threads = threads;
    octet_status s = OCTET_OK;
    if (def->prepare) {
        const octet_tensor *consts[12] = {0};
        for (int i = 1; i < n_in && const_rest; i++) consts[i] = in[i];
        s = def->prepare(&k, consts, n_in);
    }
    if (s == OCTET_OK) {
        octet_tensor *outs[1] = {out};
        s = def->run(&k, in, n_in, outs, 1);
    }
    if (def->release && k.state) def->release(k.state);
    return s;
}

/* requant.h's definition, written out: clamp in float (NaN -> lo), round half to even, add zp. */
static int32_t ref_requant(int32_t acc, float mult, int32_t zy, int32_t lo, int32_t hi) {
    float v = (float)acc * mult;
    float lo_f = (float)(lo - zy), hi_f = (float)(hi - zy);
    v = v > lo_f ? v : lo_f;
    v = v < hi_f ? v : hi_f;
    return (int32_t)nearbyintf(v) + zy;
}

static void expect_same_tensor(const octet_tensor *a, const octet_tensor *b, const char *what) {
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int i = 0; i < a->ndim; i++) assert_int_equal(a->dims[i], b->dims[i]);
    if (memcmp(a->data, b->data, ot_tensor_nbytes(a)) != 0) fail_msg("%s: outputs differ", what);
}

/* ---- convolution reference ---- */

typedef struct conv_cfg {
    int nsp, N, C, M, G;
    int in[3], k[3], s[3], d[3], pads[6];
    int auto_pad;                /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    int out[3], pb[3];           /* filled by cfg_geometry */
} conv_cfg;

static const char *const AUTO_PAD[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

static bool cfg_geometry(conv_cfg *c) {
    for (int i = 0; i < c->nsp; i++) {
        int dk = (c->k[i] - 1) * c->d[i] + 1, pb = c->pads[i], pe = c->pads[c->nsp + i];
        if (c->auto_pad == 1 || c->auto_pad == 2) {
            int o = (c->in[i] + c->s[i] - 1) / c->s[i];
            int tot = (o - 1) * c->s[i] + dk - c->in[i];
            if (tot < 0) tot = 0;
            pb = c->auto_pad == 1 ? tot / 2 : tot - tot / 2;
            pe = tot - pb;
        } else if (c->auto_pad == 3) {
            pb = pe = 0;
        }
        int span = c->in[i] + pb + pe - dk;
        if (span < 0) return false;
        c->out[i] = span / c->s[i] + 1;
        c->pb[i] = pb;
    }
    return true;
}

static int64_t cfg_out_numel(const conv_cfg *c) {
    int64_t n = (int64_t)c->N * c->M;
    for (int i = 0; i < c->nsp; i++) n *= c->out[i];
    return n;
}

/* acc[n][m][out...] = bias[m] + sum (x - zx)(w - zw[m]), int64. x NCHW, or NHWC when cl. */
static void ref_conv_acc(const conv_cfg *c, const octet_tensor *x, bool cl, const octet_tensor *w, int32_t zx,
                         const octet_tensor *zw, const octet_tensor *bias, int64_t *acc) {
    int in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, pb[3] = {0};
    int off = 3 - c->nsp;
    for (int i = 0; i < c->nsp; i++) {
        in[off + i] = c->in[i];
        out[off + i] = c->out[i];
        k[off + i] = c->k[i];
        s[off + i] = c->s[i];
        d[off + i] = c->d[i];
        pb[off + i] = c->pb[i];
    }
    int Cg = c->C / c->G, Mg = c->M / c->G;
    int64_t S_in = (int64_t)in[0] * in[1] * in[2], S_out = (int64_t)out[0] * out[1] * out[2];
    for (int n = 0; n < c->N; n++)
        for (int m = 0; m < c->M; m++) {
            int g = m / Mg;
            int64_t zwm = zw ? geti(zw, ot_tensor_numel(zw) == 1 ? 0 : m) : 0;
            for (int o0 = 0; o0 < out[0]; o0++)
                for (int o1 = 0; o1 < out[1]; o1++)
                    for (int o2 = 0; o2 < out[2]; o2++) {
                        int64_t a = bias ? geti(bias, m) : 0;
                        for (int cc = 0; cc < Cg; cc++)
                            for (int a0 = 0; a0 < k[0]; a0++)
                                for (int a1 = 0; a1 < k[1]; a1++)
                                    for (int a2 = 0; a2 < k[2]; a2++) {
                                        int i0 = o0 * s[0] - pb[0] + a0 * d[0];
                                        int i1 = o1 * s[1] - pb[1] + a1 * d[1];
                                        int i2 = o2 * s[2] - pb[2] + a2 * d[2];
                                        if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                                            continue;
                                        int64_t ch = (int64_t)g * Cg + cc, pix = ((int64_t)i0 * in[1] + i1) * in[2] + i2;
                                        int64_t xi = cl ? ((int64_t)n * S_in + pix) * c->C + ch
                                                        : ((int64_t)n * c->C + ch) * S_in + pix;
                                        int64_t wi = (((int64_t)m * Cg + cc) * k[0] + a0) * k[1] * k[2] + a1 * k[2] + a2;
                                        a += (geti(x, xi) - zx) * (geti(w, wi) - zwm);
                                    }
                        int64_t opix = ((int64_t)o0 * out[1] + o1) * out[2] + o2;
                        int64_t yi = cl ? ((int64_t)n * S_out + opix) * c->M + m : ((int64_t)n * c->M + m) * S_out + opix;
                        acc[yi] = a;
                    }
        }
}

static void random_cfg(conv_cfg *c, bool allow_3d) {
    for (;;) {
        memset(c, 0, sizeof *c);
        c->nsp = rint_in(1, allow_3d ? 3 : 2);
        if (c->nsp == 3 && rnd() % 2) c->nsp = 2;
        int kind = rint_in(0, 5);   /* 0: depthwise, 1: grouped, 2: pointwise, else plain */
        c->N = rint_in(1, 2);
        if (kind == 0) {
            c->C = c->G = c->M = rint_in(1, 21);
        } else if (kind == 1) {
            c->G = rint_in(2, 3);
            c->C = c->G * rint_in(1, 4);
            c->M = c->G * rint_in(1, 5);
        } else {
            c->G = 1;
            c->C = rint_in(1, 19);
            c->M = rint_in(1, 23);
        }
        int maxk = c->nsp == 3 ? 2 : 4;
        for (int i = 0; i < c->nsp; i++) {
            c->k[i] = kind == 2 ? 1 : rint_in(1, maxk);
            c->s[i] = rnd() % 3 == 0 ? 2 : 1;
            c->d[i] = rnd() % 4 == 0 ? rint_in(2, 3) : 1;
            c->in[i] = rint_in(1, c->nsp == 3 ? 6 : (c->nsp == 1 ? 40 : 13));
        }
        for (int i = 0; i < 2 * c->nsp; i++) c->pads[i] = rint_in(0, c->k[i % c->nsp]);
        c->auto_pad = rint_in(0, 3);
        if (kind == 2 && rnd() % 2) {   /* true pointwise: stride 1, no padding */
            c->auto_pad = 0;
            for (int i = 0; i < c->nsp; i++) c->s[i] = 1, c->pads[i] = c->pads[c->nsp + i] = 0;
        }
        if (cfg_geometry(c)) return;
    }
}

/* ---- QLinearConv / ConvInteger through the op ---- */

typedef struct qconv_case {
    conv_cfg c;
    bool qlinear;
    octet_dtype xt, wt, yt;
    octet_tensor *in[9];
    int n_in;
    int act_lo, act_hi;          /* fused activation attributes, when has_act */
    bool has_act_lo, has_act_hi;
} qconv_case;

static void qconv_case_free(qconv_case *q) {
    for (int i = 0; i < 9; i++) octet_tensor_free(q->in[i]);
}

static void make_qconv_case(qconv_case *q, bool qlinear) {
    memset(q, 0, sizeof *q);
    conv_cfg *c = &q->c;
    random_cfg(c, true);
    q->qlinear = qlinear;
    q->xt = rand_q8();
    q->wt = rand_q8();
    q->yt = rand_q8();
    int64_t xd[5] = {c->N, c->C}, wd[5] = {c->M, c->C / c->G};
    for (int i = 0; i < c->nsp; i++) xd[2 + i] = c->in[i], wd[2 + i] = c->k[i];
    octet_tensor *x = qtensor(q->xt, 2 + c->nsp, xd, qlo(q->xt), qhi(q->xt));
    octet_tensor *w = qtensor(q->wt, 2 + c->nsp, wd, qlo(q->wt), qhi(q->wt));
    int zx = rint_in(qlo(q->xt), qhi(q->xt));
    octet_tensor *xzp = qscalar(q->xt, zx);
    octet_tensor *wzp;
    if (rnd() % 2) {
        int64_t md[1] = {c->M};
        wzp = qtensor(q->wt, 1, md, qlo(q->wt), qhi(q->wt));
    } else {
        wzp = qscalar(q->wt, rint_in(qlo(q->wt), qhi(q->wt)));
    }
    if (!qlinear) {
        q->n_in = 4;
        q->in[0] = x;
        q->in[1] = w;
        q->in[2] = rnd() % 4 ? xzp : (octet_tensor_free(xzp), NULL);
        q->in[3] = rnd() % 4 ? wzp : (octet_tensor_free(wzp), NULL);
        return;
    }
    q->n_in = 9;
    q->in[0] = x;
    q->in[1] = fscalar(rfloat_in(0.005f, 0.05f));
    q->in[2] = xzp;
    q->in[3] = w;
    q->in[4] = rnd() % 2 ? fvector(c->M, 0.001f, 0.01f) : fscalar(rfloat_in(0.001f, 0.01f));
    q->in[5] = wzp;
    /* y_scale roughly matching the accumulator spread: sqrt(K) * 128 * 128 * s_x * s_w / 100 */
    float sx = *(float *)q->in[1]->data, sw = *(float *)q->in[4]->data;
    int K = c->C / c->G;
    for (int i = 0; i < c->nsp; i++) K *= c->k[i];
    q->in[6] = fscalar(sqrtf((float)K) * 128.0f * 128.0f * sx * sw / rfloat_in(30.0f, 300.0f));
    q->in[7] = qscalar(q->yt, rint_in(qlo(q->yt), qhi(q->yt)));
    if (rnd() % 3) {
        int64_t md[1] = {c->M};
        q->in[8] = qtensor(OCTET_INT32, 1, md, -50000, 50000);
    }
    if (rnd() % 5 == 0) {
        q->has_act_lo = rnd() % 3 != 0;
        q->has_act_hi = !q->has_act_lo || rnd() % 2;
        q->act_lo = rint_in(qlo(q->yt) - 10, (qlo(q->yt) + qhi(q->yt)) / 2);
        q->act_hi = rint_in(q->act_lo, qhi(q->yt) + 10);
    }
}

static op_env qconv_env(const qconv_case *q) {
    op_env e = env_new(q->qlinear ? "QLinearConv" : "ConvInteger", q->n_in, (const octet_tensor *const *)q->in);
    const conv_cfg *c = &q->c;
    int64_t v[6];
    ot_node_add_attr_int(e.node, "group", c->G);
    bool unit_s = true, unit_d = true;
    for (int i = 0; i < c->nsp; i++) v[i] = c->s[i], unit_s = unit_s && c->s[i] == 1;
    if (!unit_s || rnd() % 2) ot_node_add_attr_ints(e.node, "strides", v, (size_t)c->nsp);   /* else default 1 */
    for (int i = 0; i < c->nsp; i++) v[i] = c->d[i], unit_d = unit_d && c->d[i] == 1;
    if (!unit_d || rnd() % 2) ot_node_add_attr_ints(e.node, "dilations", v, (size_t)c->nsp);
    if (rnd() % 2) {
        for (int i = 0; i < c->nsp; i++) v[i] = c->k[i];
        ot_node_add_attr_ints(e.node, "kernel_shape", v, (size_t)c->nsp);
    }
    if (c->auto_pad == 0) {
        for (int i = 0; i < 2 * c->nsp; i++) v[i] = c->pads[i];
        ot_node_add_attr_ints(e.node, "pads", v, (size_t)(2 * c->nsp));
    } else {
        ot_node_add_attr_string(e.node, "auto_pad", AUTO_PAD[c->auto_pad]);
    }
    if (q->has_act_lo) ot_node_add_attr_int(e.node, "octet_act_lo", q->act_lo);
    if (q->has_act_hi) ot_node_add_attr_int(e.node, "octet_act_hi", q->act_hi);
    return e;
}

/* The expected output of a case (int32 or 8-bit), written into want (allocated here). */
static void qconv_expected(const qconv_case *q, octet_tensor *want) {
    const conv_cfg *c = &q->c;
    int64_t dims[5] = {c->N, c->M};
    for (int i = 0; i < c->nsp; i++) dims[2 + i] = c->out[i];
    int64_t n = cfg_out_numel(c);
    int64_t *acc = malloc((size_t)(n > 0 ? n : 1) * sizeof *acc);
    assert_non_null(acc);
    const octet_tensor *xzp = q->in[2], *wzp = q->qlinear ? q->in[5] : q->in[3];
    const octet_tensor *w = q->qlinear ? q->in[3] : q->in[1];
    ref_conv_acc(c, q->in[0], false, w, xzp ? (int32_t)geti(xzp, 0) : 0, wzp, q->qlinear ? q->in[8] : NULL, acc);
    if (!q->qlinear) {
        assert_int_equal(ot_tensor_alloc(want, OCTET_INT32, 2 + c->nsp, dims), OCTET_OK);
        for (int64_t i = 0; i < n; i++) ((int32_t *)want->data)[i] = (int32_t)acc[i];
        free(acc);
        return;
    }
    assert_int_equal(ot_tensor_alloc(want, q->yt, 2 + c->nsp, dims), OCTET_OK);
    float sx = *(float *)q->in[1]->data, sy = *(float *)q->in[6]->data;
    int32_t zy = (int32_t)geti(q->in[7], 0);
    int lo = qlo(q->yt), hi = qhi(q->yt);
    if (q->has_act_lo && q->act_lo > lo) lo = q->act_lo;
    if (q->has_act_hi && q->act_hi < hi) hi = q->act_hi;
    int64_t per_m = n / ((int64_t)c->N * c->M);
    for (int64_t i = 0; i < n; i++) {
        int m = (int)((i / per_m) % c->M);
        const octet_tensor *ws = q->in[4];
        float sw = ((float *)ws->data)[ot_tensor_numel(ws) == 1 ? 0 : m];
        float mult = (sx * sw) / sy;
        ot_tensor_set_f64(want, i, ref_requant((int32_t)acc[i], mult, zy, lo, hi));
    }
    free(acc);
}

static void run_qconv_cases(bool qlinear, int iters) {
    int ran = 0;
    for (int it = 0; it < iters; it++) {
        qconv_case q;
        make_qconv_case(&q, qlinear);
        octet_tensor want = {0};
        qconv_expected(&q, &want);
        const octet_tensor *in[9];
        for (int i = 0; i < 9; i++) in[i] = q.in[i];
        octet_tensor got1 = {0}, got2 = {0};
        bool cst = rnd() % 4 != 0;
        op_env e = qconv_env(&q);
        octet_status s1 = run_op(&e, 10, 1, in, q.n_in, &got1, cst);
        octet_status s2 = run_op(&e, 10, 2, in, q.n_in, &got2, !cst);
        char what[200];
        const conv_cfg *c = &q.c;
        snprintf(what, sizeof what, "%s it %d: nsp %d N %d C %d M %d G %d k %d,%d,%d s %d,%d,%d d %d,%d,%d pad %s "
                 "types %d/%d/%d",
                 qlinear ? "QLinearConv" : "ConvInteger", it, c->nsp, c->N, c->C, c->M, c->G, c->k[0], c->k[1], c->k[2],
                 c->s[0], c->s[1], c->s[2], c->d[0], c->d[1], c->d[2], AUTO_PAD[c->auto_pad], q.xt, q.wt, q.yt);
        if (s1 != OCTET_OK || s2 != OCTET_OK) fail_msg("%s: status %d/%d: %s", what, s1, s2, octet_last_error());
        expect_same_tensor(&got1, &want, what);
        expect_same_tensor(&got2, &want, what);
        ran++;
        ot_tensor_reset(&got1);
        ot_tensor_reset(&got2);
        ot_tensor_reset(&want);
        env_free(&e);
        qconv_case_free(&q);
    }
    assert_int_equal(ran, iters);
}

static void test_qlinearconv_random(void **state) {
    (void)state;
    run_qconv_cases(true, 220);
}

static void test_convinteger_random(void **state) {
    (void)state;
    run_qconv_cases(false, 120);
}

/* Hand-computed: 1x1x3x3 input, 2x2 kernel, no padding. */
static void test_qlinearconv_hand(void **state) {
    (void)state;
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2};
    octet_tensor *x = ot_tensor_new(OCTET_UINT8, 4, xd), *w = ot_tensor_new(OCTET_INT8, 4, wd);
    const uint8_t xv[9] = {10, 11, 12, 13, 14, 15, 16, 17, 18};
    const int8_t wv[4] = {1, -1, 2, 3};
    memcpy(x->data, xv, 9);
    memcpy(w->data, wv, 4);
    /* x - 10 = [0 1 2; 3 4 5; 6 7 8]; taps (0,0)*1 + (0,1)*-1 + (1,0)*2 + (1,1)*3:
     *   y00 = 0 - 1 + 6 + 12 = 17, y01 = 1 - 2 + 8 + 15 = 22, y10 = 3 - 4 + 12 + 21 = 32, y11 = 4 - 5 + 14 + 24 = 37
     * multiplier 0.5 * 1 / 1 = 0.5: 8.5 -> 8, 11 -> 11, 16 -> 16, 18.5 -> 18 (ties to even), + 100 */
    const octet_tensor *in[8] = {x, fscalar(0.5f), qscalar(OCTET_UINT8, 10), w, fscalar(1.0f), qscalar(OCTET_INT8, 0),
                                 fscalar(1.0f), qscalar(OCTET_UINT8, 100)};
    op_env e = env_new("QLinearConv", 8, in);
    octet_tensor y = {0};
    assert_int_equal(run_op(&e, 10, 1, in, 8, &y, true), OCTET_OK);
    assert_int_equal(y.dtype, OCTET_UINT8);
    assert_int_equal(y.ndim, 4);
    const uint8_t want[4] = {108, 111, 116, 118};
    assert_memory_equal(y.data, want, 4);
    ot_tensor_reset(&y);
    env_free(&e);
    for (int i = 0; i < 8; i++) octet_tensor_free((octet_tensor *)in[i]);
}

/* ---- the driver directly: NCHW and NHWC, scalar kernels vs the best ones ---- */

/* One case: random layout, types, zero points, scales, bias; with may_promise, the unit-stride promise
 * (which lets a 3x3 use Winograd) whenever the geometry allows it, half of the time. */
static void check_driver_case(const conv_cfg *cp, int it, bool may_promise) {
    ot_isa best = ot_cpu_isa_best();
    conv_cfg c = *cp;
    {
        bool cl = rnd() % 2, xs = rnd() % 2, ws = rnd() % 2;
        int ot = rint_in(0, 2);   /* S32, U8, S8 */
        octet_dtype xt = xs ? OCTET_INT8 : OCTET_UINT8, wt = ws ? OCTET_INT8 : OCTET_UINT8;
        int64_t xd[5] = {c.N}, wd[5] = {c.M, c.C / c.G};
        int64_t xn = (int64_t)c.N * c.C;
        for (int i = 0; i < c.nsp; i++) xn *= c.in[i], wd[2 + i] = c.k[i];
        xd[0] = xn;
        octet_tensor *x = qtensor(xt, 1, xd, qlo(xt), qhi(xt));
        octet_tensor *w = qtensor(wt, 2 + c.nsp, wd, qlo(wt), qhi(wt));
        int32_t zw[32], bias[32];
        float scale[32];
        int zwc = rnd() % 2 ? c.M : 1;
        for (int m = 0; m < c.M; m++) {
            zw[m] = rint_in(qlo(wt), qhi(wt));
            bias[m] = rint_in(-9999, 9999);
            scale[m] = rfloat_in(0.00001f, 0.01f);
        }
        ot_qconv_desc d = {0};
        d.nsp = c.nsp;
        d.C = c.C;
        d.M = c.M;
        d.G = c.G;
        for (int i = 0; i < c.nsp; i++) d.k[i] = c.k[i];
        d.w = w->data;
        d.w_signed = ws;
        d.zw = zw;
        d.zw_count = zwc;
        d.bias = rnd() % 2 ? bias : NULL;
        d.zx = rint_in(qlo(xt), qhi(xt));
        d.x_signed = xs;
        d.out_type = ot == 0 ? OT_QGEMM_OUT_S32 : ot == 1 ? OT_QGEMM_OUT_U8 : OT_QGEMM_OUT_S8;
        d.scale = scale;
        d.scale_count = rnd() % 2 ? c.M : 1;
        octet_dtype yt = ot == 2 ? OCTET_INT8 : OCTET_UINT8;
        d.zy = rint_in(qlo(yt), qhi(yt));
        d.lo = qlo(yt);
        d.hi = qhi(yt);
        d.channels_last = cl;
        if (may_promise) {
            bool unit = true;
            for (int i = 0; i < c.nsp; i++) unit = unit && c.s[i] == 1 && c.d[i] == 1;
            d.unit_stride = unit && rnd() % 2;
        }
        ot_qconv_geom g = {0};
        g.N = c.N;
        for (int i = 0; i < c.nsp; i++) {
            g.in[i] = c.in[i];
            g.out[i] = c.out[i];
            g.s[i] = c.s[i];
            g.d[i] = c.d[i];
            g.p[i] = c.pb[i];
        }
        int64_t n = cfg_out_numel(&c);
        size_t esz = ot == 0 ? 4 : 1;
        char *y_ref = malloc((size_t)n * esz + 1), *y_fast = malloc((size_t)n * esz + 1), *y_thr = malloc((size_t)n * esz + 1);
        int64_t *acc = malloc((size_t)n * sizeof *acc + 8);
        assert_true(y_ref && y_fast && y_thr && acc);
        /* independent reference */
        int64_t zd[1] = {zwc};
        octet_tensor *zwt = qtensor(OCTET_INT32, 1, zd, 0, 0);
        memcpy(zwt->data, zw, (size_t)zwc * 4);
        int64_t bd[1] = {c.M};
        octet_tensor *bt = NULL;
        if (d.bias) {
            bt = qtensor(OCTET_INT32, 1, bd, 0, 0);
            memcpy(bt->data, bias, (size_t)c.M * 4);
        }
        ref_conv_acc(&c, x, cl, w, d.zx, zwt, bt, acc);
        int64_t per_m = n / ((int64_t)c.N * c.M);
        for (int64_t i = 0; i < n; i++) {
            int m = cl ? (int)(i % c.M) : (int)((i / per_m) % c.M);
            if (ot == 0)
                ((int32_t *)y_ref)[i] = (int32_t)acc[i];
            else
                y_ref[i] = (char)ref_requant((int32_t)acc[i], scale[d.scale_count == 1 ? 0 : m], d.zy, d.lo, d.hi);
        }
        ot_qconv *qs = NULL, *qb = NULL;
        assert_int_equal(ot_qconv_create(&qs, &d, OT_ISA_SCALAR), OCTET_OK);
        assert_int_equal(ot_qconv_create(&qb, &d, best), OCTET_OK);
        assert_int_equal(ot_qconv_run(qs, &g, x->data, y_fast, 1), OCTET_OK);
        if (memcmp(y_fast, y_ref, (size_t)n * esz) != 0) fail_msg("driver it %d: scalar kernels differ from reference", it);
        assert_int_equal(ot_qconv_run(qb, &g, x->data, y_thr, 2), OCTET_OK);
        if (memcmp(y_thr, y_ref, (size_t)n * esz) != 0)
            fail_msg("driver it %d (%s, %s, nsp %d, G %d, C %d, M %d): %s kernels differ from reference", it,
                     cl ? "NHWC" : "NCHW", ot == 0 ? "s32" : "q8", c.nsp, c.G, c.C, c.M, ot_isa_name(best));
        ot_qconv_free(qs);
        ot_qconv_free(qb);
        free(y_ref);
        free(y_fast);
        free(y_thr);
        free(acc);
        octet_tensor_free(x);
        octet_tensor_free(w);
        octet_tensor_free(zwt);
        octet_tensor_free(bt);
    }
}

static void test_qconv_driver_isa(void **state) {
    (void)state;
    for (int it = 0; it < 120; it++) {
        conv_cfg c;
        random_cfg(&c, true);
        check_driver_case(&c, it, false);
    }
}

/* First-layer shapes: one to five input channels (depths that are not multiples of 8, which the
 * driver pads), kernels up to 7 wide (kw*C up to 35 bytes: both sides of the 32-byte limit of the
 * padded-band im2col), strides up to 3, dilations, paddings up to the kernel, 1-D and 2-D, and
 * enough pixels over up to 6 images that the GEMM tiles (and the 2-thread split) start and end
 * inside images and inside output rows. */
static void small_channels_cfg(conv_cfg *c) {
    for (;;) {
        memset(c, 0, sizeof *c);
        c->nsp = rnd() % 5 ? 2 : 1;
        c->N = rint_in(1, 6);
        c->G = 1;
        c->C = rint_in(1, 5);
        c->M = rint_in(1, 24);
        for (int i = 0; i < c->nsp; i++) {
            c->k[i] = rint_in(1, 7);
            c->s[i] = rnd() % 3 == 0 ? rint_in(2, 3) : 1;
            c->d[i] = rnd() % 5 == 0 ? 2 : 1;
            c->in[i] = rint_in(c->nsp == 1 ? 20 : 5, c->nsp == 1 ? 700 : 40);
        }
        for (int i = 0; i < 2 * c->nsp; i++) c->pads[i] = rint_in(0, c->k[i % c->nsp]);
        c->auto_pad = rnd() % 3 ? 0 : rint_in(1, 3);
        if (!cfg_geometry(c)) continue;
        int64_t macs = cfg_out_numel(c) * c->C;
        for (int i = 0; i < c->nsp; i++) macs *= c->k[i];
        if (macs <= 1500000) return;
    }
}

static void test_qconv_driver_small_channels(void **state) {
    (void)state;
    for (int it = 0; it < 120; it++) {
        conv_cfg c;
        small_channels_cfg(&c);
        check_driver_case(&c, it, true);
    }
}

/* ---- MatMulInteger / QLinearMatMul ---- */

typedef struct mm_shape {
    int ra, rb;
    int64_t ad[5], bd[5];
} mm_shape;

static void random_mm_shape(mm_shape *s) {
    int M = rint_in(1, 37), K = rint_in(1, 70), N = rint_in(1, 41);
    int kind = rint_in(0, 5);
    memset(s, 0, sizeof *s);
    if (kind == 0) {            /* 2-D */
        s->ra = s->rb = 2;
        s->ad[0] = M, s->ad[1] = K, s->bd[0] = K, s->bd[1] = N;
    } else if (kind == 1) {     /* batched A, 2-D B */
        s->ra = 3, s->rb = 2;
        s->ad[0] = rint_in(1, 4), s->ad[1] = M, s->ad[2] = K, s->bd[0] = K, s->bd[1] = N;
    } else if (kind == 2) {     /* both batched */
        int b = rint_in(1, 3);
        s->ra = s->rb = 3;
        s->ad[0] = b, s->ad[1] = M, s->ad[2] = K, s->bd[0] = b, s->bd[1] = K, s->bd[2] = N;
    } else if (kind == 3) {     /* broadcast [2,1,M,K] x [3,K,N] */
        s->ra = 4, s->rb = 3;
        s->ad[0] = 2, s->ad[1] = 1, s->ad[2] = M, s->ad[3] = K;
        s->bd[0] = 3, s->bd[1] = K, s->bd[2] = N;
    } else if (kind == 4) {     /* 1-D A */
        s->ra = 1, s->rb = 2;
        s->ad[0] = K, s->bd[0] = K, s->bd[1] = N;
    } else {                    /* 1-D B, batched A */
        s->ra = 3, s->rb = 1;
        s->ad[0] = 2, s->ad[1] = M, s->ad[2] = K, s->bd[0] = K;
    }
}

/* acc of numpy matmul of (A - za) and (B - zb[col or batch,col]); fills out dims. */
static int64_t *ref_matmul(const mm_shape *s, const octet_tensor *A, const octet_tensor *B, int32_t za,
                           const octet_tensor *zb, int *yn, int64_t *yd, int64_t *ncols, int64_t *bmat_of_out) {
    (void)bmat_of_out;
    int64_t M = s->ra == 1 ? 1 : s->ad[s->ra - 2], K = s->ad[s->ra - 1], N = s->rb == 1 ? 1 : s->bd[s->rb - 1];
    /* batch dims, right aligned */
    int ba = s->ra > 2 ? s->ra - 2 : 0, bb = s->rb > 2 ? s->rb - 2 : 0, nb = ba > bb ? ba : bb;
    int64_t bdims[4], batches = 1;
    for (int i = 0; i < nb; i++) {
        int ia = i - (nb - ba), ib = i - (nb - bb);
        int64_t da = ia >= 0 ? s->ad[ia] : 1, db = ib >= 0 ? s->bd[ib] : 1;
        bdims[i] = da > db ? da : db;
        batches *= bdims[i];
    }
    *yn = 0;
    for (int i = 0; i < nb; i++) yd[(*yn)++] = bdims[i];
    if (s->ra > 1) yd[(*yn)++] = M;
    if (s->rb > 1) yd[(*yn)++] = N;
    *ncols = N;
    int64_t *acc = malloc((size_t)(batches * M * N + 1) * sizeof *acc);
    assert_non_null(acc);
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t rem = bi, ia_off = 0, ib_off = 0, sa = 1, sb = 1;
        int64_t idx[4];
        for (int i = nb - 1; i >= 0; i--) idx[i] = rem % bdims[i], rem /= bdims[i];
        for (int i = nb - 1; i >= 0; i--) {
            int ia = i - (nb - ba), ib = i - (nb - bb);
            if (ia >= 0) {
                ia_off += (s->ad[ia] == 1 ? 0 : idx[i]) * sa;
                sa *= s->ad[ia];
            }
            if (ib >= 0) {
                ib_off += (s->bd[ib] == 1 ? 0 : idx[i]) * sb;
                sb *= s->bd[ib];
            }
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                int64_t a = 0;
                int64_t nz = zb ? ot_tensor_numel(zb) : 0;
                int64_t zbv = !zb ? 0 : nz == 1 ? geti(zb, 0) : nz == N ? geti(zb, n) : geti(zb, ib_off * N + n);
                for (int64_t k = 0; k < K; k++)
                    a += (geti(A, (ia_off * M + m) * K + k) - za) * (geti(B, (ib_off * K + k) * N + n) - zbv);
                acc[(bi * M + m) * N + n] = a;
            }
    }
    return acc;
}

static void run_mm_cases(bool qlinear, int iters) {
    for (int it = 0; it < iters; it++) {
        mm_shape s;
        random_mm_shape(&s);
        octet_dtype at = rand_q8(), bt = rand_q8(), yt = rand_q8();
        octet_tensor *A = qtensor(at, s.ra, s.ad, qlo(at), qhi(at));
        octet_tensor *B = qtensor(bt, s.rb, s.bd, qlo(bt), qhi(bt));
        int64_t N = s.rb == 1 ? 1 : s.bd[s.rb - 1], K = s.ad[s.ra - 1];
        int za = rint_in(qlo(at), qhi(at));
        octet_tensor *azp = qscalar(at, za), *bzp;
        int zkind = rint_in(0, 2);
        if (zkind == 1 && s.rb >= 2) {
            int64_t nd[1] = {N};
            bzp = qtensor(bt, 1, nd, qlo(bt), qhi(bt));
        } else if (zkind == 2 && s.rb == 3) {   /* [batch, 1, N] */
            int64_t zd[3] = {s.bd[0], 1, N};
            bzp = qtensor(bt, 3, zd, qlo(bt), qhi(bt));
        } else {
            bzp = qscalar(bt, rint_in(qlo(bt), qhi(bt)));
        }
        int yn;
        int64_t yd[6], ncols;
        int64_t *acc = ref_matmul(&s, A, B, za, bzp, &yn, yd, &ncols, NULL);
        octet_tensor want = {0}, got1 = {0}, got2 = {0};
        const octet_tensor *in[8];
        int n_in;
        octet_tensor *owned[8] = {0};
        if (!qlinear) {
            in[0] = A, in[1] = B, in[2] = azp, in[3] = bzp;
            n_in = 4;
            assert_int_equal(ot_tensor_alloc(&want, OCTET_INT32, yn, yd), OCTET_OK);
            for (int64_t i = 0; i < ot_tensor_numel(&want); i++) ((int32_t *)want.data)[i] = (int32_t)acc[i];
        } else {
            float sa = rfloat_in(0.005f, 0.05f);
            octet_tensor *bs;
            if (bzp->ndim >= 1 && ot_tensor_numel(bzp) > 1 && rnd() % 2) {
                bs = ot_tensor_new(OCTET_FLOAT, bzp->ndim, bzp->dims);
                for (int64_t i = 0; i < ot_tensor_numel(bs); i++) ((float *)bs->data)[i] = rfloat_in(0.001f, 0.01f);
            } else {
                bs = fscalar(rfloat_in(0.001f, 0.01f));
            }
            float sb0 = *(float *)bs->data;
            float sy = sqrtf((float)K) * 128.0f * 128.0f * sa * sb0 / rfloat_in(30.0f, 300.0f);
            int zy = rint_in(qlo(yt), qhi(yt));
            owned[1] = fscalar(sa), owned[4] = bs, owned[6] = fscalar(sy), owned[7] = qscalar(yt, zy);
            in[0] = A, in[1] = owned[1], in[2] = azp, in[3] = B, in[4] = bs, in[5] = bzp, in[6] = owned[6];
            in[7] = owned[7];
            n_in = 8;
            assert_int_equal(ot_tensor_alloc(&want, yt, yn, yd), OCTET_OK);
            int64_t total = ot_tensor_numel(&want), nsb = ot_tensor_numel(bs);
            int64_t per_batch_b = bs->ndim == 3 ? bs->dims[0] : 1;
            for (int64_t i = 0; i < total; i++) {
                int64_t n = i % ncols;
                float sbv;
                if (nsb == 1) {
                    sbv = ((float *)bs->data)[0];
                } else if (per_batch_b > 1) {
                    /* B is [b, K, N] and A [b, M, K] (kind 2): output batch = B batch */
                    int64_t M = s.ra == 1 ? 1 : s.ad[s.ra - 2];
                    int64_t bb = (i / (M * ncols)) % per_batch_b;
                    sbv = ((float *)bs->data)[bb * ncols + n];
                } else {
                    sbv = ((float *)bs->data)[n];
                }
                ot_tensor_set_f64(&want, i, ref_requant((int32_t)acc[i], (sa * sbv) / sy, zy, qlo(yt), qhi(yt)));
            }
        }
        bool cst = rnd() % 3 != 0;
        op_env e = env_new(qlinear ? "QLinearMatMul" : "MatMulInteger", n_in, in);
        int opset = qlinear && rnd() % 2 ? 21 : 10;
        octet_status s1 = run_op(&e, opset, 1, in, n_in, &got1, cst);
        octet_status s2 = run_op(&e, opset, 2, in, n_in, &got2, !cst);
        char what[160];
        snprintf(what, sizeof what, "%s it %d: ranks %d,%d K %lld N %lld zkind %d", qlinear ? "QLinearMatMul" :
                 "MatMulInteger", it, s.ra, s.rb, (long long)K, (long long)N, zkind);
        if (s1 != OCTET_OK || s2 != OCTET_OK) fail_msg("%s: status %d/%d: %s", what, s1, s2, octet_last_error());
        expect_same_tensor(&got1, &want, what);
        expect_same_tensor(&got2, &want, what);
        free(acc);
        ot_tensor_reset(&want);
        ot_tensor_reset(&got1);
        ot_tensor_reset(&got2);
        env_free(&e);
        octet_tensor_free(A);
        octet_tensor_free(B);
        octet_tensor_free(azp);
        octet_tensor_free(bzp);
        for (int i = 0; i < 8; i++) octet_tensor_free(owned[i]);
    }
}

static void test_matmulinteger_random(void **state) {
    (void)state;
    run_mm_cases(false, 150);
}

static void test_qlinearmatmul_random(void **state) {
    (void)state;
    run_mm_cases(true, 150);
}

/* ---- errors ---- */

static void expect_error(const char *op, const octet_tensor **in, int n_in, const char *attr_name, int64_t attr_v,
                         const char *substr) {
    op_env e = env_new(op, n_in, in);
    if (attr_name) ot_node_add_attr_int(e.node, attr_name, attr_v);
    for (int cst = 0; cst < 2; cst++) {
        octet_tensor y = {0};
        octet_status s = run_op(&e, 10, 1, in, n_in, &y, cst);
        if (s == OCTET_OK) fail_msg("%s: expected an error containing '%s'", op, substr);
        if (!strstr(octet_last_error(), substr))
            fail_msg("%s: error '%s' does not mention '%s'", op, octet_last_error(), substr);
        ot_tensor_reset(&y);
    }
    env_free(&e);
}

static void test_errors(void **state) {
    (void)state;
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {3, 4, 3, 3}, bad_wd[4] = {3, 5, 3, 3}, fd[4] = {1, 4, 5, 5};
    octet_tensor *x = qtensor(OCTET_UINT8, 4, xd, 0, 255), *w = qtensor(OCTET_UINT8, 4, wd, 0, 255);
    octet_tensor *wbad = qtensor(OCTET_UINT8, 4, bad_wd, 0, 255);
    octet_tensor *xf = ot_tensor_new(OCTET_FLOAT, 4, fd);
    octet_tensor *zu = qscalar(OCTET_UINT8, 3), *zs = qscalar(OCTET_INT8, 3), *s1 = fscalar(0.1f);
    octet_tensor *s2 = fvector(2, 0.1f, 0.2f), *s3 = fvector(3, 0.1f, 0.2f);
    int64_t d3[1] = {3}, d4[1] = {4};
    octet_tensor *b3 = qtensor(OCTET_INT32, 1, d3, 0, 10), *b4 = qtensor(OCTET_INT32, 1, d4, 0, 10);
    octet_tensor *bf = ot_tensor_new(OCTET_FLOAT, 1, d3), *z2 = qtensor(OCTET_UINT8, 1, (int64_t[]){2}, 0, 9);

    /* QLinearConv: x, xs, xz, w, ws, wz, ys, yz, B */
    const octet_tensor *ok[9] = {x, s1, zu, w, s3, zu, s1, zu, b3};
    {
        octet_tensor y = {0};
        op_env e = env_new("QLinearConv", 9, ok);
        assert_int_equal(run_op(&e, 10, 1, ok, 9, &y, true), OCTET_OK);
        ot_tensor_reset(&y);
        env_free(&e);
    }
    const octet_tensor *t[9];
#define WITH(i, v) (memcpy(t, ok, sizeof ok), t[i] = (v), t)
    expect_error("QLinearConv", WITH(0, xf), 9, NULL, 0, "uint8 or int8");
    expect_error("QLinearConv", WITH(2, zs), 9, NULL, 0, "x_zero_point");
    expect_error("QLinearConv", WITH(5, zs), 9, NULL, 0, "w_zero_point");
    expect_error("QLinearConv", WITH(5, z2), 9, NULL, 0, "w_zero_point");
    expect_error("QLinearConv", WITH(4, s2), 9, NULL, 0, "w_scale");
    expect_error("QLinearConv", WITH(1, s3), 9, NULL, 0, "x_scale");
    expect_error("QLinearConv", WITH(6, zu), 9, NULL, 0, "y_scale");
    expect_error("QLinearConv", WITH(8, bf), 9, NULL, 0, "(B)");
    expect_error("QLinearConv", WITH(8, b4), 9, NULL, 0, "(B)");
    expect_error("QLinearConv", WITH(3, wbad), 9, NULL, 0, "channel");
    expect_error("QLinearConv", WITH(3, wbad), 9, NULL, 0, "channel");
    expect_error("QLinearConv", ok, 9, "group", 0, "group");
    expect_error("QLinearConv", ok, 9, "group", 3, "divisible");
    /* fused activation with an empty range */
    {
        op_env e = env_new("QLinearConv", 9, ok);
        ot_node_add_attr_int(e.node, "octet_act_lo", 200);
        ot_node_add_attr_int(e.node, "octet_act_hi", 100);
        octet_tensor y = {0};
        assert_int_not_equal(run_op(&e, 10, 1, ok, 9, &y, true), OCTET_OK);
        assert_non_null(strstr(octet_last_error(), "octet_act"));
        ot_tensor_reset(&y);
        env_free(&e);
    }
    /* missing required input */
    expect_error("QLinearConv", WITH(6, NULL), 9, NULL, 0, "");
    /* ConvInteger */
    const octet_tensor *ci[4] = {x, w, zs, NULL};
    expect_error("ConvInteger", ci, 3, NULL, 0, "x_zero_point");
    const octet_tensor *ci2[2] = {x, wbad};
    expect_error("ConvInteger", ci2, 2, NULL, 0, "channel");
    /* 4 spatial dimensions */
    int64_t x6[6] = {1, 1, 2, 2, 2, 2}, w6[6] = {1, 1, 1, 1, 1, 1};
    octet_tensor *x6t = qtensor(OCTET_UINT8, 6, x6, 0, 9), *w6t = qtensor(OCTET_UINT8, 6, w6, 0, 9);
    const octet_tensor *ci3[2] = {x6t, w6t};
    expect_error("ConvInteger", ci3, 2, NULL, 0, "spatial");
    /* MatMulInteger */
    int64_t ad[2] = {4, 6}, bd[2] = {6, 3}, bbad[2] = {5, 3};
    octet_tensor *A = qtensor(OCTET_UINT8, 2, ad, 0, 255), *B = qtensor(OCTET_INT8, 2, bd, -128, 127);
    octet_tensor *Bbad = qtensor(OCTET_INT8, 2, bbad, -128, 127);
    int64_t rowz[1] = {4};
    octet_tensor *azrow = qtensor(OCTET_UINT8, 1, rowz, 0, 255);
    ((uint8_t *)azrow->data)[0] = 1, ((uint8_t *)azrow->data)[1] = 2;
    const octet_tensor *m1[4] = {A, B, zs, NULL};
    expect_error("MatMulInteger", m1, 3, NULL, 0, "a_zero_point");
    const octet_tensor *m2[4] = {A, B, zu, zu};
    expect_error("MatMulInteger", m2, 4, NULL, 0, "b_zero_point");
    const octet_tensor *m3[2] = {A, Bbad};
    expect_error("MatMulInteger", m3, 2, NULL, 0, "inner dimensions");
    const octet_tensor *m4[3] = {A, B, azrow};
    expect_error("MatMulInteger", m4, 3, NULL, 0, "per-row");
    const octet_tensor *m5[2] = {xf, B};
    expect_error("MatMulInteger", m5, 2, NULL, 0, "uint8 or int8");
    const octet_tensor *m6[4] = {A, B, NULL, z2};
    expect_error("MatMulInteger", m6, 4, NULL, 0, "b_zero_point");
    /* QLinearMatMul: a, as, az, b, bs, bz, ys, yz */
    const octet_tensor *q1[8] = {A, s1, zu, B, s1, zs, s1, zs};
    {
        octet_tensor y = {0};
        op_env e = env_new("QLinearMatMul", 8, q1);
        assert_int_equal(run_op(&e, 10, 1, q1, 8, &y, true), OCTET_OK);
        assert_int_equal(y.dtype, OCTET_INT8);   /* y_zero_point's type */
        ot_tensor_reset(&y);
        env_free(&e);
    }
    const octet_tensor *q2[8] = {A, s1, zs, B, s1, zs, s1, zs};
    expect_error("QLinearMatMul", q2, 8, NULL, 0, "a_zero_point");
    const octet_tensor *q3[8] = {A, s1, zu, B, s2, zs, s1, zs};
    expect_error("QLinearMatMul", q3, 8, NULL, 0, "b_scale");
    const octet_tensor *q4[8] = {A, s3, zu, B, s1, zs, s1, zs};
    expect_error("QLinearMatMul", q4, 8, NULL, 0, "a_scale");
    const octet_tensor *q5[8] = {A, s1, zu, B, s1, zs, s1, b3};
    expect_error("QLinearMatMul", q5, 8, NULL, 0, "y_zero_point");
    const octet_tensor *q6[8] = {A, s1, zu, B, s1, zu, s1, zs};
    expect_error("QLinearMatMul", q6, 8, NULL, 0, "b_zero_point");
#undef WITH
    octet_tensor *all[] = {x, w, wbad, xf, zu, zs, s1, s2, s3, b3, b4, bf, z2, x6t, w6t, A, B, Bbad, azrow};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) octet_tensor_free(all[i]);
}

/* ---- main: run, then re-run with the scalar kernels in a child process ---- */

int main(int argc, char **argv) {
    (void)argc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qlinearconv_hand),    cmocka_unit_test(test_qlinearconv_random),
        cmocka_unit_test(test_convinteger_random),  cmocka_unit_test(test_qconv_driver_isa),
        cmocka_unit_test(test_matmulinteger_random), cmocka_unit_test(test_qlinearmatmul_random),
        cmocka_unit_test(test_errors),              cmocka_unit_test(test_qconv_driver_small_channels),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    const char *isa = getenv("OCTET_ISA");
    if (isa || ot_cpu_isa_best() == OT_ISA_SCALAR) return rc;
    /* Same tests (same seeds, same references) on the scalar kernels: they must match too. */
    printf("[ re-run ] with OCTET_ISA=scalar\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("OCTET_ISA", "scalar", 1);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the OCTET_ISA=scalar re-run failed\n");
        return rc ? rc : 1;
    }
    return rc;
}
