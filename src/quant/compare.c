/* Float vs quantized model comparison (see compare.h).
 *
 * Per-layer pairing. In octet's QDQ output a float tensor T keeps its name as the DequantizeLinear
 * output and its quantized form is the QuantizeLinear output (T_quantized); when octet runs the file,
 * the QDQ fusion turns DQ -> op -> Q into one integer op that writes the Q's output name. So each
 * quantized tensor is found from the test model's graph as written (Q outputs, DQ inputs, QOperator
 * outputs with their y_scale / y_zero_point), with the constant scale and zero point that dequantize
 * it, and paired with the first of these that names a value of the float model: the output of a DQ
 * that reads it, the input of the Q that makes it, its name without the "_quantized" suffix.
 * The float run stores those twins for the batch; the quantized run's hook dequantizes each 8-bit
 * value as it is produced and adds it to the pair's statistics. */
#include "quant/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/exec.h"
#include "runtime/threads.h"
#include "tensor/tensor.h"
#include "util/mem.h"
#include "util/strmap.h"

/* ---- metrics ---- */

void ot_cmp_add(ot_cmp_acc *a, const float *x, const float *y, int64_t n) {
    double sxx = 0, syy = 0, sxy = 0, sdd = 0, mx = a->max_abs;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i];
        if (!isfinite(xi) || !isfinite(yi)) {
            bad++;
            continue;
        }
        double d = xi - yi;
        sxx += xi * xi;
        syy += yi * yi;
        sxy += xi * yi;
        sdd += d * d;
        if (fabs(d) > mx) mx = fabs(d);
    }
    a->sxx += sxx;
    a->syy += syy;
    a->sxy += sxy;
    a->sdd += sdd;
    a->max_abs = mx;
    a->n += n - bad;
    a->nonfinite += bad;
}

int64_t ot_argmax_f32(const float *v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(v[i])) return i;
        if (v[i] > v[best]) best = i;
    }
    return best;
}

void ot_cmp_add_top1(ot_cmp_acc *a, const float *x, const float *y, int64_t rows, int64_t classes,
                     const int64_t *labels) {
    if (classes < 1) return;
    for (int64_t r = 0; r < rows; r++) {
        int64_t ix = ot_argmax_f32(x + r * classes, classes), iy = ot_argmax_f32(y + r * classes, classes);
        a->rows++;
        a->agree += ix == iy;
        if (labels) {
            a->labeled++;
            a->correct_ref += ix == labels[r];
            a->correct_test += iy == labels[r];
        }
    }
}

void ot_cmp_merge(ot_cmp_acc *d, const ot_cmp_acc *s) {
    d->sxx += s->sxx;
    d->syy += s->syy;
    d->sxy += s->sxy;
    d->sdd += s->sdd;
    if (s->max_abs > d->max_abs) d->max_abs = s->max_abs;
    d->n += s->n;
    d->nonfinite += s->nonfinite;
    d->rows += s->rows;
    d->agree += s->agree;
    d->labeled += s->labeled;
    d->correct_ref += s->correct_ref;
    d->correct_test += s->correct_test;
}

double ot_cmp_sqnr_db(const ot_cmp_acc *a) {
    if (a->n == 0) return NAN;
    if (a->sdd == 0) return INFINITY;
    if (a->sxx == 0) return -INFINITY;
    return 10.0 * log10(a->sxx / a->sdd);
}

double ot_cmp_cosine(const ot_cmp_acc *a) {
    if (a->n == 0) return NAN;
    if (a->sxx == 0 && a->syy == 0) return 1.0;
    if (a->sxx == 0 || a->syy == 0) return 0.0;
    double c = a->sxy / (sqrt(a->sxx) * sqrt(a->syy));
    return c > 1 ? 1 : c < -1 ? -1 : c;
}

