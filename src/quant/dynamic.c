/* Dynamic quantization pass (see dynamic.h and docs/DYNAMIC.md).
 *
 * One walk over the main graph and every subgraph (If/Loop/Scan bodies), node by node:
 *   MatMul / Gemm, constant 2-D weight -> com.microsoft DynamicQuantizeMatMul (A float, B 8-bit [K,N],
 *       b_scale, b_zero_point, bias), or DynamicQuantizeLinear + MatMulInteger + Cast + Mul (+ Add)
 *   LSTM       -> com.microsoft DynamicQuantizeLSTM (W, R transposed to [dirs, in, 4*hidden])
 *   GRU, RNN   -> ai.octet DynamicQuantizeGRU / DynamicQuantizeRNN (same conventions; src/ops/octet_domain.c)
 *   Conv (only when asked for) -> DynamicQuantizeLinear + ConvInteger + Cast + Mul (+ Add)
 * A weight is quantized once per (tensor, layout) and shared by every node that reads it; it lives in
 * the graph that held the float tensor, which is removed once nothing reads it. New nodes take the
 * place of the old one in the node list, so a topologically sorted file stays sorted. */
#include "quant/dynamic.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "kernels/requant.h"
#include "quant/qparams.h"
#include "util/mem.h"
#include "util/status.h"
#include "util/strmap.h"

#define MS_DOMAIN "com.microsoft"
#define OCTET_DOMAIN "ai.octet"

static const char *const k_default_ops[] = {"MatMul", "Gemm", "LSTM", "GRU", "RNN"};
static const char *const k_candidate_ops[] = {"MatMul", "Gemm", "LSTM", "GRU", "RNN", "Conv"};

ot_dynamic_config ot_dynamic_config_default(void) {
    ot_dynamic_config c = {0};
    c.weight_type = OCTET_INT8;
    c.symmetric_weights = true;
    c.form = OT_DYNAMIC_FORM_CONTRIB;
    return c;
}

/* ---- report ------------------------------------------------------------------------------------ */

void ot_dynamic_report_free(ot_dynamic_report *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->entries[i].node);
        free(r->entries[i].op_type);
        free(r->entries[i].graph);
        free(r->entries[i].result);
        free(r->entries[i].reason);
    }
    free(r->entries);
    memset(r, 0, sizeof *r);
}

static octet_status report_add(ot_dynamic_report *r, const ot_node *n, const char *graph, bool quantized,
                               const char *result, const char *reason) {
    if (!r) return OCTET_OK;
    if (!ot_grow((void **)&r->entries, &r->cap, r->n + 1, sizeof *r->entries))
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    ot_dynamic_entry *e = &r->entries[r->n];
    memset(e, 0, sizeof *e);
    e->node = ot_strdup(n->name ? n->name : "");
    e->op_type = ot_strdup(n->op_type);
    e->graph = ot_strdup(graph);
    e->quantized = quantized;
    e->result = result ? ot_strdup(result) : NULL;
    e->reason = reason ? ot_strdup(reason) : NULL;
    r->n++;
    if (!e->node || !e->op_type || !e->graph || (result && !e->result) || (reason && !e->reason))
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (quantized) r->n_quantized++;
    return OCTET_OK;
}

/* ---- sizes ------------------------------------------------------------------------------------- */

static int64_t graph_weight_bytes(const ot_graph *g) {
    int64_t b = 0;
    for (int i = 0; i < g->n_inits; i++) b += (int64_t)ot_tensor_nbytes(g->inits[i].tensor);
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        bool constant = ot_domain_is_onnx(n->domain) && strcmp(n->op_type, "Constant") == 0;
        for (int a = 0; a < n->n_attrs; a++) {
            const ot_attr *at = &n->attrs[a];
            if (constant && at->type == OT_ATTR_TENSOR && at->t) b += (int64_t)ot_tensor_nbytes(at->t);
            if (constant && at->type == OT_ATTR_FLOATS) b += (int64_t)(at->n * sizeof(float));
            if (constant && at->type == OT_ATTR_INTS) b += (int64_t)(at->n * sizeof(int64_t));
            if (constant && (at->type == OT_ATTR_FLOAT || at->type == OT_ATTR_INT)) b += at->type == OT_ATTR_INT ? 8 : 4;
            if (at->type == OT_ATTR_GRAPH && at->g) b += graph_weight_bytes(at->g);
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && k < at->n; k++) b += graph_weight_bytes(at->graphs[k]);
        }
    }
    return b;
}

int64_t ot_model_weight_bytes(const octet_model *m) { return m && m->graph ? graph_weight_bytes(m->graph) : 0; }

/* ---- weight quantizer -------------------------------------------------------------------------- */

octet_status ot_quantize_weights_kn(const float *w, int64_t groups, int64_t K, int64_t N, octet_dtype qt,
                                    bool per_channel, bool symmetric, bool reduce_range, bool scalar_per_tensor,
                                    octet_tensor **q, octet_tensor **scale, octet_tensor **zero_point) {
    *q = *scale = *zero_point = NULL;
    if (qt != OCTET_INT8 && qt != OCTET_UINT8)
        return ot_err(OCTET_ERR_INVALID_ARG, "weight type must be int8 or uint8, not %s", octet_dtype_name(qt));
    if (groups < 1 || K < 1 || N < 1) return ot_err(OCTET_ERR_SHAPE, "empty weight");
    int64_t qd[3] = {groups, K, N};
    int64_t sd[2] = {groups, N};
    int s_ndim;
    if (per_channel) {
        s_ndim = groups == 1 ? 1 : 2;
        if (groups == 1) sd[0] = N;
    } else {
        s_ndim = groups == 1 && scalar_per_tensor ? 0 : 1;
    }
    *q = ot_tensor_new(qt, 3, qd);
    *scale = ot_tensor_new(OCTET_FLOAT, s_ndim, sd);
    *zero_point = ot_tensor_new(qt, s_ndim, sd);
    if (!*q || !*scale || !*zero_point) {
        octet_tensor_free(*q);
        octet_tensor_free(*scale);
        octet_tensor_free(*zero_point);
        *q = *scale = *zero_point = NULL;
        return ot_err(OCTET_ERR_NOMEM, "out of memory quantizing a weight");
    }
    int32_t qmin, qmax;
    ot_qrange(qt, &qmin, &qmax);
    if (reduce_range) { /* as ot_calc_qparams: [-64, 63] / [0, 127] */
        if (qmin < 0) qmin /= 2, qmax /= 2;
        else qmax /= 2;
    }
    int64_t nch = per_channel ? N : 1;
    for (int64_t g = 0; g < groups; g++) {
        const float *wg = w + g * K * N;
        for (int64_t c = 0; c < nch; c++) {
            int64_t n0 = per_channel ? c : 0, n1 = per_channel ? c + 1 : N;
            float mn = INFINITY, mx = -INFINITY;
            bool bad = false;
            for (int64_t k = 0; k < K; k++)
                for (int64_t n = n0; n < n1; n++) {
                    float v = wg[k * N + n];
                    bad |= !isfinite(v);
                    if (v < mn) mn = v;
                    if (v > mx) mx = v;
                }
            if (bad) {
                octet_tensor_free(*q);
                octet_tensor_free(*scale);
                octet_tensor_free(*zero_point);
                *q = *scale = *zero_point = NULL;
                return ot_err(OCTET_ERR_INVALID_ARG, "weight holds NaN or infinity");
            }
            ot_qparams p = ot_calc_qparams(mn, mx, qt, symmetric, reduce_range);
            int64_t si = g * nch + c;
            ((float *)(*scale)->data)[si] = p.scale;
            ot_tensor_set_f64(*zero_point, si, p.zero_point);
            float lo_f = (float)(qmin - p.zero_point), hi_f = (float)(qmax - p.zero_point);
            for (int64_t k = 0; k < K; k++)
                for (int64_t n = n0; n < n1; n++) {
                    int64_t at = g * K * N + k * N + n;
                    int32_t v = ot_quantize1(w[at], p.scale, lo_f, hi_f, p.zero_point);
                    if (qt == OCTET_INT8) ((int8_t *)(*q)->data)[at] = (int8_t)v;
                    else ((uint8_t *)(*q)->data)[at] = (uint8_t)v;
                }
        }
    }
    return OCTET_OK;
}

