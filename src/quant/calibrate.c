#include "quant/calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/minmax.h"
#include "quant/observers.h"
#include "runtime/exec.h"
#include "util/mem.h"
#include "util/strmap.h"

/* What a method keeps per tensor besides the raw min/max (ot_range). */
typedef struct obs_state {
    float ema_min, ema_max;
    int64_t ema_n; /* elements of the batches the moving average has taken (0: none yet) */
    ot_hist *hist; /* histogram methods only */
} obs_state;

struct ot_calib {
    const octet_model *m;
    ot_plan *plan;
    ot_calib_options o; /* defaults filled in */
    ot_range *r;
    obs_state *s;
    int n, cap, scap;
    ot_strmap idx;
    bool oom;
};

static bool uses_hist(ot_calib_method m) { return m >= OT_CALIB_HISTOGRAM; }

static const char *method_name(ot_calib_method m) {
    static const char *names[] = {"minmax", "ema", "histogram", "percentile", "entropy", "mse"};
    return (int)m >= 0 && m <= OT_CALIB_MSE ? names[m] : "?";
}

static int slot(ot_calib *c, const char *name) {
    int i = ot_strmap_get(&c->idx, name, -1);
    if (i >= 0) return i;
    if (!ot_grow((void **)&c->r, &c->cap, c->n + 1, sizeof *c->r) ||
        !ot_grow((void **)&c->s, &c->scap, c->n + 1, sizeof *c->s))
        return -1;
    ot_range *r = &c->r[c->n];
    r->name = ot_strdup(name);
    /* the map keys point into c->r[..].name strings, which do not move when c->r grows */
    if (!r->name || !ot_strmap_put(&c->idx, r->name, c->n)) {
        free(r->name);
        return -1;
    }
    r->min = INFINITY;
    r->max = -INFINITY;
    r->count = 0;
    memset(&c->s[c->n], 0, sizeof c->s[c->n]);
    return c->n++;
}

static ot_hist *hist_of(ot_calib *c, obs_state *s) {
    if (s->hist) return s->hist;
    s->hist = malloc(sizeof *s->hist);
    if (s->hist && !ot_hist_init(s->hist, c->o.bins)) {
        ot_hist_free(s->hist);
        free(s->hist);
        s->hist = NULL;
    }
    return s->hist;
}

static void observe(ot_calib *c, const char *name, const octet_tensor *t) {
    if (t->dtype != OCTET_FLOAT || c->oom) return;
    int i = slot(c, name);
    if (i < 0) {
        c->oom = true;
        return;
    }
    ot_range *r = &c->r[i];
    obs_state *s = &c->s[i];
    int64_t n = ot_tensor_numel(t);
    r->count += n;
    float mn, mx;
    ot_minmax_f32(t->data, n, c->o.threads, &mn, &mx);
    if (!(mn <= mx)) return; /* empty, or nothing finite */
    r->min = mn < r->min ? mn : r->min;
    r->max = mx > r->max ? mx : r->max;
    if (c->o.method == OT_CALIB_EMA) {
        float k = (float)c->o.ema_constant;
        if (s->ema_n == 0) s->ema_min = mn, s->ema_max = mx;
        else s->ema_min = ot_ema_step(s->ema_min, mn, k), s->ema_max = ot_ema_step(s->ema_max, mx, k);
        s->ema_n += n;
    } else if (uses_hist(c->o.method)) {
        ot_hist *h = hist_of(c, s);
        if (!h || !ot_hist_add(h, t->data, n, mn, mx, c->o.threads)) c->oom = true;
    }
}

static void on_value(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t) {
    if (depth == 0) observe(ctx, name, t);
}

ot_calib_options ot_calib_options_default(void) {
    ot_calib_options o = {.threads = 1, .method = OT_CALIB_MINMAX, .percentile = 99.999, .ema_constant = 0.01, .bins = 2048};
    return o;
}