/* ---- running a model ----
 * Without per-layer statistics a model runs in an octet_session, exactly as `octet run` runs it. With
 * them it runs on a plan with a per-value hook: the reference as written (every tensor name kept), the
 * test model through the session's value-preserving rewrites (QDQ fused into integer kernels, constants
 * and BatchNormalization folded, activations fused) but not the layout passes, which would hide the
 * 8-bit tensors under other names and layouts. */

typedef struct runner {
    octet_session *sess;
    octet_model *m;       /* plan runs: private copy (weights borrowed) that the passes rewrite */
    ot_plan *plan;
    const ot_graph *g;    /* the graph whose inputs/outputs are bound */
    int n_in;             /* real inputs of g */
    int *bind;            /* per real input: index into the comparer's inputs */
    const char **names;   /* per real input: its name (borrowed) */
} runner;

static void runner_free(runner *r) {
    octet_session_free(r->sess);
    ot_plan_free(r->plan);
    octet_model_free(r->m);
    free(r->bind);
    free(r->names);
    memset(r, 0, sizeof *r);
}

/* mode 0: session; 1: plan, graph as written; 2: plan, the session's value-preserving rewrites. */
static octet_status runner_init(runner *r, const octet_model *src, int mode, int threads) {
    memset(r, 0, sizeof *r);
    octet_status s = OCTET_OK;
    if (mode == 0) {
        octet_session_options so = {.threads = threads};
        s = octet_session_create(&r->sess, src, &so);
        r->g = src->graph;
    } else {
        r->m = ot_model_clone_sharing_weights(src);
        if (!r->m) return ot_err(OCTET_ERR_NOMEM, "out of memory copying the graph");
        s = ot_pass_constants_to_initializers(r->m, NULL);
        if (s == OCTET_OK && mode == 2) {
            s = ot_session_optimize(r->m, false); /* layout passes would rename the tensors to pair */
        }
        ot_plan_options po = {.threads = threads, .fold_constants = true};
        if (s == OCTET_OK) s = ot_plan_create(&r->plan, r->m, r->m->graph, NULL, &po);
        r->g = r->m->graph;
    }
    size_t n = (size_t)r->g->n_inputs + 1;
    if (s == OCTET_OK && (!(r->bind = calloc(n, sizeof *r->bind)) || !(r->names = calloc(n, sizeof *r->names))))
        s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (s != OCTET_OK) runner_free(r);
    return s;
}

/* ---- the comparer ---- */

typedef struct fval {          /* a float twin's value in the current batch */
    const char *name;          /* borrowed from the reference graph */
    const char *op;
    float *data;
    int64_t numel, cap;
    int64_t batch;             /* batch it holds, -1 none */
} fval;

typedef struct qpair {
    char *qname;
    int f;                     /* index into fvals */
    float scale;
    int32_t zp;
    const char *test_op;       /* borrowed from the test runner's graph */
    ot_cmp_acc acc;
} qpair;

struct ot_compare {
    const octet_model *ref, *test;
    runner rr, rt;
    int n_in;
    const char **in_names;     /* borrowed from ref */
    int n_out;
    int *out_map;              /* ref output i -> test output index */
    ot_cmp_acc *out_acc;
    bool per_layer;
    fval *fv;
    int n_fv, cap_fv;
    qpair *qp;
    int n_qp, cap_qp;
    ot_strmap fmap, qmap;      /* twin name -> fval, quantized name -> qpair */
    ot_layer_result *res;
    int64_t batch;
    bool oom;
    const octet_tensor *const *cur_inputs;
};

static const ot_value_info *real_input(const ot_graph *g, int i) {
    return ot_graph_find_initializer(g, g->inputs[i].name) ? NULL : &g->inputs[i];
}

static int find_input(const ot_compare *c, const char *name) {
    for (int i = 0; i < c->n_in; i++)
        if (strcmp(c->in_names[i], name) == 0) return i;
    return -1;
}

static const char *graph_output_name(const octet_model *m, int i) { return m->graph->outputs[i].name; }

