/* Which tensors the static quantizer quantizes, and with which parameters.
 *
 * Quantized ops and the tensors they want quantized:
 *   Conv, ConvTranspose, Gemm, MatMul (constant weight)  input 0, output; the weight becomes int8 (a
 *                                                        shared one once, see keep_whole_shared_weights)
 *   MatMul (activation x activation)                     both inputs, output
 *   Add, Mul                                             activation inputs, output; a constant operand is
 *                                                        quantized per tensor like an activation
 *   Concat, AveragePool, GlobalAveragePool               inputs, output
 *   Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Softmax  input, output (Softmax: fixed 1/256 output scale,
 *                                                        what ONNX Runtime's QLinearSoftmax expects)
 *   Resize                                               input, output with the input's parameters
 * An output read only by a Relu or a Clip with constant bounds is left float and the activation's output
 * is quantized instead, so runtimes fold the activation into the integer op's saturation.
 * Ops that only move or select values (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, Identity,
 * MaxPool, nearest Resize, Pad with zeros) take their input's parameters: their output is quantized when
 * the input is, so the runtime runs them on the quantized tensor. Everything else stays float and reads the
 * DequantizeLinear of its quantized inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/qdq_fuse.h"
#include "quant/qparams.h"
#include "quant/static_internal.h"
#include "util/mem.h"

bool ot_sq_op_is(const ot_node *n, const char *op) { return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0; }

const octet_tensor *ot_sq_const(const ot_graph *g, const char *name) {
    if (!name || !name[0]) return NULL;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in && in->tensor->dtype == OCTET_FLOAT ? in->tensor : NULL;
}

static bool is_initializer(const ot_graph *g, const char *name) {
    return name && name[0] && ot_graph_find_initializer(g, name) != NULL;
}

int ot_qplan_find(const ot_qplan *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0) return i;
    return -1;
}

static int plan_add(ot_qplan *p, const char *name) {
    int i = ot_qplan_find(p, name);
    if (i >= 0) return i;
    if (!ot_grow((void **)&p->t, &p->cap, p->n + 1, sizeof *p->t)) return -1;
    memset(&p->t[p->n], 0, sizeof p->t[p->n]);
    p->t[p->n].share = -1;
    if (!(p->t[p->n].name = ot_strdup(name))) return -1;
    return p->n++;
}

void ot_qplan_free(ot_qplan *p) {
    for (int i = 0; i < p->n; i++) free(p->t[i].name);
    free(p->t);
    free(p->weighted);
    free(p->consts);
    memset(p, 0, sizeof *p);
}

static bool excluded(const ot_static_config *cfg, const ot_node *n) {
    for (int i = 0; i < cfg->n_exclude; i++)
        if (cfg->exclude[i] && (strcmp(cfg->exclude[i], n->name) == 0 || strcmp(cfg->exclude[i], n->op_type) == 0))
            return true;
    return false;
}

static int producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return i;
    return -1;
}

/* The tensor that carries y after a following Relu / Clip (constant bounds) that is its only reader. */
static const char *output_after_activation(const ot_graph *g, const char *y) {
    if (ot_graph_count_reads(g, y) != 1) return y;
    int r = ot_graph_find_reader(g, y);
    if (r < 0) return y;
    const ot_node *a = g->nodes[r];
    if (a->n_outputs != 1 || a->n_inputs < 1 || strcmp(a->inputs[0], y) != 0) return y;
    if (ot_sq_op_is(a, "Relu")) return a->outputs[0];
    if (!ot_sq_op_is(a, "Clip")) return y;
    for (int j = 1; j < a->n_inputs; j++)
        if (a->inputs[j][0] && !ot_sq_const(g, a->inputs[j])) return y;
    return a->outputs[0];
}

typedef enum qkind { K_NONE, K_LINEAR, K_MATMUL2, K_BINARY, K_MULTI, K_UNARY, K_SOFTMAX, K_RESIZE } qkind;