/* 0 = default; anything else must be in range */
static octet_status resolve_options(ot_calib_options *o) {
    ot_calib_options d = ot_calib_options_default();
    if (o->threads <= 0) o->threads = 1;
    if ((int)o->method < 0 || o->method > OT_CALIB_MSE)
        return ot_err(OCTET_ERR_INVALID_ARG,
                      "calibration method %d is not one of minmax (0), ema, histogram, percentile, entropy, mse (5)",
                      (int)o->method);
    if (o->percentile == 0) o->percentile = d.percentile;
    if (!(o->percentile > 0 && o->percentile <= 100))
        return ot_err(OCTET_ERR_INVALID_ARG, "calibration percentile must be in (0, 100], got %g", o->percentile);
    if (o->ema_constant == 0) o->ema_constant = d.ema_constant;
    if (!(o->ema_constant > 0 && o->ema_constant <= 1))
        return ot_err(OCTET_ERR_INVALID_ARG, "EMA averaging constant must be in (0, 1], got %g", o->ema_constant);
    if (o->bins == 0) o->bins = d.bins;
    if (o->bins < 16 || o->bins > (1 << 20))
        return ot_err(OCTET_ERR_INVALID_ARG, "histogram bins must be in [16, 1048576], got %d", o->bins);
    return OCTET_OK;
}