static octet_status bind_inputs(ot_compare *c, runner *r, const char *which) {
    const ot_graph *g = r->g;
    for (int i = 0; i < g->n_inputs; i++) {
        if (!real_input(g, i)) continue;
        int k = find_input(c, g->inputs[i].name);
        if (k < 0)
            return ot_err(OCTET_ERR_INVALID_ARG, "the %s model's input '%s' is not an input of the float model", which,
                          g->inputs[i].name);
        r->bind[r->n_in] = k;
        r->names[r->n_in++] = g->inputs[i].name;
    }
    return OCTET_OK;
}

static octet_status pair_outputs(ot_compare *c) {
    const ot_graph *gr = c->ref->graph, *gt = c->test->graph;
    int matched = 0;
    for (int i = 0; i < c->n_out; i++) {
        c->out_map[i] = -1;
        for (int j = 0; j < gt->n_outputs; j++)
            if (strcmp(gr->outputs[i].name, gt->outputs[j].name) == 0) c->out_map[i] = j;
        matched += c->out_map[i] >= 0;
    }
    if (matched == c->n_out) return OCTET_OK;
    if (matched == 0 && gr->n_outputs == gt->n_outputs) {
        for (int i = 0; i < c->n_out; i++) c->out_map[i] = i;
        return OCTET_OK;
    }
    for (int i = 0; i < c->n_out; i++)
        if (c->out_map[i] < 0)
            return ot_err(OCTET_ERR_INVALID_ARG, "the float model's output '%s' is not an output of the quantized model",
                          gr->outputs[i].name);
    return OCTET_OK;
}

/* ---- per-layer pairing ---- */

static const octet_tensor *const_init(const ot_graph *g, const char *name) {
    if (!name || !name[0]) return NULL;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

/* Per-tensor scale / zero point from constant initializers (zp may be absent: uint8 0). */
static bool qparams_of(const ot_graph *g, const char *scale, const char *zp, float *s, int32_t *z) {
    const octet_tensor *st = const_init(g, scale), *zt = zp && zp[0] ? const_init(g, zp) : NULL;
    if (!st || st->dtype != OCTET_FLOAT || ot_tensor_numel(st) != 1) return false;
    if (zp && zp[0] && (!zt || ot_tensor_numel(zt) != 1 || (zt->dtype != OCTET_UINT8 && zt->dtype != OCTET_INT8)))
        return false;
    *s = *(const float *)st->data;
    *z = zt ? (int32_t)ot_tensor_get_i64(zt, 0) : 0;
    return isfinite(*s) && *s > 0;
}

/* Where an integer operator keeps its output's scale and zero point (input indices). */
static bool qop_output_params(const ot_node *n, int *si, int *zi) {
    static const struct {
        const char *op;
        int s, z;
    } k[] = {{"QLinearConv", 6, 7},       {"QLinearMatMul", 6, 7},      {"QGemm", 7, 8},
             {"QLinearAdd", 6, 7},        {"QLinearMul", 6, 7},         {"QLinearGlobalAveragePool", 3, 4},
             {"QLinearAveragePool", 3, 4}, {"QLinearConcat", 0, 1},     {"QLinearSigmoid", 3, 4},
             {"QLinearLeakyRelu", 3, 4},  {"QLinearSoftmax", 3, 4},     {"QuantizeLinear", 1, 2}};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++)
        if (strcmp(n->op_type, k[i].op) == 0) {
            *si = k[i].s;
            *zi = k[i].z;
            return true;
        }
    return false;
}

