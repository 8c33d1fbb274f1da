/* If, Loop and Scan through the real planner/runner (subgraphs, outer-scope values), on graphs
 * built here with hand-computed expected results: If with different-shaped branch outputs and
 * numeric conditions, If inside If reading values from both enclosing scopes (one produced by a node
 * listed after the If), Loop with a trip count / a condition / both / zero iterations, scan
 * outputs, loop-carried values that change shape, Scan with axes and directions, and errors. */
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
#include "runtime/exec.h"
#include "tensor/tensor.h"

/* ---- graph building ---- */

static ot_node *add(ot_graph *g, const char *op, const char *name, int n_in, const char *const *in, int n_out,
                    const char *const *out) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, n_out, out), OCTET_OK);
    return n;
}
#define IN(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}
#define OUT(...) IN(__VA_ARGS__)

static void set_graph(ot_node *n, const char *attr, ot_graph *sub) {
    assert_int_equal(ot_node_add_attr_int(n, attr, 0), OCTET_OK);
    ot_attr *a = &n->attrs[n->n_attrs - 1];
    a->type = OT_ATTR_GRAPH;
    a->g = sub;
}

static octet_tensor *f32(int ndim, const int64_t *dims, const float *v) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    assert_non_null(t);
    memcpy(t->data, v, (size_t)ot_tensor_numel(t) * sizeof(float));
    return t;
}
static octet_tensor *scalar(octet_dtype dt, double v) {
    octet_tensor *t = ot_tensor_new(dt, 0, NULL);
    assert_non_null(t);
    ot_tensor_set_f64(t, 0, v);
    return t;
}
static octet_tensor *vec1(octet_dtype dt, double v) {
    int64_t one = 1;
    octet_tensor *t = ot_tensor_new(dt, 1, &one);
    ot_tensor_set_f64(t, 0, v);
    return t;
}

static octet_model *model_new(void) {
    octet_model *m = ot_model_new();
    assert_non_null(m);
    ot_model_set_opset(m, "", 16);
    return m;
}

/* Plan + run; outputs must be released by the caller. */
static octet_status run(const octet_model *m, const octet_tensor **in, int n_in, octet_tensor *out, int n_out) {
    ot_plan *p = NULL;
    ot_plan_options po = {.threads = 1, .fold_constants = true};
    octet_status s = ot_plan_create(&p, m, m->graph, NULL, &po);
    if (s != OCTET_OK) return s;
    s = ot_plan_run(p, NULL, in, n_in, out, n_out);
    ot_plan_free(p);
    return s;
}

static void expect_f32(const octet_tensor *t, int ndim, const int64_t *dims, const float *want) {
    assert_int_equal(t->dtype, OCTET_FLOAT);
    assert_int_equal(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) assert_int_equal(t->dims[i], dims[i]);
    const float *d = t->data;
    for (int64_t i = 0; i < ot_tensor_numel(t); i++)
        if (fabsf(d[i] - want[i]) > 1e-5f * (1 + fabsf(want[i])))
            fail_msg("[%lld]: got %g want %g", (long long)i, d[i], want[i]);
}

/* ---- If ---- */

/* then: Concat(x, x) -> [6]; else: x + 1 -> [3] */
static octet_model *if_shapes_model(octet_dtype cond_type, int cond_rank) {
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    int64_t three = 3;
    ot_graph_add_input(g, "x", OCTET_FLOAT, 1, &three);
    ot_graph_add_input(g, "c", cond_type, cond_rank, (int64_t[]){1, 1});
    ot_graph_add_output(g, "y", OCTET_FLOAT, -1, NULL);
    ot_node *n = add(g, "If", "if", IN("c"), OUT("y"));
    ot_graph *t = ot_graph_new("then");
    ot_node *cat = add(t, "Concat", "cat", IN("x", "x"), OUT("y_then"));
    ot_node_add_attr_int(cat, "axis", 0);
    ot_graph_add_output(t, "y_then", OCTET_FLOAT, -1, NULL);
    ot_graph *e = ot_graph_new("else");
    ot_graph_add_initializer(e, "one", vec1(OCTET_FLOAT, 1.0));
    add(e, "Add", "add1", IN("x", "one"), OUT("y_else"));
    ot_graph_add_output(e, "y_else", OCTET_FLOAT, -1, NULL);
    set_graph(n, "then_branch", t);
    set_graph(n, "else_branch", e);
    return m;
}

