/* Elementwise chain fusion (see nchwc.h): a group of per-element float ops fed by one tensor (plus
 * constants, and on blocked tensors computed per-channel values such as a squeeze-excite scale),
 * whose intermediate values nobody else reads, becomes one elementwise program
 * (kernels/gemm_f32_nchwc.h) - run by the convolution that produces the tensor, while its output is
 * in cache, or by one FusedElementwise node (one pass over memory instead of one per op). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/nchwc.h"
#include "ir/passes/passes.h"
#include "kernels/gemm_f32_nchwc.h"
#include "tensor/tensor.h"

static bool is_op(const ot_node *n, const char *dom, const char *op) {
    return (dom ? strcmp(n->domain, dom) == 0 : ot_domain_is_onnx(n->domain)) && strcmp(n->op_type, op) == 0;
}

static bool graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    return false;
}

static const octet_tensor *constant(const ot_graph *g, const char *name) {
    if (!name || !name[0] || graph_input(g, name)) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

static bool graph_output(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0) return true;
    return false;
}

/* Roots: tensors known to be float. Blocked ones may take per-channel blocked constants. */
static bool root_kind(const ot_graph *g, const ot_node *p, bool *blocked) {
    *blocked = false;
    if (is_op(p, NULL, "Conv") || is_op(p, "com.microsoft", "FusedConv")) {
        /* 2-D (rank-4 output), so that a rank-4 scalar keeps the rank */
        const octet_tensor *w = p->n_inputs > 1 ? constant(g, p->inputs[1]) : NULL;
        return w && w->ndim == 4;
    }
    if (strcmp(p->domain, "ai.octet") != 0) return false;
    if (strcmp(p->op_type, "ReorderOutput") == 0) return true;
    if (strcmp(p->op_type, "FusedElementwise") == 0) {
        *blocked = ot_node_attr_int(p, "blocked", 0) != 0;
        return true;
    }
    *blocked = strcmp(p->op_type, "NchwcConv") == 0 || strcmp(p->op_type, "ReorderInput") == 0 ||
               strncmp(p->op_type, "NchwcMaxPool", 12) == 0 || strncmp(p->op_type, "NchwcGlobal", 11) == 0;
    return *blocked;
}

/* The op a node maps to, or -1. Tensor operands: how many of its inputs (1 or 2). */
static int ew_opcode(const ot_node *n, int *tensor_in) {
    static const struct {
        const char *op;
        int code, nin;
    } T[] = {{"Add", OT_EW_ADD, 2},       {"Sub", OT_EW_SUB, 2},          {"Mul", OT_EW_MUL, 2},
             {"Div", OT_EW_DIV, 2},       {"Max", OT_EW_MAX, 2},          {"Min", OT_EW_MIN, 2},
             {"PRelu", OT_EW_PRELU, 2},   {"Relu", OT_EW_RELU, 1},        {"LeakyRelu", OT_EW_LEAKY, 1},
             {"Clip", OT_EW_CLIP, 1},     {"HardSigmoid", OT_EW_HARDSIGMOID, 1}, {"HardSwish", OT_EW_HARDSWISH, 1}};
    if (!ot_domain_is_onnx(n->domain) || n->n_outputs != 1 || !n->outputs[0][0]) return -1;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (strcmp(n->op_type, T[i].op) == 0) {
            if (T[i].nin == 2 && n->n_inputs != 2) return -1;
            if (T[i].code != OT_EW_CLIP && T[i].nin == 1 && n->n_inputs != 1) return -1;
            if (T[i].code == OT_EW_CLIP && (n->n_inputs < 1 || n->n_inputs > 3)) return -1;
            *tensor_in = T[i].nin;
            return T[i].code;
        }
    return -1;
}

/* Clip's bounds as unary.c reads them; false if not constant. */
static bool clip_bounds(const octet_model *m, const ot_graph *g, const ot_node *n, float *lo, float *hi) {
    if (ot_model_opset(m, "") < 11) {
        *lo = (float)(double)ot_node_attr_float(n, "min", -FLT_MAX);
        *hi = (float)(double)ot_node_attr_float(n, "max", FLT_MAX);
        return true;
    }
    *lo = -INFINITY;
    *hi = INFINITY;
    for (int j = 1; j < n->n_inputs; j++) {
        if (!n->inputs[j][0]) continue;
        const octet_tensor *t = constant(g, n->inputs[j]);
        if (!t || t->dtype != OCTET_FLOAT) return false;
        if (ot_tensor_numel(t) == 0) continue;
        if (ot_tensor_numel(t) != 1) return false;
        *(j == 1 ? lo : hi) = *(const float *)t->data;
    }
    return true;
}