/* ---- names ------------------------------------------------------------------------------------- */

/* Every name the model uses (values of all graphs, node names), so new names never collide with an
 * outer or inner scope. Keys are owned by `owned`. */
typedef struct nameset {
    ot_strmap map;
    char **owned;
    int n, cap;
} nameset;

static bool names_add(nameset *s, const char *name) {
    if (!name || !name[0] || ot_strmap_get(&s->map, name, 0)) return true;
    if (!ot_grow((void **)&s->owned, &s->cap, s->n + 1, sizeof *s->owned)) return false;
    char *d = ot_strdup(name);
    if (!d) return false;
    s->owned[s->n++] = d;
    return ot_strmap_put(&s->map, d, 1);
}

static bool names_collect(nameset *s, const ot_graph *g) {
    bool ok = true;
    for (int i = 0; i < g->n_inputs; i++) ok &= names_add(s, g->inputs[i].name);
    for (int i = 0; i < g->n_outputs; i++) ok &= names_add(s, g->outputs[i].name);
    for (int i = 0; i < g->n_value_info; i++) ok &= names_add(s, g->value_info[i].name);
    for (int i = 0; i < g->n_inits; i++) ok &= names_add(s, g->inits[i].name);
    for (int i = 0; i < g->n_nodes && ok; i++) {
        const ot_node *n = g->nodes[i];
        ok &= names_add(s, n->name);
        for (int j = 0; j < n->n_inputs; j++) ok &= names_add(s, n->inputs[j]);
        for (int j = 0; j < n->n_outputs; j++) ok &= names_add(s, n->outputs[j]);
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) ok &= names_collect(s, n->attrs[a].g);
            for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
                ok &= names_collect(s, n->attrs[a].graphs[k]);
        }
    }
    return ok;
}

static void names_free(nameset *s) {
    for (int i = 0; i < s->n; i++) free(s->owned[i]);
    free(s->owned);
    ot_strmap_free(&s->map);
}

/* ---- the pass's state -------------------------------------------------------------------------- */

typedef enum { WK_KN, WK_NK, WK_RNN, WK_CONV } weight_layout;

/* One quantized weight: (owner graph, float tensor, layout, folded multiplier, symmetric) -> names. */
typedef struct wq_entry {
    ot_graph *owner;
    char *src;
    weight_layout layout;
    float mul;
    bool symmetric;
    char *q, *s, *z;
} wq_entry;

/* Onnx form: one DynamicQuantizeLinear per activation and graph. */
typedef struct dql_entry {
    ot_graph *g;
    char *x, *q, *s, *z;
} dql_entry;

typedef struct scope {
    ot_graph *g;
    const struct scope *parent;
    const char *path;
} scope;

typedef struct ctx {
    octet_model *m;
    ot_dynamic_config cfg;
    ot_dynamic_report *rep;
    nameset names;
    wq_entry *wq;
    int n_wq, cap_wq;
    dql_entry *dql;
    int n_dql, cap_dql;
    /* (graph, name) pairs that may have lost their last reader */
    ot_graph **drop_g;
    char **drop_name;
    int n_drop, cap_drop, cap_drop2;
    bool used_contrib, used_octet;
} ctx;

static char *fresh_name(ctx *c, const char *base, const char *suffix) {
    size_t n = strlen(base) + strlen(suffix) + 24;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s%s", base, suffix);
    for (int k = 1; ot_strmap_get(&c->names.map, s, 0); k++) snprintf(s, n, "%s%s_%d", base, suffix, k);
    if (!names_add(&c->names, s)) {
        free(s);
        return NULL;
    }
    return s;
}

static octet_status oom(void) { return ot_err(OCTET_ERR_NOMEM, "out of memory"); }

static bool op_selected(const ctx *c, const char *op) {
    if (!c->cfg.op_types) {
        for (size_t i = 0; i < sizeof k_default_ops / sizeof *k_default_ops; i++)
            if (strcmp(op, k_default_ops[i]) == 0) return true;
        return false;
    }
    for (int i = 0; i < c->cfg.n_op_types; i++)
        if (c->cfg.op_types[i] && strcmp(op, c->cfg.op_types[i]) == 0) return true;
    return false;
}

static bool is_candidate(const ot_node *n) {
    if (!ot_domain_is_onnx(n->domain)) return false;
    for (size_t i = 0; i < sizeof k_candidate_ops / sizeof *k_candidate_ops; i++)
        if (strcmp(n->op_type, k_candidate_ops[i]) == 0) return true;
    return false;
}

static bool excluded(const ctx *c, const ot_node *n) {
    for (int i = 0; i < c->cfg.n_exclude; i++)
        if (c->cfg.exclude[i] && (strcmp(c->cfg.exclude[i], n->name) == 0 || strcmp(c->cfg.exclude[i], n->op_type) == 0))
            return true;
    return false;
}

/* A constant (initializer) visible from s under name, and the graph that holds it. A graph input or a
 * node output of the same name in a nearer scope hides it (and makes it non-constant). */
static const octet_tensor *find_const(const scope *s, const char *name, ot_graph **owner) {
    if (!name || !name[0]) return NULL;
    for (; s; s = s->parent) {
        const ot_graph *g = s->g;
        for (int j = 0; j < g->n_inputs; j++)
            if (strcmp(g->inputs[j].name, name) == 0) return NULL;
        const ot_initializer *in = ot_graph_find_initializer(g, name);
        if (in) {
            if (owner) *owner = s->g;
            return in->tensor;
        }
        for (int i = 0; i < g->n_nodes; i++)
            for (int o = 0; o < g->nodes[i]->n_outputs; o++)
                if (strcmp(g->nodes[i]->outputs[o], name) == 0) return NULL;
    }
    return NULL;
}

static octet_status note_drop(ctx *c, ot_graph *g, const char *name) {
    if (!ot_grow((void **)&c->drop_g, &c->cap_drop, c->n_drop + 1, sizeof *c->drop_g) ||
        !ot_grow((void **)&c->drop_name, &c->cap_drop2, c->n_drop + 1, sizeof *c->drop_name))
        return oom();
    if (!(c->drop_name[c->n_drop] = ot_strdup(name))) return oom();
    c->drop_g[c->n_drop++] = g;
    return OCTET_OK;
}

