/* The NCHWc pass and the elementwise fusion (ir/passes/nchwc.h): the rewritten graph computes the
 * same bits as the graph before the pass (the session's other rewrites applied to both), on small
 * graphs built here and on the shared real models when ../shared is there; and the rewrite has the
 * expected shape (reorders only at the region's edges, sums and chains folded into the convolutions,
 * lone convolutions and graphs with subgraphs left alone). */
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
#include "ir/passes/nchwc.h"
#include "ir/passes/passes.h"
#include "kernels/cpu.h"
#include "runtime/exec.h"
#include "tensor/tensor.h"

static uint64_t g_rng = 0x5851F42D4C957F2Dull;
static float rfloat(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((int)((g_rng >> 20) % 2001) - 1000) / 1000.0f;
}

static octet_tensor *rnd_tensor(int ndim, const int64_t *dims, float scale) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, ndim, dims);
    assert_non_null(t);
    float *d = t->data;
    for (int64_t i = 0; i < ot_tensor_numel(t); i++) d[i] = rfloat() * scale;
    return t;
}

static ot_node *node(ot_graph *g, const char *op, int n_in, const char *const *in, const char *out) {
    ot_node *n = ot_graph_add_node(g, op, "", out);
    assert_non_null(n);
    assert_int_equal(ot_node_set_inputs(n, n_in, in), OCTET_OK);
    assert_int_equal(ot_node_set_outputs(n, 1, &out), OCTET_OK);
    return n;
}

/* Conv with random weights named after its output; pads keep the size for odd k. */
static void conv(ot_graph *g, const char *x, const char *y, int c, int m, int k, int group) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.w", y);
    snprintf(bn, sizeof bn, "%s.b", y);
    int64_t wd[4] = {m, c / group, k, k}, bd[1] = {m};
    ot_graph_add_initializer(g, wn, rnd_tensor(4, wd, 1.0f / sqrtf((float)(c / group * k * k))));
    ot_graph_add_initializer(g, bn, rnd_tensor(1, bd, 0.2f));
    ot_node *n = node(g, "Conv", 3, (const char *[]){x, wn, bn}, y);
    int64_t p = (k - 1) / 2, pads[4] = {p, p, p, p}, ks[2] = {k, k};
    ot_node_add_attr_ints(n, "pads", pads, 4);
    ot_node_add_attr_ints(n, "kernel_shape", ks, 2);
    ot_node_add_attr_int(n, "group", group);
}

static void scalar_init(ot_graph *g, const char *name, float v) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    *(float *)t->data = v;
    ot_graph_add_initializer(g, name, t);
}

/* x[2,5,9,11] -> conv3x3 -> Clip -> 1x1 expand -> Clip -> depthwise 3x3 -> Clip -> 1x1 project
 * (+ the first Clip) -> hard-swish chain -> GlobalAveragePool -> y; and z = the project output
 * (a graph output inside the region). */
static octet_model *block_model(void) {
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t xd[4] = {2, 5, 9, 11};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, -1, NULL);
    ot_graph_add_output(g, "z", OCTET_FLOAT, -1, NULL);
    scalar_init(g, "zero", 0.0f);
    scalar_init(g, "six", 6.0f);
    scalar_init(g, "three", 3.0f);
    conv(g, "x", "c0", 5, 12, 3, 1);
    node(g, "Clip", 3, (const char *[]){"c0", "zero", "six"}, "a0");
    conv(g, "a0", "c1", 12, 36, 1, 1);
    node(g, "Clip", 3, (const char *[]){"c1", "zero", "six"}, "a1");
    conv(g, "a1", "c2", 36, 36, 3, 36);
    node(g, "Clip", 3, (const char *[]){"c2", "zero", "six"}, "a2");
    conv(g, "a2", "c3", 36, 12, 1, 1);
    node(g, "Add", 2, (const char *[]){"a0", "c3"}, "z");
    node(g, "Add", 2, (const char *[]){"z", "three"}, "h0");
    node(g, "Clip", 3, (const char *[]){"h0", "zero", "six"}, "h1");
    node(g, "Mul", 2, (const char *[]){"z", "h1"}, "h2");
    node(g, "Div", 2, (const char *[]){"h2", "six"}, "h3");
    conv(g, "h3", "c4", 12, 10, 3, 1);
    node(g, "GlobalAveragePool", 1, (const char *[]){"c4"}, "y");
    return m;
}

