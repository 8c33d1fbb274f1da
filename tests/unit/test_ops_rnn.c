/* LSTM, GRU, RNN against a plain step-by-step reference written here from the ONNX equations (in
 * double precision, no shared code with src/ops/rnn.c), on random weights and odd sizes: every
 * direction, sequence_lens, initial states, peepholes, clip, input_forget, layout=1,
 * linear_before_reset, all activation functions with alpha/beta; prepared (constant R) and
 * unprepared paths, 1 and 2 threads. Also: the AVX2 kernels against their scalar twins (bit-exact),
 * sigmoid/tanh accuracy, and error cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "ir/graph.h"
#include "kernels/cpu.h"
#include "kernels/rnn_f32.h"
#include "ops/op.h"
#include "tensor/tensor.h"

/* ---- random numbers and tensors ---- */

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static float runif(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 100001) / 100000.0f; }

static octet_tensor *ftensor(int ndim, const int64_t *dims, float lo, float hi) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    assert_non_null(t);
    float *d = t->data;
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) d[i] = runif(lo, hi);
    return t;
}

/* ---- the reference (double precision, straight from the spec) ---- */

typedef struct {
    const char *name;
    double alpha, beta;
} ref_act;

/* activation names are case-insensitive (as in ONNX Runtime) */
static bool is(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

static double ref_apply(const ref_act *a, double x) {
    const char *n = a->name;
    if (is(n, "Relu")) return x > 0 ? x : 0;
    if (is(n, "Tanh")) return tanh(x);
    if (is(n, "Sigmoid")) return 1.0 / (1.0 + exp(-x));
    if (is(n, "Affine")) return a->alpha * x + a->beta;
    if (is(n, "LeakyRelu")) return x >= 0 ? x : a->alpha * x;
    if (is(n, "ThresholdedRelu")) return x > a->alpha ? x : 0;
    if (is(n, "ScaledTanh")) return a->alpha * tanh(a->beta * x);
    if (is(n, "HardSigmoid")) return fmax(0.0, fmin(1.0, a->alpha * x + a->beta));
    if (is(n, "Elu")) return x >= 0 ? x : a->alpha * (exp(x) - 1.0);
    if (is(n, "Softsign")) return x / (1.0 + fabs(x));
    if (is(n, "Softplus")) return log(1.0 + exp(x));
    fail_msg("unknown activation %s", n);
    return 0;
}

enum { RNN_ = 0, GRU_ = 1, LSTM_ = 2 };

typedef struct {
    int cell;             /* RNN_, GRU_, LSTM_ */
    int T, B, I, H;
    int dir;              /* 0 forward, 1 reverse, 2 bidirectional */
    int layout;
    bool has_b, has_seq, has_h0, has_c0, has_p, y_only_h;
    float clip;           /* 0 = none */
    bool input_forget, lbr;
    int n_acts;           /* 0 = defaults */
    const char *acts[6];
    int n_alpha, n_beta;
    float alpha[6], beta[6];
    int threads;
    bool const_r;
} rnn_case;

static int gates_of(int cell) { return cell == LSTM_ ? 4 : cell == GRU_ ? 3 : 1; }
static int nact_of(int cell) { return cell == LSTM_ ? 3 : cell == GRU_ ? 2 : 1; }

/* Resolve the activation list per direction, consuming alpha/beta in order. */
static void ref_acts(const rnn_case *c, ref_act out[2][3]) {
    static const char *defs[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int per = nact_of(c->cell), nd = c->dir == 2 ? 2 : 1;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < per; i++) out[d][i] = (ref_act){defs[c->cell][i], 0, 0};
    if (!c->n_acts) return;
    ref_act list[6];
    int ia = 0, ib = 0;
    for (int i = 0; i < c->n_acts; i++) {
        const char *n = c->acts[i];
        list[i].name = n;
        bool ta = is(n, "Affine") || is(n, "LeakyRelu") || is(n, "ThresholdedRelu") ||
                  is(n, "ScaledTanh") || is(n, "HardSigmoid") || is(n, "Elu");
        bool tb = is(n, "Affine") || is(n, "ScaledTanh") || is(n, "HardSigmoid");
        double da = is(n, "LeakyRelu") ? 0.01 : is(n, "HardSigmoid") ? 0.2 : is(n, "Elu") ? 1.0 : 0.0;
        double db = is(n, "HardSigmoid") ? 0.5 : 0.0;
        list[i].alpha = ta && ia < c->n_alpha ? c->alpha[ia++] : da;
        list[i].beta = tb && ib < c->n_beta ? c->beta[ib++] : db;
    }
    for (int d = 0; d < nd; d++)
        for (int i = 0; i < per; i++) out[d][i] = list[c->n_acts == per * nd ? d * per + i : i];
}

static double clipd(const rnn_case *c, double x) {
    if (c->clip <= 0) return x;
    return x > c->clip ? c->clip : x < -c->clip ? -c->clip : x;
}

/* x·W_q^T + h·R_q^T for gate block q, unit j (no biases). */
static double dotx(const float *W, int q, int j, int H, int I, const double *x) {
    double s = 0;
    for (int k = 0; k < I; k++) s += (double)W[((size_t)q * H + j) * I + k] * x[k];
    return s;
}

typedef struct {
    octet_tensor *X, *W, *R, *Bt, *seq, *h0, *c0, *P;
} rnn_inputs;

static void reference(const rnn_case *c, const rnn_inputs *in, double *Y, double *Yh, double *Yc) {
    int T = c->T, B = c->B, I = c->I, H = c->H, G = gates_of(c->cell), nd = c->dir == 2 ? 2 : 1;
    ref_act acts[2][3];
    ref_acts(c, acts);
    const float *X = in->X->data;
    memset(Y, 0, sizeof(double) * T * nd * B * H);
    double *x = malloc(sizeof(double) * I), *h = malloc(sizeof(double) * H), *cc = malloc(sizeof(double) * H);
    double *hn = malloc(sizeof(double) * H), *a = malloc(sizeof(double) * 4 * H), *rh = malloc(sizeof(double) * H);
    for (int d = 0; d < nd; d++) {
        bool rev = d == 1 || c->dir == 1;
        const float *W = (const float *)in->W->data + (size_t)d * G * H * I;
        const float *R = (const float *)in->R->data + (size_t)d * G * H * H;
        const float *Wb = in->Bt ? (const float *)in->Bt->data + (size_t)d * 2 * G * H : NULL;
        const float *Rb = Wb ? Wb + G * H : NULL;
        const float *P = in->P ? (const float *)in->P->data + (size_t)d * 3 * H : NULL;
        for (int b = 0; b < B; b++) {
            int len = in->seq ? ((const int32_t *)in->seq->data)[b] : T;
            size_t so = c->layout ? ((size_t)b * nd + d) * H : ((size_t)d * B + b) * H;
            for (int j = 0; j < H; j++) {
                h[j] = in->h0 ? ((const float *)in->h0->data)[so + j] : 0;
                cc[j] = in->c0 ? ((const float *)in->c0->data)[so + j] : 0;
            }
            for (int s = 0; s < len; s++) {
                int t = rev ? len - 1 - s : s;
                size_t xo = c->layout ? ((size_t)b * T + t) * I : ((size_t)t * B + b) * I;
                for (int k = 0; k < I; k++) x[k] = X[xo + k];
                /* pre-activations without the recurrent part of GRU's h gate */
                for (int q = 0; q < G; q++)
                    for (int j = 0; j < H; j++) {
                        double v = dotx(W, q, j, H, I, x) + (Wb ? Wb[q * H + j] : 0);
                        if (!(c->cell == GRU_ && q == 2)) v += dotx(R, q, j, H, H, h) + (Rb ? Rb[q * H + j] : 0);
                        a[q * H + j] = v;
                    }
                if (c->cell == RNN_) {
                    for (int j = 0; j < H; j++) hn[j] = ref_apply(&acts[d][0], clipd(c, a[j]));
                } else if (c->cell == GRU_) {
                    double *z = a, *r = a + H, *hh = a + 2 * H;
                    for (int j = 0; j < H; j++) {
                        z[j] = ref_apply(&acts[d][0], clipd(c, z[j]));
                        r[j] = ref_apply(&acts[d][0], clipd(c, r[j]));
                        rh[j] = r[j] * h[j];
                    }
                    for (int j = 0; j < H; j++) {
                        double rec;
                        if (c->lbr) rec = r[j] * (dotx(R, 2, j, H, H, h) + (Rb ? Rb[2 * H + j] : 0));
                        else rec = dotx(R, 2, j, H, H, rh) + (Rb ? Rb[2 * H + j] : 0);
                        double ht = ref_apply(&acts[d][1], clipd(c, hh[j] + rec));
                        hn[j] = (1 - z[j]) * ht + z[j] * h[j];
                    }
                } else { /* LSTM, gate blocks i o f c */
                    for (int j = 0; j < H; j++) {
                        double ig = ref_apply(&acts[d][0], clipd(c, a[j] + (P ? P[j] * cc[j] : 0)));
                        double fpre = a[2 * H + j] + (P ? P[2 * H + j] * cc[j] : 0);
                        double fg = c->input_forget ? 1 - ig : ref_apply(&acts[d][0], clipd(c, fpre));
                        double cg = ref_apply(&acts[d][1], clipd(c, a[3 * H + j]));
                        double cn = fg * cc[j] + ig * cg;
                        double og = ref_apply(&acts[d][0], clipd(c, a[H + j] + (P ? P[H + j] * cn : 0)));
                        cc[j] = cn;
                        hn[j] = og * ref_apply(&acts[d][2], cn);
                    }
                }
                memcpy(h, hn, sizeof(double) * H);
                size_t yo = c->layout ? (((size_t)b * T + t) * nd + d) * H : (((size_t)t * nd + d) * B + b) * H;
                for (int j = 0; j < H; j++) Y[yo + j] = h[j];
            }
            for (int j = 0; j < H; j++) {
                Yh[so + j] = len > 0 ? h[j] : 0;
                Yc[so + j] = len > 0 ? cc[j] : 0;
            }
        }
    }
    free(x), free(h), free(cc), free(hn), free(a), free(rh);
}

/* ---- running the op directly ---- */

static void add_strings_attr(ot_node *n, const char *name, const char *const *v, int count) {
    assert_int_equal(ot_node_add_attr_string(n, name, ""), OCTET_OK);
    ot_attr *a = &n->attrs[n->n_attrs - 1];
    free(a->s);
    a->s = NULL;
    a->s_len = 0;
    a->type = OT_ATTR_STRINGS;
    a->n = (size_t)count;
    a->strings = calloc((size_t)count + 1, sizeof *a->strings);
    for (int i = 0; i < count; i++) a->strings[i] = strdup(v[i]);
}

static ot_node *make_node(ot_graph *g, const rnn_case *c) {
    static const char *ops[] = {"RNN", "GRU", "LSTM"};
    ot_node *n = ot_graph_add_node(g, ops[c->cell], "", "rnn0");
    assert_non_null(n);
    static const char *dirs[] = {"forward", "reverse", "bidirectional"};
    if (c->dir || (rnd() & 1)) ot_node_add_attr_string(n, "direction", dirs[c->dir]);
    if (rnd() & 1) ot_node_add_attr_int(n, "hidden_size", c->H);
    if (c->layout) ot_node_add_attr_int(n, "layout", 1);
    if (c->clip > 0) ot_node_add_attr_float(n, "clip", c->clip);
    if (c->input_forget) ot_node_add_attr_int(n, "input_forget", 1);
    if (c->lbr) ot_node_add_attr_int(n, "linear_before_reset", 1);
    if (c->n_acts) add_strings_attr(n, "activations", c->acts, c->n_acts);
    if (c->n_alpha) ot_node_add_attr_floats(n, "activation_alpha", c->alpha, (size_t)c->n_alpha);
    if (c->n_beta) ot_node_add_attr_floats(n, "activation_beta", c->beta, (size_t)c->n_beta);
    return n;
}

static octet_status run_node(ot_node *n, const rnn_case *c, const octet_tensor **in, int n_in, octet_tensor **outs,
                             int n_out) {
    const ot_op_def *def = ot_op_find("", n->op_type);
    assert_non_null(def);
    ot_kernel k;
    memset(&k, 0, sizeof k);
    k.node = n;
    k.def = def;
    k.opset = 14;
    k.threads = c->threads;
    octet_status s = OCTET_OK;
    const octet_tensor *consts[8] = {0};
    for (int i = 1; i < n_in && i < 4 && c->const_r; i++) consts[i] = in[i];
    s = def->prepare(&k, consts, n_in);
    if (s == OCTET_OK) s = def->run(&k, in, n_in, outs, n_out);
    if (def->release && k.state) def->release(k.state);
    return s;
}

static void make_inputs(const rnn_case *c, rnn_inputs *in) {
    int G = gates_of(c->cell), nd = c->dir == 2 ? 2 : 1;
    memset(in, 0, sizeof *in);
    int64_t xd[3] = {c->T, c->B, c->I}, xd1[3] = {c->B, c->T, c->I};
    in->X = ftensor(3, c->layout ? xd1 : xd, -1.5f, 1.5f);
    float ws = 1.2f / sqrtf((float)c->H);
    in->W = ftensor(3, (int64_t[]){nd, G * c->H, c->I}, -ws, ws);
    in->R = ftensor(3, (int64_t[]){nd, G * c->H, c->H}, -ws, ws);
    if (c->has_b) in->Bt = ftensor(2, (int64_t[]){nd, 2 * G * c->H}, -0.5f, 0.5f);
    if (c->has_seq) {
        in->seq = ot_tensor_new(OCTET_INT32, 1, (int64_t[]){c->B});
        for (int b = 0; b < c->B; b++) ((int32_t *)in->seq->data)[b] = (int32_t)(rnd() % (uint32_t)(c->T + 1));
        ((int32_t *)in->seq->data)[0] = c->T; /* at least one full row */
    }
    int64_t sd[3] = {nd, c->B, c->H}, sd1[3] = {c->B, nd, c->H};
    if (c->has_h0) in->h0 = ftensor(3, c->layout ? sd1 : sd, -1, 1);
    if (c->has_c0) in->c0 = ftensor(3, c->layout ? sd1 : sd, -1, 1);
    if (c->has_p) in->P = ftensor(2, (int64_t[]){nd, 3 * c->H}, -0.7f, 0.7f);
}

static void free_inputs(rnn_inputs *in) {
    octet_tensor_free(in->X), octet_tensor_free(in->W), octet_tensor_free(in->R), octet_tensor_free(in->Bt);
    octet_tensor_free(in->seq), octet_tensor_free(in->h0), octet_tensor_free(in->c0), octet_tensor_free(in->P);
}

static void expect_close(const char *what, const rnn_case *c, const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double tol = 3e-5 + 3e-5 * fabs(want[i]);
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("%s[%zu]: got %.7g, want %.7g (cell %d T%d B%d I%d H%d dir %d layout %d seq %d h0 %d c0 %d P %d "
                     "clip %g if %d lbr %d acts %d thr %d const %d)",
                     what, i, got[i], want[i], c->cell, c->T, c->B, c->I, c->H, c->dir, c->layout, c->has_seq,
                     c->has_h0, c->has_c0, c->has_p, c->clip, c->input_forget, c->lbr, c->n_acts, c->threads,
                     c->const_r);
    }
}