static void test_if_shapes(void **st) {
    (void)st;
    static const float xv[3] = {1, -2, 3.5f};
    octet_tensor *x = f32(1, (int64_t[]){3}, xv);
    struct { octet_dtype dt; int rank; double v; bool then; } cases[] = {
        {OCTET_BOOL, 0, 1, true},    {OCTET_BOOL, 0, 0, false}, {OCTET_FLOAT, 1, 0.0, false},
        {OCTET_FLOAT, 1, -0.5, true}, {OCTET_INT64, 2, 7, true}, {OCTET_INT32, 1, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        octet_model *m = if_shapes_model(cases[i].dt, cases[i].rank);
        octet_tensor *c = ot_tensor_new(cases[i].dt, cases[i].rank, (int64_t[]){1, 1});
        ot_tensor_set_f64(c, 0, cases[i].v);
        const octet_tensor *in[2] = {x, c};
        octet_tensor y = {0};
        assert_int_equal(run(m, in, 2, &y, 1), OCTET_OK);
        if (cases[i].then) expect_f32(&y, 1, (int64_t[]){6}, (float[]){1, -2, 3.5f, 1, -2, 3.5f});
        else expect_f32(&y, 1, (int64_t[]){3}, (float[]){2, -1, 4.5f});
        ot_tensor_reset(&y);
        octet_tensor_free(c);
        octet_model_free(m);
    }
    /* a condition with two elements is refused */
    octet_model *m = if_shapes_model(OCTET_BOOL, 1);
    int64_t two = 2;
    octet_tensor *c2 = ot_tensor_new(OCTET_BOOL, 1, &two);
    const octet_tensor *in[2] = {x, c2};
    octet_tensor y = {0};
    assert_int_equal(run(m, in, 2, &y, 1), OCTET_ERR_SHAPE);
    octet_tensor_free(c2);
    octet_model_free(m);
    octet_tensor_free(x);
}

/* y = If(c1) { b = a + x; If(c2) { b + a } else { b - x } } else { Identity(a) }, with a = x*x computed
 * by a node listed after the If: the If depends on it only through its branches. */
static void test_if_nested_outer_scope(void **st) {
    (void)st;
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    int64_t two = 2;
    ot_graph_add_input(g, "x", OCTET_FLOAT, 1, &two);
    ot_graph_add_input(g, "c1", OCTET_BOOL, 0, NULL);
    ot_graph_add_input(g, "c2", OCTET_BOOL, 0, NULL);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 1, &two);
    ot_node *outer = add(g, "If", "outer", IN("c1"), OUT("y"));
    add(g, "Mul", "square", IN("x", "x"), OUT("a"));

    ot_graph *ot = ot_graph_new("outer_then");
    add(ot, "Add", "b", IN("a", "x"), OUT("b"));
    ot_node *inner = add(ot, "If", "inner", IN("c2"), OUT("z"));
    ot_graph_add_output(ot, "z", OCTET_FLOAT, -1, NULL);
    ot_graph *it = ot_graph_new("inner_then");
    add(it, "Add", "zt", IN("b", "a"), OUT("z_then"));
    ot_graph_add_output(it, "z_then", OCTET_FLOAT, -1, NULL);
    ot_graph *ie = ot_graph_new("inner_else");
    add(ie, "Sub", "ze", IN("b", "x"), OUT("z_else"));
    ot_graph_add_output(ie, "z_else", OCTET_FLOAT, -1, NULL);
    set_graph(inner, "then_branch", it);
    set_graph(inner, "else_branch", ie);
    ot_graph *oe = ot_graph_new("outer_else");
    add(oe, "Identity", "ident", IN("a"), OUT("y_else"));
    ot_graph_add_output(oe, "y_else", OCTET_FLOAT, -1, NULL);
    set_graph(outer, "then_branch", ot);
    set_graph(outer, "else_branch", oe);

    octet_tensor *x = f32(1, &two, (float[]){3, -0.5f});
    for (int c1 = 0; c1 < 2; c1++)
        for (int c2 = 0; c2 < 2; c2++) {
            octet_tensor *t1 = scalar(OCTET_BOOL, c1), *t2 = scalar(OCTET_BOOL, c2);
            const octet_tensor *in[3] = {x, t1, t2};
            octet_tensor y = {0};
            octet_status s = run(m, in, 3, &y, 1);
            if (s != OCTET_OK) fail_msg("c1=%d c2=%d: %s", c1, c2, octet_last_error());
            float want[2];
            for (int i = 0; i < 2; i++) {
                float xv = ((float *)x->data)[i], a = xv * xv;
                want[i] = !c1 ? a : c2 ? (a + xv) + a : (a + xv) - xv;
            }
            expect_f32(&y, 1, &two, want);
            ot_tensor_reset(&y);
            octet_tensor_free(t1), octet_tensor_free(t2);
        }
    octet_tensor_free(x);
    octet_model_free(m);
}