/* The session's rewrites, with or without the NCHWc pass. */
static void optimize(octet_model *m, bool nchwc) {
    assert_int_equal(ot_pass_constants_to_initializers(m, NULL), OCTET_OK);
    assert_int_equal(ot_pass_fold_constants(m, 0, NULL), OCTET_OK);
    assert_int_equal(ot_pass_fold_batchnorm(m, NULL), OCTET_OK);
    assert_int_equal(ot_pass_fuse_conv_activation(m, NULL), OCTET_OK);
    if (nchwc) assert_int_equal(ot_pass_nchwc(m, NULL), OCTET_OK);
    assert_int_equal(ot_pass_dce(m, NULL), OCTET_OK);
}

static void run(const octet_model *src, bool nchwc, int threads, const octet_tensor *const *in, int n_in,
                octet_tensor *out, int n_out) {
    octet_model *m = ot_model_clone_sharing_weights(src);
    assert_non_null(m);
    optimize(m, nchwc);
    ot_plan *p;
    ot_plan_options po = {.threads = threads, .fold_constants = true};
    assert_int_equal(ot_plan_create(&p, m, m->graph, NULL, &po), OCTET_OK);
    memset(out, 0, sizeof *out * (size_t)n_out);
    if (ot_plan_run(p, NULL, in, n_in, out, n_out) != OCTET_OK) fail_msg("run: %s", octet_last_error());
    ot_plan_free(p);
    octet_model_free(m);
}

static void expect_same(const octet_model *m, const octet_tensor *const *in, int n_in, int n_out, const char *what) {
    for (int threads = 1; threads <= 2; threads++) {
        octet_tensor a[4], b[4];
        run(m, false, threads, in, n_in, a, n_out);
        run(m, true, threads, in, n_in, b, n_out);
        for (int o = 0; o < n_out; o++) {
            assert_int_equal(a[o].ndim, b[o].ndim);
            for (int i = 0; i < a[o].ndim; i++) assert_int_equal(a[o].dims[i], b[o].dims[i]);
            const float *pa = a[o].data, *pb = b[o].data;
            for (int64_t i = 0; i < ot_tensor_numel(&a[o]); i++)
                if (!(pa[i] == pb[i]) && !(isnan(pa[i]) && isnan(pb[i])))
                    fail_msg("%s threads=%d output %d element %lld: without the pass %.9g, with %.9g", what, threads, o,
                             (long long)i, pa[i], pb[i]);
            ot_tensor_reset(&a[o]);
            ot_tensor_reset(&b[o]);
        }
    }
}

static int count_op(const ot_graph *g, const char *op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += strcmp(g->nodes[i]->op_type, op) == 0;
    return c;
}

static void test_block(void **state) {
    (void)state;
    if (ot_kernels_get()->isa < OT_ISA_AVX2) skip();
    octet_model *m = block_model();
    int64_t xd[4] = {2, 5, 9, 11};
    octet_tensor *x = rnd_tensor(4, xd, 2.0f);
    const octet_tensor *in[1] = {x};
    expect_same(m, in, 1, 2, "block");
    /* shape of the rewrite */
    octet_model *o = ot_model_clone_sharing_weights(m);
    optimize(o, true);
    const ot_graph *g = o->graph;
    assert_int_equal(count_op(g, "NchwcConv"), 5);
    assert_int_equal(count_op(g, "ReorderInput"), 0);       /* 5 input channels are read in place */
    assert_int_equal(count_op(g, "ReorderOutput"), 2);      /* y and z */
    assert_int_equal(count_op(g, "NchwcGlobalAveragePool"), 1);
    assert_int_equal(count_op(g, "Add") + count_op(g, "Clip") + count_op(g, "Mul") + count_op(g, "Div"), 0);
    assert_int_equal(count_op(g, "FusedElementwise"), 1);   /* z is read twice: the chain cannot fold */
    octet_model_free(o);
    octet_tensor_free(x);
    octet_model_free(m);
}

