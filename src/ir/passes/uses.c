/* Small graph queries shared by the rewriting passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"

static int count_in_graph(const ot_graph *g, const char *name) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        for (int j = 0; j < n->n_inputs; j++) c += strcmp(n->inputs[j], name) == 0;
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) c += count_in_graph(n->attrs[a].g, name);
            for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
                c += count_in_graph(n->attrs[a].graphs[k], name);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) c += strcmp(g->outputs[i].name, name) == 0;
    return c;
}

int ot_graph_count_reads(const ot_graph *g, const char *name) { return count_in_graph(g, name); }

int ot_graph_find_reader(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i]->n_inputs; j++)
            if (strcmp(g->nodes[i]->inputs[j], name) == 0) return i;
    return -1;
}

static bool name_used(const ot_graph *g, const char *name) {
    if (ot_graph_find_initializer(g, name)) return true;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return true;
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return true;
    return count_in_graph(g, name) > 0;
}

char *ot_graph_unique_name(const ot_graph *g, const char *base, const char *suffix) {
    size_t n = strlen(base) + strlen(suffix) + 16;
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%s%s", base, suffix);
    for (int k = 1; name_used(g, s); k++) snprintf(s, n, "%s%s_%d", base, suffix, k);
    return s;
}

bool ot_op_moves_values(const ot_node *n) {
    static const char *ops[] = {"Reshape", "Flatten", "MaxPool", "Transpose", "Squeeze", "Unsqueeze", "Slice",
                                "Identity", NULL};
    if (!ot_domain_is_onnx(n->domain) || n->n_inputs < 1) return false;
    for (int i = 0; ops[i]; i++)
        if (strcmp(n->op_type, ops[i]) == 0) return true;
    return false;
}
