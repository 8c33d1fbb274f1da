/* Channels-last int8 chains (see int8_layout.h).
 *
 * 1. Candidates: every 2-D QLinearConv (and ai.octet QLinearConvTranspose); then, to a fixed point, every
 *    layout-free int8 op (nearest Resize by constant scales: its scales are permuted) whose image
 *    inputs all come from candidates (so they are rank-4 int8 tensors in the same layout: elementwise
 *    broadcasting and pooling commute with the permutation). Element-wise ones: QLinearAdd/Mul (an
 *    operand that is a one-element constant is no image input: it broadcasts alike in any layout),
 *    QLinearSigmoid/LeakyRelu and ai.octet QLinearLookup, which keep their op as they are.
 * 2. Groups: candidates joined by image edges; a group of one node is dropped.
 * 3. Rewrite: each kept node's image output gets a new name holding the NHWC tensor; kept readers use
 *    it, and a Transpose back to the old name serves everyone else. Image inputs from outside the
 *    group get a Transpose to NHWC (one per value). */
#include "ir/passes/int8_layout.h"

#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "util/mem.h"
#include "util/strmap.h"

typedef enum { K_NONE, K_CONV, K_CONVT, K_EW2, K_EW1, K_GPOOL, K_APOOL, K_MAXPOOL, K_CONCAT, K_RESIZE } node_kind;

static bool is_ms(const ot_node *n) { return strcmp(n->domain, "com.microsoft") == 0; }
static bool op_is(const ot_node *n, const char *op) { return strcmp(n->op_type, op) == 0; }

/* A nearest Resize by constant scales that leave N and C alone (qdq_fuse runs it on the 8-bit tensor):
 * the index of its scales input (opset 10: 1; 11+: 2, with no sizes), else -1. In NHWC the same
 * scales, permuted, give the permuted result (nearest picks each axis independently). */
