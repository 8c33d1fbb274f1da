/* Hard-swish fusion (ir/passes/fuse_hardswish.c): every written-out form becomes one HardSwish that
 * computes the same numbers (octet runs both graphs); near misses (other constants, another x, an
 * intermediate read twice, bounds that are not constant) stay as they are; the file mode raises opset 13
 * to 14 only when it is safe; on the PaddleOCR models the static preparation finds every pattern and the
 * float outputs do not move. */
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
#include "ir/passes/fuse_hardswish.h"
#include "quant/static_qdq.h"

static ot_node *node(ot_graph *g, const char *op, const char *name, int n_in, const char *const *in, const char *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
    return n;
}

static void scalar(ot_graph *g, const char *name, float v) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    *(float *)t->data = v;
    assert_int_equal(ot_graph_add_initializer(g, name, t), OCTET_OK);
}

static int count_op(const ot_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += strcmp(g->nodes[i]->op_type, op) == 0;
    return c;
}

/* The ways a hand-written hard-swish ends. */
typedef enum form {
    F_DIV,          /* Mul(x, clip) -> Div(., 6) */
    F_MUL_SIXTH,    /* Mul(clip, x) -> Mul(1/6, .) */
    F_DIV_FIRST,    /* Div(clip, 6) -> Mul(., x) */
    F_SIXTH_FIRST,  /* Mul(clip, 1/6) -> Mul(x, .) */
    F_HARDSIGMOID,  /* HardSigmoid(x; 1/6, 0.5) -> Mul(., x) */
} form;

/* What to get wrong for a near miss. */
typedef struct spoil {
    float three, lo, hi, six, alpha, beta; /* the constants (0 = the right one) */
    bool other_x;       /* the product takes x2, not x */
    bool clip_twice;    /* the Clip output is also a graph output */
    bool add_twice;     /* the Add output feeds a second node too */
    bool prod_twice;    /* the product before /6 feeds a second node too */
    bool bounds_input;  /* Clip's max is a graph input, not a constant */
    bool no_min;        /* Clip without a lower bound */
    bool const_rank4;   /* the 3 is a [1,1,1,1] tensor while x's rank is not declared */
} spoil;

/* x (and x2) [2,3,4,5] -> Relu -> hard-swish in the given form -> y; opset as given (Clip bounds as
 * attributes below 11). */