static void check_case(const rnn_case *c) {
    int nd = c->dir == 2 ? 2 : 1;
    rnn_inputs in;
    make_inputs(c, &in);
    const octet_tensor *ins[8] = {in.X, in.W, in.R, in.Bt, in.seq, in.h0, in.c0, in.P};
    int n_in = c->cell == LSTM_ ? 8 : 6;
    while (n_in > 3 && !ins[n_in - 1]) n_in--; /* trailing omitted inputs may be absent */
    octet_tensor Y = {0}, Yh = {0}, Yc = {0};
    octet_tensor *outs[3] = {c->y_only_h ? NULL : &Y, &Yh, c->cell == LSTM_ ? &Yc : NULL};
    int n_out = c->cell == LSTM_ ? 3 : 2;
    ot_graph *g = ot_graph_new("t");
    ot_node *n = make_node(g, c);
    octet_status s = run_node(n, c, ins, n_in, outs, n_out);
    if (s != OCTET_OK) fail_msg("run failed: %s", octet_last_error());

    size_t ny = (size_t)c->T * nd * c->B * c->H, nh = (size_t)nd * c->B * c->H;
    double *wy = calloc(ny + 1, sizeof *wy), *wh = calloc(nh + 1, sizeof *wh), *wc = calloc(nh + 1, sizeof *wc);
    reference(c, &in, wy, wh, wc);
    if (!c->y_only_h) {
        assert_int_equal(Y.ndim, 4);
        int64_t want[4] = {c->T, nd, c->B, c->H}, want1[4] = {c->B, c->T, nd, c->H};
        for (int i = 0; i < 4; i++) assert_int_equal(Y.dims[i], c->layout ? want1[i] : want[i]);
        expect_close("Y", c, Y.data, wy, ny);
    }
    assert_int_equal(Yh.ndim, 3);
    expect_close("Y_h", c, Yh.data, wh, nh);
    if (c->cell == LSTM_) expect_close("Y_c", c, Yc.data, wc, nh);
    free(wy), free(wh), free(wc);
    ot_tensor_reset(&Y), ot_tensor_reset(&Yh), ot_tensor_reset(&Yc);
    ot_graph_free(g);
    free_inputs(&in);
}