static int qpair_add(ot_compare *c, const char *qname, float s, int32_t z) {
    int i = ot_strmap_get(&c->qmap, qname, -1);
    if (i >= 0) return i;
    if (!ot_grow((void **)&c->qp, &c->cap_qp, c->n_qp + 1, sizeof *c->qp)) return -1;
    qpair *p = &c->qp[c->n_qp];
    memset(p, 0, sizeof *p);
    p->f = -1;
    p->scale = s;
    p->zp = z;
    if (!(p->qname = ot_strdup(qname))) return -1;
    c->n_qp++;
    /* map keys point at qname strings, which stay put when c->qp grows; rebuilt below anyway */
    return ot_strmap_put(&c->qmap, p->qname, c->n_qp - 1) ? c->n_qp - 1 : -1;
}

/* Does the reference model have a value called name (node output or real input)? */
static bool ref_has(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (real_input(g, i) && strcmp(g->inputs[i].name, name) == 0) return true;
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (strcmp(g->nodes[i]->outputs[o], name) == 0) return true;
    return false;
}

/* name without a trailing "_quantized" or "_quantized_<k>" (the quantizer's unique names), in buf. */
static bool strip_quantized(const char *name, char *buf, size_t n) {
    const char *suf = "_quantized";
    size_t ls = strlen(suf);
    for (const char *p = strstr(name, suf); p; p = strstr(p + 1, suf)) {
        const char *rest = p + ls;
        bool ok = !*rest;
        if (*rest == '_' && rest[1]) {
            ok = true;
            for (const char *d = rest + 1; *d; d++) ok = ok && *d >= '0' && *d <= '9';
        }
        if (ok && p > name && (size_t)(p - name) < n) {
            memcpy(buf, name, (size_t)(p - name));
            buf[p - name] = 0;
            return true;
        }
    }
    return false;
}

static const char *find_twin(const ot_compare *c, const char *q) {
    const ot_graph *gt = c->test->graph, *gr = c->ref->graph;
    for (int i = 0; i < gt->n_nodes; i++) {   /* a DequantizeLinear reading q gives the float name back */
        const ot_node *n = gt->nodes[i];
        if (strcmp(n->op_type, "DequantizeLinear") == 0 && n->n_inputs >= 1 && n->n_outputs >= 1 &&
            strcmp(n->inputs[0], q) == 0 && ref_has(gr, n->outputs[0]))
            return n->outputs[0];
    }
    for (int i = 0; i < gt->n_nodes; i++) {   /* the Q's input: a graph input keeps its name */
        const ot_node *n = gt->nodes[i];
        if (strcmp(n->op_type, "QuantizeLinear") == 0 && n->n_inputs >= 1 && n->n_outputs >= 1 &&
            strcmp(n->outputs[0], q) == 0 && ref_has(gr, n->inputs[0]))
            return n->inputs[0];
    }
    static _Thread_local char buf[1024];
    if (strip_quantized(q, buf, sizeof buf) && ref_has(gr, buf)) return buf;
    return NULL;
}

