/* Shape inference by probing: run the graph on zero inputs twice, with every symbolic input dimension
 * at two different sizes, and record each value's dtype and shape. Exact for the shapes it runs, and
 * it needs no per-op shape function, so every op octet can run gets shapes for free. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/exec.h"
#include "util/mem.h"
#include "util/strmap.h"

typedef struct rec {
    const char *name;  /* borrowed from the node */
    octet_dtype dtype;
    int ndim;
    int64_t dims[OCTET_MAX_DIMS];
} rec;

typedef struct probe {
    rec *recs;
    int n, cap;
    ot_strmap idx;
    bool oom;
} probe;

static void on_value(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t) {
    probe *p = ctx;
    if (depth != 0 || p->oom) return;
    int i = ot_strmap_get(&p->idx, name, -1);
    if (i < 0) {
        if (!ot_grow((void **)&p->recs, &p->cap, p->n + 1, sizeof *p->recs) || !ot_strmap_put(&p->idx, name, p->n)) {
            p->oom = true;
            return;
        }
        i = p->n++;
    }
    rec *r = &p->recs[i];
    r->name = name;
    r->dtype = t->dtype;
    r->ndim = t->ndim;
    memcpy(r->dims, t->dims, sizeof r->dims);
}

static int64_t bound_value(const ot_dim *d, const ot_dim_binding *bind, int n_bind, int64_t dflt) {
    if (d->value >= 0) return d->value;
    for (int i = 0; d->param && i < n_bind; i++)
        if (strcmp(bind[i].param, d->param) == 0) return bind[i].value;
    return dflt;
}

static octet_status probe_once(const octet_model *m, const ot_dim_binding *bind, int n_bind, int64_t dflt, int64_t bump,
                               probe *out) {
    const ot_graph *g = m->graph;
    ot_plan *plan = NULL;
    ot_plan_options po = {.threads = 1, .fold_constants = false};
    OT_TRY(ot_plan_create(&plan, m, g, NULL, &po));
    octet_tensor **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
    octet_tensor *outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    octet_status s = (ins && outs) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_inputs && s == OCTET_OK; i++) {
        const ot_value_info *vi = &g->inputs[i];
        if (ot_graph_find_initializer(g, vi->name)) continue;
        if (vi->ndim < 0) {
            s = ot_err(OCTET_ERR_UNSUPPORTED, "input '%s' has no declared rank; give its shape", vi->name);
            break;
        }
        int64_t dims[OCTET_MAX_DIMS];
        for (int d = 0; d < vi->ndim; d++)
            dims[d] = bound_value(&vi->dims[d], bind, n_bind, dflt) + (vi->dims[d].value >= 0 ? 0 : bump);
        ins[i] = ot_tensor_new(vi->dtype == OCTET_UNDEFINED ? OCTET_FLOAT : vi->dtype, vi->ndim, dims);
        if (!ins[i]) s = ot_err(OCTET_ERR_NOMEM, "out of memory for probe input '%s'", vi->name);
    }
    ot_run_hooks hooks = {on_value, out};
    if (s == OCTET_OK)
        s = ot_plan_run_hooked(plan, NULL, (const octet_tensor *const *)ins, g->n_inputs, outs, g->n_outputs, &hooks);
    if (s == OCTET_OK && out->oom) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; ins && i < g->n_inputs; i++) octet_tensor_free(ins[i]);
    for (int i = 0; outs && i < g->n_outputs; i++) ot_tensor_reset(&outs[i]);
    free(ins);
    free(outs);
    ot_plan_free(plan);
    return s;
}

const ot_value_info *ot_graph_value_info(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return &g->inputs[i];
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0) return &g->outputs[i];
    for (int i = 0; i < g->n_value_info; i++)
        if (strcmp(g->value_info[i].name, name) == 0) return &g->value_info[i];
    return NULL;
}

