#include "quant/calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec.h"
#include "util/mem.h"
#include "util/strmap.h"

struct ot_calib {
    const octet_model *m;
    ot_plan *plan;
    ot_range *r;
    int n, cap;
    ot_strmap idx;
    bool oom;
};

static ot_range *slot(ot_calib *c, const char *name) {
    int i = ot_strmap_get(&c->idx, name, -1);
    if (i >= 0) return &c->r[i];
    if (!ot_grow((void **)&c->r, &c->cap, c->n + 1, sizeof *c->r)) return NULL;
    ot_range *r = &c->r[c->n];
    r->name = ot_strdup(name);
    if (!r->name || !ot_strmap_put(&c->idx, r->name, c->n)) return NULL;
    r->min = INFINITY;
    r->max = -INFINITY;
    r->count = 0;
    /* the map keys point into c->r[..].name strings, which do not move when c->r grows */
    c->n++;
    return r;
}

static void observe(ot_calib *c, const char *name, const octet_tensor *t) {
    if (t->dtype != OCTET_FLOAT || c->oom) return;
    ot_range *r = slot(c, name);
    if (!r) {
        c->oom = true;
        return;
    }
    const float *x = t->data;
    int64_t n = ot_tensor_numel(t);
    float mn = r->min, mx = r->max;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    r->min = mn;
    r->max = mx;
    r->count += n;
}

static void on_value(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t) {
    if (depth == 0) observe(ctx, name, t);
}

ot_calib_options ot_calib_options_default(void) {
    ot_calib_options o = {.threads = 1, .method = OT_CALIB_MINMAX, .percentile = 99.999, .ema_constant = 0.01, .bins = 2048};
    return o;
}

octet_status ot_calib_create(ot_calib **out, const octet_model *m, const ot_calib_options *opts) {
    ot_calib_options o = opts ? *opts : ot_calib_options_default();
    int threads = o.threads;
    *out = NULL;
    ot_calib *c = calloc(1, sizeof *c);
    if (!c || !ot_strmap_init(&c->idx, 256)) {
        free(c);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    c->m = m;
    ot_plan_options po = {.threads = threads > 0 ? threads : 1, .fold_constants = true};
    octet_status s = ot_plan_create(&c->plan, m, m->graph, NULL, &po);
    if (s != OCTET_OK) {
        ot_calib_free(c);
        return s;
    }
    *out = c;
    return OCTET_OK;
}

void ot_calib_free(ot_calib *c) {
    if (!c) return;
    ot_plan_free(c->plan);
    for (int i = 0; i < c->n; i++) free(c->r[i].name);
    free(c->r);
    ot_strmap_free(&c->idx);
    free(c);
}

octet_status ot_calib_feed(ot_calib *c, octet_tensor *const *inputs, int n_in) {
    const ot_graph *g = c->m->graph;
    const octet_tensor **bound = calloc((size_t)g->n_inputs + 1, sizeof *bound);
    octet_tensor *outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
    octet_status s = (bound && outs) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int i = 0; i < g->n_inputs && s == OCTET_OK; i++) {
        if (ot_graph_find_initializer(g, g->inputs[i].name)) continue;
        if (k >= n_in) {
            s = ot_err(OCTET_ERR_INVALID_ARG, "calibration batch lacks input '%s'", g->inputs[i].name);
            break;
        }
        bound[i] = inputs[k++];
        observe(c, g->inputs[i].name, bound[i]);
    }
    ot_run_hooks hooks = {on_value, c};
    if (s == OCTET_OK) s = ot_plan_run_hooked(c->plan, NULL, bound, g->n_inputs, outs, g->n_outputs, &hooks);
    if (s == OCTET_OK && c->oom) s = ot_err(OCTET_ERR_NOMEM, "out of memory in calibration");
    for (int i = 0; outs && i < g->n_outputs; i++) ot_tensor_reset(&outs[i]);
    free(outs);
    free(bound);
    return s;
}

const ot_range *ot_calib_range(const ot_calib *c, const char *name) {
    int i = ot_strmap_get(&c->idx, name, -1);
    return i >= 0 ? &c->r[i] : NULL;
}

octet_status ot_calib_choose_range(const ot_calib *c, const char *name, octet_dtype qt, bool symmetric,
                                   bool reduce_range, float *lo, float *hi) {
    (void)qt, (void)symmetric, (void)reduce_range;
    const ot_range *r = ot_calib_range(c, name);
    if (!r) return ot_err(OCTET_ERR_INVALID_ARG, "calibration never observed tensor '%s'", name);
    *lo = r->min;
    *hi = r->max;
    return OCTET_OK;
}

int ot_calib_count(const ot_calib *c) { return c->n; }
const ot_range *ot_calib_at(const ot_calib *c, int i) { return (i >= 0 && i < c->n) ? &c->r[i] : NULL; }

octet_status ot_calib_merge(ot_calib *dst, const ot_calib *src) {
    for (int i = 0; i < src->n; i++) {
        ot_range *r = slot(dst, src->r[i].name);
        if (!r) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        if (src->r[i].min < r->min) r->min = src->r[i].min;
        if (src->r[i].max > r->max) r->max = src->r[i].max;
        r->count += src->r[i].count;
    }
    return OCTET_OK;
}