/* One convolution between plain ops stays as it is; a graph with a subgraph is left alone. */
static void test_left_alone(void **state) {
    (void)state;
    octet_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    ot_graph *g = m->graph;
    int64_t xd[4] = {1, 16, 6, 6};
    ot_graph_add_input(g, "x", OCTET_FLOAT, 4, xd);
    ot_graph_add_output(g, "y", OCTET_FLOAT, -1, NULL);
    conv(g, "x", "c0", 16, 8, 1, 1);
    node(g, "Softmax", 1, (const char *[]){"c0"}, "y");
    octet_model *o = ot_model_clone_sharing_weights(m);
    optimize(o, true);
    assert_int_equal(count_op(o->graph, "Conv"), 1);
    assert_int_equal(count_op(o->graph, "NchwcConv"), 0);
    octet_model_free(o);
    /* a conv chain is blocked... */
    conv(g, "c0", "c1", 8, 8, 3, 1);
    conv(g, "c1", "c2", 8, 8, 3, 1);
    ot_graph_add_output(g, "c2", OCTET_FLOAT, -1, NULL);
    octet_model *o2 = ot_model_clone_sharing_weights(m);
    optimize(o2, true);
    assert_int_equal(count_op(o2->graph, "NchwcConv"), 3); /* c0 now has blocked readers */
    octet_model_free(o2);
    /* ...but not in a graph with a subgraph (If) */
    ot_node *n = ot_graph_add_node(g, "If", "", "if");
    assert_non_null(n);
    ot_graph *sub = ot_graph_new("then");
    assert_int_equal(ot_node_set_outputs(n, 1, (const char *[]){"unused"}), OCTET_OK);
    n->attrs = calloc(1, sizeof *n->attrs);
    n->n_attrs = 1;
    n->attrs[0].name = strdup("then_branch");
    n->attrs[0].type = OT_ATTR_GRAPH;
    n->attrs[0].g = sub;
    octet_model *o3 = ot_model_clone_sharing_weights(m);
    assert_int_equal(ot_pass_nchwc(o3, NULL), OCTET_OK);
    assert_int_equal(count_op(o3->graph, "NchwcConv"), 0);
    octet_model_free(o3);
    octet_model_free(m);
}

/* The real models, when ../shared is there: with and without the pass, the same bits. */
static void test_models(void **state) {
    (void)state;
    if (ot_kernels_get()->isa < OT_ISA_AVX2) skip();
    const char *env = getenv("OCTET_SHARED"), *src = getenv("OCTET_SRC");
    char dir[1024];
    if (env)
        snprintf(dir, sizeof dir, "%s/models", env);
    else
        snprintf(dir, sizeof dir, "%s/../shared/models", src ? src : ".");
    static const char *const names[][2] = {
        {"mobilenet_v2", "input"}, {"resnet18", "input"}, {"ppocr_v4_det_ch", "x"}, {"small_cnn", "input"}};
    int ran = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1200], npy[1300];
        snprintf(path, sizeof path, "%s/%s.onnx", dir, names[i][0]);
        snprintf(npy, sizeof npy, "%s/%s.io/input_0_%s.npy", dir, names[i][0], names[i][1]);
        octet_model *m;
        octet_tensor *x;
        if (octet_model_load(&m, path) != OCTET_OK) continue;
        assert_int_equal(octet_npy_load(&x, npy), OCTET_OK);
        const octet_tensor *in[1] = {x};
        expect_same(m, in, 1, m->graph->n_outputs, names[i][0]);
        octet_tensor_free(x);
        octet_model_free(m);
        ran++;
    }
    if (!ran) printf("note: no shared models in %s; the real-model comparison did not run\n", dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
