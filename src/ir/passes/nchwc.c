/* The NCHWc pass (see nchwc.h). */
#include "ir/passes/nchwc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "kernels/cpu.h"
#include "kernels/gemm_f32_nchwc.h"
#include "tensor/tensor.h"
#include "util/mem.h"
#include "util/strmap.h"

typedef enum { R_NONE, R_CONV, R_MAXPOOL, R_GAP, R_GMP, R_UNARY, R_BINARY, R_RESIZE, R_CONCAT } role_t;

typedef struct val {
    char *name;           /* owned copy (graph strings change under the rewrite) */
    int prod;             /* producing node, -1 for inputs and initializers */
    int reads;            /* reads by nodes */
    bool graph_out;
    bool blocked;
    int64_t C;            /* channels of a blocked value */
    char *bname, *iname;  /* blocked name (blocked values) / reordered-in name (plain values) */
} val;

typedef struct ctx {
    octet_model *m;
    ot_graph *g;
    int nn;
    role_t *role;
    int64_t *chans;   /* channels of each blocked node's output */
    bool *removed, *nchw_in;
    val *vals;
    int nv, cap;
    ot_strmap idx;   /* value name -> vals index (keys: the vals' own names) */
    ot_strmap names; /* every name in use, for fresh names (keys owned in strs) */
    char **strs;
    int nstrs, capstrs;
    int fresh;
} ctx;

/* Remember a name as taken (a private copy keys the map). */
static bool take_name(ctx *c, const char *name) {
    if (ot_strmap_get(&c->names, name, -1) >= 0) return true;
    char *s = strdup(name);
    if (!s || !ot_grow((void **)&c->strs, &c->capstrs, c->nstrs + 1, sizeof *c->strs)) {
        free(s);
        return false;
    }
    c->strs[c->nstrs++] = s;
    return ot_strmap_put(&c->names, s, 1);
}

static bool op_is(const ot_node *n, const char *op) {
    return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0;
}

static const char *in_name(const ot_node *n, int i) {
    return i < n->n_inputs && n->inputs[i] && n->inputs[i][0] ? n->inputs[i] : NULL;
}

static bool is_graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    return false;
}

/* A constant: an initializer the caller cannot override. */
static const octet_tensor *constant(const ot_graph *g, const char *name) {
    if (!name || is_graph_input(g, name)) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

static int val_get(ctx *c, const char *name) {
    int i = ot_strmap_get(&c->idx, name, -1);
    if (i >= 0) return i;
    if (!ot_grow((void **)&c->vals, &c->cap, c->nv + 1, sizeof *c->vals)) return -1;
    i = c->nv;
    memset(&c->vals[i], 0, sizeof c->vals[i]);
    c->vals[i].name = strdup(name);
    c->vals[i].prod = -1;
    if (!c->vals[i].name) return -1;
    c->nv++;
    if (!ot_strmap_put(&c->idx, c->vals[i].name, i)) return -1;
    return i;
}

static val *val_of(ctx *c, const char *name) {
    int i = name ? ot_strmap_get(&c->idx, name, -1) : -1;
    return i >= 0 ? &c->vals[i] : NULL;
}

static bool blocked(ctx *c, const char *name) {
    val *v = val_of(c, name);
    return v && v->blocked;
}

/* (Re)build the value table: producers, read counts, graph outputs (blocked flags are kept by name). */
static octet_status index_values(ctx *c) {
    for (int i = 0; i < c->nv; i++) c->vals[i].prod = -1, c->vals[i].reads = 0, c->vals[i].graph_out = false;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->removed[i]) continue;
        const ot_node *n = c->g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            if (!n->outputs[o][0]) continue;
            int v = val_get(c, n->outputs[o]);
            if (v < 0) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            c->vals[v].prod = i;
        }
        for (int j = 0; j < n->n_inputs; j++) {
            if (!n->inputs[j][0]) continue;
            int v = val_get(c, n->inputs[j]);
            if (v < 0) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            c->vals[v].reads++;
        }
    }
    for (int i = 0; i < c->g->n_outputs; i++) {
        int v = val_get(c, c->g->outputs[i].name);
        if (v < 0) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        c->vals[v].graph_out = true;
    }
    return OCTET_OK;
}

