/* QDQ -> integer operators. A QDQ model says "this op runs on quantized values" by wrapping a float op in
 * DequantizeLinear (inputs) and QuantizeLinear (output):
 *
 *     xq -DQ-> x ─┐
 *     wq -DQ-> w ─┼─ Conv ─ [Relu|Clip] ─ y ─Q─> yq      becomes      QLinearConv(xq, …, wq, …) ─> yq
 *     bq -DQ-> b ─┘
 *
 * so it runs on the int8 kernels with no float round trip, as ONNX Runtime does. Activations between
 * the op and Q are exact to fold: Q is monotonic, so Q(relu(y)) = max(Q(y), Q(0)) and
 * Q(clip(y, a, b)) = clamp(Q(y), Q(a), Q(b)); they become clamp bounds of the integer output.
 * In sessions, a QDQ ConvTranspose (2-D, group 1) becomes ai.octet QLinearConvTranspose (ops/octet_qconvt.c).
 * Shape ops (and nearest Resize, Pad with zeros: padded with the zero point) wrapped in DQ/Q with
 * identical parameters run directly on the quantized tensor. Softmax becomes com.microsoft QLinearSoftmax.
 * In sessions, an element-wise float op with no QLinear twin (HardSwish, HardSigmoid, Tanh, ...) between
 * a per-tensor 8-bit DequantizeLinear and QuantizeLinear becomes ai.octet QLinearLookup: a 256-entry
 * table made by running the island itself on every input code, so it gives the same bytes.
 * The portable mode (files: quant/qoperator.c) writes nothing octet-specific: an activation that the
 * output Q does not already imply keeps its Conv float instead of becoming octet_act_lo/hi bounds.
 * DequantizeLinear nodes left without readers are removed by dead-code elimination afterwards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/qdq_fuse.h"
#include "kernels/requant.h"
#include "ops/octet_lookup.h"
#include "ops/op.h"
#include "quant/qparams.h"

typedef struct qdq {
    ot_graph *g;
    int64_t opset;
    int fused;
    bool portable; /* only what ONNX Runtime runs: no octet_act_* clamp attributes, no ai.octet ops */
    bool octet_ops; /* made an ai.octet op (QLinearLookup, QLinearConvTranspose) */
} qdq;

static bool is_op(const ot_node *n, const char *op) {
    return strcmp(n->op_type, op) == 0 && (ot_domain_is_onnx(n->domain) || strcmp(n->domain, "com.microsoft") == 0);
}

static int producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return i;
    return -1;
}

static const octet_tensor *init_of(const ot_graph *g, const char *name) { return ot_graph_constant(g, name); }

/* A DequantizeLinear feeding `name`, with constant per-tensor (or, if allowed, per-axis) parameters. */
typedef struct dq_info {
    int node;                 /* index of the DQ node */
    const char *q, *scale, *zp; /* its inputs (zp may be NULL) */
    const octet_tensor *scale_t, *zp_t;
    octet_dtype qtype;        /* from zp, or the quantized input's initializer; UNDEFINED if unknown */
    int64_t axis;
    bool per_axis;
} dq_info;

static bool is_8bit(octet_dtype t) { return t == OCTET_UINT8 || t == OCTET_INT8 || t == OCTET_UNDEFINED; }

static bool find_dq(const ot_graph *g, const char *name, bool allow_per_axis, dq_info *d) {
    memset(d, 0, sizeof *d);
    int p = producer(g, name);
    if (p < 0 || !is_op(g->nodes[p], "DequantizeLinear")) return false;
    const ot_node *n = g->nodes[p];
    if (n->n_inputs < 2 || ot_node_attr_int(n, "block_size", 0) != 0) return false;
    d->node = p;
    d->q = n->inputs[0];
    d->scale = n->inputs[1];
    d->zp = ot_node_input(n, 2);
    d->scale_t = init_of(g, d->scale);
    d->zp_t = d->zp ? init_of(g, d->zp) : NULL;
    if (!d->scale_t || d->scale_t->dtype != OCTET_FLOAT || (d->zp && !d->zp_t)) return false;
    d->per_axis = ot_tensor_numel(d->scale_t) > 1;
    if (d->per_axis && !allow_per_axis) return false;
    d->axis = ot_node_attr_int(n, "axis", 1);
    const octet_tensor *qi = init_of(g, d->q);
    d->qtype = d->zp_t ? d->zp_t->dtype : (qi ? qi->dtype : OCTET_UNDEFINED);
    /* 8-bit for activations and weights; int32 only makes sense for a bias (callers check) */
    if (d->zp_t && d->zp_t->dtype != OCTET_UINT8 && d->zp_t->dtype != OCTET_INT8 && d->zp_t->dtype != OCTET_INT32)
        return false;
    return true;
}

