/* Dead-code elimination. A value is live if a graph output names it or a live node reads it; names
 * read inside subgraphs count as reads by the node that holds the subgraph. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "util/strmap.h"

static bool collect_reads(const ot_graph *g, ot_strmap *reads);

static bool node_reads(const ot_node *n, ot_strmap *reads) {
    for (int j = 0; j < n->n_inputs; j++)
        if (n->inputs[j][0] && !ot_strmap_put(reads, n->inputs[j], 1)) return false;
    for (int a = 0; a < n->n_attrs; a++) {
        if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g && !collect_reads(n->attrs[a].g, reads)) return false;
        for (size_t k = 0; n->attrs[a].type == OT_ATTR_GRAPHS && k < n->attrs[a].n; k++)
            if (!collect_reads(n->attrs[a].graphs[k], reads)) return false;
    }
    return true;
}

/* Every name read anywhere in g (its nodes, its outputs, its subgraphs). */
static bool collect_reads(const ot_graph *g, ot_strmap *reads) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!node_reads(g->nodes[i], reads)) return false;
    for (int i = 0; i < g->n_outputs; i++)
        if (!ot_strmap_put(reads, g->outputs[i].name, 1)) return false;
    return true;
}

static octet_status dce_graph(ot_graph *g, int *removed) {
    bool changed = true;
    while (changed) {
        changed = false;
        ot_strmap reads;
        if (!ot_strmap_init(&reads, (size_t)g->n_nodes * 4 + 16)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (!collect_reads(g, &reads)) {
            ot_strmap_free(&reads);
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
        /* Decide first, remove after: the map's keys point into the nodes' strings. */
        bool *dead = calloc((size_t)g->n_nodes + 1, sizeof *dead);
        bool *dead_init = calloc((size_t)g->n_inits + 1, sizeof *dead_init);
        if (!dead || !dead_init) {
            free(dead);
            free(dead_init);
            ot_strmap_free(&reads);
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < g->n_nodes; i++) {
            const ot_node *n = g->nodes[i];
            bool live = false;
            for (int j = 0; j < n->n_outputs && !live; j++)
                live = n->outputs[j][0] && ot_strmap_get(&reads, n->outputs[j], 0);
            dead[i] = !live;
            changed |= !live;
        }
        for (int i = 0; i < g->n_inits && !changed; i++) {
            bool is_input = false;
            for (int j = 0; j < g->n_inputs; j++) is_input |= strcmp(g->inputs[j].name, g->inits[i].name) == 0;
            dead_init[i] = !is_input && !ot_strmap_get(&reads, g->inits[i].name, 0);
        }
        ot_strmap_free(&reads);
        for (int i = g->n_nodes - 1; i >= 0; i--)
            if (dead[i]) {
                ot_graph_remove_node(g, i);
                (*removed)++;
            }
        for (int i = g->n_inits - 1; i >= 0 && !changed; i--) {
            if (dead_init[i]) ot_graph_remove_initializer(g, i);
        }
        free(dead);
        free(dead_init);
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i]->n_attrs; a++) {
            ot_attr *at = &g->nodes[i]->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g) OT_TRY(dce_graph(at->g, removed));
            for (size_t k = 0; at->type == OT_ATTR_GRAPHS && k < at->n; k++) OT_TRY(dce_graph(at->graphs[k], removed));
        }
    return OCTET_OK;
}

octet_status ot_pass_dce(octet_model *m, int *removed) {
    int r = 0;
    octet_status s = dce_graph(m->graph, &r);
    if (removed) *removed = r;
    return s;
}