static void test_if_errors(void **st) {
    (void)st;
    /* then_branch gives two outputs for a one-output node */
    octet_model *m = if_shapes_model(OCTET_BOOL, 0);
    ot_node *n = m->graph->nodes[0];
    ot_graph *t = n->attrs[0].g;
    ot_graph_add_output(t, "x", OCTET_FLOAT, -1, NULL);
    octet_tensor *x = f32(1, (int64_t[]){3}, (float[]){1, 2, 3}), *c = scalar(OCTET_BOOL, 1);
    const octet_tensor *in[2] = {x, c};
    octet_tensor y = {0};
    assert_int_equal(run(m, in, 2, &y, 1), OCTET_ERR_SHAPE);
    assert_non_null(strstr(octet_last_error(), "then_branch has 2 outputs"));
    octet_tensor_free(x), octet_tensor_free(c);
    octet_model_free(m);
}

/* ---- Loop ---- */

/* Loop(M, cond, s0) with body: s = s_in * two + i*w (two: outer initializer, w: outer input);
 * cond_out = s < limit (limit: outer input); scan outputs: [s, i] per iteration. */
static octet_model *loop_model(bool with_m, bool with_cond) {
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    int64_t one = 1;
    ot_graph_add_input(g, "M", OCTET_INT64, 0, NULL);
    ot_graph_add_input(g, "cond", OCTET_BOOL, 0, NULL);
    ot_graph_add_input(g, "s0", OCTET_FLOAT, 1, &one);
    ot_graph_add_input(g, "w", OCTET_FLOAT, 1, &one);
    ot_graph_add_input(g, "limit", OCTET_FLOAT, 1, &one);
    ot_graph_add_initializer(g, "two", vec1(OCTET_FLOAT, 2.0));
    ot_graph_add_output(g, "s_final", OCTET_FLOAT, 1, &one);
    ot_graph_add_output(g, "trace", OCTET_FLOAT, 2, (int64_t[]){-1, 2});
    ot_node *n = add(g, "Loop", "loop", IN(with_m ? "M" : "", with_cond ? "cond" : "", "s0"), OUT("s_final", "trace"));
    ot_graph *b = ot_graph_new("body");
    ot_graph_add_input(b, "i", OCTET_INT64, 0, NULL);
    ot_graph_add_input(b, "cond_in", OCTET_BOOL, 0, NULL);
    ot_graph_add_input(b, "s_in", OCTET_FLOAT, 1, &one);
    ot_node *cast = add(b, "Cast", "cast", IN("i"), OUT("fi"));
    ot_node_add_attr_int(cast, "to", OCTET_FLOAT);
    add(b, "Mul", "m2", IN("s_in", "two"), OUT("s2"));
    add(b, "Mul", "iw", IN("fi", "w"), OUT("fiw"));
    add(b, "Add", "acc", IN("s2", "fiw"), OUT("s_out"));
    add(b, "Less", "less", IN("s_out", "limit"), OUT("c_vec"));
    add(b, "Squeeze", "sq", IN("c_vec", "axes0"), OUT("cond_out"));
    int64_t zero = 0;
    octet_tensor *axes = ot_tensor_new(OCTET_INT64, 1, &one);
    memcpy(axes->data, &zero, sizeof zero);
    ot_graph_add_initializer(b, "axes0", axes);
    add(b, "Unsqueeze", "us", IN("fi", "axes0"), OUT("fi1"));
    ot_node *cat = add(b, "Concat", "cat", IN("s_out", "fi1"), OUT("row"));
    ot_node_add_attr_int(cat, "axis", 0);
    ot_graph_add_output(b, "cond_out", OCTET_BOOL, 0, NULL);
    ot_graph_add_output(b, "s_out", OCTET_FLOAT, 1, &one);
    ot_graph_add_output(b, "row", OCTET_FLOAT, 1, (int64_t[]){2});
    set_graph(n, "body", b);
    return m;
}

