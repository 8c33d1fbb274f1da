/* Opset raise for quantization. PaddleOCR's exports are opset 9 and 11; per-channel weights need
 * DequantizeLinear with an axis (opset 13). The semantics of most ops did not change between 7 and 13;
 * the ones that did either moved attributes to inputs (converted here one for one) or changed meaning
 * (Softmax's axis: "flatten from axis on" before 13, "this one axis" from 13; same when the axis is
 * the last one, else rewritten as Flatten -> Softmax -> Reshape to the input's shape). */
#include "quant/opset_raise.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "util/mem.h"

typedef struct raise_ctx {
    octet_model *m;
    int64_t from;
} raise_ctx;

static bool op_is(const ot_node *n, const char *op) { return ot_domain_is_onnx(n->domain) && strcmp(n->op_type, op) == 0; }

static void remove_attr(ot_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            ot_attr_clear(&n->attrs[i]);
            memmove(&n->attrs[i], &n->attrs[i + 1], (size_t)(n->n_attrs - i - 1) * sizeof *n->attrs);
            n->n_attrs--;
            return;
        }
}

static const char *unsupported(const raise_ctx *c, const ot_node *n) {
    if (!ot_domain_is_onnx(n->domain)) return NULL;
    if (op_is(n, "Upsample") || op_is(n, "Scatter")) return "has no opset-13 form here";
    if (op_is(n, "Resize") && c->from < 11) return "Resize-10 is not converted";
    if (op_is(n, "BatchNormalization") && c->from < 9 && ot_node_attr_int(n, "spatial", 1) != 1)
        return "spatial=0 is not converted";
    return NULL;
}

static octet_status scan(const raise_ctx *c, const ot_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        const char *why = unsupported(c, n);
        if (why)
            return ot_err(OCTET_ERR_UNSUPPORTED, "cannot raise opset %lld to 13: node '%s' (%s) %s", (long long)c->from,
                          n->name, n->op_type, why);
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) OT_TRY(scan(c, n->attrs[a].g));
            for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
                OT_TRY(scan(c, n->attrs[a].graphs[k]));
        }
    }
    return OCTET_OK;
}

/* A new initializer named after the node; its name replaces input slot `slot` (inputs are padded with ""). */
static octet_status set_input_tensor(ot_graph *g, ot_node *n, int slot, const char *suffix, octet_tensor *t) {
    char *name = ot_graph_unique_name(g, n->name[0] ? n->name : n->outputs[0], suffix);
    if (!name || !t) {
        free(name);
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    octet_status st = ot_graph_add_initializer(g, name, t);
    if (st == OCTET_OK) {
        int cnt = n->n_inputs > slot + 1 ? n->n_inputs : slot + 1;
        const char **ins = calloc((size_t)cnt, sizeof *ins);
        if (!ins) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
        for (int i = 0; ins && i < cnt; i++) ins[i] = i < n->n_inputs ? n->inputs[i] : "";
        if (ins) {
            ins[slot] = name;
            st = ot_node_set_inputs(n, cnt, ins);
        }
        free(ins);
    }
    free(name);
    return st;
}

static octet_status ints_to_input(ot_graph *g, ot_node *n, const char *attr, int slot) {
    const int64_t *v;
    size_t cnt = ot_node_attr_ints(n, attr, &v);
    if (!ot_node_attr(n, attr)) return OCTET_OK;
    int64_t d = (int64_t)cnt;
    octet_tensor *t = ot_tensor_new(OCTET_INT64, 1, &d);
    if (t) memcpy(t->data, v, cnt * sizeof *v);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "_%s", attr);
    OT_TRY(set_input_tensor(g, n, slot, suffix, t));
    remove_attr(n, attr);
    return OCTET_OK;
}

static octet_status float_to_input(ot_graph *g, ot_node *n, const char *attr, int slot) {
    if (!ot_node_attr(n, attr)) return OCTET_OK;
    octet_tensor *t = ot_tensor_new(OCTET_FLOAT, 0, NULL);
    if (t) *(float *)t->data = ot_node_attr_float(n, attr, 0.0f);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "_%s", attr);
    OT_TRY(set_input_tensor(g, n, slot, suffix, t));
    remove_attr(n, attr);
    return OCTET_OK;
}

static int value_rank(const ot_graph *g, const char *name) {
    const ot_value_info *vi = ot_graph_value_info(g, name);
    return vi ? vi->ndim : -1;
}

/* Softmax-family before 13 with an axis that may not be the last: Flatten(axis) -> op(axis=-1) ->
 * Reshape(Shape(x)), exactly the old definition. */