static octet_status add_init(ctx *c, ot_graph *g, const char *name, octet_tensor *t) {
    (void)c;
    return ot_graph_add_initializer(g, name, t);
}

/* New node at index pos of g. */
static ot_node *insert_node(ot_graph *g, int pos, const char *op, const char *domain, const char *name, int n_in,
                            const char *const *in, int n_out, const char *const *out) {
    ot_node *n = ot_graph_add_node(g, op, domain, name);
    if (!n) return NULL;
    if (ot_node_set_inputs(n, n_in, in) != OCTET_OK || ot_node_set_outputs(n, n_out, out) != OCTET_OK) {
        ot_graph_remove_node(g, g->n_nodes - 1);
        return NULL;
    }
    if (pos < g->n_nodes - 1) {
        memmove(&g->nodes[pos + 1], &g->nodes[pos], (size_t)(g->n_nodes - 1 - pos) * sizeof *g->nodes);
        g->nodes[pos] = n;
    }
    return n;
}

/* Transpose `groups` row-major [rows, cols] matrices into [cols, rows], times mul. */
static float *transposed(const float *src, int64_t groups, int64_t rows, int64_t cols, float mul) {
    size_t total;
    if (!ot_mul_ok((size_t)groups, (size_t)(rows * cols), &total)) return NULL;
    float *d = ot_malloc((total ? total : 1) * sizeof *d);
    if (!d) return NULL;
    for (int64_t g = 0; g < groups; g++) {
        const float *s = src + g * rows * cols;
        float *o = d + g * rows * cols;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = 0; k < cols; k++) o[k * rows + r] = s[r * cols + k] * mul;
    }
    return d;
}

/* Quantize (or reuse) the weight `wname` held by owner. Layouts:
 *   WK_KN   [K,N] as stored (MatMul B, Gemm transB=0)
 *   WK_NK   [N,K] stored, written [K,N] (Gemm transB=1)
 *   WK_RNN  [dirs, G*H, in] stored, written [dirs, in, G*H] (LSTM/GRU/RNN W and R)
 *   WK_CONV [M, C/group, k...] as stored, scale per output channel on axis 0
 * Returns the entry (names valid while the context lives). */
static octet_status quantize_weight(ctx *c, ot_graph *owner, const char *wname, const octet_tensor *w,
                                    weight_layout layout, float mul, bool symmetric, const wq_entry **out) {
    for (int i = 0; i < c->n_wq; i++) {
        wq_entry *e = &c->wq[i];
        if (e->owner == owner && e->layout == layout && e->mul == mul && e->symmetric == symmetric &&
            strcmp(e->src, wname) == 0) {
            *out = e;
            return OCTET_OK;
        }
    }
    const float *src = w->data;
    float *buf = NULL;
    int64_t groups = 1, K = 0, N = 0;
    switch (layout) {
    case WK_KN:
        K = w->dims[0], N = w->dims[1];
        if (mul != 1.0f) buf = transposed(src, 1, 1, K * N, mul); /* a scaled copy */
        break;
    case WK_NK:
        N = w->dims[0], K = w->dims[1];
        buf = transposed(src, 1, N, K, mul);
        break;
    case WK_RNN:
        groups = w->dims[0], N = w->dims[1], K = w->dims[2];
        buf = transposed(src, groups, N, K, mul);
        break;
    case WK_CONV:
        /* per channel: one group per output channel; else one group */
        K = ot_tensor_numel(w) / w->dims[0];
        groups = c->cfg.per_channel ? w->dims[0] : 1;
        if (!c->cfg.per_channel) K *= w->dims[0];
        N = 1;
        break;
    }
    bool need_buf = layout == WK_NK || layout == WK_RNN || (layout == WK_KN && mul != 1.0f);
    if (need_buf && !buf) return oom();
    octet_tensor *q = NULL, *s = NULL, *z = NULL;
    bool per_channel = c->cfg.per_channel && layout != WK_CONV;
    octet_status st = ot_quantize_weights_kn(buf ? buf : src, groups, K, N, c->cfg.weight_type, per_channel, symmetric,
                                             c->cfg.reduce_range, layout == WK_KN || layout == WK_NK, &q, &s, &z);
    free(buf);
    if (st != OCTET_OK) return st;
    /* the stored shapes */
    switch (layout) {
    case WK_KN:
    case WK_NK:
        q->ndim = 2, q->dims[0] = K, q->dims[1] = N;
        break;
    case WK_RNN: /* [dirs, in, G*H]; scale and zero point [dirs] or [dirs, G*H], even for one direction */
        if (per_channel && s->ndim == 1) {
            s->ndim = z->ndim = 2;
            s->dims[0] = z->dims[0] = groups;
            s->dims[1] = z->dims[1] = N;
        }
        break;
    case WK_CONV:
        q->ndim = w->ndim;
        memcpy(q->dims, w->dims, sizeof q->dims);
        break;
    }
    if (layout == WK_CONV) {
        if (c->cfg.per_channel) {
            /* the scale as [M,1,1..] for the output Mul; the zero point [M] for ConvInteger, or one scalar when
             * all are equal (always so for symmetric weights): ONNX Runtime takes no per-channel one */
            s->ndim = w->ndim - 1;
            for (int d = 1; d < s->ndim; d++) s->dims[d] = 1;
            bool same = true;
            for (int64_t i = 1; i < ot_tensor_numel(z); i++) same &= ot_tensor_get_i64(z, i) == ot_tensor_get_i64(z, 0);
            if (same) z->ndim = 0;
        } else {
            s->ndim = 0, z->ndim = 0;
        }
    }
    if (!ot_grow((void **)&c->wq, &c->cap_wq, c->n_wq + 1, sizeof *c->wq)) st = oom();
    wq_entry *e = st == OCTET_OK ? &c->wq[c->n_wq] : NULL;
    if (e) {
        memset(e, 0, sizeof *e);
        e->owner = owner;
        e->layout = layout;
        e->mul = mul;
        e->symmetric = symmetric;
        e->src = ot_strdup(wname);
        e->q = fresh_name(c, wname, "_quantized");
        e->s = fresh_name(c, wname, "_scale");
        e->z = fresh_name(c, wname, "_zero_point");
        if (!e->src || !e->q || !e->s || !e->z) st = oom();
        c->n_wq++;
    }
    if (st == OCTET_OK) st = add_init(c, owner, e->q, q), q = NULL;
    if (st == OCTET_OK) st = add_init(c, owner, e->s, s), s = NULL;
    if (st == OCTET_OK) st = add_init(c, owner, e->z, z), z = NULL;
    if (st == OCTET_OK) st = note_drop(c, owner, wname);
    octet_tensor_free(q);
    octet_tensor_free(s);
    octet_tensor_free(z);
    if (st == OCTET_OK) {
        if (c->rep) c->rep->n_weights++;
        *out = e;
    }
    return st;
}

