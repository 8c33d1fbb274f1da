/* Static quantization of constants: weights int8 (symmetric, per output channel or per tensor), biases
 * int32 with scale x_scale * w_scale[c] and zero point 0, and constant operands of Add/Mul quantized like
 * the activation they meet (per tensor, activation type), as ONNX Runtime's quantizer does. Each float
 * initializer becomes quantized data + a DequantizeLinear, so any QDQ runtime sees the same numbers. A
 * weight shared by several nodes is quantized once: one int8 initializer, one DequantizeLinear that
 * every reader takes (QOperator: every QLinearConv / QLinearMatMul / QGemm names the same initializer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "quant/qparams.h"
#include "quant/static_internal.h"
#include "util/mem.h"

octet_status ot_sq_add_node(ot_graph *g, const char *op, const char *name, int n_in, const char **ins, const char *out,
                            ot_node **made) {
    ot_node *n = ot_graph_add_node(g, op, "", name);
    if (!n || ot_node_set_inputs(n, n_in, ins) != OCTET_OK || ot_node_set_outputs(n, 1, &out) != OCTET_OK)
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (made) *made = n;
    return OCTET_OK;
}

/* q (+ scale sc, zero point zp) and a DequantizeLinear writing `out`. Takes q, sc, zp. axis < 0: per tensor.
 * With replace, the float initializer named `out` goes (every reader now reads the DequantizeLinear). */
static octet_status add_dequantized(ot_graph *g, const char *base, const char *out, bool replace, octet_tensor *q,
                                    octet_tensor *sc, octet_tensor *zp, int axis) {
    char *qn = ot_graph_unique_name(g, base, "_quantized"), *sn = ot_graph_unique_name(g, base, "_scale"),
         *zn = ot_graph_unique_name(g, base, "_zero_point"), *dn = ot_graph_unique_name(g, base, "_DequantizeLinear");
    char *keep = ot_strdup(out);
    octet_status st = (qn && sn && zn && dn && keep) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, qn, q), q = NULL;
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, sn, sc), sc = NULL;
    if (st == OCTET_OK) st = ot_graph_add_initializer(g, zn, zp), zp = NULL;
    if (st == OCTET_OK) {
        if (replace) ot_graph_remove_initializer(g, ot_graph_find_initializer_index(g, keep));
        const char *din[3] = {qn, sn, zn};
        ot_node *dq = NULL;
        st = ot_sq_add_node(g, "DequantizeLinear", dn, 3, din, keep, &dq);
        if (st == OCTET_OK && axis >= 0) st = ot_node_add_attr_int(dq, "axis", axis);
    }
    octet_tensor_free(q);
    octet_tensor_free(sc);
    octet_tensor_free(zp);
    free(qn), free(sn), free(zn), free(dn), free(keep);
    return st;
}

/* Quantize float data x (shape of wt) along `axis` (-1: per tensor) into a new q/scale/zp; reduce: 7-bit
 * range as ot_calc_qparams's reduce_range. */
static octet_status quantize_data(const octet_tensor *wt, int axis, octet_dtype qt, bool symmetric, bool reduce,
                                  octet_tensor **q_out, octet_tensor **sc_out, octet_tensor **zp_out) {
    int64_t nch = axis >= 0 ? wt->dims[axis] : 1;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < (axis >= 0 ? axis : 0); d++) outer *= wt->dims[d];
    for (int d = (axis >= 0 ? axis + 1 : wt->ndim); d < wt->ndim; d++) inner *= wt->dims[d];
    if (axis < 0) inner = ot_tensor_numel(wt);
    octet_tensor *q = ot_tensor_new(qt, wt->ndim, wt->dims);
    octet_tensor *sc = axis >= 0 ? ot_tensor_new(OCTET_FLOAT, 1, &nch) : ot_tensor_new(OCTET_FLOAT, 0, NULL);
    octet_tensor *zp = axis >= 0 ? ot_tensor_new(qt, 1, &nch) : ot_tensor_new(qt, 0, NULL);
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
        if (!(mn <= mx)) mn = mx = 0.0f; /* empty or all NaN */
        ot_qparams p = ot_calc_qparams(mn, mx, qt, symmetric, reduce);
        ((float *)sc->data)[c] = p.scale;
        ot_tensor_set_f64(zp, c, p.zero_point);
        for (int64_t o = 0; o < outer; o++) {
            int64_t base = (o * nch + c) * inner;
            ot_quantize_f32(x + base, inner, p.scale, p.zero_point, qt,
                            (char *)q->data + base * (int64_t)octet_dtype_size(qt));
        }
    }
    *q_out = q;
    *sc_out = sc;
    *zp_out = zp;
    return OCTET_OK;
}

static octet_status quantize_bias(ot_graph *g, const char *b, float sx, const float *sw, int64_t nsw) {
    const octet_tensor *bt = ot_sq_const(g, b);
    int64_t n = bt ? ot_tensor_numel(bt) : 0;
    if (!bt || bt->ndim != 1 || (nsw != 1 && nsw != n) || !(sx > 0.0f)) return OCTET_OK;
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
    char *keep = ot_strdup(b);
    octet_status st = keep ? add_dequantized(g, keep, keep, true, q, sc, zp, 0) : ot_err(OCTET_ERR_NOMEM, "out of memory");
    free(keep);
    return st;
}

/* The weight's per-channel axis for node n, or -1 for per tensor. */
static int weight_axis(const ot_node *n, const octet_tensor *w, const ot_static_config *cfg) {
    if (!cfg->per_channel) return -1;
    if (ot_sq_op_is(n, "Conv")) return 0;
    if (ot_sq_op_is(n, "ConvTranspose")) return ot_node_attr_int(n, "group", 1) == 1 ? 1 : -1; /* [C_in, M/g, k...] */
    if (ot_sq_op_is(n, "Gemm")) return ot_node_attr_int(n, "transB", 0) ? 0 : 1;
    return w->ndim == 2 ? 1 : -1; /* MatMul: per output column of a 2-D weight */
}