/* ---- tests ---- */

static rnn_case base(int cell, int T, int B, int H) {
    rnn_case c;
    memset(&c, 0, sizeof c);
    c.cell = cell, c.T = T, c.B = B, c.I = 5, c.H = H, c.threads = 1, c.const_r = true;
    return c;
}

/* The grid the brief asks for: hidden 1/3/17, input 5, seq 1/7, batch 1/3, every direction, with
 * and without every optional input, layouts, lbr, clip; prepared and unprepared R. */
static void test_grid(void **st) {
    (void)st;
    static const int Hs[] = {1, 3, 17}, Ts[] = {1, 7}, Bs[] = {1, 3};
    int n = 0;
    for (int cell = 0; cell < 3; cell++)
        for (int hi = 0; hi < 3; hi++)
            for (int ti = 0; ti < 2; ti++)
                for (int bi = 0; bi < 2; bi++)
                    for (int dir = 0; dir < 3; dir++)
                        for (int variant = 0; variant < 4; variant++) {
                            rnn_case c = base(cell, Ts[ti], Bs[bi], Hs[hi]);
                            c.dir = dir;
                            c.has_b = variant != 0;
                            c.has_seq = variant >= 2;
                            c.has_h0 = variant == 1 || variant == 3;
                            c.has_c0 = cell == LSTM_ && variant == 3;
                            c.has_p = cell == LSTM_ && variant >= 2;
                            c.layout = (variant + dir + hi) % 2;
                            c.lbr = cell == GRU_ && (variant & 1);
                            c.clip = variant == 3 ? 0.9f : 0.0f;
                            c.input_forget = cell == LSTM_ && variant == 2 && dir == 1;
                            c.const_r = (variant + ti) % 2 == 0;
                            c.y_only_h = variant == 1 && bi == 1;
                            check_case(&c);
                            n++;
                        }
    assert_int_equal(n, 3 * 3 * 2 * 2 * 3 * 4);
}