/* Nodes in an order where producers come first; false on a cycle (or out of memory). Repeated sweeps:
 * files list their nodes in order almost always, so this ends after one or two. */
static bool topo_order(ctx *c, int *order) {
    const int nn = c->g->n_nodes;
    bool *done = calloc((size_t)nn + 1, sizeof *done);
    if (!done) return false;
    int cnt = 0;
    bool progress = true;
    while (cnt < nn && progress) {
        progress = false;
        for (int i = 0; i < nn; i++) {
            if (done[i]) continue;
            const ot_node *n = c->g->nodes[i];
            bool ready = true;
            for (int j = 0; j < n->n_inputs && ready; j++) {
                const val *v = val_of(c, n->inputs[j][0] ? n->inputs[j] : NULL);
                ready = !v || v->prod < 0 || v->prod == i || done[v->prod];
            }
            if (!ready) continue;
            done[i] = true;
            order[cnt++] = i;
            progress = true;
        }
    }
    free(done);
    return cnt == nn;
}

/* ---- what can be blocked ---- */

static bool conv_candidate(const ot_graph *g, const ot_node *n, int64_t *M, int64_t *C) {
    bool fused = !ot_domain_is_onnx(n->domain) && strcmp(n->domain, "com.microsoft") == 0 &&
                 strcmp(n->op_type, "FusedConv") == 0;
    if (!op_is(n, "Conv") && !fused) return false;
    if (n->n_outputs != 1 || n->n_inputs < 2 || n->n_inputs > 4 || in_name(n, 3)) return false;
    if (!in_name(n, 0)) return false;
    const octet_tensor *w = constant(g, in_name(n, 1));
    if (!w || w->dtype != OCTET_FLOAT || w->ndim != 4) return false;
    for (int i = 0; i < 4; i++)
        if (w->dims[i] < 1 || w->dims[i] > 4096) return false;
    if ((double)w->dims[1] * w->dims[2] * w->dims[3] > 1 << 24) return false;
    const char *b = in_name(n, 2);
    if (b) {
        const octet_tensor *bt = constant(g, b);
        if (!bt || bt->dtype != OCTET_FLOAT || bt->ndim != 1 || bt->dims[0] != w->dims[0]) return false;
    }
    const int64_t group = ot_node_attr_int(n, "group", 1);
    if (group != 1 && !(w->dims[1] == 1 && group == w->dims[0])) return false;
    if (fused) {
        const char *act = ot_node_attr_string(n, "activation", NULL);
        static const char *const ok[] = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid"};
        bool known = !act;
        for (size_t i = 0; act && i < sizeof ok / sizeof ok[0]; i++) known = known || strcmp(act, ok[i]) == 0;
        if (!known) return false;
    }
    *M = w->dims[0];
    *C = w->dims[1] * group;
    return true;
}

static bool unary_op(const ot_graph *g, const ot_node *n) {
    static const char *const ops[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu",
                                      "Selu", "Softplus", "Softsign", "Abs", "Neg", "Exp", "Erf", "Identity",
                                      "Clip", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Mish"};
    if (!ot_domain_is_onnx(n->domain) || n->n_outputs != 1 || n->n_inputs < 1 || !in_name(n, 0)) return false;
    bool found = false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !found; i++) found = strcmp(n->op_type, ops[i]) == 0;
    if (!found) return false;
    if (strcmp(n->op_type, "Clip") == 0) {
        for (int j = 1; j < n->n_inputs; j++)
            if (in_name(n, j) && !constant(g, in_name(n, j))) return false;
        return n->n_inputs <= 3;
    }
    return n->n_inputs == 1;
}

static bool binary_op(const ot_node *n) {
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu", "Pow"};
    if (!ot_domain_is_onnx(n->domain) || n->n_outputs != 1 || n->n_inputs != 2 || !in_name(n, 0) || !in_name(n, 1))
        return false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(n->op_type, ops[i]) == 0) return true;
    return false;
}