/* Every reader of the shared weight w takes it as its weight (input 1, nowhere else) and wants the same
 * per-channel axis: then one int8 copy serves them all. Otherwise (a MatMul [K, N] weight, axis 1, that
 * a Gemm with transB reads along axis 0; a grouped ConvTranspose, per tensor, next to an ungrouped one)
 * the weight stays float: per-tensor scales for all would cost the per-channel readers accuracy. */
static bool readers_agree(const ot_graph *g, const char *w, const octet_tensor *wt, int axis, const ot_static_config *cfg) {
    int seen = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *r = g->nodes[i];
        int hits = 0;
        for (int j = 0; j < r->n_inputs; j++) hits += strcmp(r->inputs[j], w) == 0;
        if (!hits) continue;
        if (hits != 1 || r->n_inputs < 2 || strcmp(r->inputs[1], w) != 0) return false;
        if (!ot_sq_op_is(r, "Conv") && !ot_sq_op_is(r, "ConvTranspose") && !ot_sq_op_is(r, "Gemm") &&
            !ot_sq_op_is(r, "MatMul"))
            return false;
        if (weight_axis(r, wt, cfg) != axis) return false;
        seen++;
    }
    return seen == ot_graph_count_reads(g, w); /* no reads from subgraphs, not a graph output */
}

/* The scale of the DequantizeLinear writing w (a shared weight quantized for an earlier reader). */
static const octet_tensor *dequantized_scale(const ot_graph *g, const char *w) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        if (!ot_sq_op_is(n, "DequantizeLinear") || n->n_outputs != 1 || strcmp(n->outputs[0], w) != 0) continue;
        const ot_initializer *s = n->n_inputs >= 2 ? ot_graph_find_initializer(g, n->inputs[1]) : NULL;
        return s && s->tensor->dtype == OCTET_FLOAT ? s->tensor : NULL;
    }
    return NULL;
}

octet_status ot_sq_quantize_weights(ot_graph *g, int node, float x_scale, const ot_static_config *cfg) {
    const ot_node *n = g->nodes[node];
    const char *w = ot_node_input(n, 1);
    const octet_tensor *wt = ot_sq_const(g, w);
    const float *sw;
    int64_t nsw;
    if (wt) {
        if (wt->ndim < 1) return OCTET_OK;
        int axis = weight_axis(n, wt, cfg);
        /* shared: the plan holds every reader (static_select.c); all of them read the DequantizeLinear */
        if (ot_graph_count_reads(g, w) != 1 && !readers_agree(g, w, wt, axis, cfg)) return OCTET_OK;
        octet_tensor *q, *sc, *zp;
        OT_TRY(quantize_data(wt, axis, cfg->weight_type, cfg->symmetric_weights, cfg->weights_7bit, &q, &sc, &zp));
        nsw = ot_tensor_numel(sc);
        sw = sc->data; /* lives on in the new scale initializer, owned by the graph */
        char *wn = ot_strdup(w);
        octet_status st = wn ? add_dequantized(g, wn, wn, true, q, sc, zp, axis) : ot_err(OCTET_ERR_NOMEM, "out of memory");
        free(wn);
        if (st != OCTET_OK) return st;
    } else {
        /* A weighted node's weight was a float initializer when the plan was made: if it is not now, a
         * reader before this one quantized it (shared), and only this node's bias is left to do. */
        const octet_tensor *sc = w ? dequantized_scale(g, w) : NULL;
        if (!sc) return OCTET_OK;
        nsw = ot_tensor_numel(sc);
        sw = sc->data;
    }
    n = g->nodes[node];
    const char *b = ot_node_input(n, 2);
    bool gemm = ot_sq_op_is(n, "Gemm"), mm = ot_sq_op_is(n, "MatMul");
    if (mm || !b || ot_graph_count_reads(g, b) != 1) return OCTET_OK;
    if (gemm && (ot_node_attr_float(n, "beta", 1.0f) != 1.0f || ot_node_attr_float(n, "alpha", 1.0f) != 1.0f))
        return OCTET_OK;
    char *bn = ot_strdup(b);
    octet_status st = bn ? quantize_bias(g, bn, x_scale, sw, nsw) : ot_err(OCTET_ERR_NOMEM, "out of memory");
    free(bn);
    return st;
}

octet_status ot_sq_quantize_const(ot_graph *g, int node, int slot, const ot_static_config *cfg) {
    const char *c = g->nodes[node]->inputs[slot];
    const octet_tensor *ct = ot_sq_const(g, c);
    if (!ct) return OCTET_OK;
    octet_tensor *q, *sc, *zp;
    OT_TRY(quantize_data(ct, -1, cfg->activation_type, cfg->symmetric_activations, false, &q, &sc, &zp));
    /* a new name: other readers of the constant keep the float value */
    char *base = ot_strdup(c), *out = ot_graph_unique_name(g, c, "_dequantized");
    octet_status st;
    if (base && out) {
        st = add_dequantized(g, base, out, false, q, sc, zp, -1);
    } else {
        octet_tensor_free(q);
        octet_tensor_free(sc);
        octet_tensor_free(zp);
        st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    if (st == OCTET_OK) {
        ot_node *n = g->nodes[node];
        free(n->inputs[slot]);
        n->inputs[slot] = out;
        out = NULL;
    }
    free(base);
    free(out);
    return st;
}