/* The same recurrence in plain C; returns the iteration count. */
static int loop_expect(bool with_m, int64_t M, bool with_cond, bool cond, float s0, float w, float limit, float *s,
                       float *trace) {
    int it = 0;
    *s = s0;
    int64_t max = with_m ? M : INT64_MAX;
    bool c = with_cond ? cond : true;
    while (it < max && c) {
        *s = *s * 2 + (float)it * w;
        trace[2 * it] = *s, trace[2 * it + 1] = (float)it;
        c = *s < limit; /* the body's cond is used even without a cond input (as ONNX Runtime) */
        it++;
    }
    return it;
}

static void test_loop(void **st) {
    (void)st;
    struct { bool with_m; int64_t M; bool with_cond, cond; float limit; int iters; } cases[] = {
        {true, 5, false, true, 1e9f, 5},    /* trip count only */
        {false, 0, true, true, 100.0f, 7},  /* condition only: 1 -> 2, 4.5, ... stops past 100 */
        {true, 3, true, true, 100.0f, 3},   /* both, M first */
        {true, 10, true, true, 20.0f, 5},   /* both, cond first */
        {true, 0, true, true, 100.0f, 0},   /* no iterations */
        {true, 4, true, false, 100.0f, 0},  /* cond false at the start */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        octet_model *m = loop_model(cases[ci].with_m, cases[ci].with_cond);
        octet_tensor *M = scalar(OCTET_INT64, (double)cases[ci].M), *c = scalar(OCTET_BOOL, cases[ci].cond);
        octet_tensor *s0 = vec1(OCTET_FLOAT, 1.0), *w = vec1(OCTET_FLOAT, 0.25);
        octet_tensor *lim = vec1(OCTET_FLOAT, cases[ci].limit);
        const octet_tensor *in[5] = {M, c, s0, w, lim};
        octet_tensor out[2] = {{0}};
        octet_status s = run(m, in, 5, out, 2);
        if (s != OCTET_OK) fail_msg("case %zu: %s", ci, octet_last_error());
        float sf, trace[64];
        int it = loop_expect(cases[ci].with_m, cases[ci].M, cases[ci].with_cond, cases[ci].cond, 1.0f, 0.25f,
                             cases[ci].limit, &sf, trace);
        assert_int_equal(it, cases[ci].iters);
        expect_f32(&out[0], 1, (int64_t[]){1}, &sf);
        expect_f32(&out[1], 2, (int64_t[]){it, 2}, trace);
        ot_tensor_reset(&out[0]), ot_tensor_reset(&out[1]);
        octet_tensor_free(M), octet_tensor_free(c), octet_tensor_free(s0), octet_tensor_free(w), octet_tensor_free(lim);
        octet_model_free(m);
    }
}