/* The QuantizeLinear that is the only reader of `name` (per-tensor, constant parameters). */
typedef struct q_info {
    int node;
    const char *out, *scale, *zp;
    const octet_tensor *scale_t, *zp_t;
    octet_dtype qtype;
} q_info;

static bool find_q(const ot_graph *g, const char *name, q_info *q) {
    memset(q, 0, sizeof *q);
    if (ot_graph_count_reads(g, name) != 1) return false;
    int r = ot_graph_find_reader(g, name);
    if (r < 0 || !is_op(g->nodes[r], "QuantizeLinear")) return false;
    const ot_node *n = g->nodes[r];
    if (n->n_inputs < 2 || strcmp(n->inputs[0], name) != 0 || !n->outputs[0][0]) return false;
    q->node = r;
    q->out = n->outputs[0];
    q->scale = n->inputs[1];
    q->zp = ot_node_input(n, 2);
    q->scale_t = init_of(g, q->scale);
    q->zp_t = q->zp ? init_of(g, q->zp) : NULL;
    if (!q->scale_t || q->scale_t->dtype != OCTET_FLOAT || ot_tensor_numel(q->scale_t) != 1) return false;
    if (q->zp && (!q->zp_t || ot_tensor_numel(q->zp_t) != 1)) return false;
    q->qtype = q->zp_t ? q->zp_t->dtype : OCTET_UINT8;
    return q->qtype == OCTET_UINT8 || q->qtype == OCTET_INT8;
}

static float scalar_f(const octet_tensor *t) { return ((const float *)t->data)[0]; }
static int32_t scalar_zp(const octet_tensor *t) { return t ? (int32_t)ot_tensor_get_i64(t, 0) : 0; }

