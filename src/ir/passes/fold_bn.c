/* BatchNormalization folding. Inference BN is y = x * s + t per channel with s = scale / sqrt(var + eps),
 * t = bias - mean * s. It goes
 *   - backward into the Conv / ConvTranspose / Gemm (or 2-D MatMul, which becomes a Gemm) that produces x
 *     and whose output only the BN reads: weights * s, bias * s + t (fold_affine.c);
 *   - forward into a Gemm / MatMul that is the only reader of a 2-D BN output (BN after Flatten):
 *     (x*s + t) W = x (diag(s) W) + t W, so W's rows scale by s and t W joins the bias. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/fold_affine.h"
#include "util/mem.h"

static bool op_is(const ot_node *n, const char *op) { return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0; }

static const octet_tensor *const_f32(const ot_graph *g, const char *name, int64_t want_numel) {
    const octet_tensor *t = ot_graph_constant(g, name);
    if (!t || t->dtype != OCTET_FLOAT) return NULL;
    if (want_numel >= 0 && ot_tensor_numel(t) != want_numel) return NULL;
    return t;
}

static int producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return i;
    return -1;
}

/* True when `name` is known to be 2-D: a Flatten or Gemm output, a Reshape to a 2-element constant shape,
 * or declared so. */
static bool is_2d(const ot_graph *g, const char *name) {
    const ot_value_info *vi = ot_graph_value_info(g, name);
    if (vi && vi->ndim >= 0) return vi->ndim == 2;
    int p = producer(g, name);
    if (p < 0) return false;
    const ot_node *n = g->nodes[p];
    if (op_is(n, "Flatten") || op_is(n, "Gemm")) return true;
    if (op_is(n, "Reshape") && n->n_inputs >= 2) {
        const ot_initializer *s = ot_graph_find_initializer(g, n->inputs[1]);
        return s && ot_tensor_numel(s->tensor) == 2;
    }
    return false;
}

/* The BN's s and t (M each, caller frees), or false when it is not a foldable inference BN of M channels. */
static bool bn_affine(const ot_graph *g, const ot_node *bn, int64_t M, float **s_out, float **t_out) {
    *s_out = *t_out = NULL;
    if (bn->n_inputs < 5 || bn->n_outputs < 1 || ot_node_attr_int(bn, "training_mode", 0) != 0) return false;
    for (int o = 1; o < bn->n_outputs; o++)
        if (bn->outputs[o][0]) return false; /* training outputs in use */
    const octet_tensor *sc = const_f32(g, bn->inputs[1], M), *bb = const_f32(g, bn->inputs[2], M),
                       *mean = const_f32(g, bn->inputs[3], M), *var = const_f32(g, bn->inputs[4], M);
    if (!sc || !bb || !mean || !var) return false;
    float eps = ot_node_attr_float(bn, "epsilon", 1e-5f);
    float *s = malloc((size_t)M * sizeof *s), *t = malloc((size_t)M * sizeof *t);
    if (!s || !t) {
        free(s);
        free(t);
        return false;
    }
    const float *s_ = sc->data, *b_ = bb->data, *m_ = mean->data, *v_ = var->data;
    for (int64_t m = 0; m < M; m++) {
        s[m] = s_[m] / sqrtf(v_[m] + eps);
        t[m] = b_[m] - m_[m] * s[m];
    }
    *s_out = s;
    *t_out = t;
    return true;
}

static bool is_bn(const ot_node *n) { return op_is(n, "BatchNormalization"); }

/* BN at bi folded into its producer. */
static octet_status fold_backward(ot_graph *g, int bi, bool *done) {
    *done = false;
    const ot_node *bn = g->nodes[bi];
    int ci = producer(g, bn->inputs[0]);
    if (ci < 0) return OCTET_OK;
    const ot_node *c = g->nodes[ci];
    bool conv = op_is(c, "Conv") || op_is(c, "ConvTranspose"), gemm = op_is(c, "Gemm"), mm = op_is(c, "MatMul");
    if (!(conv || gemm || mm) || c->n_outputs != 1 || ot_graph_count_reads(g, c->outputs[0]) != 1) return OCTET_OK;
    int64_t M = ot_linear_out_channels(g, c);
    if (M <= 0) return OCTET_OK;
    if (mm && !is_2d(g, c->inputs[0])) return OCTET_OK; /* BN's channel axis 1 is MatMul's last only in 2-D */
    if (ot_node_input(c, 2)) {
        const octet_tensor *b = const_f32(g, c->inputs[2], -1);
        if (!b || (ot_tensor_numel(b) != M && ot_tensor_numel(b) != 1)) return OCTET_OK;
    }
    float *s, *t;
    if (!bn_affine(g, bn, M, &s, &t)) return OCTET_OK;
    char *out = ot_strdup(bn->outputs[0]);
    octet_status st = out ? ot_fold_output_affine(g, ci, s, t, out) : ot_err(OCTET_ERR_NOMEM, "out of memory");
    free(out);
    free(s);
    free(t);
    if (st == OCTET_OK) {
        ot_graph_remove_node(g, bi);
        *done = true;
    }
    return st;
}