/* Onnx form: the DynamicQuantizeLinear of activation x in g, made before node index *pos if new. */
static octet_status dql_for(ctx *c, ot_graph *g, const char *x, int *pos, const dql_entry **out) {
    for (int i = 0; i < c->n_dql; i++)
        if (c->dql[i].g == g && strcmp(c->dql[i].x, x) == 0) {
            *out = &c->dql[i];
            return OCTET_OK;
        }
    if (!ot_grow((void **)&c->dql, &c->cap_dql, c->n_dql + 1, sizeof *c->dql)) return oom();
    dql_entry *e = &c->dql[c->n_dql];
    memset(e, 0, sizeof *e);
    e->g = g;
    e->x = ot_strdup(x);
    e->q = fresh_name(c, x, "_quantized");
    e->s = fresh_name(c, x, "_scale");
    e->z = fresh_name(c, x, "_zero_point");
    char *nn = fresh_name(c, x, "_DynamicQuantizeLinear");
    c->n_dql++;
    octet_status st = (e->x && e->q && e->s && e->z && nn) ? OCTET_OK : oom();
    const char *outs[3] = {e->q, e->s, e->z};
    if (st == OCTET_OK && !insert_node(g, *pos, "DynamicQuantizeLinear", "", nn, 1, &x, 3, outs)) st = oom();
    free(nn);
    if (st != OCTET_OK) return st;
    (*pos)++;
    *out = e;
    return OCTET_OK;
}

/* ---- rewrites ---------------------------------------------------------------------------------- */

typedef struct rewrite {
    int i;               /* node index in g; after a rewrite, the last new node */
    bool done;           /* the node was replaced */
    char *why;           /* left float: the reason; quantized: a note (points into whybuf) */
    char whybuf[256];
} rewrite;

/* Leave the node float, saying why. */
static octet_status OT_PRINTF(2, 3) float_because(rewrite *rw, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rw->whybuf, sizeof rw->whybuf, fmt, ap);
    va_end(ap);
    rw->why = rw->whybuf;
    return OCTET_OK;
}

/* Replace node i by the new nodes already inserted before it: remove it. */
static void drop_old(ot_graph *g, int i) { ot_graph_remove_node(g, i); }

/* Emit Y = A x Wq (+ bias) (+ addend) for MatMul/Gemm at index rw->i.
 * bias: a float [N] name or NULL; addend: a tensor added after (Gemm C that is not a row) or NULL. */
static octet_status emit_matmul(ctx *c, ot_graph *g, rewrite *rw, const char *a, const wq_entry *w, const char *bias,
                                const char *addend) {
    ot_node *old = g->nodes[rw->i];
    const char *y = old->outputs[0];
    const char *base = old->name[0] ? old->name : y;
    int pos = rw->i;
    octet_status st = OCTET_OK;
    char *pre_add = addend ? fresh_name(c, y, "_before_add") : NULL;
    if (addend && !pre_add) return oom();
    const char *y1 = addend ? pre_add : y;
    if (c->cfg.form == OT_DYNAMIC_FORM_CONTRIB) {
        const char *in[5] = {a, w->q, w->s, w->z, bias ? bias : ""};
        char *nn = fresh_name(c, base, "_quant");
        if (!nn || !insert_node(g, pos++, "DynamicQuantizeMatMul", MS_DOMAIN, nn, bias ? 5 : 4, in, 1, &y1)) st = oom();
        free(nn);
        c->used_contrib = true;
    } else {
        const dql_entry *d = NULL;
        st = dql_for(c, g, a, &pos, &d);
        char *i32 = fresh_name(c, y, "_int32"), *f = fresh_name(c, y, "_int32_float"), *sc = fresh_name(c, y, "_scale");
        char *nb = bias ? fresh_name(c, y, "_before_bias") : NULL;
        char *n1 = fresh_name(c, base, "_MatMulInteger"), *n2 = fresh_name(c, base, "_Cast"),
             *n3 = fresh_name(c, base, "_scale_Mul"), *n4 = fresh_name(c, base, "_output_Mul"),
             *n5 = bias ? fresh_name(c, base, "_bias_Add") : NULL;
        if (!i32 || !f || !sc || !n1 || !n2 || !n3 || !n4 || (bias && (!nb || !n5))) st = oom();
        if (st == OCTET_OK) {
            const char *mi[4] = {d->q, w->q, d->z, w->z};
            const char *ci[1] = {i32};
            const char *si[2] = {d->s, w->s};
            const char *mo = bias ? nb : y1;
            const char *oi[2] = {f, sc};
            const char *bi[2] = {nb, bias};
            ot_node *cast = NULL;
            if (!insert_node(g, pos++, "MatMulInteger", "", n1, 4, mi, 1, (const char *const *)&i32) ||
                !(cast = insert_node(g, pos++, "Cast", "", n2, 1, ci, 1, (const char *const *)&f)) ||
                ot_node_add_attr_int(cast, "to", OCTET_FLOAT) != OCTET_OK ||
                !insert_node(g, pos++, "Mul", "", n3, 2, si, 1, (const char *const *)&sc) ||
                !insert_node(g, pos++, "Mul", "", n4, 2, oi, 1, &mo) ||
                (bias && !insert_node(g, pos++, "Add", "", n5, 2, bi, 1, &y1)))
                st = oom();
        }
        free(i32), free(f), free(sc), free(nb), free(n1), free(n2), free(n3), free(n4), free(n5);
    }
    if (st == OCTET_OK && addend) {
        const char *ai[2] = {pre_add, addend};
        char *nn = fresh_name(c, base, "_C_Add");
        if (!nn || !insert_node(g, pos++, "Add", "", nn, 2, ai, 1, &y)) st = oom();
        free(nn);
    }
    free(pre_add);
    if (st != OCTET_OK) return st;
    drop_old(g, pos);
    rw->i = pos - 1;
    rw->done = true;
    return OCTET_OK;
}

static bool is_pow2_or_one(float v) {
    int e;
    float m = frexpf(fabsf(v), &e);
    return m == 0.5f;
}

static octet_status do_matmul(ctx *c, const scope *sc, rewrite *rw) {
    ot_graph *g = sc->g;
    ot_node *n = g->nodes[rw->i];
    if (n->n_inputs < 2 || n->n_outputs < 1) return float_because(rw, "malformed node");
    ot_graph *owner = NULL;
    const octet_tensor *w = find_const(sc, n->inputs[1], &owner);
    if (!w) {
        if (find_const(sc, n->inputs[0], NULL)) return float_because(rw, "the constant is input A, not the weight B");
        return float_because(rw, "weight B is not a constant (computed at run time)");
    }
    if (find_const(sc, n->inputs[0], NULL)) return float_because(rw, "both inputs are constant (fold it instead)");
    if (w->dtype != OCTET_FLOAT) return float_because(rw, "weight is %s, not float32", octet_dtype_name(w->dtype));
    if (w->ndim != 2) return float_because(rw, "weight has rank %d; only 2-D weights are quantized", w->ndim);
    if (w->dims[0] < 1 || w->dims[1] < 1) return float_because(rw, "empty weight");
    const wq_entry *e = NULL;
    char *wname = ot_strdup(n->inputs[1]), *a = ot_strdup(n->inputs[0]);
    octet_status st = wname && a ? quantize_weight(c, owner, wname, w, WK_KN, 1.0f, c->cfg.symmetric_weights, &e) : oom();
    if (st == OCTET_OK) st = emit_matmul(c, g, rw, a, e, NULL, NULL);
    free(wname);
    free(a);
    return st;
}