static octet_model *hs_model(form f, int64_t opset, const spoil *s) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", opset);
    ot_graph *g = m->graph;
    int64_t d[4] = {2, 3, 4, 5};
    ot_graph_add_input(g, "x0", OCTET_FLOAT, 4, d);
    ot_graph_add_input(g, "x2", OCTET_FLOAT, 4, d);
    if (s->bounds_input) ot_graph_add_input(g, "six_in", OCTET_FLOAT, 0, NULL);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 4, d);
    node(g, "Relu", "pre", 1, (const char *[]){"x0"}, "xr");
    /* x = relu(x0) - 4 in [-4, 4]: every piece of the curve shows (0 below -3, the parabola, x above 3) */
    scalar(g, "shift", -4.0f);
    node(g, "Add", "shift_add", 2, (const char *[]){"xr", "shift"}, "x");
    const char *x = "x", *px = s->other_x ? "x2" : "x";
    if (s->const_rank4) {
        int64_t one[4] = {1, 1, 1, 1};
        octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 4, one);
        *(float *)t->data = 3.0f;
        ot_graph_add_initializer(g, "three", t);
    } else {
        scalar(g, "three", s->three ? s->three : 3.0f);
    }
    scalar(g, "zero", s->lo ? s->lo : 0.0f);
    scalar(g, "six", s->hi ? s->hi : 6.0f);
    scalar(g, "six_div", s->six ? s->six : 6.0f);
    scalar(g, "sixth", s->six ? 1.0f / s->six : 1.0f / 6.0f);
    if (f == F_HARDSIGMOID) {
        ot_node *h = node(g, "HardSigmoid", "hsig", 1, (const char *[]){x}, "h");
        ot_node_add_attr_float(h, "alpha", s->alpha ? s->alpha : 1.0f / 6.0f);
        ot_node_add_attr_float(h, "beta", s->beta ? s->beta : 0.5f);
        node(g, "Mul", "mul", 2, (const char *[]){"h", px}, "y");
        return m;
    }
    node(g, "Add", "add3", 2, f == F_MUL_SIXTH ? (const char *[]){"three", x} : (const char *[]){x, "three"}, "a");
    ot_node *c;
    if (opset < 11) {
        c = node(g, "Clip", "clip", 1, (const char *[]){"a"}, "c");
        if (!s->no_min) ot_node_add_attr_float(c, "min", s->lo ? s->lo : 0.0f);
        ot_node_add_attr_float(c, "max", s->hi ? s->hi : 6.0f);
    } else if (s->no_min) {
        c = node(g, "Clip", "clip", 3, (const char *[]){"a", "", "six"}, "c");
    } else {
        c = node(g, "Clip", "clip", 3, (const char *[]){"a", "zero", s->bounds_input ? "six_in" : "six"}, "c");
    }
    (void)c;
    switch (f) {
    case F_DIV:
        node(g, "Mul", "mul", 2, (const char *[]){px, "c"}, "p");
        node(g, "Div", "div", 2, (const char *[]){"p", "six_div"}, "y");
        break;
    case F_MUL_SIXTH:
        node(g, "Mul", "mul", 2, (const char *[]){"c", px}, "p");
        node(g, "Mul", "scale", 2, (const char *[]){"sixth", "p"}, "y");
        break;
    case F_DIV_FIRST:
        node(g, "Div", "div", 2, (const char *[]){"c", "six_div"}, "p");
        node(g, "Mul", "mul", 2, (const char *[]){"p", px}, "y");
        break;
    case F_SIXTH_FIRST:
        node(g, "Mul", "scale", 2, (const char *[]){"c", "sixth"}, "p");
        node(g, "Mul", "mul", 2, (const char *[]){px, "p"}, "y");
        break;
    default: break;
    }
    if (s->clip_twice) ot_graph_add_output(g, "c", OCTET_FLOAT, 4, d);
    if (s->add_twice) {
        node(g, "Relu", "also_a", 1, (const char *[]){"a"}, "a2");
        ot_graph_add_output(g, "a2", OCTET_FLOAT, 4, d);
    }
    if (s->prod_twice) {
        node(g, "Neg", "also_p", 1, (const char *[]){"p"}, "p2");
        ot_graph_add_output(g, "p2", OCTET_FLOAT, 4, d);
    }
    return m;
}

