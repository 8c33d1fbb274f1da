/* Per-channel affine folding: Conv(x, W, B) * s + t = Conv(x, W * s, B * s + t) with s, t per output
 * channel; the same for ConvTranspose, Gemm and MatMul. BatchNormalization folding (fold_bn.c) and the
 * Mul/Add folding below both end here. */
#include "ir/passes/fold_affine.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static bool op_is(const ot_node *n, const char *op) { return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0; }

static const octet_tensor *const_f32(const ot_graph *g, const char *name) {
    const octet_tensor *t = ot_graph_constant(g, name);
    return t && t->dtype == OCTET_FLOAT ? t : NULL;
}

int64_t ot_linear_out_channels(const ot_graph *g, const ot_node *n) {
    const octet_tensor *w = n->n_inputs >= 2 ? const_f32(g, n->inputs[1]) : NULL;
    if (!w || n->n_outputs < 1) return -1;
    if (op_is(n, "Conv")) return w->ndim >= 3 ? w->dims[0] : -1;
    if (op_is(n, "ConvTranspose")) return w->ndim >= 3 ? w->dims[1] * ot_node_attr_int(n, "group", 1) : -1;
    if (op_is(n, "Gemm")) {
        if (w->ndim != 2 || ot_node_attr_int(n, "transA", 0)) return -1;
        return ot_node_attr_int(n, "transB", 0) ? w->dims[0] : w->dims[1];
    }
    if (op_is(n, "MatMul")) return w->ndim == 2 ? w->dims[1] : -1;
    return -1;
}

/* Multiply the weights of output channel m by s. */
static void scale_channel(const ot_node *n, octet_tensor *w, int64_t m, float s) {
    float *d = w->data;
    int64_t numel = ot_tensor_numel(w);
    if (op_is(n, "Conv")) {
        int64_t per = numel / w->dims[0];
        for (int64_t i = 0; i < per; i++) d[m * per + i] *= s;
    } else if (op_is(n, "ConvTranspose")) {
        /* W is [C_in, M/group, k...]: output channel m = g * (M/group) + j */
        int64_t group = ot_node_attr_int(n, "group", 1), mg = w->dims[1], gi = m / mg, j = m % mg;
        int64_t cin_g = w->dims[0] / group, kk = numel / (w->dims[0] * w->dims[1]);
        for (int64_t c = gi * cin_g; c < (gi + 1) * cin_g; c++)
            for (int64_t t = 0; t < kk; t++) d[(c * mg + j) * kk + t] *= s;
    } else if (op_is(n, "Gemm") && ot_node_attr_int(n, "transB", 0)) {
        for (int64_t k = 0; k < w->dims[1]; k++) d[m * w->dims[1] + k] *= s;
    } else { /* [K, M] */
        for (int64_t k = 0; k < w->dims[0]; k++) d[k * w->dims[1] + m] *= s;
    }
}