static octet_status do_gemm(ctx *c, const scope *sc, rewrite *rw) {
    ot_graph *g = sc->g;
    ot_node *n = g->nodes[rw->i];
    if (n->n_inputs < 2 || n->n_outputs < 1) return float_because(rw, "malformed node");
    if (ot_node_attr_int(n, "transA", 0)) return float_because(rw, "transA=1 (the activation would need a transpose)");
    ot_graph *owner = NULL;
    const octet_tensor *w = find_const(sc, n->inputs[1], &owner);
    if (!w) return float_because(rw, "weight B is not a constant (computed at run time)");
    if (find_const(sc, n->inputs[0], NULL)) return float_because(rw, "both inputs are constant (fold it instead)");
    if (w->dtype != OCTET_FLOAT) return float_because(rw, "weight is %s, not float32", octet_dtype_name(w->dtype));
    if (w->ndim != 2 || w->dims[0] < 1 || w->dims[1] < 1) return float_because(rw, "weight is not a non-empty 2-D matrix");
    bool tb = ot_node_attr_int(n, "transB", 0) != 0;
    int64_t N = tb ? w->dims[0] : w->dims[1];
    float alpha = ot_node_attr_float(n, "alpha", 1.0f), beta = ot_node_attr_float(n, "beta", 1.0f);
    if (!isfinite(alpha) || alpha == 0.0f)
        return float_because(rw, "alpha=%g cannot be folded into the weight scale", (double)alpha);
    if (!isfinite(beta)) return float_because(rw, "beta=%g is not finite", (double)beta);
    const char *cname = ot_node_input(n, 2);
    ot_graph *cowner = NULL;
    const octet_tensor *ct = cname && beta != 0.0f ? find_const(sc, cname, &cowner) : NULL;
    if (ct && ct->dtype != OCTET_FLOAT) return float_because(rw, "C is %s, not float32", octet_dtype_name(ct->dtype));
    bool c_row = false;  /* a constant C that is one row: becomes the bias */
    if (ct) {
        int64_t cn = ot_tensor_numel(ct);
        bool row_shape = (ct->ndim == 1 && (cn == N || cn == 1)) || ct->ndim == 0 ||
                         (ct->ndim == 2 && ct->dims[0] == 1 && (ct->dims[1] == N || ct->dims[1] == 1));
        c_row = row_shape;
    }
    if (cname && beta != 0.0f && !ct && beta != 1.0f)
        return float_because(rw, "beta=%g with a C computed at run time", (double)beta);

    /* alpha: a power of two scales the weights exactly; anything else rounds once per weight before
     * quantization, far below the 8-bit step */
    float mul = alpha;
    char *wname = ot_strdup(n->inputs[1]), *a = ot_strdup(n->inputs[0]);
    if (!wname || !a) {
        free(wname), free(a);
        return oom();
    }
    const wq_entry *e = NULL;
    octet_status st = quantize_weight(c, owner, wname, w, tb ? WK_NK : WK_KN, mul, c->cfg.symmetric_weights, &e);
    char *bias = NULL, *addend = NULL;
    if (st == OCTET_OK && ct && c_row) {
        /* the original C can be the bias as it is when it is [N] float and beta is 1 */
        if (ct->ndim == 1 && ct->dims[0] == N && beta == 1.0f) {
            bias = ot_strdup(cname);
            if (!bias) st = oom();
        } else {
            int64_t nn = N;
            octet_tensor *b = ot_tensor_new(OCTET_FLOAT, 1, &nn);
            int64_t cn = ot_tensor_numel(ct);
            if (!b) st = oom();
            for (int64_t j = 0; b && j < N; j++) ((float *)b->data)[j] = beta * ((const float *)ct->data)[cn == 1 ? 0 : j];
            if (st == OCTET_OK && !(bias = fresh_name(c, cname, "_bias"))) st = oom();
            if (st == OCTET_OK) st = add_init(c, g, bias, b), b = NULL;
            octet_tensor_free(b);
            if (st == OCTET_OK) st = note_drop(c, cowner, cname);
        }
    } else if (st == OCTET_OK && ct && !c_row) {
        if (beta == 1.0f) {
            addend = ot_strdup(cname);
            if (!addend) st = oom();
        } else {
            octet_tensor *b = ot_tensor_clone(ct);
            if (!b) st = oom();
            for (int64_t j = 0; b && j < ot_tensor_numel(b); j++) ((float *)b->data)[j] *= beta;
            if (st == OCTET_OK && !(addend = fresh_name(c, cname, "_scaled"))) st = oom();
            if (st == OCTET_OK) st = add_init(c, g, addend, b), b = NULL;
            octet_tensor_free(b);
            if (st == OCTET_OK) st = note_drop(c, cowner, cname);
        }
    } else if (st == OCTET_OK && cname && beta != 0.0f && !ct) {
        addend = ot_strdup(cname); /* computed C, beta == 1 */
        if (!addend) st = oom();
    } else if (st == OCTET_OK && cname && beta == 0.0f && find_const(sc, cname, &cowner)) {
        st = note_drop(c, cowner, cname); /* ignored C */
    }
    if (st == OCTET_OK) st = emit_matmul(c, g, rw, a, e, bias, addend);
    if (st == OCTET_OK && alpha != 1.0f) {
        snprintf(rw->whybuf, sizeof rw->whybuf, "alpha=%g folded into the weights%s", (double)alpha,
                 is_pow2_or_one(alpha) ? " (exact)" : " (one float rounding per weight before quantization)");
        rw->why = rw->whybuf;
    }
    free(wname), free(a), free(bias), free(addend);
    return st;
}