static octet_status raise_softmax(ot_graph *g, int idx) {
    ot_node *n = g->nodes[idx];
    int64_t axis = ot_node_attr_int(n, "axis", 1);
    int rank = value_rank(g, n->inputs[0]);
    if (rank < 0) rank = value_rank(g, n->outputs[0]);
    remove_attr(n, "axis");
    if (axis == -1 || (rank > 0 && (axis == rank - 1 || axis == -1))) return ot_node_add_attr_int(n, "axis", -1);
    const char *base = n->name[0] ? n->name : n->outputs[0];
    char *flat = ot_graph_unique_name(g, base, "_flat"), *shape = ot_graph_unique_name(g, base, "_shape");
    char *y2 = ot_graph_unique_name(g, base, "_2d"), *fn = ot_graph_unique_name(g, base, "_Flatten"),
         *sn = ot_graph_unique_name(g, base, "_Shape"), *rn = ot_graph_unique_name(g, base, "_Reshape");
    char *x = ot_strdup(n->inputs[0]), *y = ot_strdup(n->outputs[0]);
    octet_status st = (flat && shape && y2 && fn && sn && rn && x && y) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    ot_node *f = NULL, *s = NULL, *r = NULL;
    if (st == OCTET_OK) {
        f = ot_graph_add_node(g, "Flatten", "", fn);
        s = ot_graph_add_node(g, "Shape", "", sn);
        r = ot_graph_add_node(g, "Reshape", "", rn);
        n = g->nodes[idx];
        if (!f || !s || !r) st = ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    const char *fi[1] = {x}, *fo[1] = {flat}, *so[1] = {shape}, *ri[2] = {y2, shape}, *ro[1] = {y}, *ni[1] = {flat},
               *no[1] = {y2};
    if (st == OCTET_OK) st = ot_node_set_inputs(f, 1, fi);
    if (st == OCTET_OK) st = ot_node_set_outputs(f, 1, fo);
    if (st == OCTET_OK) st = ot_node_add_attr_int(f, "axis", axis);
    if (st == OCTET_OK) st = ot_node_set_inputs(s, 1, fi);
    if (st == OCTET_OK) st = ot_node_set_outputs(s, 1, so);
    if (st == OCTET_OK) st = ot_node_set_inputs(r, 2, ri);
    if (st == OCTET_OK) st = ot_node_set_outputs(r, 1, ro);
    if (st == OCTET_OK) st = ot_node_set_inputs(n, 1, ni);
    if (st == OCTET_OK) st = ot_node_set_outputs(n, 1, no);
    if (st == OCTET_OK) st = ot_node_add_attr_int(n, "axis", -1);
    free(flat), free(shape), free(y2), free(fn), free(sn), free(rn), free(x), free(y);
    return st;
}

static octet_status raise_graph(raise_ctx *c, ot_graph *g) {
    int n_nodes = g->n_nodes; /* nodes added by the Softmax rewrite need nothing */
    for (int i = 0; i < n_nodes; i++) {
        ot_node *n = g->nodes[i];
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) OT_TRY(raise_graph(c, n->attrs[a].g));
            for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
                OT_TRY(raise_graph(c, n->attrs[a].graphs[k]));
        }
        if (!ot_domain_is_onnx(n->domain)) continue;
        int64_t v = c->from;
        if (op_is(n, "Clip") && v < 11) {
            OT_TRY(float_to_input(g, n, "min", 1));
            OT_TRY(float_to_input(g, n, "max", 2));
        } else if (op_is(n, "Slice") && v < 10) {
            const int64_t *tmp;
            bool axes = ot_node_attr_ints(n, "axes", &tmp) > 0;
            OT_TRY(ints_to_input(g, n, "starts", 1));
            OT_TRY(ints_to_input(g, n, "ends", 2));
            if (axes) OT_TRY(ints_to_input(g, n, "axes", 3));
        } else if (op_is(n, "Pad") && v < 11) {
            OT_TRY(ints_to_input(g, n, "pads", 1));
            if (ot_node_attr_float(n, "value", 0.0f) != 0.0f) OT_TRY(float_to_input(g, n, "value", 2));
            remove_attr(n, "value");
        } else if ((op_is(n, "Squeeze") || op_is(n, "Unsqueeze") || op_is(n, "ReduceSum")) && v < 13) {
            OT_TRY(ints_to_input(g, n, "axes", 1));
        } else if (op_is(n, "Split") && v < 13) {
            OT_TRY(ints_to_input(g, n, "split", 1));
        } else if (op_is(n, "TopK") && v < 10) {
            int64_t one = 1;
            octet_tensor *t = ot_tensor_new(OCTET_INT64, 1, &one);
            if (t) ((int64_t *)t->data)[0] = ot_node_attr_int(n, "k", 1);
            OT_TRY(set_input_tensor(g, n, 1, "_k", t));
            remove_attr(n, "k");
        } else if (op_is(n, "Dropout") && v < 12) {
            remove_attr(n, "ratio"); /* inference: the ratio does not matter */
        } else if (op_is(n, "BatchNormalization") && v < 9) {
            remove_attr(n, "spatial");
        } else if ((op_is(n, "Softmax") || op_is(n, "LogSoftmax") || op_is(n, "Hardmax")) && v < 13) {
            OT_TRY(raise_softmax(g, i));
        }
    }
    return OCTET_OK;
}

octet_status ot_raise_opset(octet_model *m, int64_t target) {
    raise_ctx c = {m, ot_model_opset(m, "")};
    if (c.from >= target) return OCTET_OK;
    if (c.from < 7) return ot_err(OCTET_ERR_UNSUPPORTED, "cannot raise opset %lld to %lld: opsets below 7 are not converted",
                                  (long long)c.from, (long long)target);
    OT_TRY(scan(&c, m->graph));
    OT_TRY(raise_graph(&c, m->graph));
    if (m->ir_version < 7) m->ir_version = 7;
    return ot_model_set_opset(m, "", target);
}