static octet_status build_pairs(ot_compare *c) {
    const ot_graph *g = c->test->graph;
    if (!ot_strmap_init(&c->qmap, 64) || !ot_strmap_init(&c->fmap, 64)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        const ot_node *n = g->nodes[i];
        int si, zi;
        float s;
        int32_t z;
        if (n->n_outputs < 1 || n->n_inputs < 1) continue;
        if (strcmp(n->op_type, "DequantizeLinear") == 0) {
            if (const_init(g, n->inputs[0])) continue;   /* a weight, not an activation */
            if (n->n_inputs >= 2 && qparams_of(g, n->inputs[1], ot_node_input(n, 2), &s, &z) &&
                qpair_add(c, n->inputs[0], s, z) < 0)
                return ot_err(OCTET_ERR_NOMEM, "out of memory");
        } else if (qop_output_params(n, &si, &zi) && n->outputs[0][0]) {
            if (si < n->n_inputs && qparams_of(g, n->inputs[si], ot_node_input(n, zi), &s, &z) &&
                qpair_add(c, n->outputs[0], s, z) < 0)
                return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
    }
    /* QOperator files: value-moving ops on a quantized tensor keep its parameters */
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = 0; i < g->n_nodes; i++) {
            const ot_node *n = g->nodes[i];
            if (!ot_op_moves_values(n) || n->n_outputs < 1 || !n->outputs[0][0]) continue;
            int a = ot_strmap_get(&c->qmap, n->inputs[0], -1);
            if (a < 0 || ot_strmap_get(&c->qmap, n->outputs[0], -1) >= 0) continue;
            float s = c->qp[a].scale;
            int32_t z = c->qp[a].zp;
            if (qpair_add(c, n->outputs[0], s, z) < 0) return ot_err(OCTET_ERR_NOMEM, "out of memory");
            changed = true;
        }
    }
    /* twins; pairs without one are dropped */
    int k = 0;
    for (int i = 0; i < c->n_qp; i++) {
        const char *t = find_twin(c, c->qp[i].qname);
        if (!t) {
            free(c->qp[i].qname);
            continue;
        }
        int f = ot_strmap_get(&c->fmap, t, -1);
        if (f < 0) {
            /* the key must outlive the map: use the reference graph's own string */
            const char *key = NULL;
            const ot_graph *gr = c->ref->graph;
            for (int j = 0; j < gr->n_inputs && !key; j++)
                if (strcmp(gr->inputs[j].name, t) == 0) key = gr->inputs[j].name;
            for (int j = 0; j < gr->n_nodes && !key; j++)
                for (int o = 0; o < gr->nodes[j]->n_outputs && !key; o++)
                    if (strcmp(gr->nodes[j]->outputs[o], t) == 0) key = gr->nodes[j]->outputs[o];
            if (!key || !ot_grow((void **)&c->fv, &c->cap_fv, c->n_fv + 1, sizeof *c->fv))
                return ot_err(OCTET_ERR_NOMEM, "out of memory");
            fval *v = &c->fv[c->n_fv];
            memset(v, 0, sizeof *v);
            v->name = key;
            v->batch = -1;
            f = c->n_fv++;
            if (!ot_strmap_put(&c->fmap, key, f)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
        c->qp[i].f = f;
        c->qp[k++] = c->qp[i];
    }
    c->n_qp = k;
    ot_strmap_free(&c->qmap);
    if (!ot_strmap_init(&c->qmap, (size_t)k + 16)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < k; i++)
        if (!ot_strmap_put(&c->qmap, c->qp[i].qname, i)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    return OCTET_OK;
}

/* Keep a copy of a float twin for this batch (hook data is only valid during the call). */
static void store_fval(ot_compare *c, fval *v, const char *op, const octet_tensor *t) {
    if (t->dtype != OCTET_FLOAT) return;
    int64_t n = ot_tensor_numel(t);
    if (n > v->cap) {
        float *d = ot_realloc_array(v->data, (size_t)n, sizeof *d);
        if (!d) {
            c->oom = true;
            return;
        }
        v->data = d;
        v->cap = n;
    }
    if (n) memcpy(v->data, t->data, (size_t)n * sizeof(float));
    v->numel = n;
    v->batch = c->batch;
    v->op = op;
}

static void on_ref_value(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t) {
    ot_compare *c = ctx;
    if (depth != 0) return;
    int f = ot_strmap_get(&c->fmap, name, -1);
    if (f >= 0) store_fval(c, &c->fv[f], producer ? producer->op_type : "?", t);
}

static void on_test_value(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t) {
    ot_compare *c = ctx;
    if (depth != 0) return;
    int i = ot_strmap_get(&c->qmap, name, -1);
    if (i < 0 || (t->dtype != OCTET_UINT8 && t->dtype != OCTET_INT8)) return;
    qpair *p = &c->qp[i];
    const fval *v = &c->fv[p->f];
    int64_t n = ot_tensor_numel(t);
    if (v->batch != c->batch || v->numel != n) return;
    p->test_op = producer ? producer->op_type : "?";
    float y[1024];
    for (int64_t o = 0; o < n; o += 1024) {
        int64_t m = n - o < 1024 ? n - o : 1024;
        if (t->dtype == OCTET_UINT8) {
            const uint8_t *q = (const uint8_t *)t->data + o;
            for (int64_t j = 0; j < m; j++) y[j] = (float)((int32_t)q[j] - p->zp) * p->scale;
        } else {
            const int8_t *q = (const int8_t *)t->data + o;
            for (int64_t j = 0; j < m; j++) y[j] = (float)((int32_t)q[j] - p->zp) * p->scale;
        }
        ot_cmp_add(&p->acc, v->data + o, y, m);
    }
}

octet_status ot_compare_create(ot_compare **out, const octet_model *ref, const octet_model *test,
                               const ot_compare_options *opts) {
    if (!out || !ref || !test) return ot_err(OCTET_ERR_INVALID_ARG, "ot_compare_create: NULL argument");
    *out = NULL;
    ot_compare_options o = opts ? *opts : (ot_compare_options){0};
    int threads = ot_threads_resolve(o.threads);
    ot_threads_apply(threads);
    ot_compare *c = calloc(1, sizeof *c);
    if (!c) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    c->ref = ref;
    c->test = test;
    c->per_layer = o.per_layer;
    const ot_graph *gr = ref->graph;
    c->n_out = gr->n_outputs;
    c->in_names = calloc((size_t)gr->n_inputs + 1, sizeof *c->in_names);
    c->out_map = calloc((size_t)c->n_out + 1, sizeof *c->out_map);
    c->out_acc = calloc((size_t)c->n_out + 1, sizeof *c->out_acc);
    octet_status s = (c->in_names && c->out_map && c->out_acc) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; s == OCTET_OK && i < gr->n_inputs; i++)
        if (real_input(gr, i)) c->in_names[c->n_in++] = gr->inputs[i].name;
    if (s == OCTET_OK) s = pair_outputs(c);
    if (s == OCTET_OK) s = runner_init(&c->rr, ref, c->per_layer ? 1 : 0, threads);
    if (s == OCTET_OK) s = runner_init(&c->rt, test, c->per_layer ? 2 : 0, threads);
    if (s == OCTET_OK) s = bind_inputs(c, &c->rr, "float");
    if (s == OCTET_OK) s = bind_inputs(c, &c->rt, "quantized");
    if (s == OCTET_OK && c->per_layer) s = build_pairs(c);
    if (s != OCTET_OK) {
        ot_compare_free(c);
        return s;
    }
    *out = c;
    return OCTET_OK;
}

void ot_compare_free(ot_compare *c) {
    if (!c) return;
    runner_free(&c->rr);
    runner_free(&c->rt);
    for (int i = 0; i < c->n_fv; i++) free(c->fv[i].data);
    for (int i = 0; i < c->n_qp; i++) free(c->qp[i].qname);
    free(c->fv);
    free(c->qp);
    if (c->fmap.keys) ot_strmap_free(&c->fmap);
    if (c->qmap.keys) ot_strmap_free(&c->qmap);
    free(c->res);
    free(c->in_names);
    free(c->out_map);
    free(c->out_acc);
    free(c);
}

int ot_compare_input_count(const ot_compare *c) { return c->n_in; }
const char *ot_compare_input_name(const ot_compare *c, int i) { return i >= 0 && i < c->n_in ? c->in_names[i] : NULL; }
int ot_compare_output_count(const ot_compare *c) { return c->n_out; }
const char *ot_compare_output_name(const ot_compare *c, int i) {
    return i >= 0 && i < c->n_out ? graph_output_name(c->ref, i) : NULL;
}
const ot_cmp_acc *ot_compare_output(const ot_compare *c, int i) { return i >= 0 && i < c->n_out ? &c->out_acc[i] : NULL; }
int ot_compare_layer_pairs(const ot_compare *c) { return c->n_qp; }

/* Run r on the comparer's inputs; out[i] gets output i (a new tensor: free with octet_tensor_free). */
static octet_status run_one(runner *r, const octet_tensor *const *inputs, octet_tensor **out,
                            const ot_run_hooks *hooks) {
    const ot_graph *g = r->g;
    int n_out = g->n_outputs;
    octet_tensor **fed = calloc((size_t)r->n_in + 1, sizeof *fed);
    if (!fed) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < r->n_in; i++) fed[i] = (octet_tensor *)inputs[r->bind[i]];   /* runs only read them */
    octet_status s;
    if (r->sess) {
        s = octet_session_run(r->sess, r->names, fed, r->n_in, out, n_out);
        free(fed);
        return s;
    }
    const octet_tensor **bound = calloc((size_t)g->n_inputs + 1, sizeof *bound);
    octet_tensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    s = bound && outs ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    for (int i = 0, k = 0; s == OCTET_OK && i < g->n_inputs; i++)
        if (real_input(g, i)) bound[i] = fed[k++];
    if (s == OCTET_OK) s = ot_plan_run_hooked(r->plan, NULL, bound, g->n_inputs, outs, n_out, hooks);
    for (int i = 0; i < n_out; i++) {
        out[i] = NULL;
        if (s == OCTET_OK && !(out[i] = ot_tensor_new(OCTET_FLOAT, 0, NULL)))
            s = ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n_out; i++) {
        if (s == OCTET_OK) {   /* hand the data over: the new struct takes what the plan allocated */
            ot_tensor_reset(out[i]);
            *out[i] = outs[i];
            memset(&outs[i], 0, sizeof outs[i]);
        } else {
            octet_tensor_free(out[i]);
            out[i] = NULL;
        }
        if (outs) ot_tensor_reset(&outs[i]);
    }
    free(outs);
    free(bound);
    free(fed);
    return s;
}

