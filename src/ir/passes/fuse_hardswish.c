/* Hard-swish written out by hand -> one HardSwish node (see fuse_hardswish.h). PaddleOCR exports
 * x * Clip(x + 3, 0, 6) / 6 as four float ops; the static quantizer would put a QuantizeLinear /
 * DequantizeLinear pair around each intermediate, four roundings where HardSwish has one. */
#include "ir/passes/fuse_hardswish.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static bool op_is(const ot_node *n, const char *op, int n_in) {
    return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0 && n->n_inputs == n_in && n->n_outputs == 1;
}

static int producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return i;
    return -1;
}

static bool is_graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    return false;
}

/* A float initializer holding one value within a few ulps of want. A shape of rank r > 0 broadcasts the
 * result to rank r, which HardSwish(x) would not: only when x is known to have at least that rank. */
static bool is_const(const ot_graph *g, const char *name, double want, const char *x) {
    if (!name || !name[0] || is_graph_input(g, name)) return false;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    if (!in) return false;
    const octet_tensor *t = in->tensor;
    if ((t->dtype != OCTET_FLOAT && t->dtype != OCTET_DOUBLE) || ot_tensor_numel(t) != 1) return false;
    if (t->ndim > 0) {
        const ot_value_info *vi = x ? ot_graph_value_info(g, x) : NULL;
        if (!vi || vi->ndim < t->ndim) return false;
    }
    double v = ot_tensor_get_f64(t, 0);
    return want == 0.0 ? v == 0.0 : fabs(v - want) <= 1e-6 * fabs(want);
}

/* One reader, and not a graph output: the value disappears with the pattern. */
static bool private_value(const ot_graph *g, const char *name) { return ot_graph_count_reads(g, name) == 1; }

/* The nodes of one match: `last` becomes HardSwish(x); the others go. */
typedef struct hs_match {
    int last;
    int drop[3];
    int n_drop;
    const char *x;
} hs_match;

/* c = Clip(Add(x, 3), 0, 6) with private intermediates: appends Clip and Add to mt->drop. */
static bool relu6_of_x_plus_3(const ot_graph *g, int64_t opset, const char *c, const char *x, hs_match *mt) {
    if (!private_value(g, c)) return false;
    int ci = producer(g, c);
    if (ci < 0) return false;
    const ot_node *clip = g->nodes[ci];
    if (!ot_domain_is_onnx(clip->domain) || strcmp(clip->op_type, "Clip") != 0 || clip->n_outputs != 1) return false;
    if (opset < 11) {
        if (clip->n_inputs != 1 || !ot_node_attr(clip, "min") || !ot_node_attr(clip, "max")) return false;
        if (ot_node_attr_float(clip, "min", 1.0f) != 0.0f || fabsf(ot_node_attr_float(clip, "max", 0.0f) - 6.0f) > 6e-6f)
            return false;
    } else if (clip->n_inputs != 3 || !is_const(g, clip->inputs[1], 0.0, NULL) || !is_const(g, clip->inputs[2], 6.0, NULL)) {
        return false;
    }
    const char *a = clip->inputs[0];
    if (!private_value(g, a)) return false;
    int ai = producer(g, a);
    if (ai < 0 || !op_is(g->nodes[ai], "Add", 2)) return false;
    const ot_node *add = g->nodes[ai];
    int k = strcmp(add->inputs[0], x) == 0 ? 0 : (strcmp(add->inputs[1], x) == 0 ? 1 : -1);
    if (k < 0 || !is_const(g, add->inputs[1 - k], 3.0, x)) return false;
    mt->drop[mt->n_drop++] = ci;
    mt->drop[mt->n_drop++] = ai;
    return true;
}

/* v = c / 6 or c * (1/6) (either order): the name of c, or NULL. */
static const char *divided_by_6(const ot_graph *g, const ot_node *n, const char *x) {
    if (op_is(n, "Div", 2)) return is_const(g, n->inputs[1], 6.0, x) ? n->inputs[0] : NULL;
    if (!op_is(n, "Mul", 2)) return NULL;
    for (int k = 0; k < 2; k++)
        if (is_const(g, n->inputs[1 - k], 1.0 / 6.0, x)) return n->inputs[k];
    return NULL;
}