/* How node n is quantized; act[]: its activation inputs; cst[]: constant operands (input slots). */
static qkind classify(const ot_graph *g, const ot_node *n, int *act, int *n_act, int *cst, int *n_cst) {
    *n_act = *n_cst = 0;
    if (n->n_outputs < 1 || n->n_inputs < 1 || !n->inputs[0][0] || !ot_domain_is_onnx(n->domain)) return K_NONE;
    if (ot_sq_op_is(n, "Conv") || ot_sq_op_is(n, "ConvTranspose") || ot_sq_op_is(n, "Gemm") || ot_sq_op_is(n, "MatMul")) {
        if (n->n_inputs < 2 || is_initializer(g, n->inputs[0])) return K_NONE;
        if (ot_sq_op_is(n, "Gemm") && ot_node_attr_int(n, "transA", 0)) return K_NONE;
        act[(*n_act)++] = 0;
        if (ot_sq_const(g, n->inputs[1])) return K_LINEAR;
        if (!ot_sq_op_is(n, "MatMul") || is_initializer(g, n->inputs[1])) return K_NONE;
        act[(*n_act)++] = 1;
        return K_MATMUL2;
    }
    if (ot_sq_op_is(n, "Add") || ot_sq_op_is(n, "Mul")) {
        if (n->n_inputs != 2) return K_NONE;
        for (int j = 0; j < 2; j++) {
            if (ot_sq_const(g, n->inputs[j])) cst[(*n_cst)++] = j;
            else if (!is_initializer(g, n->inputs[j]) && n->inputs[j][0]) act[(*n_act)++] = j;
            else return K_NONE;
        }
        return *n_act ? K_BINARY : K_NONE;
    }
    if (ot_sq_op_is(n, "Concat")) {
        if (n->n_inputs > 16) return K_NONE;
        for (int j = 0; j < n->n_inputs; j++) {
            if (!n->inputs[j][0] || is_initializer(g, n->inputs[j])) return K_NONE;
            act[(*n_act)++] = j;
        }
        return K_MULTI;
    }
    act[(*n_act)++] = 0;
    if (ot_sq_op_is(n, "AveragePool") || ot_sq_op_is(n, "GlobalAveragePool")) return K_MULTI;
    if (ot_sq_op_is(n, "Sigmoid") || ot_sq_op_is(n, "HardSigmoid") || ot_sq_op_is(n, "HardSwish") ||
        ot_sq_op_is(n, "LeakyRelu"))
        return K_UNARY;
    if (ot_sq_op_is(n, "Softmax")) return K_SOFTMAX;
    if (ot_sq_op_is(n, "Resize") && strcmp(ot_node_attr_string(n, "mode", "nearest"), "cubic") != 0) return K_RESIZE;
    *n_act = 0;
    return K_NONE;
}

static octet_status grow_int(int **a, int *n, int *cap, int v) {
    if (!ot_grow((void **)a, cap, *n + 1, sizeof **a)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    (*a)[(*n)++] = v;
    return OCTET_OK;
}

/* Output of a value-moving op (or Resize) whose input is quantized: share the input's parameters. */
static int shares_with(const ot_graph *g, const ot_qplan *p, const char *name) {
    int pi = producer(g, name);
    if (pi < 0) return -1;
    const ot_node *n = g->nodes[pi];
    if (n->n_outputs < 1 || strcmp(n->outputs[0], name) != 0) return -1;
    bool resize = ot_sq_op_is(n, "Resize") && strcmp(ot_node_attr_string(n, "mode", "nearest"), "cubic") != 0;
    if (!resize && !ot_qdq_keeps_params(g, n)) return -1;
    return ot_qplan_find(p, n->inputs[0]);
}

static octet_status choose_params(const ot_graph *g, const ot_calib *cal, const ot_static_config *cfg, ot_qplan *p) {
    for (int i = 0; i < p->n; i++) p->t[i].share = shares_with(g, p, p->t[i].name);
    for (int i = 0; i < p->n; i++) {
        ot_qtensor *t = &p->t[i];
        if (t->share >= 0) continue;
        if (t->fixed) {
            int32_t qmin, qmax;
            ot_qrange(cfg->activation_type, &qmin, &qmax);
            t->p.scale = 1.0f / 256.0f;
            t->p.zero_point = qmin;
            t->lo = 0.0f;
            t->hi = 1.0f;
            continue;
        }
        OT_TRY(ot_calib_choose_range(cal, t->name, cfg->activation_type, cfg->symmetric_activations, cfg->reduce_range,
                                     &t->lo, &t->hi));
        ot_qparams q = ot_calc_qparams(t->lo, t->hi, cfg->activation_type, cfg->symmetric_activations, cfg->reduce_range);
        t->p.scale = q.scale;
        t->p.zero_point = q.zero_point;
    }
    for (int i = 0; i < p->n; i++) {
        int r = i;
        for (int hop = 0; hop < p->n && p->t[r].share >= 0; hop++) r = p->t[r].share;
        if (p->t[r].share >= 0) return ot_err(OCTET_ERR_INTERNAL, "cycle through '%s'", p->t[i].name);
        p->t[i].p = p->t[r].p;
        p->t[i].lo = p->t[r].lo;
        p->t[i].hi = p->t[r].hi;
    }
    return OCTET_OK;
}

/* A weight read by several nodes becomes one int8 initializer whose DequantizeLinear every reader takes
 * (static_weights.c), so it is quantized only when every read of it is a weighted node here: a reader
 * left float (excluded, not calibrated, an op with no int8 form, a subgraph or graph output) must keep
 * the float values. The other readers then keep the float weight too, as before. */
static octet_status keep_whole_shared_weights(const ot_graph *g, ot_qplan *p) {
    bool *keep = calloc((size_t)p->n_weighted + 1, sizeof *keep);
    if (!keep) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int a = 0; a < p->n_weighted; a++) {
        const char *w = g->nodes[p->weighted[a]]->inputs[1];
        int reads = ot_graph_count_reads(g, w), planned = 0;
        for (int b = 0; b < p->n_weighted && reads > 1; b++) planned += strcmp(g->nodes[p->weighted[b]]->inputs[1], w) == 0;
        keep[a] = reads == 1 || planned == reads;
    }
    int n = 0;
    for (int a = 0; a < p->n_weighted; a++)
        if (keep[a]) p->weighted[n++] = p->weighted[a];
    p->n_weighted = n;
    free(keep);
    return OCTET_OK;
}