static int resize_scales_input(const ot_graph *g, const ot_node *n) {
    if (strcmp(ot_node_attr_string(n, "mode", "nearest"), "nearest") != 0 ||
        strcmp(ot_node_attr_string(n, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize") == 0)
        return -1;
    int si = n->n_inputs == 2 ? 1 : 2;
    if (n->n_inputs < 2 || n->n_inputs > 4 || (n->n_inputs == 4 && n->inputs[3][0])) return -1;
    const octet_tensor *sc = ot_graph_constant(g, n->inputs[si]);
    if (!sc || sc->dtype != OCTET_FLOAT || ot_tensor_numel(sc) != 4) return -1;
    const float *v = sc->data;
    return v[0] == 1.0f && v[1] == 1.0f ? si : -1;
}

static node_kind kind_of(const ot_graph *g, const ot_node *n) {
    if (n->n_outputs < 1 || !n->outputs[0][0]) return K_NONE;
    if (ot_domain_is_onnx(n->domain)) {
        if (op_is(n, "QLinearConv") && n->n_outputs == 1 && n->n_inputs >= 8) {
            const ot_initializer *w = ot_graph_find_initializer(g, n->inputs[3]);
            return w && w->tensor->ndim == 4 ? K_CONV : K_NONE;
        }
        if (op_is(n, "Resize") && n->n_outputs == 1) return resize_scales_input(g, n) >= 0 ? K_RESIZE : K_NONE;
        if (op_is(n, "MaxPool") && (n->n_outputs == 1 || !n->outputs[1][0]) && n->n_inputs == 1) {
            const int64_t *ks;
            return ot_node_attr_ints(n, "kernel_shape", &ks) == 2 ? K_MAXPOOL : K_NONE;
        }
        return K_NONE;
    }
    /* the session's int8 transposed convolution (ops/octet_qconvt.c): NHWC with channels_last, like QLinearConv */
    if (strcmp(n->domain, "ai.octet") == 0 && op_is(n, "QLinearConvTranspose") && n->n_outputs == 1 &&
        n->n_inputs >= 8) {
        const ot_initializer *w = ot_graph_find_initializer(g, n->inputs[3]);
        return w && w->tensor->ndim == 4 ? K_CONVT : K_NONE;
    }
    /* the session's byte tables (ops/octet_lookup.c): element-wise, any layout */
    if (strcmp(n->domain, "ai.octet") == 0 && op_is(n, "QLinearLookup") && n->n_outputs == 1 && n->n_inputs >= 4)
        return K_EW1;
    if (!is_ms(n) || n->n_outputs != 1) return K_NONE;
    if ((op_is(n, "QLinearAdd") || op_is(n, "QLinearMul")) && n->n_inputs >= 7) return K_EW2;
    if ((op_is(n, "QLinearSigmoid") || op_is(n, "QLinearLeakyRelu")) && n->n_inputs >= 4) return K_EW1;
    if (ot_node_attr_int(n, "channels_last", 0) == 0) {
        if (op_is(n, "QLinearGlobalAveragePool") && n->n_inputs >= 4) return K_GPOOL;
        const int64_t *ks;
        if (op_is(n, "QLinearAveragePool") && n->n_inputs >= 4 && ot_node_attr_ints(n, "kernel_shape", &ks) == 2)
            return K_APOOL;
    }
    if (op_is(n, "QLinearConcat") && n->n_inputs >= 5 && (n->n_inputs - 2) % 3 == 0) {
        int64_t axis = ot_node_attr_int(n, "axis", 1);
        return axis >= -4 && axis <= 3 ? K_CONCAT : K_NONE;
    }
    return K_NONE;
}

/* A constant with one element (and rank <= 4): broadcasting it is the same in any layout, so it is not
 * an image input (PP-LCNetV3's learnable affine x * a + b after each activation). */
static bool scalar_const(const ot_graph *g, const char *name) {
    const octet_tensor *t = ot_graph_constant(g, name);
    return t && ot_tensor_numel(t) == 1 && t->ndim <= 4;
}

/* The image inputs of a node of kind k: indices into n->inputs. */
static int image_inputs(const ot_graph *g, node_kind k, const ot_node *n, int *idx, int cap) {
    int c = 0;
    switch (k) {
    case K_EW2:
        if (!scalar_const(g, n->inputs[0])) idx[c++] = 0;
        if (!scalar_const(g, n->inputs[3])) idx[c++] = 3;
        break;
    case K_CONCAT:
        for (int i = 2; i < n->n_inputs && c < cap; i += 3) idx[c++] = i;
        break;
    case K_NONE: break;
    default: idx[c++] = 0; break;
    }
    return c;
}

typedef struct lay {
    ot_graph *g;
    int n;
    node_kind *kind;
    bool *in_set;
    int *parent;          /* union-find over nodes */
    ot_strmap prod;       /* value -> producing node index (output 0 only) */
} lay;

static int uf_find(int *p, int i) {
    while (p[i] != i) i = p[i] = p[p[i]];
    return i;
}

static int producer(const lay *L, const char *name) { return name[0] ? ot_strmap_get(&L->prod, name, -1) : -1; }

/* All image inputs of node i come from nodes in the set. */
static bool inputs_in_set(const lay *L, int i) {
    int idx[64];
    const ot_node *n = L->g->nodes[i];
    int c = image_inputs(L->g, L->kind[i], n, idx, 64);
    if (c == 0 || c == 64) return false;
    for (int j = 0; j < c; j++) {
        if (idx[j] >= n->n_inputs) return false;
        int p = producer(L, n->inputs[idx[j]]);
        if (p < 0 || !L->in_set[p]) return false;
    }
    return true;
}

static void choose(lay *L) {
    for (int i = 0; i < L->n; i++) L->in_set[i] = L->kind[i] == K_CONV || L->kind[i] == K_CONVT;
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < L->n; i++)
            if (!L->in_set[i] && L->kind[i] != K_NONE && L->kind[i] != K_CONV && L->kind[i] != K_CONVT &&
                inputs_in_set(L, i)) {
                L->in_set[i] = true;
                changed = true;
            }
    }
    /* groups: union over image edges inside the set; drop singletons */
    for (int i = 0; i < L->n; i++) L->parent[i] = i;
    for (int i = 0; i < L->n; i++) {
        if (!L->in_set[i]) continue;
        int idx[64], c = image_inputs(L->g, L->kind[i], L->g->nodes[i], idx, 64);
        for (int j = 0; j < c; j++) {
            int p = producer(L, L->g->nodes[i]->inputs[idx[j]]);
            if (p >= 0 && L->in_set[p]) L->parent[uf_find(L->parent, i)] = uf_find(L->parent, p);
        }
    }
    int *size = calloc((size_t)L->n + 1, sizeof *size);
    if (!size) {   /* no memory for the count: convert nothing */
        for (int i = 0; i < L->n; i++) L->in_set[i] = false;
        return;
    }
    for (int i = 0; i < L->n; i++)
        if (L->in_set[i]) size[uf_find(L->parent, i)]++;
    for (int i = 0; i < L->n; i++)
        if (L->in_set[i] && size[uf_find(L->parent, i)] < 2) L->in_set[i] = false;
    free(size);
}

static octet_status set_attr_int(ot_node *n, const char *name, int64_t v) {
    for (int a = 0; a < n->n_attrs; a++)
        if (strcmp(n->attrs[a].name, name) == 0) {
            if (n->attrs[a].type != OT_ATTR_INT) return ot_err(OCTET_ERR_INVALID_ARG, "attribute %s is not an int", name);
            n->attrs[a].i = v;
            return OCTET_OK;
        }
    return ot_node_add_attr_int(n, name, v);
}

static void drop_attr(ot_node *n, const char *name) {
    for (int a = 0; a < n->n_attrs; a++)
        if (strcmp(n->attrs[a].name, name) == 0) {
            ot_attr_clear(&n->attrs[a]);
            memmove(&n->attrs[a], &n->attrs[a + 1], (size_t)(n->n_attrs - a - 1) * sizeof *n->attrs);
            n->n_attrs--;
            a--;
        }
}

/* Resize: its scales [1, 1, sh, sw] become a new constant [1, sh, sw, 1]. */
static octet_status resize_to_nhwc(ot_graph *g, ot_node *n) {
    int si = resize_scales_input(g, n);
    if (si < 0) return ot_err(OCTET_ERR_INVALID_ARG, "int8 layout: Resize scales changed");
    const float *v = ot_graph_constant(g, n->inputs[si])->data;
    int64_t four = 4;
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 1, &four);
    char *name = ot_graph_unique_name(g, n->inputs[si], "_nhwc");
    if (!t || !name) {
        octet_tensor_free(t);
        free(name);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    float *d = t->data;
    d[0] = v[0], d[1] = v[2], d[2] = v[3], d[3] = v[1];
    octet_status st = ot_graph_add_initializer(g, name, t);
    if (st == OCTET_OK) {
        free(n->inputs[si]);
        n->inputs[si] = name;
    } else {
        free(name);
    }
    return st;
}

/* The node's own change of op / attributes. */
static octet_status make_nhwc(ot_graph *g, ot_node *n, node_kind k) {
    switch (k) {
    case K_RESIZE: return resize_to_nhwc(g, n);
    case K_CONV:
        OT_TRY(ot_node_set_op(n, "com.microsoft", "QLinearConv"));
        return set_attr_int(n, "channels_last", 1);
    case K_CONVT:
    case K_GPOOL:
    case K_APOOL: return set_attr_int(n, "channels_last", 1);
    case K_MAXPOOL:
        drop_attr(n, "storage_order");
        if (n->n_outputs > 1) {
            const char *o = n->outputs[0];
            OT_TRY(ot_node_set_outputs(n, 1, &o));
        }
        return ot_node_set_op(n, "com.microsoft", "NhwcMaxPool");
    case K_CONCAT: {
        static const int64_t to_nhwc[4] = {0, 3, 1, 2};
        int64_t axis = ot_node_attr_int(n, "axis", 1);
        if (axis < 0) axis += 4;
        return set_attr_int(n, "axis", to_nhwc[axis]);
    }
    default: return OCTET_OK;
    }
}

/* ai.octet NchwToNhwc / NhwcToNchw (ops/octet_int8.c): Transpose with a fixed perm, on a tiled kernel. */
static octet_status add_transpose(ot_graph *g, const char *from, const char *to, bool to_nhwc) {
    ot_node *t = ot_graph_add_node(g, to_nhwc ? "NchwToNhwc" : "NhwcToNchw", "ai.octet", "");
    if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    OT_TRY(ot_node_set_inputs(t, 1, &from));
    return ot_node_set_outputs(t, 1, &to);
}

/* A QuantizeLinear with constant scalar scale and zero point (8-bit, no attributes but axis), whose
 * result then only goes into the chain: it can write NHWC itself (ai.octet QuantizeLinearToNhwc). */
static bool quantize_fusable(const ot_graph *g, const ot_node *q) {
    if (!ot_domain_is_onnx(q->domain) || strcmp(q->op_type, "QuantizeLinear") != 0 || q->n_inputs != 3 ||
        q->n_outputs != 1)
        return false;
    for (int a = 0; a < q->n_attrs; a++)
        if (strcmp(q->attrs[a].name, "axis") != 0) return false;
    const ot_initializer *sc = ot_graph_find_initializer(g, q->inputs[1]), *zp = ot_graph_find_initializer(g, q->inputs[2]);
    if (!sc || !zp || ot_tensor_numel(sc->tensor) != 1 || ot_tensor_numel(zp->tensor) != 1 || sc->tensor->ndim > 1 ||
        zp->tensor->ndim > 1 || sc->tensor->dtype != OCTET_FLOAT)
        return false;
    for (int i = 0; i < g->n_inputs; i++)   /* an initializer that is also an input can be overridden */
        if (!strcmp(g->inputs[i].name, q->inputs[1]) || !strcmp(g->inputs[i].name, q->inputs[2])) return false;
    return zp->tensor->dtype == OCTET_UINT8 || zp->tensor->dtype == OCTET_INT8;
}

/* The NHWC copy of an outside value: a quantizing copy when its producer is a fusable QuantizeLinear
 * read by the chain alone (the QuantizeLinear then dies), else a layout change. */
static octet_status add_to_nhwc(lay *L, const char *name, const char *to) {
    int p = producer(L, name);
    if (p >= 0 && quantize_fusable(L->g, L->g->nodes[p])) {
        /* called before any chain node is rewired to the copy: reads at the chain's image inputs
         * are all still there, and must be all there is */
        int chain_reads = 0;
        for (int i = 0; i < L->n; i++) {
            if (!L->in_set[i]) continue;
            int idx[64], c = image_inputs(L->g, L->kind[i], L->g->nodes[i], idx, 64);
            for (int j = 0; j < c; j++) chain_reads += strcmp(L->g->nodes[i]->inputs[idx[j]], name) == 0;
        }
        if (chain_reads == ot_graph_count_reads(L->g, name)) {
            ot_node *t = ot_graph_add_node(L->g, "QuantizeLinearToNhwc", "ai.octet", "");
            if (!t) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            OT_TRY(ot_node_set_inputs(t, 3, (const char *const *)L->g->nodes[p]->inputs));
            return ot_node_set_outputs(t, 1, &to);
        }
    }
    return add_transpose(L->g, name, to, true);
}

/* Rewrite the chosen nodes. nhwc[i]: new name of node i's output 0 (kept nodes). */
static octet_status rewrite(lay *L, int *converted) {
    ot_graph *g = L->g;
    const int n0 = L->n;
    int count = 0;
    char **nhwc = ot_calloc((size_t)n0 + 1, sizeof *nhwc);
    ot_strmap made;   /* outside value -> index into outside[] (the name of its NHWC copy) */
    size_t cap = 1;   /* outside values: at most one per input of a chosen node */
    for (int i = 0; i < n0; i++) cap += (size_t)g->nodes[i]->n_inputs;
    char **outside = ot_calloc(cap, sizeof *outside);
    char **outside_src = ot_calloc(cap, sizeof *outside_src);
    int n_outside = 0;
    octet_status st = OCTET_OK;
    if (!nhwc || !outside || !outside_src || !ot_strmap_init(&made, (size_t)n0 * 2 + 16)) {
        free(nhwc);
        free(outside);
        free(outside_src);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n0 && st == OCTET_OK; i++) {
        if (!L->in_set[i]) continue;
        nhwc[i] = ot_graph_unique_name(g, g->nodes[i]->outputs[0], "_nhwc");
        if (!nhwc[i]) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    /* readers: the set's image inputs switch to NHWC names; count who still needs the NCHW value */
    for (int i = 0; i < n0 && st == OCTET_OK; i++) {
        if (!L->in_set[i]) continue;
        ot_node *n = g->nodes[i];
        int idx[64], c = image_inputs(L->g, L->kind[i], n, idx, 64);
        for (int j = 0; j < c && st == OCTET_OK; j++) {
            const char *name = n->inputs[idx[j]];
            int p = producer(L, name);
            const char *use;
            if (p >= 0 && L->in_set[p]) {
                use = nhwc[p];
            } else {
                int o = ot_strmap_get(&made, name, -1);
                if (o < 0) {
                    char *t = ot_graph_unique_name(g, name, "_nhwc");
                    if (!t) {
                        st = ot_err(OCTET_ERR_NOMEM, "out of memory");
                        break;
                    }
                    st = add_to_nhwc(L, name, t);
                    outside[n_outside] = t;
                    /* the key must outlive the map and the input it came from: a copy kept in outside_src */
                    outside_src[n_outside] = ot_strdup(name);
                    if (st == OCTET_OK && (!outside_src[n_outside] ||
                                           !ot_strmap_put(&made, outside_src[n_outside], n_outside)))
                        st = ot_err(OCTET_ERR_NOMEM, "out of memory");
                    o = n_outside++;
                }
                use = outside[o];
            }
            if (st != OCTET_OK) break;
            char *copy = ot_strdup(use);
            if (!copy) {
                st = ot_err(OCTET_ERR_NOMEM, "out of memory");
                break;
            }
            free(n->inputs[idx[j]]);
            n->inputs[idx[j]] = copy;
        }
    }
    /* producers: rename the output; a Transpose back serves the remaining readers */
    for (int i = 0; i < n0 && st == OCTET_OK; i++) {
        if (!L->in_set[i]) continue;
        ot_node *n = g->nodes[i];
        char *old = ot_strdup(n->outputs[0]);
        if (!old) {
            st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            break;
        }
        free(n->outputs[0]);
        n->outputs[0] = ot_strdup(nhwc[i]);
        if (!n->outputs[0]) {
            n->outputs[0] = old;
            st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            break;
        }
        if (ot_graph_count_reads(g, old) > 0) st = add_transpose(g, nhwc[i], old, false);
        free(old);
        if (st == OCTET_OK) st = make_nhwc(g, n, L->kind[i]);
        count++;
    }
    for (int i = 0; i < n0; i++) free(nhwc[i]);
    for (int i = 0; i < n_outside; i++) free(outside[i]), free(outside_src[i]);
    free(nhwc);
    free(outside);
    free(outside_src);
    ot_strmap_free(&made);
    if (converted) *converted = count;
    return st;
}

octet_status ot_pass_int8_nhwc(octet_model *m, int *converted) {
    if (converted) *converted = 0;
    if (!m || !m->graph) return OCTET_OK;
    lay L = {0};
    L.g = m->graph;
    L.n = L.g->n_nodes;
    if (L.n == 0) return OCTET_OK;
    L.kind = ot_calloc((size_t)L.n, sizeof *L.kind);
    L.in_set = ot_calloc((size_t)L.n, sizeof *L.in_set);
    L.parent = ot_calloc((size_t)L.n, sizeof *L.parent);
    octet_status st = OCTET_OK;
    if (!L.kind || !L.in_set || !L.parent || !ot_strmap_init(&L.prod, (size_t)L.n * 2 + 16)) {
        st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        goto done;
    }
    bool any = false;
    for (int i = 0; i < L.n; i++) {
        L.kind[i] = kind_of(L.g, L.g->nodes[i]);
        any |= L.kind[i] == K_CONV || L.kind[i] == K_CONVT;
        if (L.g->nodes[i]->n_outputs > 0 && L.g->nodes[i]->outputs[0][0] &&
            !ot_strmap_put(&L.prod, L.g->nodes[i]->outputs[0], i)) {
            st = ot_err(OCTET_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    if (!any) goto done;
    choose(&L);
    int count = 0;
    st = rewrite(&L, &count);   /* reads L.prod (keyed by output names) before it renames outputs */
    if (st == OCTET_OK && count && ot_model_opset(m, "com.microsoft") == 0)
        st = ot_model_set_opset(m, "com.microsoft", 1);
    if (st == OCTET_OK && count && ot_model_opset(m, "ai.octet") == 0) st = ot_model_set_opset(m, "ai.octet", 1);
    if (converted) *converted = count;
done:
    ot_strmap_free(&L.prod);
    free(L.kind);
    free(L.in_set);
    free(L.parent);
    return st;
}
