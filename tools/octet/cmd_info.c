/* octet info MODEL: what a model is made of, read straight from the IR (nothing is planned or run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ops/op.h"
#include "tensor/tensor.h"
#include "util/mem.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet info MODEL\n"
            "\n"
            "Print a model's producer, IR version, opsets, inputs and outputs (symbolic dimensions by\n"
            "name, '?' when unknown), op counts (main graph and subgraphs separately), parameter count\n"
            "and size (initializers and Constant nodes), where its subgraphs are, and the ops octet\n"
            "does not have.\n");
}

/* ---- op counting ---- */

typedef struct op_count {
    char *key;    /* "Conv" or "com.microsoft.QLinearAdd" */
    int count;
    bool missing; /* octet has no kernel for it */
} op_count;

typedef struct op_table {
    op_count *v;
    int n, cap;
} op_table;

typedef struct stats {
    op_table main_ops, sub_ops;
    int main_nodes, sub_nodes;
    int64_t params, param_bytes;
    int n_inits, n_constants, n_subgraphs, cap_where;
    char **where;   /* "If 'branch' then_branch: 2 nodes" per subgraph, in walk order */
} stats;

static void count_op(op_table *t, const ot_node *nd) {
    char key[512];
    bool onnx = ot_domain_is_onnx(nd->domain);
    snprintf(key, sizeof key, "%s%s%s", onnx ? "" : nd->domain, onnx ? "" : ".", nd->op_type);
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0) {
            t->v[i].count++;
            return;
        }
    int cap = t->cap;
    char *k = strdup(key);
    if (!k || !ot_grow((void **)&t->v, &cap, t->n + 1, sizeof *t->v)) {
        free(k);
        return;   /* out of memory: the listing is just shorter */
    }
    t->cap = cap;
    t->v[t->n++] = (op_count){k, 1, ot_op_find(nd->domain, nd->op_type) == NULL};
}

static int by_count(const void *a, const void *b) {
    const op_count *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->key, y->key);
}

static void print_ops(op_table *t) {
    qsort(t->v, (size_t)t->n, sizeof *t->v, by_count);
    int w = 8;
    for (int i = 0; i < t->n; i++)
        if ((int)strlen(t->v[i].key) > w) w = (int)strlen(t->v[i].key);
    for (int i = 0; i < t->n; i++) printf("  %-*s %6d\n", w, t->v[i].key, t->v[i].count);
}

static void free_ops(op_table *t) {
    for (int i = 0; i < t->n; i++) free(t->v[i].key);
    free(t->v);
}

/* Elements and bytes a Constant node holds. */
static void constant_size(const ot_node *nd, int64_t *numel, int64_t *bytes) {
    *numel = *bytes = 0;
    for (int i = 0; i < nd->n_attrs; i++) {
        const ot_attr *a = &nd->attrs[i];
        switch (a->type) {
        case OT_ATTR_TENSOR:
            if (a->t) {
                *numel = ot_tensor_numel(a->t);
                *bytes = (int64_t)ot_tensor_nbytes(a->t);
            }
            return;
        case OT_ATTR_FLOAT: *numel = 1, *bytes = 4; return;
        case OT_ATTR_INT: *numel = 1, *bytes = 8; return;
        case OT_ATTR_FLOATS: *numel = (int64_t)a->n, *bytes = 4 * (int64_t)a->n; return;
        case OT_ATTR_INTS: *numel = (int64_t)a->n, *bytes = 8 * (int64_t)a->n; return;
        default: break;
        }
    }
}

/* Walk g and its subgraphs; where = "" for the main graph, else the path to this subgraph. */
static void walk(const ot_graph *g, const char *where, int depth, stats *s) {
    for (int i = 0; i < g->n_inits; i++) {
        s->n_inits++;
        s->params += ot_tensor_numel(g->inits[i].tensor);
        s->param_bytes += (int64_t)ot_tensor_nbytes(g->inits[i].tensor);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *nd = g->nodes[i];
        count_op(depth ? &s->sub_ops : &s->main_ops, nd);
        (*(depth ? &s->sub_nodes : &s->main_nodes))++;
        if (strcmp(nd->op_type, "Constant") == 0 && ot_domain_is_onnx(nd->domain)) {
            int64_t n, b;
            constant_size(nd, &n, &b);
            s->params += n;
            s->param_bytes += b;
            s->n_constants++;
        }
        for (int k = 0; k < nd->n_attrs; k++) {
            const ot_attr *a = &nd->attrs[k];
            int ng = a->type == OT_ATTR_GRAPH ? 1 : a->type == OT_ATTR_GRAPHS ? (int)a->n : 0;
            for (int j = 0; j < ng; j++) {
                const ot_graph *sub = a->type == OT_ATTR_GRAPH ? a->g : a->graphs[j];
                if (!sub) continue;
                char here[1024];
                snprintf(here, sizeof here, "%s%s%s '%s' %s", where, *where ? " > " : "", nd->op_type,
                         nd->name && *nd->name ? nd->name : "(unnamed)", a->name);
                if (ng > 1) snprintf(here + strlen(here), sizeof here - strlen(here), "[%d]", j);
                char line[1100];
                snprintf(line, sizeof line, "%s: %d node%s", here, sub->n_nodes, sub->n_nodes == 1 ? "" : "s");
                char *l = strdup(line);
                if (l && ot_grow((void **)&s->where, &s->cap_where, s->n_subgraphs + 1, sizeof *s->where))
                    s->where[s->n_subgraphs++] = l;
                else free(l);
                walk(sub, here, depth + 1, s);
            }
        }
    }
}