/* 2-D BN at bi folded into the Gemm / MatMul that reads its output. */
static octet_status fold_forward(ot_graph *g, int bi, bool *done) {
    *done = false;
    const ot_node *bn = g->nodes[bi];
    if (bn->n_outputs < 1 || ot_graph_count_reads(g, bn->outputs[0]) != 1 || !is_2d(g, bn->inputs[0])) return OCTET_OK;
    int li = ot_graph_find_reader(g, bn->outputs[0]);
    const ot_node *l = li >= 0 ? g->nodes[li] : NULL;
    if (!l || !(op_is(l, "Gemm") || op_is(l, "MatMul")) || l->n_inputs < 2 || strcmp(l->inputs[0], bn->outputs[0]) != 0)
        return OCTET_OK;
    bool gemm = op_is(l, "Gemm"), tb = gemm && ot_node_attr_int(l, "transB", 0);
    if (gemm && ot_node_attr_int(l, "transA", 0)) return OCTET_OK;
    const octet_tensor *w = const_f32(g, l->inputs[1], -1);
    if (!w || w->ndim != 2) return OCTET_OK;
    int64_t K = tb ? w->dims[1] : w->dims[0], M = tb ? w->dims[0] : w->dims[1];
    const octet_tensor *c = gemm && ot_node_input(l, 2) ? const_f32(g, l->inputs[2], -1) : NULL;
    if (gemm && ot_node_input(l, 2) && (!c || (ot_tensor_numel(c) != 1 && ot_tensor_numel(c) != M))) return OCTET_OK;
    float *s, *t;
    if (!bn_affine(g, bn, K, &s, &t)) return OCTET_OK;
    octet_tensor *nw = ot_tensor_clone(w), *nb = ot_tensor_new(OCTET_FLOAT, 1, &M);
    char *wn = ot_graph_unique_name(g, l->name[0] ? l->name : l->outputs[0], "_bn_W");
    char *bname = ot_graph_unique_name(g, l->name[0] ? l->name : l->outputs[0], "_bn_B");
    char *x = ot_strdup(bn->inputs[0]);
    octet_status st = (nw && nb && wn && bname && x) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (st == OCTET_OK) {
        float alpha = gemm ? ot_node_attr_float(l, "alpha", 1.0f) : 1.0f, beta = gemm ? ot_node_attr_float(l, "beta", 1.0f) : 1.0f;
        const float *wd = w->data;
        float *nwd = nw->data, *nbd = nb->data;
        for (int64_t m = 0; m < M; m++) {
            double acc = c ? (double)beta * ((const float *)c->data)[ot_tensor_numel(c) == 1 ? 0 : m] : 0.0;
            for (int64_t k = 0; k < K; k++) {
                int64_t at = tb ? m * K + k : k * M + m;
                acc += (double)alpha * t[k] * wd[at];
                nwd[at] = wd[at] * s[k];
            }
            nbd[m] = (float)acc;
        }
        st = ot_graph_add_initializer(g, wn, nw), nw = NULL;
        if (st == OCTET_OK) st = ot_graph_add_initializer(g, bname, nb), nb = NULL;
    }
    if (st == OCTET_OK) {
        ot_node *ln = g->nodes[li];
        const char *ins[3] = {x, wn, bname};
        st = ot_node_set_inputs(ln, 3, ins);
        if (st == OCTET_OK && !gemm) {
            char *op = ot_strdup("Gemm");
            if (!op) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            else free(ln->op_type), ln->op_type = op;
        }
        for (int a = 0; st == OCTET_OK && a < ln->n_attrs; a++)
            if (strcmp(ln->attrs[a].name, "beta") == 0) ln->attrs[a].f = 1.0f, ln->attrs[a].type = OT_ATTR_FLOAT;
    }
    octet_tensor_free(nw);
    octet_tensor_free(nb);
    free(wn), free(bname), free(x), free(s), free(t);
    if (st == OCTET_OK) {
        ot_graph_remove_node(g, bi);
        *done = true;
    }
    return st;
}

octet_status ot_pass_fold_batchnorm(octet_model *m, int *folded) {
    ot_graph *g = m->graph;
    int n = 0;
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < g->n_nodes && !again; i++) {
            if (!is_bn(g->nodes[i])) continue;
            bool done;
            OT_TRY(fold_backward(g, i, &done));
            if (!done) OT_TRY(fold_forward(g, i, &done));
            if (done) n++, again = true;
        }
    }
    if (folded) *folded = n;
    return OCTET_OK;
}