/* Bigger shapes: every tile shape of the packed kernel (batch 1..5 rows, partial panels), the BLAS
 * path (batch > 8), and two threads. */
static void test_bigger(void **st) {
    (void)st;
    static const int Bs[] = {1, 2, 3, 4, 5, 9, 10};
    for (int cell = 0; cell < 3; cell++)
        for (int bi = 0; bi < 7; bi++) {
            rnn_case c = base(cell, 6, Bs[bi], 37);
            c.I = 23;
            c.dir = bi % 3;
            c.has_b = c.has_h0 = true;
            c.has_c0 = c.has_p = cell == LSTM_;
            c.has_seq = bi >= 3;
            c.lbr = cell == GRU_ && bi % 2;
            c.layout = bi == 4;
            c.threads = 1 + bi % 2;
            c.const_r = bi != 2;
            check_case(&c);
        }
}

static void test_activations(void **st) {
    (void)st;
    static const char *names[] = {"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu",
                                  "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"};
    for (int cell = 0; cell < 3; cell++)
        for (int i = 0; i < 11; i++) {
            rnn_case c = base(cell, 4, 2, 6);
            c.has_b = true;
            c.dir = i % 3;
            int per = nact_of(cell), nd = c.dir == 2 ? 2 : 1;
            /* activation i first, then others round-robin; some lists shorter than needed */
            c.n_acts = per * nd;
            for (int j = 0; j < c.n_acts; j++) c.acts[j] = names[(i + 4 * j) % 11];
            c.n_alpha = (i % 3 == 0) ? 1 : 4;
            c.n_beta = (i % 2 == 0) ? 0 : 3;
            for (int j = 0; j < 6; j++) c.alpha[j] = 0.3f + 0.25f * j, c.beta[j] = -0.2f + 0.3f * j;
            check_case(&c);
        }
    /* one set of names for both directions; case-insensitive names */
    rnn_case c = base(LSTM_, 5, 2, 4);
    c.dir = 2;
    c.n_acts = 3;
    c.acts[0] = "hardsigmoid", c.acts[1] = "SOFTSIGN", c.acts[2] = "Elu";
    c.n_alpha = 1, c.alpha[0] = 0.3f;
    check_case(&c);
}

