/* BatchNormalization folding: Conv(x, W, B) -> BN(scale, bias, mean, var, eps) becomes
 * Conv(x, W * s, (B - mean) * s + bias) with s = scale / sqrt(var + eps), per output channel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"

static const octet_tensor *const_f32(const ot_graph *g, const char *name, int64_t want_numel) {
    if (!name || !name[0]) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    if (!in || in->tensor->dtype != OCTET_FLOAT) return NULL;
    if (want_numel >= 0 && ot_tensor_numel(in->tensor) != want_numel) return NULL;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return NULL;  /* overridable: not a constant */
    return in->tensor;
}

static octet_status add_init(ot_graph *g, const char *base, const char *suffix, octet_tensor *t, char **name) {
    *name = ot_graph_unique_name(g, base, suffix);
    if (!*name) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    return ot_graph_add_initializer(g, *name, t);
}

static octet_status fold_one(ot_graph *g, int ci, int bi, bool *done) {
    ot_node *conv = g->nodes[ci], *bn = g->nodes[bi];
    *done = false;
    bool transpose = strcmp(conv->op_type, "ConvTranspose") == 0;
    const octet_tensor *w = const_f32(g, ot_node_input(conv, 1), -1);
    if (!w || w->ndim < 3 || bn->n_inputs < 5 || bn->n_outputs < 1) return OCTET_OK;
    if (ot_node_attr_int(bn, "training_mode", 0) != 0) return OCTET_OK;
    for (int o = 1; o < bn->n_outputs; o++)
        if (bn->outputs[o][0]) return OCTET_OK;  /* training outputs in use */
    int64_t group = ot_node_attr_int(conv, "group", 1);
    int64_t M = transpose ? w->dims[1] * group : w->dims[0];
    const octet_tensor *sc = const_f32(g, bn->inputs[1], M), *bb = const_f32(g, bn->inputs[2], M),
                       *mean = const_f32(g, bn->inputs[3], M), *var = const_f32(g, bn->inputs[4], M);
    const octet_tensor *b = ot_node_input(conv, 2) ? const_f32(g, conv->inputs[2], M) : NULL;
    if (!sc || !bb || !mean || !var || (ot_node_input(conv, 2) && !b)) return OCTET_OK;
    float eps = ot_node_attr_float(bn, "epsilon", 1e-5f);

    octet_tensor *nw = ot_tensor_clone(w);
    int64_t one = M;
    octet_tensor *nb = ot_tensor_new(OCTET_FLOAT, 1, &one);
    if (!nw || !nb) {
        octet_tensor_free(nw);
        octet_tensor_free(nb);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    const float *s_ = sc->data, *b_ = bb->data, *m_ = mean->data, *v_ = var->data;
    float *wd = nw->data, *bd = nb->data;
    int64_t per = ot_tensor_numel(w) / w->dims[0];  /* elements per dim-0 slice */
    for (int64_t m = 0; m < M; m++) {
        float s = s_[m] / sqrtf(v_[m] + eps);
        bd[m] = ((b ? ((const float *)b->data)[m] : 0.0f) - m_[m]) * s + b_[m];
        if (!transpose) {
            for (int64_t i = 0; i < per; i++) wd[m * per + i] *= s;
        } else {
            /* W is [C_in, M/group, k...]: output channel m = g*(M/group) + j */
            int64_t mg = M / group, gi = m / mg, j = m % mg, cin_g = w->dims[0] / group;
            int64_t kk = per / w->dims[1];
            for (int64_t c = gi * cin_g; c < (gi + 1) * cin_g; c++)
                for (int64_t t = 0; t < kk; t++) wd[(c * w->dims[1] + j) * kk + t] *= s;
        }
    }
    char *wname = NULL, *bname = NULL;
    octet_status st = add_init(g, conv->name[0] ? conv->name : conv->outputs[0], "_bn_W", nw, &wname);
    if (st == OCTET_OK) st = add_init(g, conv->name[0] ? conv->name : conv->outputs[0], "_bn_B", nb, &bname);
    else octet_tensor_free(nb);
    if (st == OCTET_OK) {
        const char *ins[3] = {conv->inputs[0], wname, bname};
        st = ot_node_set_inputs(conv, 3, ins);
    }
    if (st == OCTET_OK) {
        const char *out = bn->outputs[0];
        st = ot_node_set_outputs(conv, 1, &out);
    }
    free(wname);
    free(bname);
    if (st != OCTET_OK) return st;
    ot_graph_remove_node(g, bi);
    *done = true;
    return OCTET_OK;
}

octet_status ot_pass_fold_batchnorm(octet_model *m, int *folded) {
    ot_graph *g = m->graph;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node *c = g->nodes[i];
        if (!ot_domain_is_onnx(c->domain) || (strcmp(c->op_type, "Conv") && strcmp(c->op_type, "ConvTranspose")) ||
            c->n_outputs != 1)
            continue;
        if (ot_graph_count_reads(g, c->outputs[0]) != 1) continue;
        int bi = ot_graph_find_reader(g, c->outputs[0]);
        if (bi < 0 || strcmp(g->nodes[bi]->op_type, "BatchNormalization") || !ot_domain_is_onnx(g->nodes[bi]->domain) ||
            strcmp(g->nodes[bi]->inputs[0], c->outputs[0]))
            continue;
        bool done;
        OT_TRY(fold_one(g, i, bi, &done));
        if (done) {
            n++;
            if (bi < i) i--;
        }
    }
    if (folded) *folded = n;
    return OCTET_OK;
}