/* A constant operand against a blocked tensor of C channels: a scalar (kept), or a float tensor of
 * rank <= 4 whose channel axis (second of four, right-aligned) is 1 or C (gets a blocked copy). */
static bool const_operand_ok(const octet_tensor *t, int64_t C) {
    if (!t || t->ndim > 4) return false;  /* (a higher rank would raise the result's) */
    if (ot_tensor_numel(t) == 1) return true;
    if (t->dtype != OCTET_FLOAT) return false;
    int64_t c = t->ndim >= 3 ? t->dims[t->ndim - 3] : 1;
    return c == 1 || c == C;
}

/* The blocked copy of a constant operand: [a, c, h, w] -> [a, 1, h, w, 1] (c = 1) or
 * [a, CB, h, w, 8] (padding lanes = pad). */
static octet_tensor *const_blocked(const octet_tensor *t, int64_t C, float pad) {
    int64_t d4[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->ndim; i++) d4[4 - t->ndim + i] = t->dims[i];
    const bool per_ch = d4[1] == C && C != 1;
    const int64_t cb = per_ch ? ot_nchwc_blocks(C) : 1, lanes = per_ch ? OT_NCHWC : 1;
    int64_t d5[5] = {d4[0], cb, d4[2], d4[3], lanes};
    octet_tensor *b = ot_tensor_new(OCTET_FLOAT, 5, d5);
    if (!b) return NULL;
    const float *src = t->data;
    float *dst = b->data;
    const int64_t hw = d4[2] * d4[3];
    for (int64_t a = 0; a < d4[0]; a++)
        for (int64_t k = 0; k < cb; k++)
            for (int64_t p = 0; p < hw; p++)
                for (int64_t l = 0; l < lanes; l++) {
                    int64_t ch = k * lanes + l;
                    *dst++ = per_ch ? (ch < C ? src[(a * C + ch) * hw + p] : pad) : src[a * hw + p];
                }
    return b;
}