/* A loop-carried value that grows: acc = Concat(acc, [i]); and a scan output that changes shape (an error). */
static void test_loop_shapes(void **st) {
    (void)st;
    for (int bad = 0; bad < 2; bad++) {
        octet_model *m = model_new();
        ot_graph *g = m->graph;
        int64_t one = 1;
        ot_graph_add_input(g, "M", OCTET_INT64, 1, &one);
        ot_graph_add_input(g, "acc0", OCTET_FLOAT, 1, &one);
        ot_graph_add_output(g, "acc", OCTET_FLOAT, 1, NULL);
        ot_graph_add_output(g, "scan", OCTET_FLOAT, -1, NULL);
        ot_node *n = add(g, "Loop", "grow", IN("M", "", "acc0"), OUT("acc", "scan"));
        ot_graph *b = ot_graph_new("body");
        ot_graph_add_input(b, "i", OCTET_INT64, 1, &one); /* rank-1 iteration counter */
        ot_graph_add_input(b, "c", OCTET_BOOL, 1, &one);
        ot_graph_add_input(b, "acc_in", OCTET_FLOAT, 1, NULL);
        ot_node *cast = add(b, "Cast", "cast", IN("i"), OUT("fi"));
        ot_node_add_attr_int(cast, "to", OCTET_FLOAT);
        ot_node *cat = add(b, "Concat", "cat", IN("acc_in", "fi"), OUT("acc_out"));
        ot_node_add_attr_int(cat, "axis", 0);
        add(b, "Identity", "keep", IN("c"), OUT("c_out"));
        add(b, "Identity", "scan_id", IN(bad ? "acc_out" : "fi"), OUT("scan_out"));
        ot_graph_add_output(b, "c_out", OCTET_BOOL, 1, &one);
        ot_graph_add_output(b, "acc_out", OCTET_FLOAT, 1, NULL);
        ot_graph_add_output(b, "scan_out", OCTET_FLOAT, 1, NULL);
        set_graph(n, "body", b);

        octet_tensor *M = vec1(OCTET_INT64, 4), *a0 = vec1(OCTET_FLOAT, -1);
        const octet_tensor *in[2] = {M, a0};
        octet_tensor out[2] = {{0}};
        octet_status s = run(m, in, 2, out, 2);
        if (!bad) {
            if (s != OCTET_OK) fail_msg("%s", octet_last_error());
            expect_f32(&out[0], 1, (int64_t[]){5}, (float[]){-1, 0, 1, 2, 3});
            expect_f32(&out[1], 2, (int64_t[]){4, 1}, (float[]){0, 1, 2, 3});
        } else {
            assert_int_equal(s, OCTET_ERR_SHAPE);
            assert_non_null(strstr(octet_last_error(), "changes shape"));
        }
        ot_tensor_reset(&out[0]), ot_tensor_reset(&out[1]);
        octet_tensor_free(M), octet_tensor_free(a0);
        octet_model_free(m);
    }
}

/* A Loop inside an If branch, whose body reads a value of the main graph and one of the branch. */
static void test_loop_in_if(void **st) {
    (void)st;
    octet_model *m = model_new();
    ot_graph *g = m->graph;
    int64_t one = 1;
    ot_graph_add_input(g, "c", OCTET_BOOL, 0, NULL);
    ot_graph_add_input(g, "x", OCTET_FLOAT, 1, &one);
    ot_graph_add_output(g, "y", OCTET_FLOAT, 1, &one);
    ot_node *n = add(g, "If", "if", IN("c"), OUT("y"));
    ot_graph *t = ot_graph_new("then");
    ot_graph_add_initializer(t, "three", vec1(OCTET_INT64, 3));
    add(t, "Add", "x2", IN("x", "x"), OUT("x2"));
    ot_node *lp = add(t, "Loop", "loop", IN("three", "", "x"), OUT("y_then"));
    ot_graph_add_output(t, "y_then", OCTET_FLOAT, 1, &one);
    ot_graph *b = ot_graph_new("body");
    ot_graph_add_input(b, "i", OCTET_INT64, 0, NULL);
    ot_graph_add_input(b, "ci", OCTET_BOOL, 0, NULL);
    ot_graph_add_input(b, "v", OCTET_FLOAT, 1, &one);
    add(b, "Add", "addx", IN("v", "x2"), OUT("v1"));  /* x2 from the branch */
    add(b, "Mul", "mulx", IN("v1", "x"), OUT("v2"));  /* x from the main graph */
    add(b, "Identity", "c", IN("ci"), OUT("co"));
    ot_graph_add_output(b, "co", OCTET_BOOL, 0, NULL);
    ot_graph_add_output(b, "v2", OCTET_FLOAT, 1, &one);
    set_graph(lp, "body", b);
    ot_graph *e = ot_graph_new("else");
    add(e, "Neg", "neg", IN("x"), OUT("y_else"));
    ot_graph_add_output(e, "y_else", OCTET_FLOAT, 1, &one);
    set_graph(n, "then_branch", t);
    set_graph(n, "else_branch", e);
    for (int c = 0; c < 2; c++) {
        octet_tensor *ct = scalar(OCTET_BOOL, c), *x = vec1(OCTET_FLOAT, 1.5);
        const octet_tensor *in[2] = {ct, x};
        octet_tensor y = {0};
        octet_status s = run(m, in, 2, &y, 1);
        if (s != OCTET_OK) fail_msg("%s", octet_last_error());
        float v = 1.5f;
        for (int i = 0; i < 3; i++) v = (v + 3.0f) * 1.5f;
        float want = c ? v : -1.5f;
        expect_f32(&y, 1, &one, &want);
        ot_tensor_reset(&y);
        octet_tensor_free(ct), octet_tensor_free(x);
    }
    octet_model_free(m);
}