typedef struct chain {
    int nodes[OT_EW_MAX_INS];
    bool runtime[OT_EW_MAX_INS];  /* node i takes a computed per-channel tensor */
    int n;
    const char *consts[OT_EW_MAX_CONST];
    int nconst;
} chain;

/* Register of a value in the chain (0 = root), or -1. */
static int reg_of(const ot_graph *g, const chain *c, const char *root, const char *name) {
    if (strcmp(name, root) == 0) return 0;
    for (int i = 0; i < c->n; i++)
        if (strcmp(g->nodes[c->nodes[i]]->outputs[0], name) == 0) return i + 1;
    return -1;
}

static bool in_chain(const chain *c, int idx) {
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i] == idx) return true;
    return false;
}

/* A constant operand the program can take: a float scalar of rank <= 4 (the roots' rank, so the
 * result keeps it), or (blocked root) [1, blocks, 1, 1, 8]. */
static bool const_ok(const octet_tensor *t, bool blocked) {
    if (!t || t->dtype != OCTET_FLOAT) return false;
    if (ot_tensor_numel(t) == 1) return t->ndim <= 4;
    return blocked && t->ndim == 5 && t->dims[0] == 1 && t->dims[2] == 1 && t->dims[3] == 1 &&
           t->dims[4] == OT_NCHWC;
}

static int producer(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return i;
    return -1;
}

/* A blocked tensor that is one value per channel ([N, blocks, 1, 1, 8]) of the root itself: a global
 * pool of the root, then 1x1 convolutions without padding and per-element ops (the squeeze-excite
 * branch; its batch is the root's). */
static bool per_channel_blocked(const ot_graph *g, const char *name, const char *root, int depth) {
    const int pi = depth < 16 ? producer(g, name) : -1;
    if (pi < 0) return false;
    const ot_node *p = g->nodes[pi];
    if (is_op(p, "ai.octet", "NchwcGlobalAveragePool") || is_op(p, "ai.octet", "NchwcGlobalMaxPool"))
        return strcmp(p->inputs[0], root) == 0;
    if (is_op(p, "ai.octet", "NchwcConv")) {
        const octet_tensor *w = p->n_inputs > 1 ? constant(g, p->inputs[1]) : NULL;
        const int64_t *pads;
        size_t np = ot_node_attr_ints(p, "pads", &pads);
        bool nopad = strcmp(ot_node_attr_string(p, "auto_pad", "NOTSET"), "NOTSET") == 0 ||
                     strcmp(ot_node_attr_string(p, "auto_pad", "NOTSET"), "VALID") == 0;
        for (size_t i = 0; i < np; i++) nopad = nopad && pads[i] == 0;
        if (!w || w->ndim != 4 || w->dims[2] != 1 || w->dims[3] != 1 || !nopad) return false;
        if (p->n_inputs > 3 && p->inputs[3][0]) return false;
        if (ot_node_attr_int(p, "nchw_input", 0)) return false;
        return per_channel_blocked(g, p->inputs[0], root, depth + 1);
    }
    if (is_op(p, "ai.octet", "FusedElementwise") && ot_node_attr_int(p, "blocked", 0) && p->n_inputs == 1)
        return per_channel_blocked(g, p->inputs[0], root, depth + 1);
    int tin;
    if (ew_opcode(p, &tin) >= 0 && tin == 1) return per_channel_blocked(g, p->inputs[0], root, depth + 1);
    return false;
}

/* Can node n join (its tensor inputs already in the chain, other operands usable constants, or
 * per-channel tensors on a blocked chain)? *runtime: it brings such a tensor. */
static bool joinable(const octet_model *m, const ot_graph *g, const chain *c, const char *root, bool blocked,
                     const ot_node *n, int *new_consts, bool *runtime) {
    int tin, op = ew_opcode(n, &tin);
    if (op < 0) return false;
    bool any = false;
    *new_consts = 0;
    *runtime = false;
    /* most nodes do not read the chain: say so before looking up their constants */
    for (int j = 0; j < tin && !any; j++) any = n->inputs[j][0] && reg_of(g, c, root, n->inputs[j]) >= 0;
    if (!any) return false;
    for (int j = 0; j < tin; j++) {
        if (!n->inputs[j][0]) return false;
        if (reg_of(g, c, root, n->inputs[j]) >= 0) {
            any = true;
            continue;
        }
        if (!const_ok(constant(g, n->inputs[j]), blocked)) {
            if (!blocked || constant(g, n->inputs[j]) || !per_channel_blocked(g, n->inputs[j], root, 0)) return false;
            *runtime = true;
        }
        bool seen = false;
        for (int k = 0; k < c->nconst; k++) seen = seen || strcmp(c->consts[k], n->inputs[j]) == 0;
        if (!seen) (*new_consts)++;
    }
    if (!any) return false;
    /* a constant first operand of PRelu would be the data: keep it simple */
    if (op == OT_EW_PRELU && reg_of(g, c, root, n->inputs[0]) < 0) return false;
    float lo, hi;
    if (op == OT_EW_CLIP && !clip_bounds(m, g, n, &lo, &hi)) return false;
    return true;
}

