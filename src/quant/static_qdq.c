/* Static quantization, QDQ form: insert QuantizeLinear -> DequantizeLinear pairs on the activations that
 * calibration measured, and store weights as int8 with a DequantizeLinear, so any QDQ-aware runtime
 * (octet, ONNX Runtime, TensorRT) runs the quantized ops on integers.
 *
 * Which tensors: the activation inputs and outputs of Conv, Gemm, MatMul (constant weight), Add, Mul,
 * GlobalAveragePool, AveragePool and Concat. An output read only by a Relu/Clip is left float and the
 * activation's output is quantized instead, so runtimes fold the activation into the integer op.
 * Weights: int8, symmetric, per output channel (Conv axis 0; Gemm/MatMul the output column) or per tensor.
 * Bias: int32 with scale s_x * s_w[c] and zero point 0. */
#include "quant/static_qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "quant/qparams.h"
#include "util/mem.h"

static bool op_is(const ot_node *n, const char *op) { return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0; }

static const octet_tensor *const_init(const ot_graph *g, const char *name) {
    if (!name || !name[0]) return NULL;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

static bool excluded(const ot_static_config *cfg, const ot_node *n) {
    for (int i = 0; i < cfg->n_exclude; i++)
        if (strcmp(cfg->exclude[i], n->name) == 0 || strcmp(cfg->exclude[i], n->op_type) == 0) return true;
    return false;
}

/* Activation inputs that a quantizable node wants quantized (indices into its inputs). */
static int activation_inputs(const ot_graph *g, const ot_node *n, int *idx) {
    int k = 0;
    if (op_is(n, "Conv") || op_is(n, "Gemm") || op_is(n, "MatMul")) {
        if (!const_init(g, ot_node_input(n, 1))) return 0; /* weight must be constant */
        if (op_is(n, "Gemm") && ot_node_attr_int(n, "transA", 0)) return 0;
        idx[k++] = 0;
    } else if (op_is(n, "Add") || op_is(n, "Mul")) {
        for (int j = 0; j < 2 && j < n->n_inputs; j++)
            if (!const_init(g, n->inputs[j])) idx[k++] = j;
        if (k != 2) return 0; /* activation x activation only; constant operands stay float */
    } else if (op_is(n, "GlobalAveragePool") || op_is(n, "AveragePool")) {
        idx[k++] = 0;
    } else if (op_is(n, "Concat")) {
        for (int j = 0; j < n->n_inputs && k < 32; j++) {
            if (const_init(g, n->inputs[j])) return 0;
            idx[k++] = j;
        }
    }
    return k;
}


typedef struct qset {
    char **names;
    int n, cap;
} qset;

static bool qset_has(const qset *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return true;
    return false;
}

static bool qset_add(qset *s, const char *name) {
    if (qset_has(s, name)) return true;
    if (!ot_grow((void **)&s->names, &s->cap, s->n + 1, sizeof *s->names)) return false;
    return (s->names[s->n++] = ot_strdup(name)) != NULL;
}

/* The tensor that carries a node's output after a following Relu/Clip that is its only reader. */
static const char *output_after_activation(const ot_graph *g, const char *y) {
    if (ot_graph_count_reads(g, y) != 1) return y;
    int r = ot_graph_find_reader(g, y);
    if (r < 0) return y;
    const ot_node *a = g->nodes[r];
    if ((op_is(a, "Relu") || op_is(a, "Clip")) && a->n_outputs == 1 && strcmp(a->inputs[0], y) == 0)
        return a->outputs[0];
    return y;
}

static octet_status add_scalar_f(ot_graph *g, const char *base, const char *suffix, float v, char **name) {
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    *name = ot_graph_unique_name(g, base, suffix);
    if (!t || !*name) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    *(float *)t->data = v;
    return ot_graph_add_initializer(g, *name, t);
}

static octet_status add_scalar_q(ot_graph *g, const char *base, const char *suffix, octet_dtype qt, int32_t v,
                                 char **name) {
    octet_tensor *t = ot_tensor_new(qt, 0, NULL);
    *name = ot_graph_unique_name(g, base, suffix);
    if (!t || !*name) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    ot_tensor_set_f64(t, 0, v);
    return ot_graph_add_initializer(g, *name, t);
}

static octet_status add_node(ot_graph *g, const char *op, const char *name, int n_in, const char **ins, const char *out,
                             ot_node **made) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    if (!n || ot_node_set_inputs(n, n_in, ins) != OCTET_OK || ot_node_set_outputs(n, 1, &out) != OCTET_OK)
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (made) *made = n;
    return OCTET_OK;
}