static octet_status add_init(ot_graph *g, const ot_node *n, const char *suffix, octet_tensor *t, char **name) {
    *name = ot_graph_unique_name(g, n->name[0] ? n->name : n->outputs[0], suffix);
    if (!*name || !t) {
        octet_tensor_free(t);
        free(*name);
        *name = NULL;
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    return ot_graph_add_initializer(g, *name, t);
}

octet_status ot_fold_output_affine(ot_graph *g, int idx, const float *s, const float *t, const char *new_out) {
    ot_node *n = g->nodes[idx];
    int64_t M = ot_linear_out_channels(g, n);
    if (M <= 0) return ot_err(OCTET_ERR_INTERNAL, "affine fold: node '%s' has no constant weight", n->name);
    bool gemm = op_is(n, "Gemm"), mm = op_is(n, "MatMul");
    float beta = gemm ? ot_node_attr_float(n, "beta", 1.0f) : 1.0f;
    const octet_tensor *w = const_f32(g, n->inputs[1]);
    const octet_tensor *b = (!mm && ot_node_input(n, 2)) ? const_f32(g, n->inputs[2]) : NULL;
    if (!mm && ot_node_input(n, 2) && !b) return ot_err(OCTET_ERR_INTERNAL, "affine fold: bias of '%s' not constant", n->name);
    int64_t nb = b ? ot_tensor_numel(b) : 0;
    if (b && nb != 1 && nb != M) return ot_err(OCTET_ERR_INTERNAL, "affine fold: bias of '%s' is not per channel", n->name);
    octet_tensor *nw = ot_tensor_clone(w), *nbias = NULL;
    bool need_bias = b || t;
    if (need_bias) nbias = ot_tensor_new(OCTET_FLOAT, 1, &M);
    if (!nw || (need_bias && !nbias)) {
        octet_tensor_free(nw);
        octet_tensor_free(nbias);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int64_t m = 0; m < M; m++) {
        float sm = s ? s[m] : 1.0f;
        if (s) scale_channel(n, nw, m, sm);
        if (nbias) {
            /* Gemm: y = alpha*A*B + beta*C; the folded form keeps alpha and sets beta to 1 */
            float bv = b ? beta * ((const float *)b->data)[nb == 1 ? 0 : m] : 0.0f;
            ((float *)nbias->data)[m] = bv * sm + (t ? t[m] : 0.0f);
        }
    }
    char *wname = NULL, *bname = NULL;
    octet_status st = add_init(g, n, "_folded_W", nw, &wname);
    if (st == OCTET_OK && nbias) st = add_init(g, n, "_folded_B", nbias, &bname);
    else if (nbias) octet_tensor_free(nbias);
    n = g->nodes[idx];
    if (st == OCTET_OK) {
        const char *ins[3] = {n->inputs[0], wname, bname};
        st = ot_node_set_inputs(n, bname ? 3 : 2, ins);
    }
    if (st == OCTET_OK) st = ot_node_set_outputs(n, 1, &new_out);
    if (st == OCTET_OK && mm && bname) {
        /* MatMul + bias = Gemm (2-D input, the caller checked) */
        char *gemm_op = ot_strdup("Gemm");
        if (!gemm_op) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        else free(n->op_type), n->op_type = gemm_op;
    }
    if (st == OCTET_OK && gemm && beta != 1.0f && bname) {
        for (int a = 0; a < n->n_attrs; a++)
            if (strcmp(n->attrs[a].name, "beta") == 0) n->attrs[a].f = 1.0f, n->attrs[a].type = OT_ATTR_FLOAT;
    }
    free(wname);
    free(bname);
    return st;
}

/* The per-channel vector of constant k for an output of rank r with M channels on axis `ch`, or false. */
static bool channel_vector(const octet_tensor *k, int r, int ch, int64_t M, float *out) {
    if (k->ndim > r) return false;
    int64_t at = -1;
    for (int j = 0; j < k->ndim; j++) {
        int od = r - k->ndim + j;
        if (k->dims[j] == 1) continue;
        if (od != ch || k->dims[j] != M) return false;
        at = j;
    }
    const float *d = k->data;
    for (int64_t m = 0; m < M; m++) out[m] = d[at >= 0 ? m : 0];
    return true;
}

static octet_status fold_one(ot_graph *g, int ci, bool *done) {
    *done = false;
    const ot_node *c = g->nodes[ci];
    bool gemm = op_is(c, "Gemm");
    if (!(op_is(c, "Conv") || op_is(c, "ConvTranspose") || gemm) || c->n_outputs != 1) return OCTET_OK;
    int64_t M = ot_linear_out_channels(g, c);
    if (M <= 0 || ot_graph_count_reads(g, c->outputs[0]) != 1) return OCTET_OK;
    if (ot_node_input(c, 2)) {
        const octet_tensor *b = const_f32(g, c->inputs[2]);
        if (!b || (ot_tensor_numel(b) != 1 && ot_tensor_numel(b) != M)) return OCTET_OK;
    }
    int ri = ot_graph_find_reader(g, c->outputs[0]);
    const ot_node *r = ri >= 0 ? g->nodes[ri] : NULL;
    if (!r || !(op_is(r, "Mul") || op_is(r, "Add")) || r->n_inputs != 2 || r->n_outputs != 1) return OCTET_OK;
    int other = strcmp(r->inputs[0], c->outputs[0]) == 0 ? 1 : 0;
    if (strcmp(r->inputs[1 - other], c->outputs[0]) != 0) return OCTET_OK;
    const octet_tensor *k = const_f32(g, r->inputs[other]);
    const octet_tensor *w = const_f32(g, c->inputs[1]);
    int rank = gemm ? 2 : w->ndim;
    float *v = malloc((size_t)M * sizeof *v);
    if (!v) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    octet_status st = OCTET_OK;
    if (k && channel_vector(k, rank, 1, M, v)) {
        char *out = ot_strdup(r->outputs[0]);
        bool mul = op_is(r, "Mul");
        st = out ? ot_fold_output_affine(g, ci, mul ? v : NULL, mul ? NULL : v, out) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(out);
        if (st == OCTET_OK) {
            ot_graph_remove_node(g, ri);
            *done = true;
        }
    }
    free(v);
    return st;
}

octet_status ot_pass_fold_affine(octet_model *m, int *folded) {
    ot_graph *g = m->graph;
    int n = 0;
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < g->n_nodes; i++) {
            bool done;
            OT_TRY(fold_one(g, i, &done));
            if (done) {
                n++;
                again = true;
                break;
            }
        }
    }
    if (folded) *folded = n;
    return OCTET_OK;
}