static const char *human_bytes(int64_t b, char *buf, size_t n) {
    if (b < 1024) snprintf(buf, n, "%lld B", (long long)b);
    else if (b < 1024 * 1024) snprintf(buf, n, "%.1f KiB", (double)b / 1024);
    else if (b < (int64_t)1 << 30) snprintf(buf, n, "%.1f MiB", (double)b / (1024 * 1024));
    else snprintf(buf, n, "%.2f GiB", (double)b / (1 << 30));
    return buf;
}

static void print_values(const char *title, const ot_graph *g, const ot_value_info *v, int n, bool skip_inits) {
    int shown = 0, defaults = 0, w = 4;
    for (int i = 0; i < n; i++) {
        if (skip_inits && !cli_is_real_input(g, &v[i])) defaults++;
        else {
            shown++;
            if ((int)strlen(v[i].name) > w) w = (int)strlen(v[i].name);
        }
    }
    if (w > 40) w = 40;
    printf("%-11s %d", title, shown);
    if (defaults) printf(" (and %d with initializer defaults, not listed)", defaults);
    printf("\n");
    for (int i = 0; i < n; i++) {
        if (skip_inits && !cli_is_real_input(g, &v[i])) continue;
        char ty[512];
        printf("  %-*s  %s\n", w, v[i].name, cli_value_type_str(&v[i], ty, sizeof ty));
    }
}

/* One line for a quantized tensor: its type and its scale / zero point (per tensor or per axis). */
static void print_qparam(const ot_graph *g, const char *tensor, const char *scale, const char *zp, const char *via,
                         int axis) {
    const ot_initializer *si = scale ? ot_graph_find_initializer(g, scale) : NULL;
    const ot_initializer *zi = zp && *zp ? ot_graph_find_initializer(g, zp) : NULL;
    if (!si || si->tensor->dtype != OCTET_FLOAT) return;
    int64_t n = ot_tensor_numel(si->tensor);
    const char *ty = zi ? octet_dtype_name(zi->tensor->dtype) : "uint8";
    const float *sv = si->tensor->data;
    if (n == 1) {
        printf("  %-40s %-6s scale %.6g zero point %lld  (%s)\n", tensor, ty, sv[0],
               zi ? (long long)ot_tensor_get_i64(zi->tensor, 0) : 0LL, via);
    } else {
        float lo = sv[0], hi = sv[0];
        for (int64_t i = 1; i < n; i++) lo = sv[i] < lo ? sv[i] : lo, hi = sv[i] > hi ? sv[i] : hi;
        printf("  %-40s %-6s per axis %d: %lld scales in [%.4g, %.4g]  (%s)\n", tensor, ty, axis, (long long)n, lo, hi, via);
    }
}

/* Quantization parameters of every quantized tensor: QDQ pairs and QOperator inputs/outputs. */
static void print_quantization(const ot_graph *g) {
    int shown = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        const char *op = n->op_type;
        bool q = !strcmp(op, "QuantizeLinear"), dq = !strcmp(op, "DequantizeLinear");
        if (!q && !dq && strcmp(op, "QLinearConv") && strcmp(op, "QLinearMatMul") && strcmp(op, "DynamicQuantizeMatMul"))
            continue;
        if (!shown++) printf("%-11s scale and zero point of each quantized tensor\n", "quantized");
        int axis = (int)ot_node_attr_int(n, "axis", 1);
        if (q && n->n_inputs >= 2 && n->n_outputs >= 1)
            print_qparam(g, n->outputs[0], n->inputs[1], ot_node_input(n, 2), op, axis);
        else if (dq && n->n_inputs >= 2) {
            /* a DQ right after its Q describes the same tensor: show it once */
            bool after_q = false;
            for (int j = 0; j < g->n_nodes; j++)
                if (!strcmp(g->nodes[j]->op_type, "QuantizeLinear") && g->nodes[j]->n_outputs &&
                    !strcmp(g->nodes[j]->outputs[0], n->inputs[0]))
                    after_q = true;
            if (!after_q) print_qparam(g, n->inputs[0], n->inputs[1], ot_node_input(n, 2), op, axis);
        } else if (!strcmp(op, "DynamicQuantizeMatMul") && n->n_inputs >= 3) {
            print_qparam(g, n->inputs[1], n->inputs[2], ot_node_input(n, 3), op, 1);
        } else if (n->n_inputs >= 8) {   /* QLinearConv / QLinearMatMul: x, w, y */
            print_qparam(g, n->inputs[0], n->inputs[1], n->inputs[2], op, 1);
            print_qparam(g, n->inputs[3], n->inputs[4], n->inputs[5], op, strcmp(op, "QLinearConv") ? 1 : 0);
            if (n->n_outputs) print_qparam(g, n->outputs[0], n->inputs[6], n->inputs[7], op, 1);
        }
    }
}

