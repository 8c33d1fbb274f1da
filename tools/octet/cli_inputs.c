/* Inputs from the command line: --input NAME=FILE.npy and --inputs FILE.npz, matched against the
 * model's declared inputs before anything runs, so mistakes get messages that name the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/npz.h"
#include "tensor/tensor.h"
#include "util/mem.h"

int cli_inputs_find(const cli_inputs *in, const char *name) {
    for (int i = 0; i < in->n; i++)
        if (strcmp(in->names[i], name) == 0) return i;
    return -1;
}

int cli_inputs_add(cli_inputs *in, const char *name, const char *source, octet_tensor *t) {
    if (cli_inputs_find(in, name) >= 0) {
        octet_tensor_free(t);
        return cli_error(CLI_USAGE, "input '%s' is given twice (again from '%s')", name, source);
    }
    int c1 = in->cap, c2 = in->cap, c3 = in->cap;
    char *nm = ot_strdup(name), *src = ot_strdup(source);
    if (!nm || !src || !ot_grow((void **)&in->names, &c1, in->n + 1, sizeof *in->names) ||
        !ot_grow((void **)&in->sources, &c2, in->n + 1, sizeof *in->sources) ||
        !ot_grow((void **)&in->tensors, &c3, in->n + 1, sizeof *in->tensors)) {
        free(nm);
        free(src);
        octet_tensor_free(t);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    in->cap = c1;
    in->names[in->n] = nm;
    in->sources[in->n] = src;
    in->tensors[in->n++] = t;
    return CLI_OK;
}

int cli_inputs_add_spec(cli_inputs *in, const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return cli_error(CLI_USAGE, "--input wants NAME=FILE.npy, got '%s'", spec);
    char *name = ot_strndup(spec, (size_t)(eq - spec));
    if (!name) return cli_error(CLI_RUNTIME, "out of memory");
    octet_tensor *t = NULL;
    int rc = CLI_OK;
    if (octet_npy_load(&t, eq + 1) != OCTET_OK) rc = cli_fail();
    else rc = cli_inputs_add(in, name, eq + 1, t);
    free(name);
    return rc;
}

int cli_inputs_add_npz(cli_inputs *in, const char *path) {
    char **names;
    octet_tensor **ts;
    int count;
    if (ot_npz_load(path, &names, &ts, &count) != OCTET_OK) return cli_fail();
    int rc = CLI_OK;
    for (int i = 0; i < count; i++) {
        if (rc == CLI_OK) rc = cli_inputs_add(in, names[i], path, ts[i]);
        else octet_tensor_free(ts[i]);
        ts[i] = NULL;
    }
    ot_npz_free(names, ts, count);
    if (rc == CLI_OK && count == 0) return cli_error(CLI_RUNTIME, "%s: the archive holds no .npy arrays", path);
    return rc;
}

bool cli_is_real_input(const ot_graph *g, const ot_value_info *vi) {
    return ot_graph_find_initializer(g, vi->name) == NULL;
}

static const ot_value_info *find_graph_input(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return &g->inputs[i];
    return NULL;
}

/* "a, b, c" (the inputs the model takes), for messages. */
static void list_inputs(const ot_graph *g, char *buf, size_t n) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < g->n_inputs && o < n; i++)
        if (cli_is_real_input(g, &g->inputs[i]))
            o += (size_t)snprintf(buf + o, n - o, "%s'%s'", o ? ", " : "", g->inputs[i].name);
    if (!o) snprintf(buf, n, "none");
}

int cli_inputs_check(const cli_inputs *in, const octet_model *m, bool require_all) {
    const ot_graph *g = m->graph;
    char names[512], want[256], got[256];
    for (int i = 0; i < in->n; i++) {
        const ot_value_info *vi = find_graph_input(g, in->names[i]);
        if (!vi) {
            list_inputs(g, names, sizeof names);
            return cli_error(CLI_USAGE, "the model has no input named '%s' (from '%s'); its inputs: %s", in->names[i],
                             in->sources[i], names);
        }
        const octet_tensor *t = in->tensors[i];
        bool dtype_bad = vi->dtype != OCTET_UNDEFINED && vi->dtype != t->dtype;
        /* A one-element tensor may feed a scalar declared [] or [1] (ONNX Runtime allows it too). */
        bool scalarish = ot_tensor_numel(t) == 1 && t->ndim <= 1 && vi->ndim >= 0 && vi->ndim <= 1;
        bool rank_bad = vi->ndim >= 0 && vi->ndim != t->ndim && !scalarish;
        if (dtype_bad || rank_bad)
            return cli_error(CLI_RUNTIME, "input '%s' must be %s, but '%s' holds %s", vi->name,
                             cli_value_type_str(vi, want, sizeof want), in->sources[i],
                             cli_tensor_type_str(t, got, sizeof got));
    }
    if (require_all)
        for (int i = 0; i < g->n_inputs; i++) {
            const ot_value_info *vi = &g->inputs[i];
            if (cli_is_real_input(g, vi) && cli_inputs_find(in, vi->name) < 0)
                return cli_error(CLI_USAGE, "input '%s' (%s) is not given; use --input %s=FILE.npy or --inputs FILE.npz",
                                 vi->name, cli_value_type_str(vi, want, sizeof want), vi->name);
        }
    return CLI_OK;
}

void cli_inputs_free(cli_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        free(in->names[i]);
        free(in->sources[i]);
        octet_tensor_free(in->tensors[i]);
    }
    free(in->names);
    free(in->sources);
    free(in->tensors);
    memset(in, 0, sizeof *in);
}