octet_status ot_sq_select(const ot_graph *g, const ot_calib *cal, const ot_static_config *cfg, ot_qplan *p) {
    memset(p, 0, sizeof *p);
    octet_status st = OCTET_OK;
    for (int i = 0; i < g->n_nodes && st == OCTET_OK; i++) {
        const ot_node *n = g->nodes[i];
        int act[16], cst[2], n_act, n_cst;
        qkind k = excluded(cfg, n) ? K_NONE : classify(g, n, act, &n_act, cst, &n_cst);
        if (k == K_NONE) continue;
        bool fold = k == K_LINEAR || k == K_MATMUL2 || k == K_BINARY || k == K_MULTI;
        const char *out = fold ? output_after_activation(g, n->outputs[0]) : n->outputs[0];
        bool ok = ot_calib_range(cal, out) != NULL;
        for (int j = 0; j < n_act; j++) ok &= ot_calib_range(cal, n->inputs[act[j]]) != NULL;
        if (!ok) continue;
        for (int j = 0; j < n_act && st == OCTET_OK; j++)
            if (plan_add(p, n->inputs[act[j]]) < 0) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        int oi = st == OCTET_OK ? plan_add(p, out) : -1;
        if (oi < 0) {
            if (st == OCTET_OK) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            break;
        }
        if (k == K_SOFTMAX) p->t[oi].fixed = true;
        if (k == K_LINEAR) st = grow_int(&p->weighted, &p->n_weighted, &p->cap_weighted, i);
        for (int j = 0; j < n_cst && st == OCTET_OK; j++) {
            if (!ot_grow((void **)&p->consts, &p->cap_consts, p->n_consts + 1, sizeof *p->consts)) {
                st = ot_err(OCTET_ERR_NOMEM, "out of memory");
                break;
            }
            p->consts[p->n_consts++] = (ot_qconst){i, cst[j]};
        }
        p->n_nodes++;
    }
    if (st == OCTET_OK) st = keep_whole_shared_weights(g, p);
    /* value-moving ops pass quantization on: their output is quantized whenever their input is */
    for (bool changed = true; changed && st == OCTET_OK;) {
        changed = false;
        for (int i = 0; i < g->n_nodes && st == OCTET_OK; i++) {
            const ot_node *n = g->nodes[i];
            if (n->n_outputs < 1 || !n->outputs[0][0] || excluded(cfg, n) || !ot_qdq_keeps_params(g, n)) continue;
            if (ot_qplan_find(p, n->inputs[0]) < 0 || ot_qplan_find(p, n->outputs[0]) >= 0) continue;
            if (!ot_calib_range(cal, n->outputs[0])) continue; /* not a float tensor */
            if (plan_add(p, n->outputs[0]) < 0) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            changed = true;
        }
    }
    if (st == OCTET_OK) st = choose_params(g, cal, cfg, p);
    if (st != OCTET_OK) ot_qplan_free(p);
    return st;
}
