/* Constant folding on the IR: nodes whose inputs are all constant are evaluated with octet's own
 * kernels and replaced by initializers. Used before quantization (weights held in Constant nodes
 * become initializers) and after shape folding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "ops/op.h"

typedef struct scope {
    ot_graph *g;
    const struct scope *parent;
} scope;

static const octet_tensor *find_const(const scope *s, const char *name) {
    for (; s; s = s->parent) {
        const ot_initializer *in = ot_graph_find_initializer(s->g, name);
        if (in) {
            /* A graph input of the same name overrides the initializer at run time. */
            for (int j = 0; j < s->g->n_inputs; j++)
                if (strcmp(s->g->inputs[j].name, name) == 0) return NULL;
            return in->tensor;
        }
        /* a name defined by a node or input of this scope shadows outer ones */
        for (int j = 0; j < s->g->n_inputs; j++)
            if (strcmp(s->g->inputs[j].name, name) == 0) return NULL;
        for (int i = 0; i < s->g->n_nodes; i++)
            for (int o = 0; o < s->g->nodes[i]->n_outputs; o++)
                if (strcmp(s->g->nodes[i]->outputs[o], name) == 0) return NULL;
    }
    return NULL;
}

static bool has_subgraph(const ot_node *n) {
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == OT_ATTR_GRAPH || n->attrs[a].type == OT_ATTR_GRAPHS) return true;
    return false;
}

static bool foldable_op(const ot_node *n) {
    return strncmp(n->op_type, "Random", 6) != 0 && strcmp(n->op_type, "Multinomial") != 0 &&
           strcmp(n->op_type, "Dropout") != 0 && !has_subgraph(n);
}

/* Try to fold node i of s->g. Returns 1 if folded, 0 if not foldable, <0 is never returned: errors of
 * the kernel just leave the node alone (the runtime will report them with inputs in context). */
static int fold_node(const octet_model *m, scope *s, int i, size_t max_bytes, bool only_constant, octet_status *err) {
    ot_node *n = s->g->nodes[i];
    if (only_constant && strcmp(n->op_type, "Constant") != 0) return 0;
    if (!foldable_op(n) || n->n_inputs > 32 || n->n_outputs > 32) return 0;
    const octet_tensor *ins[32];
    for (int j = 0; j < n->n_inputs; j++) {
        ins[j] = NULL;
        if (!n->inputs[j][0]) continue;
        if (!(ins[j] = find_const(s, n->inputs[j]))) return 0;
    }
    const ot_op_def *def = ot_op_find(n->domain, n->op_type);
    if (!def) return 0;
    ot_kernel k = {.node = n, .def = def, .opset = ot_model_opset(m, n->domain), .threads = 1};
    octet_tensor outs[32];
    octet_tensor *outp[32];
    memset(outs, 0, sizeof outs);
    for (int j = 0; j < n->n_outputs; j++) outp[j] = n->outputs[j][0] ? &outs[j] : NULL;
    octet_status st = OCTET_OK;
    if (def->prepare) st = def->prepare(&k, ins, n->n_inputs);
    if (st == OCTET_OK) st = def->run(&k, ins, n->n_inputs, outp, n->n_outputs);
    if (def->release && k.state) def->release(k.state);
    bool ok = st == OCTET_OK;
    for (int j = 0; j < n->n_outputs && ok; j++)
        if (outp[j] && ot_tensor_nbytes(&outs[j]) > max_bytes) ok = false;
    if (!ok) {
        for (int j = 0; j < n->n_outputs; j++) ot_tensor_reset(&outs[j]);
        ot_err_clear();
        return 0;
    }
    for (int j = 0; j < n->n_outputs; j++) {
        if (!outp[j]) continue;
        octet_tensor *t = malloc(sizeof *t);
        if (!t) {
            *err = ot_err(OCTET_ERR_NOMEM, "out of memory");
            for (int r = j; r < n->n_outputs; r++) ot_tensor_reset(&outs[r]);
            return 0;
        }
        *t = outs[j];
        if ((*err = ot_graph_add_initializer(s->g, n->outputs[j], t)) != OCTET_OK) return 0;
    }
    ot_graph_remove_node(s->g, i);
    return 1;
}

static octet_status fold_graph(const octet_model *m, ot_graph *g, const scope *parent, size_t max_bytes, bool only_constant,
                               int *folded) {
    scope s = {g, parent};
    octet_status err = OCTET_OK;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = 0; i < g->n_nodes; i++) {
            if (fold_node(m, &s, i, max_bytes, only_constant, &err)) {
                (*folded)++;
                changed = true;
                i--;
            }
            if (err != OCTET_OK) return err;
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i]->n_attrs; a++) {
            ot_attr *at = &g->nodes[i]->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g) OT_TRY(fold_graph(m, at->g, &s, max_bytes, only_constant, folded));
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && k < at->n; k++)
                OT_TRY(fold_graph(m, at->graphs[k], &s, max_bytes, only_constant, folded));
        }
    return OCTET_OK;
}

octet_status ot_pass_fold_constants(octet_model *m, size_t max_bytes, int *folded) {
    int f = 0;
    octet_status s = fold_graph(m, m->graph, NULL, max_bytes ? max_bytes : ((size_t)64 << 20), false, &f);
    if (folded) *folded = f;
    return s;
}

octet_status ot_pass_constants_to_initializers(octet_model *m, int *converted) {
    int f = 0;
    octet_status s = fold_graph(m, m->graph, NULL, SIZE_MAX, true, &f);
    if (converted) *converted = f;
    return s;
}