/* A numeric tensor as float (a copy for non-float dtypes, else borrowed). */
static const float *as_float(const octet_tensor *t, float **tmp) {
    *tmp = NULL;
    if (t->dtype == OCTET_FLOAT) return t->data;
    int64_t n = ot_tensor_numel(t);
    if (!(*tmp = ot_malloc((size_t)(n ? n : 1) * sizeof(float)))) return NULL;
    for (int64_t i = 0; i < n; i++) (*tmp)[i] = (float)ot_tensor_get_f64(t, i);
    return *tmp;
}

static octet_status add_output(ot_compare *c, int i, const octet_tensor *x, const octet_tensor *y,
                               const int64_t *labels, int64_t n_labels) {
    char sx[128], sy[128];
    const char *name = graph_output_name(c->ref, i);
    bool numeric = (ot_dtype_is_float(x->dtype) || ot_dtype_is_int(x->dtype)) &&
                   (ot_dtype_is_float(y->dtype) || ot_dtype_is_int(y->dtype));
    if (!numeric || x->ndim != y->ndim || ot_tensor_numel(x) != ot_tensor_numel(y) ||
        memcmp(x->dims, y->dims, (size_t)x->ndim * sizeof *x->dims) != 0) {
        ot_shape_str(sx, sizeof sx, x->ndim, x->dims);
        ot_shape_str(sy, sizeof sy, y->ndim, y->dims);
        return ot_err(OCTET_ERR_SHAPE, "output '%s' is %s%s in the float model but %s%s in the quantized one", name,
                      octet_dtype_name(x->dtype), sx, octet_dtype_name(y->dtype), sy);
    }
    float *tx, *ty;
    const float *fx = as_float(x, &tx), *fy = as_float(y, &ty);
    octet_status s = (fx && fy) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (s == OCTET_OK) {
        int64_t n = ot_tensor_numel(x);
        ot_cmp_add(&c->out_acc[i], fx, fy, n);
        int64_t classes = x->ndim >= 2 ? x->dims[x->ndim - 1] : 0;
        if (classes > 1) {
            int64_t rows = n / classes;
            ot_cmp_add_top1(&c->out_acc[i], fx, fy, rows, classes, labels && n_labels == rows ? labels : NULL);
        }
    }
    free(tx);
    free(ty);
    return s;
}