/* Resize that only scales H and W (nearest, scales constant [1, 1, sh, sw]): NchwcResize. */
static const octet_tensor *resize_scales(const ctx *c, const ot_node *n) {
    if (!op_is(n, "Resize") || n->n_outputs != 1 || ot_node_attr(n, "axes")) return NULL;
    if (strcmp(ot_node_attr_string(n, "mode", "nearest"), "nearest") != 0) return NULL;
    if (strcmp(ot_node_attr_string(n, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize") == 0)
        return NULL;
    if (ot_node_attr_int(n, "antialias", 0) != 0) return NULL;
    const int si = ot_model_opset(c->m, "") < 11 ? 1 : 2;
    if (n->n_inputs != si + 1 && !(n->n_inputs == si + 2 && !in_name(n, si + 1))) return NULL;
    const octet_tensor *t = constant(c->g, in_name(n, si));
    if (!t || t->dtype != OCTET_FLOAT || t->ndim != 1 || t->dims[0] != 4) return NULL;
    const float *v = t->data;
    return v[0] == 1.0f && v[1] == 1.0f && v[2] > 0 && v[3] > 0 ? t : NULL;
}

/* Concat over channels of blocked tensors whose channels fill whole blocks (but the last). */
static bool concat_ok(ctx *c, const ot_node *n, int64_t *C) {
    if (!op_is(n, "Concat") || n->n_outputs != 1 || n->n_inputs < 1) return false;
    const int64_t axis = ot_node_attr_int(n, "axis", 0);
    if (axis != 1 && axis != -3) return false;
    *C = 0;
    for (int j = 0; j < n->n_inputs; j++) {
        const val *v = val_of(c, in_name(n, j));
        if (!v || !v->blocked || (j + 1 < n->n_inputs && v->C % OT_NCHWC != 0)) return false;
        *C += v->C;
    }
    return true;
}

static bool maxpool_ok(const ot_node *n) {
    const int64_t *ks;
    return op_is(n, "MaxPool") && n->n_inputs == 1 && (n->n_outputs == 1 || !n->outputs[1][0]) &&
           ot_node_attr_int(n, "ceil_mode", 0) == 0 && ot_node_attr_ints(n, "kernel_shape", &ks) == 2;
}

/* ---- decisions ---- */

static void decide(ctx *c, const int *order) {
    ot_graph *g = c->g;
    for (int oi = 0; oi < c->nn; oi++) {
        const int i = order[oi];
        const ot_node *n = g->nodes[i];
        int64_t M, C;
        role_t r = R_NONE;
        int64_t outC = 0;
        if (n->n_outputs < 1 || !n->outputs[0][0]) {
            c->role[i] = R_NONE;
            continue;
        }
        if (conv_candidate(g, n, &M, &C)) {
            r = R_CONV;
            outC = M;
            /* a plain input with few channels is read in place; depthwise needs it blocked */
            c->nchw_in[i] = !blocked(c, in_name(n, 0)) && C < OT_NCHWC && ot_node_attr_int(n, "group", 1) == 1;
        } else if (n->n_inputs >= 1 && blocked(c, in_name(n, 0))) {
            const int64_t inC = val_of(c, in_name(n, 0))->C;
            if (maxpool_ok(n)) r = R_MAXPOOL;
            else if (op_is(n, "GlobalAveragePool") && n->n_inputs == 1 && n->n_outputs == 1) r = R_GAP;
            else if (op_is(n, "GlobalMaxPool") && n->n_inputs == 1 && n->n_outputs == 1) r = R_GMP;
            else if (unary_op(g, n)) r = R_UNARY;
            else if (resize_scales(c, n)) r = R_RESIZE;
            outC = inC;
        }
        if (r == R_NONE && concat_ok(c, n, &C)) {
            r = R_CONCAT;
            outC = C;
        }
        if (r == R_NONE && binary_op(n)) {
            const char *a = in_name(n, 0), *b = in_name(n, 1);
            const bool ba = blocked(c, a), bb = blocked(c, b);
            if (ba && bb && val_of(c, a)->C == val_of(c, b)->C) {
                r = R_BINARY;
                outC = val_of(c, a)->C;
            } else if (ba != bb) {
                const int64_t bc = val_of(c, ba ? a : b)->C;
                if (const_operand_ok(constant(g, ba ? b : a), bc)) {
                    r = R_BINARY;
                    outC = bc;
                }
            }
        }
        c->role[i] = r;
        c->chans[i] = outC;
        if (r != R_NONE) {
            val *v = val_of(c, n->outputs[0]);
            v->blocked = true;
            v->C = outC;
        }
    }
    /* A convolution on a plain input whose output no blocked node reads would only add reorders. */
    for (int i = 0; i < c->nn; i++) {
        if (c->role[i] != R_CONV || blocked(c, in_name(g->nodes[i], 0))) continue;
        const char *out = g->nodes[i]->outputs[0];
        bool used = false;
        for (int j = 0; j < c->nn && !used; j++) {
            if (c->role[j] == R_NONE) continue;
            for (int k = 0; k < g->nodes[j]->n_inputs; k++) used = used || strcmp(g->nodes[j]->inputs[k], out) == 0;
        }
        if (!used) {
            c->role[i] = R_NONE;
            val_of(c, out)->blocked = false;
        }
    }
}

/* ---- Conv + Add (+ Relu / Clip) ---- */

/* Clip's bounds: attributes before opset 11, else constant scalar inputs. */
static bool clip_params(const ctx *c, const ot_node *n, float *p) {
    p[0] = -INFINITY;
    p[1] = INFINITY;
    if (ot_model_opset(c->m, "") < 11) {
        p[0] = ot_node_attr_float(n, "min", -INFINITY);
        p[1] = ot_node_attr_float(n, "max", INFINITY);
        return true;
    }
    for (int j = 1; j < 3; j++) {
        const char *name = in_name(n, j);
        if (!name) continue;
        const octet_tensor *t = constant(c->g, name);
        if (!t || t->dtype != OCTET_FLOAT || ot_tensor_numel(t) != 1) return false;
        p[j - 1] = *(const float *)t->data;
    }
    return true;
}

static octet_status set_output(ot_node *n, const char *name) { return ot_node_set_outputs(n, 1, &name); }

/* Add(conv output read only here, other blocked value) -> the conv's Z; a Relu / Clip that alone
 * reads the sum becomes its activation. */
static octet_status fuse_sums(ctx *c, int *fused) {
    ot_graph *g = c->g;
    for (int i = 0; i < c->nn; i++) {
        if (c->removed[i] || c->role[i] != R_BINARY || !op_is(g->nodes[i], "Add")) continue;
        ot_node *add = g->nodes[i];
        if (!blocked(c, add->inputs[0]) || !blocked(c, add->inputs[1])) continue;
        for (int side = 0; side < 2; side++) {
            const val *v = val_of(c, add->inputs[side]);
            if (v->prod < 0 || c->role[v->prod] != R_CONV || v->reads != 1 || v->graph_out) continue;
            ot_node *conv = g->nodes[v->prod];
            if (!op_is(conv, "Conv") || conv->n_inputs > 3 || strcmp(add->inputs[0], add->inputs[1]) == 0) continue;
            /* conv(x, w, b) + z: inputs x, w, b ("" if none), z */
            const char *ins[4] = {conv->inputs[0], conv->inputs[1], conv->n_inputs > 2 ? conv->inputs[2] : "",
                                  add->inputs[1 - side]};
            OT_TRY(ot_node_set_inputs(conv, 4, ins));
            OT_TRY(set_output(conv, add->outputs[0]));
            c->removed[i] = true;
            (*fused)++;
            OT_TRY(index_values(c));
            const val *sum = val_of(c, conv->outputs[0]);
            int r = -1;
            for (int j = 0; j < c->nn && sum->reads == 1 && !sum->graph_out; j++)
                for (int k = 0; !c->removed[j] && k < g->nodes[j]->n_inputs; k++)
                    if (strcmp(g->nodes[j]->inputs[k], sum->name) == 0) r = j;
            float p[2];
            if (r >= 0 && c->role[r] == R_UNARY && strcmp(g->nodes[r]->inputs[0], sum->name) == 0 &&
                (op_is(g->nodes[r], "Relu") || (op_is(g->nodes[r], "Clip") && clip_params(c, g->nodes[r], p)))) {
                const bool relu = op_is(g->nodes[r], "Relu");
                OT_TRY(ot_node_add_attr_string(conv, "activation", relu ? "Relu" : "Clip"));
                if (!relu) OT_TRY(ot_node_add_attr_floats(conv, "activation_params", p, 2));
                OT_TRY(set_output(conv, g->nodes[r]->outputs[0]));
                c->removed[r] = true;
                OT_TRY(index_values(c));
            }
            break;
        }
    }
    return OCTET_OK;
}

/* ---- rewrite ---- */

/* A name not used anywhere in the graph (the caller owns it). */
static char *fresh_name(ctx *c, const char *base, const char *suffix) {
    size_t n = strlen(base) + strlen(suffix) + 24;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s%s", base, suffix);
    while (ot_strmap_get(&c->names, s, -1) >= 0) snprintf(s, n, "%s%s%d", base, suffix, ++c->fresh);
    if (!take_name(c, s)) {
        free(s);
        return NULL;
    }
    return s;
}

static octet_status rename_input(ot_node *n, int j, const char *name) {
    char *s = strdup(name);
    if (!s) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    free(n->inputs[j]);
    n->inputs[j] = s;
    return OCTET_OK;
}

/* Inputs of a blocked node that carry the image (the rest, e.g. weights and Clip bounds, stay). */
static bool layout_input(role_t r, int j) {
    switch (r) {
    case R_CONV: return j == 0 || j == 3;
    case R_BINARY: return j < 2;
    case R_CONCAT: return true;
    case R_NONE: return false;
    default: return j == 0;
    }
}

static octet_status add_reorder(ctx *c, bool to_blocked, const char *from, const char *to, int64_t C) {
    ot_node *r = ot_graph_add_node(c->g, to_blocked ? "ReorderInput" : "ReorderOutput", "ai.octet", to);
    if (!r) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    OT_TRY(ot_node_set_inputs(r, 1, &from));
    OT_TRY(ot_node_set_outputs(r, 1, &to));
    if (!to_blocked) OT_TRY(ot_node_add_attr_int(r, "channels", C));
    return OCTET_OK;
}

static octet_status rewrite(ctx *c) {
    ot_graph *g = c->g;
    const int nn = c->nn;
    /* blocked outputs get new names; readers that need the plain tensor get a ReorderOutput */
    for (int i = 0; i < nn; i++) {
        if (c->removed[i] || c->role[i] == R_NONE) continue;
        ot_node *n = g->nodes[i];
        val *v = val_of(c, n->outputs[0]);
        v->bname = fresh_name(c, v->name, "@nchwc");
        if (!v->bname) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        bool plain = v->graph_out;
        for (int j = 0; j < nn && !plain; j++) {
            if (c->removed[j]) continue;
            for (int k = 0; k < g->nodes[j]->n_inputs; k++)
                if (strcmp(g->nodes[j]->inputs[k], v->name) == 0 && !layout_input(c->role[j], k)) plain = true;
        }
        OT_TRY(set_output(n, v->bname));
        if (plain) OT_TRY(add_reorder(c, false, v->bname, v->name, v->C));
    }
    /* readers: blocked inputs by their new names; plain image inputs reordered in (or read in place) */
    for (int i = 0; i < nn; i++) {
        if (c->removed[i] || c->role[i] == R_NONE) continue;
        ot_node *n = g->nodes[i];
        for (int j = 0; j < n->n_inputs; j++) {
            if (!n->inputs[j][0] || !layout_input(c->role[i], j)) continue;
            val *v = val_of(c, n->inputs[j]);
            if (v && v->bname && v->blocked) {
                OT_TRY(rename_input(n, j, v->bname));
                continue;
            }
            if (c->role[i] == R_CONV && j == 0 && c->nchw_in[i]) continue;
            const octet_tensor *t = constant(g, n->inputs[j]);
            if (c->role[i] == R_BINARY && t) {
                if (ot_tensor_numel(t) == 1) continue;
                const bool div = op_is(n, "Div") || op_is(n, "Pow");
                octet_tensor *bt = const_blocked(t, c->chans[i], div ? 1.0f : 0.0f);
                char *nm = fresh_name(c, n->inputs[j], "@nchwc");
                if (!bt || !nm) {
                    octet_tensor_free(bt);
                    free(nm);
                    return ot_err(OCTET_ERR_NOMEM, "out of memory");
                }
                octet_status s = ot_graph_add_initializer(g, nm, bt);
                if (s == OCTET_OK) s = rename_input(n, j, nm);
                free(nm);
                OT_TRY(s);
                continue;
            }
            /* a plain image (a convolution's input): one ReorderInput per value */
            if (!v) return ot_err(OCTET_ERR_INVALID_ARG, "NCHWc pass: unknown value '%s'", n->inputs[j]);
            if (!v->iname) {
                v->iname = fresh_name(c, n->inputs[j], "@nchwc_in");
                if (!v->iname) return ot_err(OCTET_ERR_NOMEM, "out of memory");
                OT_TRY(add_reorder(c, true, n->inputs[j], v->iname, 0));
            }
            OT_TRY(rename_input(n, j, v->iname));
        }
        if (c->role[i] == R_CONCAT && ot_node_attr_int(n, "axis", 1) != 1) {
            /* -3 of rank 4 is 1, but of the blocked rank 5 it would be 2 */
            for (int a = 0; a < n->n_attrs; a++)
                if (strcmp(n->attrs[a].name, "axis") == 0) n->attrs[a].i = 1;
        }
        switch (c->role[i]) {
        case R_CONV:
            OT_TRY(ot_node_set_op(n, "ai.octet", "NchwcConv"));
            if (c->nchw_in[i]) OT_TRY(ot_node_add_attr_int(n, "nchw_input", 1));
            break;
        case R_MAXPOOL: OT_TRY(ot_node_set_op(n, "ai.octet", "NchwcMaxPool")); break;
        case R_GAP: OT_TRY(ot_node_set_op(n, "ai.octet", "NchwcGlobalAveragePool")); break;
        case R_GMP: OT_TRY(ot_node_set_op(n, "ai.octet", "NchwcGlobalMaxPool")); break;
        case R_RESIZE:
            OT_TRY(ot_node_set_op(n, "ai.octet", "NchwcResize"));
            OT_TRY(ot_node_add_attr_int(n, "onnx_opset", ot_model_opset(c->m, "")));
            break;
        default: break;
        }
    }
    return OCTET_OK;
}

/* ---- entry ---- */

static bool has_subgraphs(const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i]->n_attrs; a++)
            if (g->nodes[i]->attrs[a].type == OT_ATTR_GRAPH || g->nodes[i]->attrs[a].type == OT_ATTR_GRAPHS)
                return true;
    return false;
}

static void ctx_free(ctx *c) {
    for (int i = 0; i < c->nv; i++) {
        free(c->vals[i].name);
        free(c->vals[i].bname);
        free(c->vals[i].iname);
    }
    for (int i = 0; i < c->nstrs; i++) free(c->strs[i]);
    free(c->strs);
    free(c->vals);
    free(c->role);
    free(c->chans);
    free(c->removed);
    free(c->nchw_in);
    ot_strmap_free(&c->idx);
    ot_strmap_free(&c->names);
}

octet_status ot_pass_nchwc(octet_model *m, int *converted) {
    if (converted) *converted = 0;
    ot_graph *g = m->graph;
    if (ot_kernels_get()->isa < OT_ISA_AVX2 || g->n_nodes == 0 || has_subgraphs(g)) return OCTET_OK;
    ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.g = g;
    c.nn = g->n_nodes;
    c.role = calloc((size_t)c.nn, sizeof *c.role);
    c.removed = calloc((size_t)c.nn, sizeof *c.removed);
    c.chans = calloc((size_t)c.nn, sizeof *c.chans);
    c.nchw_in = calloc((size_t)c.nn, sizeof *c.nchw_in);
    int *order = calloc((size_t)c.nn, sizeof *order);
    octet_status s = OCTET_OK;
    if (!c.role || !c.chans || !c.removed || !c.nchw_in || !order || !ot_strmap_init(&c.idx, (size_t)c.nn * 4) ||
        !ot_strmap_init(&c.names, (size_t)c.nn * 4)) {
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    s = index_values(&c);
    if (s != OCTET_OK) goto done;
    for (int i = 0; i < c.nv; i++)
        if (!take_name(&c, c.vals[i].name)) {
            s = ot_err(OCTET_ERR_NOMEM, "out of memory");
            goto done;
        }
    for (int i = 0; i < g->n_inputs; i++)
        if (!take_name(&c, g->inputs[i].name)) {
            s = ot_err(OCTET_ERR_NOMEM, "out of memory");
            goto done;
        }
    for (int i = 0; i < g->n_inits; i++)
        if (!take_name(&c, g->inits[i].name)) {
            s = ot_err(OCTET_ERR_NOMEM, "out of memory");
            goto done;
        }
    if (!topo_order(&c, order)) goto done; /* a cycle: leave the graph to the planner's error */
    decide(&c, order);
    int n_conv = 0, fused = 0;
    for (int i = 0; i < c.nn; i++) n_conv += c.role[i] == R_CONV;
    if (n_conv == 0) goto done;
    s = fuse_sums(&c, &fused);
    if (s == OCTET_OK) s = index_values(&c);
    if (s == OCTET_OK) s = rewrite(&c);
    for (int i = c.nn - 1; i >= 0 && s == OCTET_OK; i--)
        if (c.removed[i]) ot_graph_remove_node(g, i);
    if (s == OCTET_OK && ot_model_opset(m, "ai.octet") == 0) s = ot_model_set_opset(m, "ai.octet", 1);
    if (converted) *converted = n_conv;
done:
    free(order);
    ctx_free(&c);
    if (s == OCTET_OK) s = ot_pass_fuse_elementwise(m, NULL);
    return s;
}