static uint64_t g_seed = 777;
static float frand(void) {
    g_seed ^= g_seed << 13, g_seed ^= g_seed >> 7, g_seed ^= g_seed << 17;
    return (float)((double)(g_seed >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

/* Run m (no session rewrites) on x0, x2 uniform in [-8, 8] (fixed seed): the outputs, caller frees. */
static void run(const octet_model *m, octet_tensor **ys, int n_out) {
    int64_t d[4] = {2, 3, 4, 5};
    g_seed = 777; /* the same inputs on every call */
    octet_tensor *x[3];
    for (int k = 0; k < 2; k++) {
        x[k] = ot_tensor_new(OCTET_FLOAT, 4, d);
        for (int64_t i = 0; i < 120; i++) ((float *)x[k]->data)[i] = 8.0f * frand();
    }
    x[2] = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    *(float *)x[2]->data = 6.0f;
    int n_in = m->graph->n_inputs;
    octet_session *s;
    octet_session_options o = {.threads = 1, .disable_graph_optimizations = 1};
    assert_int_equal(octet_session_create(&s, m, &o), OCTET_OK);
    for (int i = 0; i < n_out; i++) ys[i] = NULL;
    if (octet_session_run(s, NULL, x, n_in, ys, n_out) != OCTET_OK) fail_msg("%s", octet_last_error());
    octet_session_free(s);
    for (int k = 0; k < 3; k++) octet_tensor_free(x[k]);
}

/* Fused: one HardSwish reading x, nothing else of the pattern left, the same numbers (the formulas
 * round differently: a few ulps). */
static void expect_fused(form f, int64_t opset) {
    spoil none = {0};
    octet_model *m = hs_model(f, opset, &none), *ref = ot_model_clone(m);
    int n = -1;
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, &n), OCTET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(count_op(m->graph, "HardSwish"), 1);
    assert_int_equal(count_op(m->graph, "Clip") + count_op(m->graph, "Div") + count_op(m->graph, "Mul") +
                         count_op(m->graph, "HardSigmoid"),
                     0);
    assert_int_equal(count_op(m->graph, "Add"), 1); /* the model's own x = relu(x0) - 4 */
    for (int i = 0; i < m->graph->n_nodes; i++)
        if (strcmp(m->graph->nodes[i]->op_type, "HardSwish") == 0) {
            assert_int_equal(m->graph->nodes[i]->n_inputs, 1);
            assert_string_equal(m->graph->nodes[i]->inputs[0], "x");
            assert_string_equal(m->graph->nodes[i]->outputs[0], "y");
            assert_int_equal(m->graph->nodes[i]->n_attrs, 0);
        }
    octet_tensor *a, *b;
    run(ref, &a, 1);
    run(m, &b, 1);
    int negative = 0, saturated = 0, curved = 0;
    for (int64_t i = 0; i < 120; i++) {
        float r = ((float *)a->data)[i], v = ((float *)b->data)[i];
        assert_true(fabsf(r - v) <= 1e-6f * (1.0f + fabsf(r)));
        negative += r < 0;
    }
    /* the inputs reach every piece: x <= -3 (0), -3 < x < 3 (curve), x >= 3 (identity) */
    for (int64_t i = 0; i < 120; i++) {
        float r = ((float *)a->data)[i];
        saturated += r > 3.0f;
        curved += r != 0.0f && r < 3.0f;
    }
    assert_true(negative > 0 && saturated > 0 && curved > 0 && curved + saturated < 120);
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_model_free(m);
    octet_model_free(ref);
}

static void test_forms_fuse(void **st) {
    (void)st;
    for (form f = F_DIV; f <= F_HARDSIGMOID; f++) {
        expect_fused(f, 14);
        expect_fused(f, 13);
        expect_fused(f, 9); /* Clip bounds as attributes */
    }
}

static void expect_kept(form f, int64_t opset, spoil s, const char *what) {
    octet_model *m = hs_model(f, opset, &s);
    int before = m->graph->n_nodes, n = -1;
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, &n), OCTET_OK);
    if (n != 0 || count_op(m->graph, "HardSwish") != 0 || m->graph->n_nodes != before)
        fail_msg("near miss fused: %s (form %d, opset %lld)", what, (int)f, (long long)opset);
    octet_model_free(m);
}

static void test_near_misses(void **st) {
    (void)st;
    for (form f = F_DIV; f <= F_SIXTH_FIRST; f++) {
        expect_kept(f, 14, (spoil){.three = 2.9f}, "x + 2.9");
        expect_kept(f, 14, (spoil){.three = 3.0001f}, "x + 3.0001");
        expect_kept(f, 14, (spoil){.lo = -0.5f}, "Clip min -0.5");
        expect_kept(f, 9, (spoil){.lo = 0.01f}, "Clip min attribute 0.01");
        expect_kept(f, 14, (spoil){.hi = 5.99f}, "Clip max 5.99");
        expect_kept(f, 9, (spoil){.hi = 6.5f}, "Clip max attribute 6.5");
        expect_kept(f, 14, (spoil){.six = 6.01f}, "divided by 6.01");
        expect_kept(f, 14, (spoil){.other_x = true}, "x not shared");
        expect_kept(f, 14, (spoil){.clip_twice = true}, "Clip output is a graph output");
        expect_kept(f, 14, (spoil){.add_twice = true}, "Add output read twice");
        expect_kept(f, 14, (spoil){.bounds_input = true}, "Clip max is a graph input");
        expect_kept(f, 14, (spoil){.no_min = true}, "Clip without min");
        expect_kept(f, 9, (spoil){.no_min = true}, "Clip without min attribute");
    }
    expect_kept(F_DIV, 14, (spoil){.prod_twice = true}, "product read twice");
    expect_kept(F_MUL_SIXTH, 14, (spoil){.prod_twice = true}, "product read twice");
    expect_kept(F_DIV_FIRST, 14, (spoil){.prod_twice = true}, "quotient read twice");
    expect_kept(F_HARDSIGMOID, 14, (spoil){.alpha = 0.2f}, "HardSigmoid alpha 0.2 (the default)");
    expect_kept(F_HARDSIGMOID, 14, (spoil){.beta = 0.6f}, "HardSigmoid beta 0.6");
    expect_kept(F_HARDSIGMOID, 14, (spoil){.other_x = true}, "HardSigmoid of x times x2 (squeeze-excitation)");
}