/* All rows shorter than T, zero-length rows, reverse direction with lengths. */
static void test_sequence_lens(void **st) {
    (void)st;
    for (int cell = 0; cell < 3; cell++)
        for (int dir = 0; dir < 3; dir++) {
            rnn_case c = base(cell, 7, 3, 5);
            c.dir = dir;
            c.has_seq = c.has_h0 = c.has_b = true;
            c.has_c0 = cell == LSTM_;
            rnn_inputs in;
            make_inputs(&c, &in);
            int32_t *L = in.seq->data;
            L[0] = 0, L[1] = 3, L[2] = 6;
            const octet_tensor *ins[8] = {in.X, in.W, in.R, in.Bt, in.seq, in.h0, in.c0, in.P};
            int n_in = cell == LSTM_ ? 7 : 6;
            octet_tensor Y = {0}, Yh = {0}, Yc = {0};
            octet_tensor *outs[3] = {&Y, &Yh, &Yc};
            ot_graph *g = ot_graph_new("t");
            ot_node *n = make_node(g, &c);
            assert_int_equal(run_node(n, &c, ins, n_in, outs, cell == LSTM_ ? 3 : 2), OCTET_OK);
            int nd = dir == 2 ? 2 : 1;
            size_t ny = (size_t)7 * nd * 3 * 5, nh = (size_t)nd * 3 * 5;
            double *wy = calloc(ny, sizeof *wy), *wh = calloc(nh, sizeof *wh), *wc = calloc(nh, sizeof *wc);
            reference(&c, &in, wy, wh, wc);
            expect_close("Y", &c, Y.data, wy, ny);
            expect_close("Y_h", &c, Yh.data, wh, nh);
            if (cell == LSTM_) expect_close("Y_c", &c, Yc.data, wc, nh);
            /* row 0 has length 0: all its outputs are zero, whatever initial_h says */
            for (int d = 0; d < nd; d++)
                for (int j = 0; j < 5; j++) assert_true(((float *)Yh.data)[(d * 3 + 0) * 5 + j] == 0.0f);
            free(wy), free(wh), free(wc);
            ot_tensor_reset(&Y), ot_tensor_reset(&Yh), ot_tensor_reset(&Yc);
            ot_graph_free(g);
            free_inputs(&in);
        }
}