/* Rename every definition of `from` (node output) to `to`. */
static void rename_output(ot_graph *g, const char *from, const char *to) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], from) == 0) {
                char *d = ot_strdup(to);
                if (!d) continue;
                free(g->nodes[i]->outputs[o]);
                g->nodes[i]->outputs[o] = d;
            }
}

static void rename_reads(ot_graph *g, const char *from, const char *to, int skip_node) {
    for (int i = 0; i < g->n_nodes; i++) {
        if (i == skip_node) continue;
        for (int j = 0; j < g->nodes[i]->n_inputs; j++)
            if (strcmp(g->nodes[i]->inputs[j], from) == 0) {
                char *d = ot_strdup(to);
                if (!d) continue;
                free(g->nodes[i]->inputs[j]);
                g->nodes[i]->inputs[j] = d;
            }
    }
}

static bool is_graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    return false;
}

/* T -> Q -> DQ: a node output is renamed T_preq (so T becomes the DQ's output and readers keep their
 * names); a graph input keeps its name and its readers move to the DQ's output. */
static octet_status insert_qdq(ot_graph *g, const char *t, const ot_range *r, const ot_static_config *cfg,
                               ot_qdq_params *qp) {
    ot_qparams p = ot_calc_qparams(r->min, r->max, cfg->activation_type, cfg->symmetric_activations, cfg->reduce_range);
    qp->scale = p.scale;
    qp->zero_point = p.zero_point;
    char *s = NULL, *z = NULL, *pre = NULL, *qname = NULL, *dq_out = NULL;
    octet_status st = add_scalar_f(g, t, "_scale", p.scale, &s);
    if (st == OCTET_OK) st = add_scalar_q(g, t, "_zero_point", cfg->activation_type, p.zero_point, &z);
    if (st == OCTET_OK && !(qname = ot_graph_unique_name(g, t, "_quantized"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    bool input = is_graph_input(g, t);
    if (st == OCTET_OK) {
        if (input) {
            if (!(dq_out = ot_graph_unique_name(g, t, "_dequantized"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            if (st == OCTET_OK) rename_reads(g, t, dq_out, -1);
            pre = ot_strdup(t);
        } else {
            if (!(pre = ot_graph_unique_name(g, t, "_preq"))) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            if (st == OCTET_OK) {
                rename_output(g, t, pre);
                dq_out = ot_strdup(t);
            }
        }
    }
    if (st == OCTET_OK) {
        const char *qin[3] = {pre, s, z};
        char *qn = ot_graph_unique_name(g, t, "_QuantizeLinear");
        st = qn ? add_node(g, "QuantizeLinear", qn, 3, qin, qname, NULL) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(qn);
    }
    if (st == OCTET_OK) {
        const char *din[3] = {qname, s, z};
        char *dn = ot_graph_unique_name(g, t, "_DequantizeLinear");
        st = dn ? add_node(g, "DequantizeLinear", dn, 3, din, dq_out, NULL) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(dn);
    }
    free(s);
    free(z);
    free(pre);
    free(qname);
    free(dq_out);
    return st;
}

/* The float initializer `name` becomes q (+ scale sc, zero point zp) and a DequantizeLinear whose output
 * has the old name, so every reader keeps working. Takes q, sc, zp. axis < 0: per tensor. */
static octet_status swap_for_dequantized(ot_graph *g, const char *name, octet_tensor *q, octet_tensor *sc,
                                         octet_tensor *zp, int axis) {
    char *qn = ot_graph_unique_name(g, name, "_quantized"), *sn = ot_graph_unique_name(g, name, "_scale"),
         *zn = ot_graph_unique_name(g, name, "_zero_point"), *dn = ot_graph_unique_name(g, name, "_DequantizeLinear");
    char *keep = ot_strdup(name);
    octet_status st = (qn && sn && zn && dn && keep) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, qn, q), q = NULL;
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, sn, sc), sc = NULL;
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, zn, zp), zp = NULL;
    if (st == OCTET_OK) {
        /* the float initializer goes: its name is now the DequantizeLinear's output */
        ot_graph_remove_initializer(g, ot_graph_find_initializer_index(g, keep));
        const char *din[3] = {qn, sn, zn};
        ot_node *dq = NULL;
        st = add_node(g, "DequantizeLinear", dn, 3, din, keep, &dq);
        if (st == OCTET_OK && axis >= 0) st = ot_node_add_attr_int(dq, "axis", axis);
    }
    octet_tensor_free(q);
    octet_tensor_free(sc);
    octet_tensor_free(zp);
    free(qn);
    free(sn);
    free(zn);
    free(dn);
    free(keep);
    return st;
}

/* Replace the float weight initializer `w` by int8 data + DequantizeLinear producing `w`.
 * axis: the output-channel axis for per-channel, or -1 for per tensor. Returns the scales (owned by the
 * new scale initializer; valid while the graph lives). */
static octet_status quantize_weight(ot_graph *g, const char *w, int axis, const ot_static_config *cfg,
                                    const float **scales_out, int64_t *n_scales) {
    const octet_tensor *wt = g->inits[ot_graph_find_initializer_index(g, w)].tensor;
    int64_t nch = axis >= 0 ? wt->dims[axis] : 1;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < (axis >= 0 ? axis : 0); d++) outer *= wt->dims[d];
    for (int d = (axis >= 0 ? axis + 1 : wt->ndim); d < wt->ndim; d++) inner *= wt->dims[d];
    if (axis < 0) inner = ot_tensor_numel(wt);
    octet_tensor *q = ot_tensor_new(cfg->weight_type, wt->ndim, wt->dims);
    octet_tensor *sc = axis >= 0 ? ot_tensor_new(OCTET_FLOAT, 1, &nch) : ot_tensor_new(OCTET_FLOAT, 0, NULL);
    octet_tensor *zp = axis >= 0 ? ot_tensor_new(cfg->weight_type, 1, &nch) : ot_tensor_new(cfg->weight_type, 0, NULL);
    if (!q || !sc || !zp) {
        octet_tensor_free(q);
        octet_tensor_free(sc);
        octet_tensor_free(zp);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    const float *x = wt->data;
    for (int64_t c = 0; c < nch; c++) {
        float mn = INFINITY, mx = -INFINITY;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                float v = x[(o * nch + c) * inner + i];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        ot_qparams p = ot_calc_qparams(mn, mx, cfg->weight_type, cfg->symmetric_weights, false);
        ((float *)sc->data)[c] = p.scale;
        ot_tensor_set_f64(zp, c, p.zero_point);
        for (int64_t o = 0; o < outer; o++) {
            int64_t base = (o * nch + c) * inner;
            ot_quantize_f32(x + base, inner, p.scale, p.zero_point, cfg->weight_type,
                            (char *)q->data + base * (int64_t)octet_dtype_size(cfg->weight_type));
        }
    }
    /* the scales live on in the new scale initializer, which the graph owns from here */
    const float *scales = sc->data;
    octet_status st = swap_for_dequantized(g, w, q, sc, zp, axis);
    if (st == OCTET_OK) {
        *scales_out = scales;
        *n_scales = nch;
    }
    return st;
}

static octet_status quantize_bias(ot_graph *g, const char *b, float sx, const float *sw, int64_t nsw) {
    const octet_tensor *bt = g->inits[ot_graph_find_initializer_index(g, b)].tensor;
    int64_t n = ot_tensor_numel(bt);
    if (bt->dtype != OCTET_FLOAT || (nsw != 1 && nsw != n)) return OCTET_OK;
    octet_tensor *q = ot_tensor_new(OCTET_INT32, 1, &n);
    octet_tensor *sc = ot_tensor_new(OCTET_FLOAT, 1, &n);
    octet_tensor *zp = ot_tensor_new(OCTET_INT32, 1, &n);
    if (!q || !sc || !zp) {
        octet_tensor_free(q);
        octet_tensor_free(sc);
        octet_tensor_free(zp);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        float s = sx * sw[nsw == 1 ? 0 : i];
        ((float *)sc->data)[i] = s;
        double v = nearbyint((double)((const float *)bt->data)[i] / (double)s);
        v = v > 2147483647.0 ? 2147483647.0 : (v < -2147483648.0 ? -2147483648.0 : v);
        ((int32_t *)q->data)[i] = (int32_t)v;
    }
    return swap_for_dequantized(g, b, q, sc, zp, 0);
}

ot_static_config ot_static_config_default(void) {
    ot_static_config c = {0};
    c.activation_type = OCTET_UINT8;
    c.weight_type = OCTET_INT8;
    c.per_channel = true;
    c.symmetric_weights = true;
    return c;
}

octet_status ot_quantize_static_qdq(octet_model *m, const ot_calib *cal, const ot_static_config *cfg, int *n_quantized) {
    ot_graph *g = m->graph;
    qset acts = {0};
    octet_status st = OCTET_OK;
    int nq = 0;
    /* 1. which activations */
    int n_nodes = g->n_nodes;
    for (int i = 0; i < n_nodes && st == OCTET_OK; i++) {
        const ot_node *n = g->nodes[i];
        int idx[32];
        int k = excluded(cfg, n) ? 0 : activation_inputs(g, n, idx);
        if (!k || n->n_outputs < 1) continue;
        bool ok = true;
        for (int j = 0; j < k; j++) ok &= ot_calib_range(cal, n->inputs[idx[j]]) != NULL;
        const char *out = output_after_activation(g, n->outputs[0]);
        ok &= ot_calib_range(cal, out) != NULL;
        if (!ok) continue;
        for (int j = 0; j < k && st == OCTET_OK; j++)
            if (!qset_add(&acts, n->inputs[idx[j]])) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (st == OCTET_OK && !qset_add(&acts, out)) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        nq++;
    }
    /* 2. each activation's range: its own, except that the output of an op that only moves or selects
     * values (Reshape, Flatten, MaxPool, ...) takes its input's, so the runtime can run the op on the
     * quantized tensor directly (DQ(s,z) -> op -> Q(s,z)). Then weights and biases, which need the
     * input activation's scale. */
    ot_qdq_params *qps = calloc((size_t)acts.n + 1, sizeof *qps);
    ot_range *ranges = calloc((size_t)acts.n + 1, sizeof *ranges);
    if ((!qps || !ranges) && st == OCTET_OK) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < acts.n && st == OCTET_OK; i++) {
        const char *src = acts.names[i];
        for (int hop = 0; hop < 16; hop++) {
            const ot_node *pn = NULL;
            for (int k = 0; k < g->n_nodes && !pn; k++)
                if (g->nodes[k]->n_outputs == 1 && strcmp(g->nodes[k]->outputs[0], src) == 0) pn = g->nodes[k];
            if (!pn || !ot_op_moves_values(pn) || !qset_has(&acts, pn->inputs[0])) break;
            src = pn->inputs[0];
        }
        ranges[i] = *ot_calib_range(cal, src);
        st = ot_calib_choose_range(cal, src, cfg->activation_type, cfg->symmetric_activations, cfg->reduce_range,
                                   &ranges[i].min, &ranges[i].max);
        if (st != OCTET_OK) break;
        ot_qparams p = ot_calc_qparams(ranges[i].min, ranges[i].max,
                                       cfg->activation_type, cfg->symmetric_activations, cfg->reduce_range);
        qps[i].scale = p.scale;
        qps[i].zero_point = p.zero_point;
    }
    for (int i = 0; i < n_nodes && st == OCTET_OK; i++) {
        ot_node *n = g->nodes[i];
        bool conv = op_is(n, "Conv"), gemm = op_is(n, "Gemm"), mm = op_is(n, "MatMul");
        if (!(conv || gemm || mm) || excluded(cfg, n) || !qset_has(&acts, n->inputs[0])) continue;
        const char *w = ot_node_input(n, 1);
        const octet_tensor *wt = const_init(g, w);
        if (!wt || wt->dtype != OCTET_FLOAT || ot_graph_count_reads(g, w) != 1) continue;
        int axis = -1;
        if (cfg->per_channel) axis = conv ? 0 : (gemm ? (ot_node_attr_int(n, "transB", 0) ? 0 : 1) : wt->ndim - 1);
        if (mm && wt->ndim != 2) axis = -1;
        const float *sw = NULL;
        int64_t nsw = 0;
        char *wn = ot_strdup(w);
        st = wn ? quantize_weight(g, wn, axis, cfg, &sw, &nsw) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(wn);
        n = g->nodes[i];
        const char *b = ot_node_input(n, 2);
        if (st == OCTET_OK && (conv || gemm) && b && const_init(g, b) && ot_graph_count_reads(g, b) == 1 &&
            (!gemm || ot_node_attr_float(n, "beta", 1.0f) == 1.0f) && ot_node_attr_float(n, "alpha", 1.0f) == 1.0f) {
            float sx = 0;
            for (int a = 0; a < acts.n; a++)
                if (strcmp(acts.names[a], n->inputs[0]) == 0) sx = qps[a].scale;
            char *bn = ot_strdup(b);
            st = bn ? quantize_bias(g, bn, sx, sw, nsw) : ot_err(OCTET_ERR_NOMEM, "out of memory");
            free(bn);
        }
    }
    /* 3. activations */
    for (int i = 0; i < acts.n && st == OCTET_OK; i++) st = insert_qdq(g, acts.names[i], &ranges[i], cfg, &qps[i]);
    for (int i = 0; i < acts.n; i++) free(acts.names[i]);
    free(acts.names);
    free(qps);
    free(ranges);
    if (st == OCTET_OK && ot_model_opset(m, "") < 13) {
        /* per-axis DequantizeLinear needs opset 13 */
        st = ot_model_set_opset(m, "", 13);
    }
    if (n_quantized) *n_quantized = nq;
    return st;
}