/* A [1,1,1,1] constant broadcasts x to rank 4: fine when x is known to be 4-D, not when nothing says. */
static void test_constant_rank(void **st) {
    (void)st;
    spoil s = {.const_rank4 = true};
    octet_model *m = hs_model(F_DIV, 14, &s);
    int n = -1;
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, &n), OCTET_OK);
    assert_int_equal(n, 0); /* x is an inner value with no value_info */
    octet_model_free(m);
    m = hs_model(F_DIV, 14, &s);
    int64_t d[4] = {2, 3, 4, 5};
    ot_value_info *vi = NULL;
    /* declare x's shape as a graph output would: value_info */
    ot_graph *g = m->graph;
    g->value_info = realloc(g->value_info, sizeof *g->value_info * (size_t)(g->n_value_info + 1));
    vi = &g->value_info[g->n_value_info++];
    memset(vi, 0, sizeof *vi);
    vi->name = strdup("x");
    vi->dtype = OCTET_FLOAT;
    vi->ndim = 4;
    for (int i = 0; i < 4; i++) vi->dims[i].value = d[i];
    g->cap_value_info = g->n_value_info;
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, &n), OCTET_OK);
    assert_int_equal(n, 1);
    octet_model_free(m);
}

/* The file mode: opset 14 fuses; 13 becomes 14 when a pattern is there and nothing changes meaning;
 * a BatchNormalization with training outputs keeps 13 and the pattern; no pattern keeps 13; below 13 the
 * pass does nothing (the preparation raises to 13 first). Several patterns in one graph all go. */
static void test_file_mode(void **st) {
    (void)st;
    spoil none = {0};
    int n;
    octet_model *m = hs_model(F_DIV, 14, &none);
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 1);
    octet_model_free(m);

    m = hs_model(F_HARDSIGMOID, 13, &none);
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ot_model_opset(m, ""), 14);
    octet_model_free(m);

    m = hs_model(F_DIV, 13, &none);
    int64_t c = 3;
    const char *bn_in[5] = {"x2", "bn_s", "bn_b", "bn_m", "bn_v"};
    for (int i = 1; i < 5; i++) {
        octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 1, &c);
        for (int k = 0; k < 3; k++) ((float *)t->data)[k] = 1.0f;
        ot_graph_add_initializer(m->graph, bn_in[i], t);
    }
    ot_node *bn = ot_graph_add_node(m->graph, "BatchNormalization", "", "bn");
    ot_node_set_inputs(bn, 5, bn_in);
    ot_node_set_outputs(bn, 3, (const char *[]){"bn_y", "bn_mean", "bn_var"});
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ot_model_opset(m, ""), 13);
    /* the same BatchNormalization with only Y: fine at 14 */
    ot_node_set_outputs(bn, 1, (const char *[]){"bn_y"});
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ot_model_opset(m, ""), 14);
    octet_model_free(m);

    spoil miss = {.three = 2.0f};
    m = hs_model(F_DIV, 13, &miss);
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ot_model_opset(m, ""), 13);
    octet_model_free(m);

    m = hs_model(F_DIV, 11, &none);
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_FILE, &n), OCTET_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ot_model_opset(m, ""), 11);
    octet_model_free(m);

    /* the static preparation raises 11 -> 13 -> 14 and fuses */
    m = hs_model(F_SIXTH_FIRST, 11, &none);
    octet_model *ref = ot_model_clone(m);
    ot_static_prep rep;
    assert_int_equal(ot_static_prepare(m, &rep), OCTET_OK);
    assert_int_equal(rep.opset_from, 11);
    assert_int_equal(rep.opset_to, 14);
    assert_int_equal(count_op(m->graph, "HardSwish"), 1);
    octet_tensor *a, *b;
    run(ref, &a, 1);
    run(m, &b, 1);
    for (int64_t i = 0; i < 120; i++)
        assert_true(fabsf(((float *)a->data)[i] - ((float *)b->data)[i]) <= 1e-6f * (1.0f + fabsf(((float *)a->data)[i])));
    octet_tensor_free(a);
    octet_tensor_free(b);
    octet_model_free(ref);
    octet_model_free(m);
}