octet_status ot_compare_feed(ot_compare *c, const octet_tensor *const *inputs, int n_in, const int64_t *labels,
                             int64_t n_labels) {
    if (!c || (n_in && !inputs)) return ot_err(OCTET_ERR_INVALID_ARG, "ot_compare_feed: NULL argument");
    if (n_in != c->n_in) return ot_err(OCTET_ERR_INVALID_ARG, "the models take %d inputs, %d given", c->n_in, n_in);
    for (int i = 0; i < n_in; i++)
        if (!inputs[i]) return ot_err(OCTET_ERR_INVALID_ARG, "input '%s' is NULL", c->in_names[i]);
    c->batch++;
    c->oom = false;
    int nr = c->rr.g->n_outputs, nt = c->rt.g->n_outputs;
    octet_tensor **ox = calloc((size_t)nr + 1, sizeof *ox), **oy = calloc((size_t)nt + 1, sizeof *oy);
    octet_status s = (ox && oy) ? OCTET_OK : ot_err(OCTET_ERR_NOMEM, "out of memory");
    ot_run_hooks hr = {on_ref_value, c}, ht = {on_test_value, c};
    if (s == OCTET_OK) s = run_one(&c->rr, inputs, ox, c->per_layer ? &hr : NULL);
    if (s == OCTET_OK && c->per_layer) {
        for (int i = 0; i < c->n_in; i++) {   /* twins that are graph inputs: no node produces them */
            int f = ot_strmap_get(&c->fmap, c->in_names[i], -1);
            if (f >= 0) store_fval(c, &c->fv[f], "input", inputs[i]);
        }
        if (c->oom) s = ot_err(OCTET_ERR_NOMEM, "out of memory keeping activations for --per-layer");
    }
    if (s == OCTET_OK) s = run_one(&c->rt, inputs, oy, c->per_layer ? &ht : NULL);
    for (int i = 0; s == OCTET_OK && i < c->n_out; i++)
        s = add_output(c, i, ox[i], oy[c->out_map[i]], labels, n_labels);
    for (int i = 0; ox && i < nr; i++) octet_tensor_free(ox[i]);
    for (int i = 0; oy && i < nt; i++) octet_tensor_free(oy[i]);
    free(ox);
    free(oy);
    return s;
}