/* Packed GEMM (AVX2) against its scalar twin, bit for bit; sigmoid/tanh likewise and vs libm. */
static void test_kernels(void **st) {
    (void)st;
    static const int ms[] = {1, 2, 3, 4, 5, 7, 8}, ns[] = {1, 15, 16, 17, 48, 65, 130}, ks[] = {1, 3, 33};
    for (int mi = 0; mi < 7; mi++)
        for (int ni = 0; ni < 7; ni++)
            for (int ki = 0; ki < 3; ki++) {
                int m = ms[mi], n = ns[ni], k = ks[ki];
                float *w = malloc(sizeof(float) * n * k), *a = malloc(sizeof(float) * m * (k + 2));
                float *p = malloc(sizeof(float) * ot_rnn_pack_floats(n, k));
                float *c1 = malloc(sizeof(float) * m * (n + 3)), *c2 = malloc(sizeof(float) * m * (n + 3));
                float *c0 = malloc(sizeof(float) * m * (n + 3));
                for (int i = 0; i < n * k; i++) w[i] = runif(-1, 1);
                for (int i = 0; i < m * (k + 2); i++) a[i] = runif(-1, 1);
                for (int i = 0; i < m * (n + 3); i++) c0[i] = c1[i] = c2[i] = runif(-1, 1);
                ot_rnn_pack(w, n, k, k, p);
                ot_rnn_gemm_acc(m, n, k, a, k + 2, p, c1, n + 3, 1 + (ni % 2)); /* dispatched, threaded */
                ot_rnn_gemm_acc_ref(m, n, k, a, k + 2, p, c2, n + 3);
                assert_memory_equal(c1, c2, sizeof(float) * m * (n + 3));
                if (ot_cpu_isa_supported(OT_ISA_AVX2)) { /* the AVX2 kernel itself, even under OCTET_ISA=scalar */
                    memcpy(c1, c0, sizeof(float) * m * (n + 3));
                    ot_rnn_gemm_acc_avx2(m, 0, n, k, a, k + 2, p, c1, n + 3);
                    assert_memory_equal(c1, c2, sizeof(float) * m * (n + 3));
                }
                /* and the math: against a double product */
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int q = 0; q < k; q++) s += (double)a[i * (k + 2) + q] * w[j * k + q];
                        assert_true(fabs(c2[i * (n + 3) + j] - c0[i * (n + 3) + j] - s) < 1e-4);
                    }
                free(w), free(a), free(p), free(c0), free(c1), free(c2);
            }
    int N = 20011;
    float *x = malloc(sizeof(float) * N), *y1 = malloc(sizeof(float) * N), *y2 = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) * 0.0033f;
    x[0] = -100.0f, x[1] = 100.0f, x[2] = 1e-30f, x[3] = -0.0f, x[4] = 0.625f, x[5] = -0.62499f, x[6] = 9.5f;
    for (int f = 0; f < 2; f++) {
        memcpy(y1, x, sizeof(float) * N);
        memcpy(y2, x, sizeof(float) * N);
        if (f == 0) ot_rnn_sigmoid(y1, N), ot_rnn_sigmoid_ref(y2, N);
        else ot_rnn_tanh(y1, N), ot_rnn_tanh_ref(y2, N);
        assert_memory_equal(y1, y2, sizeof(float) * N);
        if (ot_cpu_isa_supported(OT_ISA_AVX2)) {
            float *y3 = malloc(sizeof(float) * N);
            memcpy(y3, x, sizeof(float) * N);
            if (f == 0) ot_rnn_sigmoid_avx2(y3, N);
            else ot_rnn_tanh_avx2(y3, N);
            assert_memory_equal(y3, y2, sizeof(float) * N);
            free(y3);
        }
        double worst = 0;
        for (int i = 0; i < N; i++) {
            double want = f == 0 ? 1.0 / (1.0 + exp(-(double)x[i])) : tanh((double)x[i]);
            double err = fabs(y1[i] - want);
            worst = err > worst ? err : worst;
            if (fabs(want) > 1e-3) assert_true(err / fabs(want) < 1e-6);
        }
        assert_true(worst < 2e-7);
    }
    free(x), free(y1), free(y2);
}