/* Two patterns back to back (the second reads the first's output) and one x feeding two of them. */
static void test_chains(void **st) {
    (void)st;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 14);
    ot_graph *g = m->graph;
    int64_t d[4] = {2, 3, 4, 5};
    ot_graph_add_input(g, "x0", OCTET_FLOAT, 4, d);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 4, d);
    ot_graph_add_output(g, "z", OCTET_FLOAT, 4, d);
    scalar(g, "three", 3.0f);
    scalar(g, "zero", 0.0f);
    scalar(g, "six", 6.0f);
    /* h1 = hs(x0); y = hs(h1); z = hs(x0) via HardSigmoid */
    node(g, "Add", "a1", 2, (const char *[]){"x0", "three"}, "a1");
    node(g, "Clip", "c1", 3, (const char *[]){"a1", "zero", "six"}, "c1");
    node(g, "Mul", "m1", 2, (const char *[]){"x0", "c1"}, "p1");
    node(g, "Div", "d1", 2, (const char *[]){"p1", "six"}, "h1");
    node(g, "Add", "a2", 2, (const char *[]){"three", "h1"}, "a2");
    node(g, "Clip", "c2", 3, (const char *[]){"a2", "zero", "six"}, "c2");
    node(g, "Mul", "m2", 2, (const char *[]){"c2", "h1"}, "p2");
    node(g, "Div", "d2", 2, (const char *[]){"p2", "six"}, "y");
    ot_node *hs = node(g, "HardSigmoid", "hs", 1, (const char *[]){"x0"}, "s");
    ot_node_add_attr_float(hs, "alpha", 0.1666667f);
    node(g, "Mul", "m3", 2, (const char *[]){"x0", "s"}, "z");
    octet_model *ref = ot_model_clone(m);
    int n = -1;
    assert_int_equal(ot_pass_fuse_hardswish(m, OT_HARDSWISH_SESSION, &n), OCTET_OK);
    assert_int_equal(n, 3);
    assert_int_equal(g->n_nodes, 3);
    assert_int_equal(count_op(g, "HardSwish"), 3);
    octet_tensor *a[2], *b[2];
    run(ref, a, 2);
    run(m, b, 2);
    for (int k = 0; k < 2; k++) {
        for (int64_t i = 0; i < 120; i++) {
            float r = ((float *)a[k]->data)[i];
            assert_true(fabsf(r - ((float *)b[k]->data)[i]) <= 1e-6f * (1.0f + fabsf(r)));
        }
        octet_tensor_free(a[k]);
        octet_tensor_free(b[k]);
    }
    octet_model_free(ref);
    octet_model_free(m);
}

/* PaddleOCR (../shared): the static preparation turns every x * Clip(x + 3, 0, 6) / 6 into HardSwish
 * (det v4: 24, cls v2.0: 18; their HardSigmoid(x) * y squeeze-excitation gates stay), at opset 14, and
 * the float output moves by less than 1e-5 of its largest value; ONNX Runtime's output is the anchor
 * for both. */