/* LSTM / GRU / RNN: W [dirs, G*H, I], R [dirs, G*H, H] -> transposed 8-bit + scales. */
static octet_status do_recurrent(ctx *c, const scope *sc, rewrite *rw, int gates) {
    ot_graph *g = sc->g;
    ot_node *n = g->nodes[rw->i];
    bool lstm = gates == 4, gru = gates == 3;
    if (!lstm && c->cfg.ort_compatible)
        return float_because(rw, "ONNX Runtime has no int8 %s (--ort-compatible keeps it float)", n->op_type);
    if (n->n_inputs < 3) return float_because(rw, "malformed node");
    if (ot_node_attr_int(n, "layout", 0) != 0)
        return float_because(rw, "layout=1 (batch first) has no quantized form");
    const char *dir = ot_node_attr_string(n, "direction", "forward");
    int64_t nd = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    ot_graph *wo = NULL, *ro = NULL;
    const octet_tensor *w = find_const(sc, n->inputs[1], &wo), *r = find_const(sc, n->inputs[2], &ro);
    if (!w || !r) return float_because(rw, "W or R is not a constant (computed at run time)");
    if (w->dtype != OCTET_FLOAT || r->dtype != OCTET_FLOAT) return float_because(rw, "W or R is not float32");
    if (w->ndim != 3 || r->ndim != 3) return float_because(rw, "W or R is not 3-D");
    int64_t H = r->dims[2];
    int64_t hs = ot_node_attr_int(n, "hidden_size", H);
    if (H < 1 || hs != H || r->dims[0] != nd || w->dims[0] != nd || r->dims[1] != gates * H ||
        w->dims[1] != gates * H || w->dims[2] < 1)
        return float_because(rw, "W/R shapes do not fit hidden_size and direction");
    bool sym = c->cfg.symmetric_weights;
    const char *note = NULL;
    if (lstm && c->cfg.per_channel && !sym) {
        /* ONNX Runtime's DynamicQuantizeLSTM takes per-channel scales but only one zero point */
        sym = true;
        note = "per-channel LSTM weights made symmetric (ONNX Runtime allows one zero point per direction)";
    }
    const wq_entry *we = NULL, *re = NULL;
    char *wn = ot_strdup(n->inputs[1]), *rn = ot_strdup(n->inputs[2]);
    octet_status st = wn && rn ? OCTET_OK : oom();
    if (st == OCTET_OK) st = quantize_weight(c, wo, wn, w, WK_RNN, 1.0f, sym, &we);
    if (st == OCTET_OK) st = quantize_weight(c, ro, rn, r, WK_RNN, 1.0f, sym, &re);
    free(wn), free(rn);
    if (st != OCTET_OK) return st;
    n = g->nodes[rw->i];
    /* inputs: X W R B seq h0 [c0 P] W_scale W_zp R_scale R_zp */
    int n_pass = lstm ? 8 : 6;
    const char *in[12];
    for (int j = 0; j < n_pass; j++) in[j] = j < n->n_inputs ? n->inputs[j] : "";
    in[1] = we->q, in[2] = re->q;
    in[n_pass] = we->s, in[n_pass + 1] = we->z, in[n_pass + 2] = re->s, in[n_pass + 3] = re->z;
    const char *op = lstm ? "DynamicQuantizeLSTM" : (gru ? "DynamicQuantizeGRU" : "DynamicQuantizeRNN");
    const char *domain = lstm ? MS_DOMAIN : OCTET_DOMAIN;
    char *nn = fresh_name(c, n->name[0] ? n->name : n->outputs[0], "_quant");
    ot_node *q = nn ? insert_node(g, rw->i, op, domain, nn, n_pass + 4, in, n->n_outputs, (const char *const *)n->outputs)
                    : NULL;
    free(nn);
    if (!q) return oom();
    n = g->nodes[rw->i + 1];
    static const char *const keep[] = {"activation_alpha", "activation_beta", "activations", "clip", "direction",
                                       "input_forget", "linear_before_reset"};
    for (int a = 0; a < n->n_attrs && st == OCTET_OK; a++) {
        const ot_attr *at = &n->attrs[a];
        bool k = false;
        for (size_t j = 0; j < sizeof keep / sizeof *keep; j++) k |= strcmp(at->name, keep[j]) == 0;
        if (!k) continue;
        if ((lstm && strcmp(at->name, "linear_before_reset") == 0) || (!lstm && strcmp(at->name, "input_forget") == 0))
            continue;
        switch (at->type) {
        case OT_ATTR_INT: st = ot_node_add_attr_int(q, at->name, at->i); break;
        case OT_ATTR_FLOAT: st = ot_node_add_attr_float(q, at->name, at->f); break;
        case OT_ATTR_STRING: st = ot_node_add_attr_string(q, at->name, at->s ? at->s : ""); break;
        case OT_ATTR_FLOATS: st = ot_node_add_attr_floats(q, at->name, at->floats, at->n); break;
        case OT_ATTR_STRINGS: {
            ot_attr *d = NULL;
            st = ot_node_add_attr_ints(q, at->name, NULL, 0); /* placeholder, turned into strings below */
            if (st == OCTET_OK) {
                d = &q->attrs[q->n_attrs - 1];
                free(d->ints);
                d->ints = NULL;
                d->type = OT_ATTR_STRINGS;
                d->n = 0;
                d->strings = calloc(at->n ? at->n : 1, sizeof *d->strings);
                if (!d->strings) st = oom();
                for (size_t j = 0; st == OCTET_OK && j < at->n; j++) {
                    if (!(d->strings[j] = ot_strdup(at->strings[j]))) st = oom();
                    else d->n = j + 1;
                }
            }
            break;
        }
        default: break;
        }
    }
    if (st == OCTET_OK) st = ot_node_add_attr_int(q, "hidden_size", H); /* required by ONNX Runtime */
    if (st != OCTET_OK) return st;
    drop_old(g, rw->i + 1);
    rw->done = true;
    if (lstm) c->used_contrib = true;
    else c->used_octet = true;
    if (note) {
        snprintf(rw->whybuf, sizeof rw->whybuf, "%s", note);
        rw->why = rw->whybuf;
    }
    return OCTET_OK;
}