/* A name for a new zero-point initializer when a DQ/Q leaves it out (it defaults to uint8 0). */
static octet_status ensure_zp(qdq *c, const char *zp, octet_dtype qt, const char *base, char **out) {
    if (zp) {
        *out = strdup(zp);
        return *out ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    *out = ot_graph_unique_name(c->g, base, "_zero_point");
    octet_tensor *t = ot_tensor_new(qt, 0, NULL);
    if (!*out || !t) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    return ot_graph_add_initializer(c->g, *out, t);
}

/* Activation between op and Q: returns the reader to pass on to find_q, and integer clamp bounds. */
static bool fold_activation(qdq *c, const char *y, const char **to_q, int *act_node, float *lo, float *hi) {
    *to_q = y;
    *act_node = -1;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (ot_graph_count_reads(c->g, y) != 1) return true;
    int r = ot_graph_find_reader(c->g, y);
    if (r < 0) return true;
    const ot_node *a = c->g->nodes[r];
    if (!ot_domain_is_onnx(a->domain) || a->n_outputs != 1) return true;
    if (strcmp(a->op_type, "Relu") == 0) {
        *lo = 0.0f;
    } else if (strcmp(a->op_type, "Clip") == 0) {
        if (c->opset < 11) {
            *lo = ot_node_attr_float(a, "min", -INFINITY);
            *hi = ot_node_attr_float(a, "max", INFINITY);
        } else {
            const octet_tensor *mn = ot_node_input(a, 1) ? init_of(c->g, a->inputs[1]) : NULL;
            const octet_tensor *mx = ot_node_input(a, 2) ? init_of(c->g, a->inputs[2]) : NULL;
            if ((ot_node_input(a, 1) && (!mn || mn->dtype != OCTET_FLOAT)) ||
                (ot_node_input(a, 2) && (!mx || mx->dtype != OCTET_FLOAT)))
                return false;
            if (mn) *lo = scalar_f(mn);
            if (mx) *hi = scalar_f(mx);
        }
    } else {
        return true;
    }
    *to_q = a->outputs[0];
    *act_node = r;
    return true;
}

/* Integer clamp bounds for the output from float activation bounds: Q(lo), Q(hi). */
static void act_bounds(const q_info *q, float lo, float hi, int32_t *qlo, int32_t *qhi) {
    int32_t qmin, qmax;
    ot_qrange(q->qtype, &qmin, &qmax);
    float s = scalar_f(q->scale_t);
    int32_t z = scalar_zp(q->zp_t);
    *qlo = lo == -INFINITY ? qmin : ot_quantize1(lo, s, (float)(qmin - z), (float)(qmax - z), z);
    *qhi = hi == INFINITY ? qmax : ot_quantize1(hi, s, (float)(qmin - z), (float)(qmax - z), z);
}

/* True when clamping to the activation's quantized bounds changes nothing: Q already saturates there
 * (Relu before a Q whose zero point is the type's minimum, as calibration gives for Relu outputs). */
static bool activation_is_implied(const q_info *q, float lo, float hi) {
    int32_t qmin, qmax, qlo, qhi;
    ot_qrange(q->qtype, &qmin, &qmax);
    act_bounds(q, lo, hi, &qlo, &qhi);
    return qlo <= qmin && qhi >= qmax;
}

/* Replace nodes `drop` (sorted or not) by one new node inserted where the first of them was. */
static int remove_nodes(ot_graph *g, int *idx, int n) {
    /* remove from the highest index down so the others stay valid */
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (idx[b] > idx[a]) {
                int t = idx[a];
                idx[a] = idx[b];
                idx[b] = t;
            }
    for (int a = 0; a < n; a++)
        if (idx[a] >= 0) ot_graph_remove_node(g, idx[a]);
    return 0;
}

static ot_node *new_node(qdq *c, const char *op, const char *domain, const char *name, int n_in, const char **ins,
                         const char *out) {
    ot_node *n = ot_graph_add_node(c->g, op, domain, name);
    if (!n) return NULL;
    if (ot_node_set_inputs(n, n_in, ins) != OCTET_OK || ot_node_set_outputs(n, 1, &out) != OCTET_OK) return NULL;
    return n;
}

static octet_status copy_attrs(ot_node *dst, const ot_node *src) {
    for (int a = 0; a < src->n_attrs; a++) {
        const ot_attr *at = &src->attrs[a];
        switch (at->type) {
        case OT_ATTR_INT: OT_TRY(ot_node_add_attr_int(dst, at->name, at->i)); break;
        case OT_ATTR_FLOAT: OT_TRY(ot_node_add_attr_float(dst, at->name, at->f)); break;
        case OT_ATTR_STRING: OT_TRY(ot_node_add_attr_string(dst, at->name, at->s)); break;
        case OT_ATTR_INTS: OT_TRY(ot_node_add_attr_ints(dst, at->name, at->ints, at->n)); break;
        case OT_ATTR_FLOATS: OT_TRY(ot_node_add_attr_floats(dst, at->name, at->floats, at->n)); break;
        default: break;
        }
    }
    return OCTET_OK;
}

/* int32 bias with scale x_scale * w_scale[m], from a float bias or a DequantizeLinear of one. */
static octet_status requantize_bias(qdq *c, const char *b, float xs, const octet_tensor *ws, int64_t M, const char *base,
                                   char **out) {
    *out = NULL;
    const octet_tensor *bf = init_of(c->g, b);
    dq_info bd;
    bool from_dq = false;
    if (!bf) {
        if (!find_dq(c->g, b, true, &bd) || !init_of(c->g, bd.q)) return OCTET_ERR_UNSUPPORTED;
        from_dq = true;
    }
    octet_tensor *t = ot_tensor_new(OCTET_INT32, 1, &M);
    if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    int64_t nb = from_dq ? ot_tensor_numel(init_of(c->g, bd.q)) : ot_tensor_numel(bf);
    if (nb != M || (!from_dq && bf->dtype != OCTET_FLOAT)) {
        octet_tensor_free(t);
        return OCTET_ERR_UNSUPPORTED;
    }
    for (int64_t m = 0; m < M; m++) {
        double v;
        if (from_dq) {
            const octet_tensor *bq = init_of(c->g, bd.q);
            float s = ((const float *)bd.scale_t->data)[ot_tensor_numel(bd.scale_t) > 1 ? m : 0];
            int32_t z = bd.zp_t ? (int32_t)ot_tensor_get_i64(bd.zp_t, ot_tensor_numel(bd.zp_t) > 1 ? m : 0) : 0;
            v = (double)((float)((int32_t)ot_tensor_get_i64(bq, m) - z) * s);
        } else {
            v = ((const float *)bf->data)[m];
        }
        float bs = xs * ((const float *)ws->data)[ot_tensor_numel(ws) > 1 ? m : 0];
        double q = nearbyint(v / (double)bs);
        if (q > 2147483647.0) q = 2147483647.0;
        if (q < -2147483648.0) q = -2147483648.0;
        ((int32_t *)t->data)[m] = (int32_t)q;
    }
    *out = ot_graph_unique_name(c->g, base, "_bias_q");
    if (!*out) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    return ot_graph_add_initializer(c->g, *out, t);
}

/* Conv / MatMul -> QLinearConv / QLinearMatMul; in sessions ConvTranspose -> ai.octet QLinearConvTranspose
 * (2-D, group 1, weights per tensor or per output channel: axis 1 of [C, M, kh, kw]). */
static octet_status fuse_linear(qdq *c, int i, bool *done) {
    *done = false;
    ot_graph *g = c->g;
    const ot_node *op = g->nodes[i];
    const bool convt = strcmp(op->op_type, "ConvTranspose") == 0;
    const bool conv = convt || strcmp(op->op_type, "Conv") == 0;   /* QLinearConv's inputs and clamp */
    const char *qop = convt ? "QLinearConvTranspose" : conv ? "QLinearConv" : "QLinearMatMul";
    const char *qdomain = convt ? "ai.octet" : "";
    if (op->n_inputs < 2 || op->n_outputs != 1) return OCTET_OK;
    if (convt && (c->portable || ot_node_attr_int(op, "group", 1) != 1)) return OCTET_OK;
    if (!ot_op_find(qdomain, qop)) return OCTET_OK;
    dq_info dx, dw;
    if (!find_dq(g, op->inputs[0], false, &dx) || !find_dq(g, op->inputs[1], true, &dw)) return OCTET_OK;
    const octet_tensor *wq = init_of(g, dw.q);
    if (conv && !wq) return OCTET_OK;
    if (convt && (wq->ndim != 4 || !init_of(g, dx.scale) || (dx.zp && !init_of(g, dx.zp)))) return OCTET_OK;
    if (dx.qtype != OCTET_UINT8 && dx.qtype != OCTET_INT8) {
        if (dx.qtype != OCTET_UNDEFINED) return OCTET_OK;
        dx.qtype = OCTET_UINT8;
    }
    if (!is_8bit(dw.qtype)) return OCTET_OK;
    if (dw.qtype == OCTET_UNDEFINED) dw.qtype = OCTET_UINT8;
    if (dw.per_axis) {
        /* Conv: per output channel (axis 0); ConvTranspose: axis 1; MatMul: per column (last axis) of a
         * 2-D weight. */
        if (!wq) return OCTET_OK;
        int64_t ax = dw.axis < 0 ? dw.axis + wq->ndim : dw.axis;
        if (convt ? ax != 1 : conv ? ax != 0 : (wq->ndim != 2 || ax != 1)) return OCTET_OK;
    }
    const char *to_q;
    int act;
    float lo, hi;
    if (!fold_activation(c, op->outputs[0], &to_q, &act, &lo, &hi)) return OCTET_OK;
    q_info q;
    if (!find_q(g, to_q, &q)) return OCTET_OK;
    /* QLinearMatMul has no clamp; QLinearConv's is octet's own attribute */
    if ((!conv || c->portable) && act >= 0 && !activation_is_implied(&q, lo, hi)) return OCTET_OK;
    char *bias = NULL;
    if (conv && ot_node_input(op, 2)) {
        int64_t M = convt ? wq->dims[1] : wq->dims[0];
        octet_status s = requantize_bias(c, op->inputs[2], scalar_f(dx.scale_t), dw.scale_t, M, op->name[0] ? op->name : op->outputs[0], &bias);
        if (s == OCTET_ERR_UNSUPPORTED) return OCTET_OK;
        OT_TRY(s);
    } else if (ot_node_input(op, 2)) {
        return OCTET_OK;
    }
    char *xz = NULL, *wz = NULL, *yz = NULL;
    octet_status s = ensure_zp(c, dx.zp, OCTET_UINT8, dx.q, &xz);
    if (s == OCTET_OK) s = ensure_zp(c, dw.zp, OCTET_UINT8, dw.q, &wz);
    if (s == OCTET_OK) s = ensure_zp(c, q.zp, OCTET_UINT8, q.out, &yz);
    if (s == OCTET_OK) {
        const char *ins[9] = {dx.q, dx.scale, xz, dw.q, dw.scale, wz, q.scale, yz, bias};
        char *out = strdup(q.out);
        ot_node *n = out ? new_node(c, qop, qdomain, op->name, bias ? 9 : 8, ins, out) : NULL;
        if (!n) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (s == OCTET_OK && conv) s = copy_attrs(n, op);
        if (s == OCTET_OK && act >= 0 && conv && !activation_is_implied(&q, lo, hi)) {
            int32_t qlo, qhi;
            act_bounds(&q, lo, hi, &qlo, &qhi);
            s = ot_node_add_attr_int(n, "octet_act_lo", qlo);
            if (s == OCTET_OK) s = ot_node_add_attr_int(n, "octet_act_hi", qhi);
        }
        if (s == OCTET_OK) {
            int drop[3] = {i, act, q.node};
            remove_nodes(g, drop, 3);
            *done = true;
            if (convt) c->octet_ops = true;
        }
        free(out);
    }
    free(xz);
    free(wz);
    free(yz);
    free(bias);
    return s;
}

/* Gemm -> com.microsoft QGemm (no activation: QGemm has no clamp). */
static octet_status fuse_gemm(qdq *c, int i, bool *done) {
    *done = false;
    ot_graph *g = c->g;
    const ot_node *op = g->nodes[i];
    if (op->n_inputs < 2 || op->n_outputs != 1 || ot_node_attr_int(op, "transA", 0)) return OCTET_OK;
    if (!ot_op_find("com.microsoft", "QGemm")) return OCTET_OK;
    if (ot_node_input(op, 2) && ot_node_attr_float(op, "beta", 1.0f) != 1.0f) return OCTET_OK;
    dq_info da, db;
    if (!find_dq(g, op->inputs[0], false, &da) || !find_dq(g, op->inputs[1], true, &db)) return OCTET_OK;
    if (!is_8bit(da.qtype) || !is_8bit(db.qtype)) return OCTET_OK;
    const octet_tensor *bq = init_of(g, db.q);
    if (!bq || bq->ndim != 2) return OCTET_OK;
    bool tb = ot_node_attr_int(op, "transB", 0) != 0;
    int64_t N = tb ? bq->dims[0] : bq->dims[1];
    if (db.per_axis) {
        int64_t ax = db.axis < 0 ? db.axis + 2 : db.axis;
        if (ax != (tb ? 0 : 1)) return OCTET_OK;
    }
    if (da.qtype == OCTET_UNDEFINED) da.qtype = OCTET_UINT8;
    const char *to_q;
    int act;
    float lo, hi;
    if (!fold_activation(c, op->outputs[0], &to_q, &act, &lo, &hi)) return OCTET_OK;
    q_info q;
    if (!find_q(g, to_q, &q)) return OCTET_OK;
    if (act >= 0 && !activation_is_implied(&q, lo, hi)) return OCTET_OK; /* QGemm has no clamp */
    char *bias = NULL;
    if (ot_node_input(op, 2)) {
        float alpha = ot_node_attr_float(op, "alpha", 1.0f);
        if (alpha != 1.0f) return OCTET_OK;
        octet_status s = requantize_bias(c, op->inputs[2], scalar_f(da.scale_t), db.scale_t, N,
                                         op->name[0] ? op->name : op->outputs[0], &bias);
        if (s == OCTET_ERR_UNSUPPORTED) return OCTET_OK;
        OT_TRY(s);
    }
    char *az = NULL, *bz = NULL, *yz = NULL;
    octet_status s = ensure_zp(c, da.zp, OCTET_UINT8, da.q, &az);
    if (s == OCTET_OK) s = ensure_zp(c, db.zp, OCTET_UINT8, db.q, &bz);
    if (s == OCTET_OK) s = ensure_zp(c, q.zp, OCTET_UINT8, q.out, &yz);
    if (s == OCTET_OK) {
        const char *ins[9] = {da.q, da.scale, az, db.q, db.scale, bz, bias ? bias : "", q.scale, yz};
        char *out = strdup(q.out);
        ot_node *n = out ? new_node(c, "QGemm", "com.microsoft", op->name, 9, ins, out) : NULL;
        if (!n) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (s == OCTET_OK) s = ot_node_add_attr_int(n, "transB", tb);
        if (s == OCTET_OK) s = ot_node_add_attr_float(n, "alpha", ot_node_attr_float(op, "alpha", 1.0f));
        if (s == OCTET_OK) {
            int drop[3] = {i, act, q.node};
            remove_nodes(g, drop, 3);
            *done = true;
        }
        free(out);
    }
    free(az);
    free(bz);
    free(yz);
    free(bias);
    return s;
}

/* Element-wise and pooling ops with a com.microsoft QLinear twin:
 *   Add/Mul (2 inputs)              -> QLinearAdd/QLinearMul(A, As, Az, B, Bs, Bz, Cs, Cz)
 *   GlobalAveragePool/AveragePool,
 *   Sigmoid/LeakyRelu (1 input)     -> QLinear<op>(X, Xs, Xz, Ys, Yz) + the op's attributes
 *   Concat (n inputs)               -> QLinearConcat(Ys, Yz, X1, X1s, X1z, ...) */
static octet_status fuse_contrib(qdq *c, int i, bool *done) {
    *done = false;
    ot_graph *g = c->g;
    const ot_node *op = g->nodes[i];
    bool binary = strcmp(op->op_type, "Add") == 0 || strcmp(op->op_type, "Mul") == 0;
    bool concat = strcmp(op->op_type, "Concat") == 0;
    int n_x = binary ? 2 : (concat ? op->n_inputs : 1);
    if (op->n_outputs != 1 || op->n_inputs < n_x || n_x < 1 || n_x > 16) return OCTET_OK;
    char qop[64];
    snprintf(qop, sizeof qop, "QLinear%s", op->op_type);
    if (!ot_op_find("com.microsoft", qop)) return OCTET_OK; /* run it in float rather than not at all */
    dq_info d[16];
    for (int j = 0; j < n_x; j++) {
        if (!find_dq(g, op->inputs[j], false, &d[j]) || !is_8bit(d[j].qtype)) return OCTET_OK;
        if (d[j].qtype == OCTET_UNDEFINED) d[j].qtype = OCTET_UINT8;
    }
    const char *to_q;
    int act;
    float lo, hi;
    if (!fold_activation(c, op->outputs[0], &to_q, &act, &lo, &hi)) return OCTET_OK;
    q_info q;
    if (!find_q(g, to_q, &q)) return OCTET_OK;
    if (act >= 0 && !activation_is_implied(&q, lo, hi)) return OCTET_OK; /* no clamp attribute */
    for (int j = 0; j < n_x; j++)
        if (d[j].qtype != q.qtype) return OCTET_OK;
    char *zps[17] = {0};
    octet_status s = OCTET_OK;
    for (int j = 0; j < n_x && s == OCTET_OK; j++) s = ensure_zp(c, d[j].zp, OCTET_UINT8, d[j].q, &zps[j]);
    if (s == OCTET_OK) s = ensure_zp(c, q.zp, OCTET_UINT8, q.out, &zps[n_x]);
    const char *ins[3 * 16 + 2];
    int n_in = 0;
    if (concat) {
        ins[n_in++] = q.scale;
        ins[n_in++] = zps[n_x];
    }
    for (int j = 0; j < n_x; j++) {
        ins[n_in++] = d[j].q;
        ins[n_in++] = d[j].scale;
        ins[n_in++] = zps[j];
    }
    if (!concat) {
        ins[n_in++] = q.scale;
        ins[n_in++] = zps[n_x];
    }
    if (s == OCTET_OK) {
        char *out = strdup(q.out);
        ot_node *n = out ? new_node(c, qop, "com.microsoft", op->name, n_in, ins, out) : NULL;
        if (!n) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (s == OCTET_OK) s = copy_attrs(n, op);
        if (s == OCTET_OK && (strstr(op->op_type, "Pool") != NULL)) s = ot_node_add_attr_int(n, "channels_last", 0);
        if (s == OCTET_OK && strcmp(op->op_type, "Softmax") == 0) {
            /* QLinearSoftmax: the axis default is -1 whatever 'opset' says; write the op's own meaning */
            if (!ot_node_attr(op, "axis")) s = ot_node_add_attr_int(n, "axis", c->opset < 13 ? 1 : -1);
            if (s == OCTET_OK) s = ot_node_add_attr_int(n, "opset", c->opset);
        }
        if (s == OCTET_OK) {
            int drop[3] = {i, act, q.node};
            remove_nodes(g, drop, 3);
            *done = true;
        }
        free(out);
    }
    for (int j = 0; j <= n_x; j++) free(zps[j]);
    return s;
}

/* Only `allowed` attributes (NULL-terminated) on n. */
static bool attrs_within(const ot_node *n, const char *const *allowed) {
    for (int a = 0; a < n->n_attrs; a++) {
        bool ok = false;
        for (int j = 0; allowed[j] && !ok; j++) ok = strcmp(n->attrs[a].name, allowed[j]) == 0;
        if (!ok) return false;
    }
    return true;
}

/* The element type of a value when the graph says (input, value_info, initializer, or a QuantizeLinear's
 * output), else OCTET_UNDEFINED. */
static octet_dtype value_dtype(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return g->inputs[i].dtype;
    for (int i = 0; i < g->n_value_info; i++)
        if (strcmp(g->value_info[i].name, name) == 0 && g->value_info[i].dtype != OCTET_UNDEFINED)
            return g->value_info[i].dtype;
    const octet_tensor *t = init_of(g, name);
    if (t) return t->dtype;
    int p = producer(g, name);
    if (p < 0 || !is_op(g->nodes[p], "QuantizeLinear")) return OCTET_UNDEFINED;
    const octet_tensor *zp = ot_node_input(g->nodes[p], 2) ? init_of(g, g->nodes[p]->inputs[2]) : NULL;
    if (zp) return zp->dtype;
    return ot_node_input(g->nodes[p], 2) || ot_node_attr(g->nodes[p], "output_dtype") ? OCTET_UNDEFINED : OCTET_UINT8;
}

/* DQ (8-bit, per tensor) -> element-wise float op -> Q (8-bit, per tensor) -> ai.octet QLinearLookup
 * (X, Xs, Xz, Ys, Yz, the op's constant extra inputs) with the op's attributes, its type and opset.
 * Zero points stay omitted when they were: X's type then comes from the tensor at run time. */
static octet_status fuse_lookup(qdq *c, int i, bool *done) {
    *done = false;
    ot_graph *g = c->g;
    const ot_node *op = g->nodes[i];
    if (c->portable || op->n_inputs < 1 || op->n_inputs > 3 || op->n_outputs != 1 || !op->outputs[0][0]) return OCTET_OK;
    if (!ot_qlookup_op_supported(op->op_type) || !ot_op_find("ai.octet", "QLinearLookup")) return OCTET_OK;
    static const char *const dq_attrs[] = {"axis", NULL}, *const q_attrs[] = {"axis", "saturate", NULL};
    dq_info d;
    q_info q;
    if (!find_dq(g, op->inputs[0], false, &d) || !is_8bit(d.qtype)) return OCTET_OK;
    if (d.qtype == OCTET_UNDEFINED) {   /* no zero point: only when X is known to be 8-bit (not int32) */
        octet_dtype xt = value_dtype(g, d.q);
        if (xt != OCTET_UINT8 && xt != OCTET_INT8) return OCTET_OK;
    }
    if ((d.zp_t && ot_tensor_numel(d.zp_t) != 1) || !attrs_within(g->nodes[d.node], dq_attrs)) return OCTET_OK;
    if (!find_q(g, op->outputs[0], &q) || !attrs_within(g->nodes[q.node], q_attrs)) return OCTET_OK;
    for (int j = 1; j < op->n_inputs; j++)   /* Clip's min/max: constants, or the table cannot be made */
        if (op->inputs[j][0] && !init_of(g, op->inputs[j])) return OCTET_OK;
    const char *ins[7] = {d.q, d.scale, d.zp ? d.zp : "", q.scale, q.zp ? q.zp : "", "", ""};
    for (int j = 1; j < op->n_inputs; j++) ins[4 + j] = op->inputs[j];
    char *out = strdup(q.out);
    ot_node *n = out ? new_node(c, "QLinearLookup", "ai.octet", op->name, 4 + op->n_inputs, ins, out) : NULL;
    octet_status s = n ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (s == OCTET_OK) s = copy_attrs(n, op);
    if (s == OCTET_OK) s = ot_node_add_attr_string(n, "op_type", op->op_type);
    if (s == OCTET_OK) s = ot_node_add_attr_int(n, "opset", c->opset);
    if (s == OCTET_OK) {
        int drop[2] = {i, q.node};
        remove_nodes(g, drop, 2);
        c->octet_ops = true;
        *done = true;
    }
    free(out);
    return s;
}

static bool has_contrib_twin(const ot_node *n) {
    static const char *ops[] = {"Add",     "Mul",       "GlobalAveragePool", "AveragePool", "Concat",
                                "Sigmoid", "LeakyRelu", "Softmax",           NULL};
    for (int i = 0; ops[i]; i++)
        if (strcmp(n->op_type, ops[i]) == 0) return true;
    return false;
}


static bool same_scalar(const octet_tensor *a, const octet_tensor *b) {
    if (!a || !b) return a == b;
    if (ot_tensor_numel(a) != 1 || ot_tensor_numel(b) != 1) return false;
    return ot_tensor_get_f64(a, 0) == ot_tensor_get_f64(b, 0) && a->dtype == b->dtype;
}

/* DQ(s,z) -> op -> Q(s,z) for an op that only moves or selects values (ot_op_moves_values): the op
 * runs on the quantized tensor. */
static octet_status fuse_movement(qdq *c, int i, bool *done) {
    *done = false;
    ot_graph *g = c->g;
    const ot_node *op = g->nodes[i];
    if (op->n_inputs < 1 || op->n_outputs != 1) return OCTET_OK; /* (MaxPool's Indices output: not fused) */
    dq_info d;
    q_info q;
    if (!find_dq(g, op->inputs[0], false, &d) || !find_q(g, op->outputs[0], &q)) return OCTET_OK;
    if (!is_8bit(d.qtype) || !same_scalar(d.scale_t, q.scale_t)) return OCTET_OK;
    int32_t dz = scalar_zp(d.zp_t), qz = scalar_zp(q.zp_t);
    octet_dtype dt = d.zp_t ? d.zp_t->dtype : OCTET_UINT8;
    if (dz != qz || dt != q.qtype) return OCTET_OK;
    /* op reads the quantized tensor and writes the Q's output; Pad pads with the zero point (= real 0) */
    char *pad_value = NULL;
    if (strcmp(op->op_type, "Pad") == 0) {
        octet_tensor *t = ot_tensor_new(q.qtype, 0, NULL);
        pad_value = ot_graph_unique_name(g, op->name[0] ? op->name : op->outputs[0], "_pad_value");
        if (!t || !pad_value) {
            octet_tensor_free(t);
            free(pad_value);
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
        ot_tensor_set_f64(t, 0, qz);
        octet_status s = ot_graph_add_initializer(g, pad_value, t);
        if (s == OCTET_OK && op->n_inputs < 3) {
            const char *ins[3] = {op->inputs[0], op->n_inputs > 1 ? op->inputs[1] : "", ""};
            s = ot_node_set_inputs(g->nodes[i], 3, ins);
        }
        if (s == OCTET_OK) {
            ot_node *pn = g->nodes[i];
            free(pn->inputs[2]);
            pn->inputs[2] = pad_value;
            pad_value = NULL;
        }
        free(pad_value);
        if (s != OCTET_OK) return s;
    }
    ot_node *n = g->nodes[i];
    char *in0 = strdup(d.q), *out = strdup(q.out);
    if (!in0 || !out) {
        free(in0);
        free(out);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    free(n->inputs[0]);
    n->inputs[0] = in0;
    octet_status s = ot_node_set_outputs(n, 1, (const char *const *)&out);
    free(out);
    if (s != OCTET_OK) return s;
    ot_graph_remove_node(g, q.node);
    *done = true;
    return OCTET_OK;
}

bool ot_qdq_keeps_params(const ot_graph *g, const ot_node *n) {
    if (ot_op_moves_values(n)) return true;
    if (!ot_domain_is_onnx(n->domain) || n->n_inputs < 1) return false;
    if (strcmp(n->op_type, "Resize") == 0) return strcmp(ot_node_attr_string(n, "mode", "nearest"), "nearest") == 0;
    if (strcmp(n->op_type, "Pad") != 0 || strcmp(ot_node_attr_string(n, "mode", "constant"), "constant") != 0) return false;
    if (ot_node_attr_float(n, "value", 0.0f) != 0.0f) return false; /* Pad < 11 */
    const char *v = ot_node_input(n, 2);
    if (!v) return true;
    const octet_tensor *t = init_of(g, v);
    return t && ot_tensor_numel(t) == 1 && ot_tensor_get_f64(t, 0) == 0.0;
}

octet_status ot_pass_qdq_to_qoperator(octet_model *m, int *fused) { return ot_pass_qdq_fuse(m, NULL, fused); }

octet_status ot_pass_qdq_fuse(octet_model *m, const ot_qdq_fuse_options *opts, int *fused) {
    qdq c = {m->graph, ot_model_opset(m, ""), 0, opts && opts->portable, false};
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = 0; i < c.g->n_nodes; i++) {
            const ot_node *n = c.g->nodes[i];
            if (!ot_domain_is_onnx(n->domain)) continue;
            bool done = false;
            if (strcmp(n->op_type, "Conv") == 0 || strcmp(n->op_type, "MatMul") == 0 ||
                strcmp(n->op_type, "ConvTranspose") == 0)
                OT_TRY(fuse_linear(&c, i, &done));
            else if (strcmp(n->op_type, "Gemm") == 0) OT_TRY(fuse_gemm(&c, i, &done));
            else if (has_contrib_twin(n)) OT_TRY(fuse_contrib(&c, i, &done));
            else if (ot_qdq_keeps_params(c.g, n)) OT_TRY(fuse_movement(&c, i, &done));
            /* Sigmoid, LeakyRelu: a table too when their QLinear twin does not fit (mixed types) */
            if (!done && ot_qlookup_op_supported(n->op_type)) OT_TRY(fuse_lookup(&c, i, &done));
            if (done) {
                c.fused++;
                changed = true;
                break;
            }
        }
    }
    if (c.fused) {
        OT_TRY(ot_pass_dce(m, NULL));
        if (ot_model_opset(m, "com.microsoft") == 0) OT_TRY(ot_model_set_opset(m, "com.microsoft", 1));
        if (c.octet_ops && ot_model_opset(m, "ai.octet") == 0) OT_TRY(ot_model_set_opset(m, "ai.octet", 1));
    }
    if (fused) *fused = c.fused;
    return OCTET_OK;
}