/* Name for a dimension that moved between the probes: the input dimension that moved the same way. */
static const char *match_param(const ot_graph *g, int64_t a, int64_t b, const ot_dim_binding *bind, int n_bind,
                               int64_t dflt) {
    for (int i = 0; i < g->n_inputs; i++)
        for (int d = 0; d < g->inputs[i].ndim; d++) {
            const ot_dim *dim = &g->inputs[i].dims[d];
            if (dim->value >= 0 || !dim->param) continue;
            int64_t v = bound_value(dim, bind, n_bind, dflt);
            if (v == a && v + 1 == b) return dim->param;
        }
    return NULL;
}

static void fill_vi(ot_value_info *vi, const rec *r1, const rec *r2, const ot_graph *g, const ot_dim_binding *bind,
                    int n_bind, int64_t dflt) {
    for (int d = 0; d < vi->ndim && d < OCTET_MAX_DIMS; d++) free(vi->dims[d].param);
    vi->dtype = r1->dtype;
    vi->ndim = r1->ndim;
    bool same_rank = r2 && r2->ndim == r1->ndim;
    for (int d = 0; d < r1->ndim; d++) {
        vi->dims[d].param = NULL;
        vi->dims[d].value = r1->dims[d];
        if (!same_rank || r2->dims[d] != r1->dims[d]) {
            const char *p = same_rank ? match_param(g, r1->dims[d], r2->dims[d], bind, n_bind, dflt) : NULL;
            vi->dims[d].value = -1;
            vi->dims[d].param = ot_strdup(p);
        }
    }
}

octet_status ot_infer_shapes(octet_model *m, const ot_dim_binding *bind, int n_bind, int64_t dflt) {
    probe a = {0}, b = {0};
    octet_status s = OCTET_OK;
    if (!ot_strmap_init(&a.idx, 256) || !ot_strmap_init(&b.idx, 256)) s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (s == OCTET_OK) s = probe_once(m, bind, n_bind, dflt, 0, &a);
    bool symbolic = false;
    for (int i = 0; i < m->graph->n_inputs; i++)
        for (int d = 0; d < m->graph->inputs[i].ndim; d++) symbolic |= m->graph->inputs[i].dims[d].value < 0;
    /* The second probe only tells which dims are symbolic; if it fails (a model that only runs at one
     * size), every dim is reported as probed. */
    bool have_b = false;
    if (s == OCTET_OK && symbolic) {
        have_b = probe_once(m, bind, n_bind, dflt, 1, &b) == OCTET_OK;
        ot_err_clear();
    }
    ot_graph *g = m->graph;
    for (int i = 0; i < a.n && s == OCTET_OK; i++) {
        const rec *r2 = have_b ? &b.recs[ot_strmap_get(&b.idx, a.recs[i].name, 0)] : NULL;
        if (have_b && ot_strmap_get(&b.idx, a.recs[i].name, -1) < 0) r2 = NULL;
        ot_value_info *vi = NULL;
        for (int j = 0; j < g->n_outputs && !vi; j++)
            if (strcmp(g->outputs[j].name, a.recs[i].name) == 0) vi = &g->outputs[j];
        for (int j = 0; j < g->n_value_info && !vi; j++)
            if (strcmp(g->value_info[j].name, a.recs[i].name) == 0) vi = &g->value_info[j];
        if (!vi) {
            if (!ot_grow((void **)&g->value_info, &g->cap_value_info, g->n_value_info + 1, sizeof *g->value_info)) {
                s = ot_err(OCTET_ERR_NOMEM, "out of memory");
                break;
            }
            vi = &g->value_info[g->n_value_info++];
            memset(vi, 0, sizeof *vi);
            vi->name = ot_strdup(a.recs[i].name);
        }
        fill_vi(vi, &a.recs[i], have_b ? r2 : &a.recs[i], g, bind, n_bind, dflt);
    }
    ot_strmap_free(&a.idx);
    ot_strmap_free(&b.idx);
    free(a.recs);
    free(b.recs);
    return s;
}