/* Conv (opt-in): DynamicQuantizeLinear(X) -> ConvInteger -> Cast -> Mul(x_scale * w_scale) (-> Add bias). */
static octet_status do_conv(ctx *c, const scope *sc, rewrite *rw) {
    ot_graph *g = sc->g;
    ot_node *n = g->nodes[rw->i];
    if (n->n_inputs < 2 || n->n_outputs < 1) return float_because(rw, "malformed node");
    if (ot_model_opset(c->m, "") < 11)
        return float_because(rw, "the model's opset %lld has no DynamicQuantizeLinear (needs 11)",
                             (long long)ot_model_opset(c->m, ""));
    ot_graph *owner = NULL;
    const octet_tensor *w = find_const(sc, n->inputs[1], &owner);
    if (!w) return float_because(rw, "weight is not a constant (computed at run time)");
    if (w->dtype != OCTET_FLOAT || w->ndim < 3 || w->dims[0] < 1 || ot_tensor_numel(w) < 1)
        return float_because(rw, "weight is not a non-empty float32 [M, C/group, k...] tensor");
    const char *bname = ot_node_input(n, 2);
    ot_graph *bowner = NULL;
    const octet_tensor *bt = bname ? find_const(sc, bname, &bowner) : NULL;
    if (bname && (!bt || bt->dtype != OCTET_FLOAT || ot_tensor_numel(bt) != w->dims[0]))
        return float_because(rw, "bias is not a constant float32 [M]");
    const wq_entry *e = NULL;
    bool sym = c->cfg.symmetric_weights;
    if (c->cfg.per_channel && !sym && c->cfg.ort_compatible) {
        sym = true; /* ONNX Runtime's ConvInteger takes one weight zero point */
        float_because(rw, "per-channel Conv weights made symmetric (ONNX Runtime's ConvInteger takes one zero point)");
    }
    char *wname = ot_strdup(n->inputs[1]), *x = ot_strdup(n->inputs[0]);
    octet_status st = wname && x ? quantize_weight(c, owner, wname, w, WK_CONV, 1.0f, sym, &e) : oom();
    free(wname);
    if (st != OCTET_OK) {
        free(x);
        return st;
    }
    n = g->nodes[rw->i];
    char *b4 = NULL;
    if (bt) {
        /* the bias as [M,1,1..] for the broadcasting Add */
        octet_tensor *b = ot_tensor_clone(bt);
        if (b) {
            b->ndim = w->ndim - 1;
            b->dims[0] = w->dims[0];
            for (int d = 1; d < b->ndim; d++) b->dims[d] = 1;
        }
        if (!b || !(b4 = fresh_name(c, bname, "_reshaped"))) st = oom();
        if (st == OCTET_OK) st = add_init(c, g, b4, b), b = NULL;
        octet_tensor_free(b);
        if (st == OCTET_OK) st = note_drop(c, bowner, bname);
    }
    int pos = rw->i;
    const dql_entry *d = NULL;
    if (st == OCTET_OK) st = dql_for(c, g, x, &pos, &d);
    n = g->nodes[pos];
    const char *y = n->outputs[0];
    const char *base = n->name[0] ? n->name : y;
    char *i32 = fresh_name(c, y, "_int32"), *f = fresh_name(c, y, "_int32_float"), *scn = fresh_name(c, y, "_scale");
    char *nb = bt ? fresh_name(c, y, "_before_bias") : NULL;
    char *n1 = fresh_name(c, base, "_ConvInteger"), *n2 = fresh_name(c, base, "_Cast"),
         *n3 = fresh_name(c, base, "_scale_Mul"), *n4 = fresh_name(c, base, "_output_Mul"),
         *n5 = bt ? fresh_name(c, base, "_bias_Add") : NULL;
    char *yy = ot_strdup(y);
    if (!i32 || !f || !scn || !n1 || !n2 || !n3 || !n4 || !yy || (bt && (!nb || !n5))) st = oom();
    if (st == OCTET_OK) {
        const char *ci[4] = {d->q, e->q, d->z, e->z};
        const char *si[2] = {d->s, e->s};
        const char *oi[2] = {f, scn};
        const char *mo = bt ? nb : yy;
        const char *bi[2] = {nb, b4};
        ot_node *conv = insert_node(g, pos++, "ConvInteger", "", n1, 4, ci, 1, (const char *const *)&i32);
        ot_node *cast = conv ? insert_node(g, pos++, "Cast", "", n2, 1, (const char *const *)&i32, 1,
                                           (const char *const *)&f)
                             : NULL;
        if (!cast || ot_node_add_attr_int(cast, "to", OCTET_FLOAT) != OCTET_OK ||
            !insert_node(g, pos++, "Mul", "", n3, 2, si, 1, (const char *const *)&scn) ||
            !insert_node(g, pos++, "Mul", "", n4, 2, oi, 1, &mo) ||
            (bt && !insert_node(g, pos++, "Add", "", n5, 2, bi, 1, (const char *const *)&yy)))
            st = oom();
        /* copy the convolution attributes */
        const ot_node *old = g->nodes[pos];
        for (int a = 0; st == OCTET_OK && a < old->n_attrs; a++) {
            const ot_attr *at = &old->attrs[a];
            if (at->type == OT_ATTR_INTS) st = ot_node_add_attr_ints(conv, at->name, at->ints, at->n);
            else if (at->type == OT_ATTR_INT) st = ot_node_add_attr_int(conv, at->name, at->i);
            else if (at->type == OT_ATTR_STRING) st = ot_node_add_attr_string(conv, at->name, at->s ? at->s : "");
        }
    }
    free(i32), free(f), free(scn), free(nb), free(n1), free(n2), free(n3), free(n4), free(n5), free(yy), free(b4), free(x);
    if (st != OCTET_OK) return st;
    drop_old(g, pos);
    rw->i = pos - 1;
    rw->done = true;
    return OCTET_OK;
}

/* ---- the walk ---------------------------------------------------------------------------------- */

static octet_status walk_graph(ctx *c, ot_graph *g, const scope *parent, const char *path);

static const char *result_name(const ctx *c, const char *op) {
    if (strcmp(op, "LSTM") == 0) return MS_DOMAIN ".DynamicQuantizeLSTM";
    if (strcmp(op, "GRU") == 0) return OCTET_DOMAIN ".DynamicQuantizeGRU";
    if (strcmp(op, "RNN") == 0) return OCTET_DOMAIN ".DynamicQuantizeRNN";
    if (strcmp(op, "Conv") == 0) return "DynamicQuantizeLinear+ConvInteger";
    return c->cfg.form == OT_DYNAMIC_FORM_CONTRIB ? MS_DOMAIN ".DynamicQuantizeMatMul" : "DynamicQuantizeLinear+MatMulInteger";
}

static octet_status visit_node(ctx *c, const scope *sc, int *i) {
    ot_graph *g = sc->g;
    ot_node *n = g->nodes[*i];
    if (!is_candidate(n)) return OCTET_OK;
    rewrite rw = {*i, false, NULL, {0}};
    /* the node may be freed by the rewrite: keep a copy for the report */
    ot_node shadow = {0};
    shadow.name = ot_strdup(n->name ? n->name : "");
    shadow.op_type = ot_strdup(n->op_type);
    if (!shadow.name || !shadow.op_type) {
        free(shadow.name), free(shadow.op_type);
        return oom();
    }
    octet_status st = OCTET_OK;
    bool tried = false;
    if (!op_selected(c, n->op_type)) {
        float_because(&rw, "%s",
                      strcmp(n->op_type, "Conv") == 0 && !c->cfg.op_types
                          ? "not selected (dynamic Conv is opt-in: --ops Conv)"
                          : "op type not selected");
    } else if (excluded(c, n)) {
        float_because(&rw, "excluded");
    } else if (n->n_outputs < 1 || !n->outputs[0][0]) {
        float_because(&rw, "output unused");
    } else {
        tried = true;
        if (strcmp(n->op_type, "MatMul") == 0 || strcmp(n->op_type, "Gemm") == 0) {
            if (c->cfg.form == OT_DYNAMIC_FORM_ONNX && ot_model_opset(c->m, "") < 11)
                float_because(&rw, "the model's opset %lld has no DynamicQuantizeLinear (needs 11; --form contrib works)",
                              (long long)ot_model_opset(c->m, ""));
            else if (strcmp(n->op_type, "MatMul") == 0) st = do_matmul(c, sc, &rw);
            else st = do_gemm(c, sc, &rw);
        } else if (strcmp(n->op_type, "LSTM") == 0) st = do_recurrent(c, sc, &rw, 4);
        else if (strcmp(n->op_type, "GRU") == 0) st = do_recurrent(c, sc, &rw, 3);
        else if (strcmp(n->op_type, "RNN") == 0) st = do_recurrent(c, sc, &rw, 1);
        else st = do_conv(c, sc, &rw);
    }
    bool quantized = tried && st == OCTET_OK && rw.done;
    if (st == OCTET_OK)
        st = report_add(c->rep, &shadow, sc->path, quantized, quantized ? result_name(c, shadow.op_type) : NULL, rw.why);
    else
        ot_err_prefix(st, "dynamic quantization of %s '%s': ", shadow.op_type, shadow.name);
    free(shadow.name), free(shadow.op_type);
    *i = rw.i;
    return st;
}