/* Which runtimes can run the file: ai.octet ops need octet. */
static void print_runtime(const octet_model *m) {
    bool octet_only = false, ms = false;
    for (int i = 0; i < m->n_opsets; i++) {
        octet_only |= !strcmp(m->opsets[i].domain, "ai.octet");
        ms |= !strcmp(m->opsets[i].domain, "com.microsoft");
    }
    if (octet_only)
        printf("%-11s needs octet: uses ai.octet ops (documented in docs/DYNAMIC.md) that other runtimes lack;\n"
               "%-11s re-quantize with --ort-compatible for a file ONNX Runtime can run\n", "runtime", "");
    else if (ms)
        printf("%-11s octet or ONNX Runtime (uses com.microsoft contrib ops)\n", "runtime");
    else
        printf("%-11s any ONNX runtime (standard ops only)\n", "runtime");
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            help(stdout);
            return CLI_OK;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return cli_error(CLI_USAGE, "unknown option '%s' for 'octet info' (see 'octet info --help')", argv[i]);
        if (path) return cli_error(CLI_USAGE, "unexpected argument '%s' (one MODEL only)", argv[i]);
        path = argv[i];
    }
    if (!path) return cli_error(CLI_USAGE, "no MODEL given (see 'octet info --help')");
    octet_model *m;
    if (!cli_load_model(path, &m)) return CLI_RUNTIME;
    const ot_graph *g = m->graph;

    printf("%-11s %s\n", "model", path);
    printf("%-11s %s%s%s\n", "producer", m->producer_name && *m->producer_name ? m->producer_name : "(unknown)",
           m->producer_version && *m->producer_version ? " " : "", m->producer_version ? m->producer_version : "");
    if (g->name && *g->name) printf("%-11s %s\n", "graph", g->name);
    printf("%-11s %lld\n", "IR version", (long long)m->ir_version);
    printf("%-11s", "opsets");
    for (int i = 0; i < m->n_opsets; i++)
        printf("%s %s %lld", i ? "," : "", ot_domain_is_onnx(m->opsets[i].domain) ? "ai.onnx" : m->opsets[i].domain,
               (long long)m->opsets[i].version);
    printf("%s\n", m->n_opsets ? "" : " (none)");
    print_values("inputs", g, g->inputs, g->n_inputs, true);
    print_values("outputs", g, g->outputs, g->n_outputs, false);

    stats s = {0};
    walk(g, "", 0, &s);
    printf("%-11s %d nodes, %d op types\n", "ops", s.main_nodes, s.main_ops.n);
    print_ops(&s.main_ops);
    if (s.sub_nodes) {
        printf("%-11s %d nodes in %d subgraph%s, %d op types\n", "subgraph ops", s.sub_nodes, s.n_subgraphs,
               s.n_subgraphs == 1 ? "" : "s", s.sub_ops.n);
        print_ops(&s.sub_ops);
    }
    printf("%-11s %d\n", "subgraphs", s.n_subgraphs);
    for (int i = 0; i < s.n_subgraphs; i++) {
        printf("  %s\n", s.where[i]);
        free(s.where[i]);
    }
    free(s.where);
    char hb[64];
    printf("%-11s %lld values, %s (%d initializer%s, %d Constant node%s)\n", "parameters", (long long)s.params,
           human_bytes(s.param_bytes, hb, sizeof hb), s.n_inits, s.n_inits == 1 ? "" : "s", s.n_constants,
           s.n_constants == 1 ? "" : "s");

    int missing = 0;
    op_table *tabs[2] = {&s.main_ops, &s.sub_ops};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < tabs[t]->n; i++) missing += tabs[t]->v[i].missing;
    if (missing) {
        printf("%-11s %d op type%s octet does not have:\n", "unsupported", missing, missing == 1 ? "" : "s");
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < tabs[t]->n; i++)
                if (tabs[t]->v[i].missing)
                    printf("  %s (%d node%s%s)\n", tabs[t]->v[i].key, tabs[t]->v[i].count,
                           tabs[t]->v[i].count == 1 ? "" : "s", t ? " in subgraphs" : "");
    } else {
        printf("%-11s all ops are supported\n", "unsupported");
    }
    print_runtime(m);
    print_quantization(g);
    free_ops(&s.main_ops);
    free_ops(&s.sub_ops);
    octet_model_free(m);
    return CLI_OK;
}