/* Values of the chain's first k nodes read outside them (or graph outputs); the one, or NULL. */
static const char *single_exit(const ot_graph *g, const chain *c, int k) {
    const char *exit = NULL;
    for (int i = 0; i < k; i++) {
        const char *v = g->nodes[c->nodes[i]]->outputs[0];
        bool out = graph_output(g, v);
        for (int j = 0; j < g->n_nodes && !out; j++) {
            bool inside = false;
            for (int q = 0; q < k; q++) inside = inside || c->nodes[q] == j;
            if (inside) continue;
            for (int t = 0; t < g->nodes[j]->n_inputs && !out; t++) out = strcmp(g->nodes[j]->inputs[t], v) == 0;
        }
        if (!out) continue;
        if (exit) return NULL;
        exit = v;
    }
    return exit;
}

/* Program attributes for the chain's first k nodes. */
static octet_status build_program(const octet_model *m, const ot_graph *g, chain *c, int k, const char *root,
                                  int64_t *ops, float *params) {
    c->nconst = 0;
    for (int i = 0; i < k; i++) {
        const ot_node *n = g->nodes[c->nodes[i]];
        int tin, op = ew_opcode(n, &tin);
        int opnd[2] = {0, 0};
        for (int j = 0; j < tin; j++) {
            chain prefix = *c;
            prefix.n = i;
            int r = reg_of(g, &prefix, root, n->inputs[j]);
            if (r < 0) {
                int kc = -1;
                for (int q = 0; q < c->nconst; q++)
                    if (strcmp(c->consts[q], n->inputs[j]) == 0) kc = q;
                if (kc < 0) {
                    if (c->nconst == OT_EW_MAX_CONST) return ot_err(OCTET_ERR_INTERNAL, "too many constants");
                    kc = c->nconst;
                    c->consts[c->nconst++] = n->inputs[j];
                }
                r = -1 - kc;
            }
            opnd[j] = r;
        }
        float p0 = 0, p1 = 0;
        if (op == OT_EW_LEAKY) p0 = ot_node_attr_float(n, "alpha", 0.01f);
        if (op == OT_EW_HARDSIGMOID) {
            p0 = ot_node_attr_float(n, "alpha", 0.2f);
            p1 = ot_node_attr_float(n, "beta", 0.5f);
        }
        if (op == OT_EW_CLIP) clip_bounds(m, g, n, &p0, &p1);
        ops[3 * i] = op;
        ops[3 * i + 1] = opnd[0];
        ops[3 * i + 2] = opnd[1];
        params[2 * i] = p0;
        params[2 * i + 1] = p1;
    }
    return OCTET_OK;
}

static int count_reads(const ot_graph *g, const char *name) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i]->n_inputs; j++) n += strcmp(g->nodes[i]->inputs[j], name) == 0;
    return n;
}

static int cmp_desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