/* ---- Scan ---- */

/* state s[2]; scan input xs with the sequence along `in_axis` (direction in_dir); body: s += x;
 * scan output y = s stacked along `out_axis` (direction out_dir). */
static void test_scan(void **st) {
    (void)st;
    for (int variant = 0; variant < 4; variant++) {
        int in_axis = variant & 1, in_dir = (variant >> 1) & 1, out_axis = variant == 2 ? 1 : 0, out_dir = variant == 1;
        octet_model *m = model_new();
        ot_graph *g = m->graph;
        int64_t two = 2, L = 3;
        ot_graph_add_input(g, "s0", OCTET_FLOAT, 1, &two);
        ot_graph_add_input(g, "xs", OCTET_FLOAT, 2, NULL);
        ot_graph_add_output(g, "s", OCTET_FLOAT, 1, &two);
        ot_graph_add_output(g, "ys", OCTET_FLOAT, 2, NULL);
        ot_node *n = add(g, "Scan", "scan", IN("s0", "xs"), OUT("s", "ys"));
        ot_node_add_attr_int(n, "num_scan_inputs", 1);
        ot_node_add_attr_ints(n, "scan_input_axes", (int64_t[]){in_axis}, 1);
        ot_node_add_attr_ints(n, "scan_input_directions", (int64_t[]){in_dir}, 1);
        ot_node_add_attr_ints(n, "scan_output_axes", (int64_t[]){out_axis ? -1 : 0}, 1);
        ot_node_add_attr_ints(n, "scan_output_directions", (int64_t[]){out_dir}, 1);
        ot_graph *b = ot_graph_new("body");
        ot_graph_add_input(b, "s_in", OCTET_FLOAT, 1, &two);
        ot_graph_add_input(b, "x_t", OCTET_FLOAT, 1, &two);
        add(b, "Add", "add", IN("s_in", "x_t"), OUT("s_out"));
        add(b, "Identity", "id", IN("s_out"), OUT("y_t"));
        ot_graph_add_output(b, "s_out", OCTET_FLOAT, 1, &two);
        ot_graph_add_output(b, "y_t", OCTET_FLOAT, 1, &two);
        set_graph(n, "body", b);

        /* x rows (sequence step t, 2 values): t=0 {1,10}, t=1 {2,20}, t=2 {3,30} */
        float rows[3][2] = {{1, 10}, {2, 20}, {3, 30}}, xs[6];
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < 2; j++) xs[in_axis ? j * 3 + t : t * 2 + j] = rows[t][j];
        int64_t xd[2] = {in_axis ? two : L, in_axis ? L : two};
        octet_tensor *s0 = f32(1, &two, (float[]){100, 200}), *x = f32(2, xd, xs);
        const octet_tensor *in[2] = {s0, x};
        octet_tensor out[2] = {{0}};
        octet_status s = run(m, in, 2, out, 2);
        if (s != OCTET_OK) fail_msg("%s", octet_last_error());
        float acc[2] = {100, 200}, ys[6];
        for (int it = 0; it < 3; it++) {
            int t = in_dir ? 2 - it : it, pos = out_dir ? 2 - it : it;
            for (int j = 0; j < 2; j++) {
                acc[j] += rows[t][j];
                ys[out_axis ? j * 3 + pos : pos * 2 + j] = acc[j];
            }
        }
        expect_f32(&out[0], 1, &two, acc);
        int64_t yd[2] = {out_axis ? two : L, out_axis ? L : two};
        expect_f32(&out[1], 2, yd, ys);
        ot_tensor_reset(&out[0]), ot_tensor_reset(&out[1]);
        octet_tensor_free(s0), octet_tensor_free(x);
        octet_model_free(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_shapes), cmocka_unit_test(test_if_nested_outer_scope),
        cmocka_unit_test(test_if_errors), cmocka_unit_test(test_loop),
        cmocka_unit_test(test_loop_shapes), cmocka_unit_test(test_loop_in_if),
        cmocka_unit_test(test_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