static void test_ppocr(void **st) {
    (void)st;
    const char *env = getenv("OCTET_SHARED"), *src = getenv("OCTET_SRC");
    char dir[1024];
    if (env) snprintf(dir, sizeof dir, "%s/models", env);
    else snprintf(dir, sizeof dir, "%s/../shared/models", src ? src : ".");
    static const struct {
        const char *name, *in, *out;
        int hardswish, hardsigmoid;
    } cases[] = {
        {"ppocr_v4_det_ch", "input_1_x.npy", "output_1_sigmoid_0.tmp_0.npy", 24, 10},
        {"ppocr_mobile_v2.0_cls_ch", "input_2_x.npy", "output_2_softmax_0.tmp_0.npy", 18, 9},
    };
    int ran = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1200], in[1400], out[1400];
        snprintf(path, sizeof path, "%s/%s.onnx", dir, cases[c].name);
        snprintf(in, sizeof in, "%s/%s.io/%s", dir, cases[c].name, cases[c].in);
        snprintf(out, sizeof out, "%s/%s.io/%s", dir, cases[c].name, cases[c].out);
        octet_model *m;
        if (octet_model_load(&m, path) != OCTET_OK) continue;
        octet_tensor *x, *ort;
        assert_int_equal(octet_npy_load(&x, in), OCTET_OK);
        assert_int_equal(octet_npy_load(&ort, out), OCTET_OK);
        /* the pass alone (session mode) vs the original: only the hard-swish rounding differs */
        octet_model *fused = ot_model_clone(m);
        int n = -1;
        assert_int_equal(ot_pass_constants_to_initializers(fused, NULL), OCTET_OK);
        assert_int_equal(ot_pass_fuse_hardswish(fused, OT_HARDSWISH_SESSION, &n), OCTET_OK);
        assert_int_equal(n, cases[c].hardswish);
        /* the full preparation */
        octet_model *prep = ot_model_clone(m);
        ot_static_prep rep;
        assert_int_equal(ot_static_prepare(prep, &rep), OCTET_OK);
        assert_int_equal(rep.opset_to, 14);
        assert_int_equal(count_op(prep->graph, "HardSwish"), cases[c].hardswish);
        assert_int_equal(count_op(prep->graph, "HardSigmoid"), cases[c].hardsigmoid);
        assert_int_equal(count_op(prep->graph, "Clip") + count_op(prep->graph, "Div"), 0);
        const octet_model *models[3] = {m, fused, prep};
        octet_tensor *y[3];
        for (int k = 0; k < 3; k++) {
            octet_session *s;
            octet_session_options o = {.threads = 2};
            assert_int_equal(octet_session_create(&s, models[k], &o), OCTET_OK);
            y[k] = NULL;
            if (octet_session_run(s, NULL, &x, 1, &y[k], 1) != OCTET_OK) fail_msg("%s", octet_last_error());
            octet_session_free(s);
        }
        /* relative L2 error ||a - b|| / ||b|| and the largest single change over the largest value */
        int64_t cnt = ot_tensor_numel(ort);
        double peak = 0, ss = 0, e_max[3] = {0}, e_ss[3] = {0};
        for (int64_t i = 0; i < cnt; i++) {
            double r = ((float *)y[0]->data)[i], v[3] = {((float *)y[1]->data)[i], ((float *)y[2]->data)[i],
                                                       ((float *)ort->data)[i]};
            peak = fmax(peak, fabs(r));
            ss += r * r;
            for (int k = 0; k < 3; k++) {
                e_max[k] = fmax(e_max[k], fabs(v[k] - r));
                e_ss[k] += (v[k] - r) * (v[k] - r);
            }
        }
        printf("%s: %d HardSwish; vs the original in octet: relative L2 error / max |change| over max |y|: "
               "pass alone %.1e / %.1e, preparation %.1e / %.1e (ONNX Runtime's float run: %.1e / %.1e)\n",
               cases[c].name, n, sqrt(e_ss[0] / ss), e_max[0] / peak, sqrt(e_ss[1] / ss), e_max[1] / peak,
               sqrt(e_ss[2] / ss), e_max[2] / peak);
        assert_true(sqrt(e_ss[0] / ss) <= 1e-5 && sqrt(e_ss[1] / ss) <= 1e-5);
        /* single values: no further from octet's original than ONNX Runtime's own float result is */
        assert_true(e_max[0] <= fmax(1e-5 * peak, 2 * e_max[2]) && e_max[1] <= fmax(1e-5 * peak, 2 * e_max[2]));
        for (int k = 0; k < 3; k++) octet_tensor_free(y[k]);
        octet_tensor_free(x);
        octet_tensor_free(ort);
        octet_model_free(prep);
        octet_model_free(fused);
        octet_model_free(m);
        ran++;
    }
    if (!ran) {
        printf("note: no shared models in %s; the PaddleOCR check did not run\n", dir);
        if (getenv("CI")) fail_msg("CI without ../shared");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_fuse),   cmocka_unit_test(test_near_misses), cmocka_unit_test(test_constant_rank),
        cmocka_unit_test(test_file_mode),    cmocka_unit_test(test_chains),      cmocka_unit_test(test_ppocr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