/* Try the chain rooted at the output of node ri; true if the graph changed. */
static octet_status try_root(octet_model *m, int ri, bool *changed) {
    ot_graph *g = m->graph;
    *changed = false;
    const ot_node *p = g->nodes[ri];
    bool blocked;
    if (p->n_outputs < 1 || !p->outputs[0][0] || !root_kind(g, p, &blocked)) return OCTET_OK;
    char *root = strdup(p->outputs[0]);
    if (!root) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    chain c;
    memset(&c, 0, sizeof c);
    /* grow: any node whose tensor inputs are all in the chain */
    for (bool grew = true; grew && c.n < OT_EW_MAX_INS;) {
        grew = false;
        for (int i = 0; i < g->n_nodes && c.n < OT_EW_MAX_INS; i++) {
            int nc;
            bool rt;
            if (in_chain(&c, i) || !joinable(m, g, &c, root, blocked, g->nodes[i], &nc, &rt)) continue;
            if (c.nconst + nc > OT_EW_MAX_CONST) continue;
            /* track constants as they join, to bound their count */
            int tin;
            ew_opcode(g->nodes[i], &tin);
            for (int j = 0; j < tin; j++) {
                const char *in = g->nodes[i]->inputs[j];
                if (reg_of(g, &c, root, in) >= 0) continue;
                bool seen = false;
                for (int q = 0; q < c.nconst; q++) seen = seen || strcmp(c.consts[q], in) == 0;
                if (!seen) c.consts[c.nconst++] = in;
            }
            c.runtime[c.n] = rt;
            c.nodes[c.n++] = i;
            grew = true;
        }
    }
    /* the longest prefix with one exit, which is its last node's output */
    int k = c.n;
    const char *exit = NULL;
    for (; k > 0; k--) {
        exit = single_exit(g, &c, k);
        if (exit && strcmp(exit, g->nodes[c.nodes[k - 1]]->outputs[0]) == 0) break;
    }
    if (k == 0) {
        free(root);
        return OCTET_OK;
    }
    /* into the convolution that makes the root, when only the chain reads it and the kernel applies
     * its activation (the program runs after it) */
    ot_node *conv = g->nodes[ri];
    int inner = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < g->nodes[c.nodes[i]]->n_inputs; j++)
            inner += strcmp(g->nodes[c.nodes[i]]->inputs[j], root) == 0;
    const char *act = ot_node_attr_string(conv, "activation", NULL);
    bool runtime = false;  /* a computed operand may depend on the convolution's output */
    for (int i = 0; i < k; i++) runtime = runtime || c.runtime[i];
    const bool into_conv = !runtime && is_op(conv, "ai.octet", "NchwcConv") && !ot_node_attr(conv, "ew_ops") &&
                           conv->n_inputs <= 4 && count_reads(g, root) == inner && !graph_output(g, root) &&
                           (!act || strcmp(act, "Relu") == 0 || strcmp(act, "Clip") == 0);
    if (!into_conv && k < 2 && !runtime) { /* a lone op fuses only to spare the broadcast */
        free(root);
        return OCTET_OK;
    }
    int64_t ops[3 * OT_EW_MAX_INS];
    float params[2 * OT_EW_MAX_INS];
    octet_status s = build_program(m, g, &c, k, root, ops, params);
    char *out = s == OCTET_OK ? strdup(exit) : NULL;
    if (s == OCTET_OK && !out) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    const char *names[4 + OT_EW_MAX_CONST];
    if (s == OCTET_OK && into_conv) {
        for (int j = 0; j < 4; j++) names[j] = j < conv->n_inputs ? conv->inputs[j] : "";
        for (int q = 0; q < c.nconst; q++) names[4 + q] = c.consts[q];
        s = ot_node_set_inputs(conv, 4 + c.nconst, names);
        if (s == OCTET_OK) s = ot_node_set_outputs(conv, 1, (const char *const *)&out);
    } else if (s == OCTET_OK) {
        ot_node *f = ot_graph_add_node(g, "FusedElementwise", "ai.octet", out);
        if (!f) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        names[0] = root;
        for (int q = 0; q < c.nconst; q++) names[1 + q] = c.consts[q];
        if (s == OCTET_OK) s = ot_node_set_inputs(f, 1 + c.nconst, names);
        if (s == OCTET_OK) s = ot_node_set_outputs(f, 1, (const char *const *)&out);
        if (s == OCTET_OK && blocked) s = ot_node_add_attr_int(f, "blocked", 1);
        conv = f;
    }
    if (s == OCTET_OK) s = ot_node_add_attr_ints(conv, "ew_ops", ops, (size_t)k * 3);
    if (s == OCTET_OK) s = ot_node_add_attr_floats(conv, "ew_params", params, (size_t)k * 2);
    if (s == OCTET_OK) {
        int idx[OT_EW_MAX_INS];
        memcpy(idx, c.nodes, sizeof(int) * (size_t)k);
        qsort(idx, (size_t)k, sizeof(int), cmp_desc);
        for (int i = 0; i < k; i++) ot_graph_remove_node(g, idx[i]);
        *changed = true;
    }
    free(out);
    free(root);
    return s;
}

octet_status ot_pass_fuse_elementwise(octet_model *m, int *fused) {
    ot_graph *g = m->graph;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const int before = g->n_nodes;
        bool changed;
        OT_TRY(try_root(m, i, &changed));
        if (changed) {
            n++;
            /* removed nodes may have come before i: look at i's neighbourhood again */
            i -= before - g->n_nodes + 1;
            if (i < -1) i = -1;
        }
    }
    if (n && ot_model_opset(m, "ai.octet") == 0) OT_TRY(ot_model_set_opset(m, "ai.octet", 1));
    if (fused) *fused = n;
    return OCTET_OK;
}