octet_status ot_calib_create(ot_calib **out, const octet_model *m, const ot_calib_options *opts) {
    ot_calib_options o = opts ? *opts : ot_calib_options_default();
    *out = NULL;
    OT_TRY(resolve_options(&o));
    ot_calib *c = calloc(1, sizeof *c);
    if (!c || !ot_strmap_init(&c->idx, 256)) {
        free(c);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    c->m = m;
    c->o = o;
    if (m) {
        ot_plan_options po = {.threads = o.threads, .fold_constants = true};
        octet_status s = ot_plan_create(&c->plan, m, m->graph, NULL, &po);
        if (s != OCTET_OK) {
            ot_calib_free(c);
            return s;
        }
    }
    *out = c;
    return OCTET_OK;
}

void ot_calib_free(ot_calib *c) {
    if (!c) return;
    ot_plan_free(c->plan);
    for (int i = 0; i < c->n; i++) {
        free(c->r[i].name);
        if (c->s[i].hist) ot_hist_free(c->s[i].hist);
        free(c->s[i].hist);
    }
    free(c->r);
    free(c->s);
    ot_strmap_free(&c->idx);
    free(c);
}

octet_status ot_calib_observe(ot_calib *c, const char *name, const octet_tensor *t) {
    if (!c || !name || !t) return ot_err(OCTET_ERR_INVALID_ARG, "ot_calib_observe: NULL argument");
    observe(c, name, t);
    if (c->oom) return ot_err(OCTET_ERR_NOMEM, "out of memory in calibration");
    return OCTET_OK;
}

octet_status ot_calib_feed(ot_calib *c, octet_tensor *const *inputs, int n_in) {
    if (!c->m) return ot_err(OCTET_ERR_INVALID_ARG, "this calibrator has no model to run (made for ot_calib_observe)");
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

const ot_hist *ot_calib_hist(const ot_calib *c, const char *name) {
    int i = ot_strmap_get(&c->idx, name, -1);
    return i >= 0 ? c->s[i].hist : NULL;
}

const ot_calib_options *ot_calib_get_options(const ot_calib *c) { return &c->o; }

octet_status ot_calib_choose_range(const ot_calib *c, const char *name, octet_dtype qt, bool symmetric,
                                   bool reduce_range, float *lo, float *hi) {
    int i = ot_strmap_get(&c->idx, name, -1);
    if (i < 0) return ot_err(OCTET_ERR_INVALID_ARG, "calibration never observed tensor '%s'", name);
    if (qt != OCTET_UINT8 && qt != OCTET_INT8 && qt != OCTET_UINT16 && qt != OCTET_INT16)
        return ot_err(OCTET_ERR_INVALID_ARG, "calibration range for '%s': quantized type must be (u)int8 or (u)int16", name);
    const ot_range *r = &c->r[i];
    const obs_state *s = &c->s[i];
    if (!(r->min <= r->max)) { /* observed, but never a finite value: nothing to fit */
        *lo = *hi = 0.0f;
        return OCTET_OK;
    }
    *lo = r->min, *hi = r->max;
    ot_qtarget t = {qt, symmetric, reduce_range};
    bool ok = true;
    switch (c->o.method) {
    case OT_CALIB_MINMAX: break;
    case OT_CALIB_EMA:
        if (s->ema_n) *lo = s->ema_min, *hi = s->ema_max;
        break;
    case OT_CALIB_HISTOGRAM: ok = !s->hist || ot_range_l2(s->hist, c->o.bins, &t, lo, hi); break;
    case OT_CALIB_PERCENTILE: ok = !s->hist || ot_range_percentile(s->hist, c->o.percentile, &t, lo, hi); break;
    case OT_CALIB_ENTROPY: ok = !s->hist || ot_range_entropy(s->hist, c->o.bins, &t, lo, hi); break;
    case OT_CALIB_MSE: ok = !s->hist || ot_range_mse(s->hist, c->o.bins, &t, lo, hi); break;
    }
    return ok ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory choosing the range of '%s'", name);
}

int ot_calib_count(const ot_calib *c) { return c->n; }
const ot_range *ot_calib_at(const ot_calib *c, int i) { return (i >= 0 && i < c->n) ? &c->r[i] : NULL; }

static octet_status check_mergeable(const ot_calib *dst, const ot_calib *src) {
    const ot_calib_options *d = &dst->o, *s = &src->o;
    bool ok = true;
    if (d->method == OT_CALIB_EMA) ok = s->method == OT_CALIB_EMA && s->ema_constant == d->ema_constant;
    else if (uses_hist(d->method)) ok = uses_hist(s->method) && s->bins == d->bins;
    if (ok) return OCTET_OK;
    return ot_err(OCTET_ERR_INVALID_ARG,
                  "cannot merge a %s calibrator (EMA constant %g, %d bins) into a %s one (EMA constant %g, %d bins): "
                  "it lacks the state that method needs",
                  method_name(s->method), s->ema_constant, s->bins, method_name(d->method), d->ema_constant, d->bins);
}

octet_status ot_calib_merge(ot_calib *dst, const ot_calib *src) {
    if (!dst || !src) return ot_err(OCTET_ERR_INVALID_ARG, "ot_calib_merge: NULL argument");
    if (dst == src) return ot_err(OCTET_ERR_INVALID_ARG, "ot_calib_merge: a calibrator cannot merge into itself");
    OT_TRY(check_mergeable(dst, src));
    for (int j = 0; j < src->n; j++) {
        int i = slot(dst, src->r[j].name);
        if (i < 0) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        ot_range *r = &dst->r[i];
        const ot_range *q = &src->r[j];
        if (q->min < r->min) r->min = q->min;
        if (q->max > r->max) r->max = q->max;
        r->count += q->count;
        obs_state *s = &dst->s[i];
        const obs_state *t = &src->s[j];
        if (dst->o.method == OT_CALIB_EMA && t->ema_n) {
            if (s->ema_n == 0) {
                s->ema_min = t->ema_min, s->ema_max = t->ema_max;
            } else { /* not what one sequential run would give: that depends on the batch order */
                double a = (double)s->ema_n, b = (double)t->ema_n;
                s->ema_min = (float)((a * s->ema_min + b * t->ema_min) / (a + b));
                s->ema_max = (float)((a * s->ema_max + b * t->ema_max) / (a + b));
            }
            s->ema_n += t->ema_n;
        } else if (uses_hist(dst->o.method) && t->hist) {
            ot_hist *h = hist_of(dst, s);
            if (!h || !ot_hist_merge(h, t->hist)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
    }
    return OCTET_OK;
}