static int by_sqnr(const void *a, const void *b) {
    const ot_layer_result *x = a, *y = b;
    double sx = ot_cmp_sqnr_db(&x->acc), sy = ot_cmp_sqnr_db(&y->acc);
    if (isnan(sx) != isnan(sy)) return isnan(sx) ? 1 : -1;
    if (sx < sy) return -1;
    if (sx > sy) return 1;
    return strcmp(x->name, y->name);
}

int ot_compare_layers(ot_compare *c, const ot_layer_result **out) {
    *out = NULL;
    free(c->res);
    c->res = calloc((size_t)c->n_qp + 1, sizeof *c->res);
    if (!c->res) return 0;
    int k = 0;
    for (int i = 0; i < c->n_qp; i++) {
        const qpair *p = &c->qp[i];
        if (p->acc.n == 0 && p->acc.nonfinite == 0) continue;
        ot_layer_result *r = &c->res[k++];
        r->name = c->fv[p->f].name;
        r->qname = p->qname;
        r->ref_op = c->fv[p->f].op ? c->fv[p->f].op : "?";
        r->test_op = p->test_op ? p->test_op : "?";
        r->acc = p->acc;
    }
    qsort(c->res, (size_t)k, sizeof *c->res, by_sqnr);
    *out = c->res;
    return k;
}