static void test_errors(void **st) {
    (void)st;
    rnn_case c = base(LSTM_, 3, 2, 4);
    rnn_inputs in;
    make_inputs(&c, &in);
    octet_tensor Y = {0};
    octet_tensor *outs[1] = {&Y};
    ot_graph *g = ot_graph_new("t");
    /* wrong hidden_size */
    ot_node *n = ot_graph_add_node(g, "LSTM", "", "bad_hidden");
    ot_node_add_attr_int(n, "hidden_size", 5);
    const octet_tensor *ins[3] = {in.X, in.W, in.R};
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_ERR_SHAPE);
    assert_non_null(strstr(octet_last_error(), "hidden_size"));
    /* bad direction, bad activation, bad layout */
    n = ot_graph_add_node(g, "LSTM", "", "bad_dir");
    ot_node_add_attr_string(n, "direction", "sideways");
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_ERR_PARSE);
    n = ot_graph_add_node(g, "LSTM", "", "bad_act");
    add_strings_attr(n, "activations", (const char *[]){"Sigmoid", "Tanh", "Gelu"}, 3);
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_ERR_UNSUPPORTED);
    n = ot_graph_add_node(g, "LSTM", "", "bad_nacts");
    add_strings_attr(n, "activations", (const char *[]){"Sigmoid", "Tanh"}, 2);
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_ERR_PARSE);
    n = ot_graph_add_node(g, "LSTM", "", "bad_layout");
    ot_node_add_attr_int(n, "layout", 2);
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_ERR_PARSE);
    /* W of another direction count; R of the wrong width; X of rank 2 */
    n = ot_graph_add_node(g, "LSTM", "", "ok");
    const octet_tensor *bad_w[3] = {in.X, in.R, in.R};
    assert_int_equal(run_node(n, &c, bad_w, 3, outs, 1), OCTET_ERR_SHAPE);
    octet_tensor *x2 = ftensor(2, (int64_t[]){3, 5}, -1, 1);
    const octet_tensor *bad_x[3] = {x2, in.W, in.R};
    assert_int_equal(run_node(n, &c, bad_x, 3, outs, 1), OCTET_ERR_SHAPE);
    /* sequence_lens past T */
    octet_tensor *sl = ot_tensor_new(OCTET_INT32, 1, (int64_t[]){2});
    ((int32_t *)sl->data)[0] = 1, ((int32_t *)sl->data)[1] = 4;
    const octet_tensor *bad_sl[5] = {in.X, in.W, in.R, NULL, sl};
    assert_int_equal(run_node(n, &c, bad_sl, 5, outs, 1), OCTET_ERR_SHAPE);
    /* initial_h of the wrong batch */
    octet_tensor *h0 = ftensor(3, (int64_t[]){1, 3, 4}, -1, 1);
    const octet_tensor *bad_h[6] = {in.X, in.W, in.R, NULL, NULL, h0};
    assert_int_equal(run_node(n, &c, bad_h, 6, outs, 1), OCTET_ERR_SHAPE);
    /* double inputs are refused, not misread */
    octet_tensor *xd = ot_tensor_new(OCTET_DOUBLE, 3, in.X->dims);
    const octet_tensor *bad_t[3] = {xd, in.W, in.R};
    assert_int_equal(run_node(n, &c, bad_t, 3, outs, 1), OCTET_ERR_UNSUPPORTED);
    /* and the good call still works */
    assert_int_equal(run_node(n, &c, ins, 3, outs, 1), OCTET_OK);
    octet_tensor_free(x2), octet_tensor_free(sl), octet_tensor_free(h0), octet_tensor_free(xd);
    ot_tensor_reset(&Y);
    ot_graph_free(g);
    free_inputs(&in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),      cmocka_unit_test(test_grid),   cmocka_unit_test(test_bigger),
        cmocka_unit_test(test_activations),  cmocka_unit_test(test_sequence_lens),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