/* Node i ends a hard-swish: fill mt. */
static bool match(const ot_graph *g, int64_t opset, int i, hs_match *mt) {
    memset(mt, 0, sizeof *mt);
    mt->last = i;
    const ot_node *n = g->nodes[i];
    /* x * Clip(x + 3, 0, 6) / 6: the product m = Mul(x, relu6) is private; which operand of a final Mul
     * is m shows once x is known (the constant's rank check needs x) */
    const char *cand[2] = {NULL, NULL};
    if (op_is(n, "Div", 2)) cand[0] = n->inputs[0];
    else if (op_is(n, "Mul", 2)) cand[0] = n->inputs[0], cand[1] = n->inputs[1];
    for (int c = 0; c < 2 && cand[c]; c++) {
        const char *m = cand[c];
        int mi = private_value(g, m) ? producer(g, m) : -1;
        const ot_node *mul = mi >= 0 ? g->nodes[mi] : NULL;
        for (int k = 0; mul && op_is(mul, "Mul", 2) && k < 2; k++) {
            const char *x = mul->inputs[k], *d;
            mt->n_drop = 0;
            mt->drop[mt->n_drop++] = mi;
            if (relu6_of_x_plus_3(g, opset, mul->inputs[1 - k], x, mt) && (d = divided_by_6(g, n, x)) &&
                strcmp(d, m) == 0) {
                mt->x = x;
                return true;
            }
        }
    }
    if (!op_is(n, "Mul", 2)) return false;
    for (int k = 0; k < 2; k++) {
        const char *x = n->inputs[k], *h = n->inputs[1 - k];
        if (!private_value(g, h) || strcmp(x, h) == 0) continue;
        int hi = producer(g, h);
        if (hi < 0) continue;
        const ot_node *hn = g->nodes[hi];
        mt->n_drop = 0;
        /* x * HardSigmoid(x; 1/6, 0.5) */
        if (op_is(hn, "HardSigmoid", 1) && strcmp(hn->inputs[0], x) == 0) {
            double alpha = ot_node_attr_float(hn, "alpha", 0.2f), beta = ot_node_attr_float(hn, "beta", 0.5f);
            if (fabs(alpha - 1.0 / 6.0) <= 1e-6 / 6.0 && fabs(beta - 0.5) <= 0.5e-6) {
                mt->drop[mt->n_drop++] = hi;
                mt->x = x;
                return true;
            }
            continue;
        }
        /* x * (Clip(x + 3, 0, 6) / 6) */
        const char *c = divided_by_6(g, hn, x);
        if (c) {
            mt->drop[mt->n_drop++] = hi;
            if (relu6_of_x_plus_3(g, opset, c, x, mt)) {
                mt->x = x;
                return true;
            }
        }
    }
    return false;
}

static octet_status rewrite(ot_graph *g, const hs_match *mt) {
    ot_node *n = g->nodes[mt->last];
    char *x = ot_strdup(mt->x);
    if (!x) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    const char *ins[1] = {x};
    octet_status st = ot_node_set_inputs(n, 1, ins);
    free(x);
    OT_TRY(st);
    OT_TRY(ot_node_set_op(n, "", "HardSwish"));
    for (int a = 0; a < n->n_attrs; a++) ot_attr_clear(&n->attrs[a]); /* Mul/Div have none from opset 7 on */
    n->n_attrs = 0;
    int d[3];
    memcpy(d, mt->drop, sizeof d);
    for (int a = 0; a < mt->n_drop; a++) /* highest index first, so the others stay valid */
        for (int b = a + 1; b < mt->n_drop; b++)
            if (d[b] > d[a]) {
                int t = d[a];
                d[a] = d[b];
                d[b] = t;
            }
    for (int a = 0; a < mt->n_drop; a++) ot_graph_remove_node(g, d[a]);
    return OCTET_OK;
}

/* From 13 to 14 only BatchNormalization changed meaning (its optional outputs: saved statistics before,
 * running statistics in training mode after). Add, Mul, Div, Relu, Identity, CumSum gained types;
 * Reshape, GRU, LSTM, RNN gained attributes whose defaults are the old behaviour. */
static bool same_at_14(const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        if (ot_domain_is_onnx(n->domain) && strcmp(n->op_type, "BatchNormalization") == 0)
            for (int o = 1; o < n->n_outputs; o++)
                if (n->outputs[o][0]) return false;
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g && !same_at_14(n->attrs[a].g)) return false;
            for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
                if (!same_at_14(n->attrs[a].graphs[k])) return false;
        }
    }
    return true;
}

octet_status ot_pass_fuse_hardswish(octet_model *m, ot_hardswish_mode mode, int *fused) {
    if (fused) *fused = 0;
    ot_graph *g = m->graph;
    int64_t opset = ot_model_opset(m, "");
    if (opset < 7) return OCTET_OK; /* Add/Mul with broadcast attributes: not matched */
    hs_match mt;
    if (mode == OT_HARDSWISH_FILE && opset < 14) {
        bool any = false;
        for (int i = 0; i < g->n_nodes && !any; i++) any = match(g, opset, i, &mt);
        if (!any || opset != 13 || !same_at_14(g)) return OCTET_OK;
        OT_TRY(ot_model_set_opset(m, "", 14));
    }
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!match(g, opset, i, &mt)) continue;
        OT_TRY(rewrite(g, &mt));
        for (int a = 0; a < mt.n_drop; a++) i -= mt.drop[a] < mt.last; /* where the HardSwish is now */
        n++;
    }
    if (fused) *fused = n;
    return OCTET_OK;
}