static octet_status walk_graph(ctx *c, ot_graph *g, const scope *parent, const char *path) {
    scope sc = {g, parent, path};
    for (int i = 0; i < g->n_nodes; i++) {
        ot_node *n = g->nodes[i];
        for (int a = 0; a < n->n_attrs; a++) {
            ot_attr *at = &n->attrs[a];
            int cnt = at->type == OT_ATTR_GRAPH ? (at->g ? 1 : 0) : at->type == OT_ATTR_GRAPHS ? (int)at->n : 0;
            for (int k = 0; k < cnt; k++) {
                ot_graph *sub = at->type == OT_ATTR_GRAPH ? at->g : at->graphs[k];
                size_t len = strlen(path) + strlen(n->name) + strlen(at->name) + 32;
                char *p = malloc(len);
                if (!p) return oom();
                const char *nm = n->name[0] ? n->name : n->op_type;
                if (at->type == OT_ATTR_GRAPH) snprintf(p, len, "%s%s%s.%s", path, path[0] ? "/" : "", nm, at->name);
                else snprintf(p, len, "%s%s%s.%s[%d]", path, path[0] ? "/" : "", nm, at->name, k);
                octet_status st = walk_graph(c, sub, &sc, p);
                free(p);
                if (st != OCTET_OK) return st;
            }
        }
        OT_TRY(visit_node(c, &sc, &i));
    }
    return OCTET_OK;
}

static bool has_subgraph(const ot_node *n) {
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == OT_ATTR_GRAPH || n->attrs[a].type == OT_ATTR_GRAPHS) return true;
    return false;
}

/* name is a constant, or computed by nodes of this graph from constants only. */
static bool const_computable(const scope *sc, const char *name, int depth) {
    if (find_const(sc, name, NULL)) return true;
    if (depth > 64) return false;
    const ot_graph *g = sc->g;
    for (int j = 0; j < g->n_nodes; j++) {
        const ot_node *p = g->nodes[j];
        for (int o = 0; o < p->n_outputs; o++) {
            if (strcmp(p->outputs[o], name) != 0) continue;
            /* an already quantized weight (DequantizeLinear of 8-bit data) is left alone */
            if (has_subgraph(p) || strncmp(p->op_type, "Random", 6) == 0 || p->n_inputs == 0 ||
                strcmp(p->op_type, "DequantizeLinear") == 0)
                return false;
            for (int k = 0; k < p->n_inputs; k++)
                if (p->inputs[k][0] && !const_computable(sc, p->inputs[k], depth + 1)) return false;
            return true;
        }
    }
    return false;
}

/* Any selected candidate whose weight is computed from constants (Slice/Concat/Unsqueeze chains, as
 * exporters write for PyTorch's LSTM gate order)? Then folding makes it an initializer. */
static bool wants_folding(const ctx *c, ot_graph *g, const scope *parent) {
    scope sc = {g, parent, ""};
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        for (int a = 0; a < n->n_attrs; a++) {
            const ot_attr *at = &n->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g && wants_folding(c, at->g, &sc)) return true;
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && k < at->n; k++)
                if (wants_folding(c, at->graphs[k], &sc)) return true;
        }
        if (!is_candidate(n) || !op_selected(c, n->op_type) || excluded(c, n) || n->n_inputs < 2) continue;
        int last = strcmp(n->op_type, "LSTM") == 0 || strcmp(n->op_type, "GRU") == 0 || strcmp(n->op_type, "RNN") == 0 ? 2 : 1;
        for (int j = 1; j <= last && j < n->n_inputs; j++)
            if (!find_const(&sc, n->inputs[j], NULL) && const_computable(&sc, n->inputs[j], 0)) return true;
    }
    return false;
}

static void remove_unread(ctx *c) {
    for (int i = 0; i < c->n_drop; i++) {
        ot_graph *g = c->drop_g[i];
        const char *name = c->drop_name[i];
        if (ot_graph_count_reads(g, name) > 0) continue;
        int k = ot_graph_find_initializer_index(g, name);
        if (k < 0) continue;
        if (!g->inits[k].borrowed) octet_tensor_free(g->inits[k].tensor);
        free(g->inits[k].name);
        free(g->inits[k].doc);
        memmove(&g->inits[k], &g->inits[k + 1], (size_t)(g->n_inits - k - 1) * sizeof *g->inits);
        g->n_inits--;
    }
}

static void ctx_free(ctx *c) {
    names_free(&c->names);
    for (int i = 0; i < c->n_wq; i++) {
        free(c->wq[i].src), free(c->wq[i].q), free(c->wq[i].s), free(c->wq[i].z);
    }
    free(c->wq);
    for (int i = 0; i < c->n_dql; i++) free(c->dql[i].x), free(c->dql[i].q), free(c->dql[i].s), free(c->dql[i].z);
    free(c->dql);
    for (int i = 0; i < c->n_drop; i++) free(c->drop_name[i]);
    free(c->drop_name);
    free(c->drop_g);
}

octet_status ot_quantize_dynamic(octet_model *m, const ot_dynamic_config *cfg, ot_dynamic_report *report) {
    if (!m || !m->graph) return ot_err(OCTET_ERR_INVALID_ARG, "no model");
    ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.cfg = cfg ? *cfg : ot_dynamic_config_default();
    c.rep = report;
    if (report) memset(report, 0, sizeof *report);
    if (c.cfg.weight_type != OCTET_INT8 && c.cfg.weight_type != OCTET_UINT8)
        return ot_err(OCTET_ERR_INVALID_ARG, "weight type must be int8 or uint8, not %s",
                      octet_dtype_name(c.cfg.weight_type));
    if (c.cfg.form != OT_DYNAMIC_FORM_CONTRIB && c.cfg.form != OT_DYNAMIC_FORM_ONNX)
        return ot_err(OCTET_ERR_INVALID_ARG, "unknown output form %d", (int)c.cfg.form);
    for (int i = 0; c.cfg.op_types && i < c.cfg.n_op_types; i++) {
        bool known = false;
        for (size_t j = 0; j < sizeof k_candidate_ops / sizeof *k_candidate_ops; j++)
            known |= c.cfg.op_types[i] && strcmp(c.cfg.op_types[i], k_candidate_ops[j]) == 0;
        if (!known)
            return ot_err(OCTET_ERR_INVALID_ARG,
                          "op type '%s' cannot be quantized dynamically (MatMul, Gemm, LSTM, GRU, RNN, Conv)",
                          c.cfg.op_types[i] ? c.cfg.op_types[i] : "(null)");
    }
    if (report) report->weight_bytes_before = ot_model_weight_bytes(m);

    octet_status st = ot_pass_constants_to_initializers(m, NULL);
    int folded = 0;
    if (st == OCTET_OK && wants_folding(&c, m->graph, NULL)) {
        st = ot_pass_fold_constants(m, 0, &folded);
        if (st == OCTET_OK && folded) st = ot_pass_dce(m, NULL);
    }
    if (report) report->folded_constants = folded;
    if (st == OCTET_OK && (!ot_strmap_init(&c.names.map, 256) || !names_collect(&c.names, m->graph))) st = oom();
    if (st == OCTET_OK) st = walk_graph(&c, m->graph, NULL, "");
    remove_unread(&c);
    if (st == OCTET_OK && c.used_contrib && ot_model_opset(m, MS_DOMAIN) < 1) st = ot_model_set_opset(m, MS_DOMAIN, 1);
    if (st == OCTET_OK && c.used_octet && ot_model_opset(m, OCTET_DOMAIN) < 1) st = ot_model_set_opset(m, OCTET_DOMAIN, 1);
    if (report) {
        report->needs_contrib = c.used_contrib;
        report->needs_octet = c.used_octet;
        report->weight_bytes_after = ot_model_weight_bytes(m);
    }
    ctx_free(&c);
    return st;
}
