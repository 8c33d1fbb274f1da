#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/bufpool.h"
#include "runtime/exec.h"
#include "util/mem.h"
#include "util/strmap.h"

typedef enum { SLOT_INPUT, SLOT_CONST, SLOT_NODE, SLOT_OUTER } slot_kind;

typedef struct ot_slot {
    const char *name;
    slot_kind kind;
    const octet_tensor *cval;  /* SLOT_CONST */
    int outer_slot;            /* SLOT_OUTER: slot index in the parent plan */
    int last_use;              /* step index after which it may be freed; INT_MAX = never */
} ot_slot;

typedef struct ot_step {
    ot_kernel k;
    int n_in, n_out;
    int *in_slots;   /* -1 = omitted */
    int *out_slots;  /* -1 = unused */
    int *frees;      /* slots released after this step */
    int n_frees;
    int n_sub;
    ot_plan **subplans;
    const char **sub_names;
} ot_step;

struct ot_plan {
    const octet_model *m;
    const ot_graph *g;
    ot_plan *parent;
    ot_plan_options opts;
    ot_slot *slots;
    int n_slots, cap_slots;
    ot_strmap map;
    ot_step *steps;
    int n_steps;
    int *input_slots;
    int n_inputs;
    int *output_slots;
    int n_outputs;
    octet_tensor **owned_consts;
    int n_owned, cap_owned;
    /* Freed intermediate buffers, reused by later steps and later runs (mutable through a const plan;
     * the pool has its own lock). */
    ot_bufpool *pool;
    ot_alloc_hook hook;
    bool pool_enabled;   /* OCTET_NO_BUFPOOL=1 turns it off (to compare memory use) */
    /* opts.profile: wall time and count per step, summed over runs (mutable through a const plan;
     * a session is not run from two threads at once). */
    double *prof_ms;
    long long *prof_runs;
};

struct ot_frame {
    const ot_plan *plan;
    const ot_frame *outer;
    const ot_run_hooks *hooks;
    int depth;
    const octet_tensor **vals;
    octet_tensor *owned;  /* storage for node outputs, one per slot */
};

static int add_slot(ot_plan *p, const char *name, slot_kind kind) {
    if (!ot_grow((void **)&p->slots, &p->cap_slots, p->n_slots + 1, sizeof *p->slots)) return -1;
    ot_slot *s = &p->slots[p->n_slots];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->kind = kind;
    s->last_use = -1;
    if (!ot_strmap_put(&p->map, name, p->n_slots)) return -1;
    return p->n_slots++;
}

/* Find name here, or in an enclosing plan (adding an outer-reference slot on the way down). */
static int resolve(ot_plan *p, const char *name) {
    int s = ot_strmap_get(&p->map, name, -1);
    if (s >= 0 || !p->parent) return s;
    int ps = resolve(p->parent, name);
    if (ps < 0) return -1;
    /* An outer constant (weights of an LSTM inside an If) is a constant here too, so prepare() can
     * pack it once and folding sees it. Outer slots are resolved after their producer was planned. */
    if (p->parent->slots[ps].kind == SLOT_CONST) {
        s = add_slot(p, name, SLOT_CONST);
        if (s >= 0) p->slots[s].cval = p->parent->slots[ps].cval;
        return s;
    }
    s = add_slot(p, name, SLOT_OUTER);
    if (s >= 0) p->slots[s].outer_slot = ps;
    return s;
}

static bool keep_const(ot_plan *p, octet_tensor *t) {
    if (!ot_grow((void **)&p->owned_consts, &p->cap_owned, p->n_owned + 1, sizeof *p->owned_consts)) return false;
    p->owned_consts[p->n_owned++] = t;
    return true;
}

static void *pool_take(void *ctx, size_t need, size_t *cap) { return ot_bufpool_take(ctx, need, cap); }

void ot_plan_free(ot_plan *p) {
    if (!p) return;
    if (p->pool) {
        ot_bufpool_destroy(p->pool);
        free(p->pool);
    }

    for (int i = 0; i < p->n_steps; i++) {
        ot_step *st = &p->steps[i];
        if (st->k.def && st->k.def->release && st->k.state) st->k.def->release(st->k.state);
        for (int j = 0; j < st->n_sub; j++) ot_plan_free(st->subplans[j]);
        free(st->subplans);
        free(st->sub_names);
        free(st->in_slots);
        free(st->out_slots);
        free(st->frees);
    }
    free(p->steps);
    for (int i = 0; i < p->n_owned; i++) octet_tensor_free(p->owned_consts[i]);
    free(p->owned_consts);
    free(p->slots);
    ot_strmap_free(&p->map);
    free(p->input_slots);
    free(p->output_slots);
    free(p->prof_ms);
    free(p->prof_runs);
    free(p);
}

static bool is_nondeterministic(const ot_node *n) {
    return strncmp(n->op_type, "Random", 6) == 0 || strcmp(n->op_type, "Multinomial") == 0;
}

/* Values a subgraph reads from enclosing scopes (implicit inputs) order nodes too: their producer must
 * run before the node that owns the subgraph. deps holds (producer, consumer) node index pairs. */
typedef struct dep_list {
    int *from, *to;
    int n, cap;
} dep_list;

typedef struct scope {
    ot_strmap defs;  /* inputs, initializers and node outputs of one subgraph */
    const struct scope *up;
} scope;

/* Is name defined by a graph between the reference and the subgraph root? */
static bool scope_defines(const scope *s, const char *name) {
    for (; s; s = s->up)
        if (ot_strmap_get(&s->defs, name, -1) >= 0) return true;
    return false;
}

static bool note_read(const scope *s, const char *name, const ot_strmap *producer, int consumer, dep_list *d) {
    if (!name[0] || scope_defines(s, name)) return true;
    int from = ot_strmap_get(producer, name, -1);
    if (from < 0 || from == consumer) return true;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        int *f = realloc(d->from, (size_t)cap * sizeof *f);
        if (!f) return false;
        d->from = f;
        int *t = realloc(d->to, (size_t)cap * sizeof *t);
        if (!t) return false;
        d->to = t;
        d->cap = cap;
    }
    d->from[d->n] = from;
    d->to[d->n++] = consumer;
    return true;
}

static bool collect_implicit(const ot_graph *g, const scope *up, const ot_strmap *producer, int consumer, dep_list *d) {
    scope s = {.up = up};
    if (!ot_strmap_init(&s.defs, (size_t)(g->n_inputs + g->n_inits + g->n_nodes * 2 + 8))) return false;
    bool ok = true;
    for (int i = 0; i < g->n_inputs && ok; i++) ok = ot_strmap_put(&s.defs, g->inputs[i].name, 1);
    for (int i = 0; i < g->n_inits && ok; i++) ok = ot_strmap_put(&s.defs, g->inits[i].name, 1);
    for (int i = 0; i < g->n_nodes && ok; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs && ok; o++)
            if (g->nodes[i]->outputs[o][0]) ok = ot_strmap_put(&s.defs, g->nodes[i]->outputs[o], 1);
    for (int i = 0; i < g->n_nodes && ok; i++) {
        const ot_node *n = g->nodes[i];
        for (int j = 0; j < n->n_inputs && ok; j++) ok = note_read(&s, n->inputs[j], producer, consumer, d);
        for (int a = 0; a < n->n_attrs && ok; a++) {
            const ot_attr *at = &n->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g) ok = collect_implicit(at->g, &s, producer, consumer, d);
            for (size_t k = 0; ok && at->type == OT_ATTR_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) ok = collect_implicit(at->graphs[k], &s, producer, consumer, d);
        }
    }
    for (int i = 0; i < g->n_outputs && ok; i++) ok = note_read(&s, g->outputs[i].name, producer, consumer, d);
    ot_strmap_free(&s.defs);
    return ok;
}

/* Kahn's algorithm: order[] receives node indices. */
static octet_status topo_sort(ot_plan *p, int *order) {
    const ot_graph *g = p->g;
    int n = g->n_nodes;
    int *pending = calloc((size_t)n + 1, sizeof *pending);
    int *queue = calloc((size_t)n + 1, sizeof *queue);
    ot_strmap producer;
    if (!pending || !queue || !ot_strmap_init(&producer, (size_t)n * 2)) {
        free(pending);
        free(queue);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++)
            if (g->nodes[i]->outputs[o][0]) ot_strmap_put(&producer, g->nodes[i]->outputs[o], i);
    /* count inputs produced by other nodes */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i]->n_inputs; j++) {
            const char *in = g->nodes[i]->inputs[j];
            if (in[0] && ot_strmap_get(&producer, in, -1) >= 0) pending[i]++;
        }
    dep_list deps = {0};
    bool ok = true;
    for (int i = 0; i < n && ok; i++)
        for (int a = 0; a < g->nodes[i]->n_attrs && ok; a++) {
            const ot_attr *at = &g->nodes[i]->attrs[a];
            if (at->type == OT_ATTR_GRAPH && at->g) ok = collect_implicit(at->g, NULL, &producer, i, &deps);
            for (size_t k = 0; ok && at->type == OT_ATTR_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) ok = collect_implicit(at->graphs[k], NULL, &producer, i, &deps);
        }
    if (!ok) {
        free(deps.from);
        free(deps.to);
        ot_strmap_free(&producer);
        free(pending);
        free(queue);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    for (int e = 0; e < deps.n; e++) pending[deps.to[e]]++;
    int head = 0, tail = 0, done = 0;
    for (int i = 0; i < n; i++)
        if (!pending[i]) queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        order[done++] = i;
        for (int o = 0; o < g->nodes[i]->n_outputs; o++) {
            const char *out = g->nodes[i]->outputs[o];
            if (!out[0]) continue;
            for (int c = 0; c < n; c++)  /* graphs here are small enough; a consumer index would be faster */
                for (int j = 0; j < g->nodes[c]->n_inputs; j++)
                    if (strcmp(g->nodes[c]->inputs[j], out) == 0 && --pending[c] == 0) queue[tail++] = c;
        }
        for (int e = 0; e < deps.n; e++)
            if (deps.from[e] == i && --pending[deps.to[e]] == 0) queue[tail++] = deps.to[e];
    }
    free(deps.from);
    free(deps.to);
    ot_strmap_free(&producer);
    free(pending);
    free(queue);
    if (done != n) return ot_err(OCTET_ERR_PARSE, "graph '%s' has a cycle (%d of %d nodes ordered)", g->name, done, n);
    return OCTET_OK;
}

int ot_plan_input_count(const ot_plan *p) { return p->n_inputs; }
int ot_plan_output_count(const ot_plan *p) { return p->n_outputs; }

static octet_status fold_step(ot_plan *p, ot_step *st) {
    const octet_tensor *ins[64];
    octet_tensor *outs[64];
    if (st->n_in > 64 || st->n_out > 64) return OCTET_OK;
    for (int j = 0; j < st->n_in; j++) ins[j] = st->in_slots[j] >= 0 ? p->slots[st->in_slots[j]].cval : NULL;
    for (int j = 0; j < st->n_out; j++) {
        outs[j] = NULL;
        if (st->out_slots[j] < 0) continue;
        outs[j] = calloc(1, sizeof(octet_tensor));
        if (!outs[j] || !keep_const(p, outs[j])) {
            free(outs[j]);
            return ot_err(OCTET_ERR_NOMEM, "out of memory");
        }
    }
    ot_kernel kk = st->k;
    ot_exec ex = {p, NULL, st};
    kk.exec = &ex;
    octet_status s = st->k.def->run(&kk, ins, st->n_in, outs, st->n_out);
    if (s != OCTET_OK) return s;
    for (int j = 0; j < st->n_out; j++)
        if (st->out_slots[j] >= 0) {
            p->slots[st->out_slots[j]].kind = SLOT_CONST;
            p->slots[st->out_slots[j]].cval = outs[j];
        }
    return OCTET_OK;
}

octet_status ot_plan_create(ot_plan **out, const octet_model *m, const ot_graph *g, ot_plan *parent,
                            const ot_plan_options *opts) {
    *out = NULL;
    ot_plan *p = calloc(1, sizeof *p);
    if (!p) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    p->m = m;
    p->g = g;
    p->parent = parent;
    p->opts = *opts;
    if (p->opts.threads < 1) p->opts.threads = 1;
    octet_status s = OCTET_OK;
    int *order = NULL;
    if (!ot_strmap_init(&p->map, (size_t)(g->n_nodes * 2 + g->n_inits + g->n_inputs + 8))) goto oom;

    /* slots: initializers, then inputs (an input may override an initializer of the same name) */
    for (int i = 0; i < g->n_inits; i++) {
        int sl = add_slot(p, g->inits[i].name, SLOT_CONST);
        if (sl < 0) goto oom;
        p->slots[sl].cval = g->inits[i].tensor;
    }
    p->input_slots = calloc((size_t)g->n_inputs + 1, sizeof *p->input_slots);
    if (!p->input_slots) goto oom;
    for (int i = 0; i < g->n_inputs; i++) {
        int sl = ot_strmap_get(&p->map, g->inputs[i].name, -1);
        if (sl < 0 && (sl = add_slot(p, g->inputs[i].name, SLOT_INPUT)) < 0) goto oom;
        p->input_slots[p->n_inputs++] = sl;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i]->n_outputs; o++) {
            const char *name = g->nodes[i]->outputs[o];
            if (!name[0]) continue;
            if (ot_strmap_get(&p->map, name, -1) >= 0) {
                s = ot_err(OCTET_ERR_PARSE, "value '%s' is produced twice (again by %s node '%s')", name,
                           g->nodes[i]->op_type, g->nodes[i]->name);
                goto fail;
            }
            if (add_slot(p, name, SLOT_NODE) < 0) goto oom;
        }

    order = calloc((size_t)g->n_nodes + 1, sizeof *order);
    if (!order) goto oom;
    if ((s = topo_sort(p, order)) != OCTET_OK) goto fail;

    p->steps = calloc((size_t)g->n_nodes + 1, sizeof *p->steps);
    if (!p->steps) goto oom;
    for (int si = 0; si < g->n_nodes; si++) {
        const ot_node *n = g->nodes[order[si]];
        ot_step *st = &p->steps[p->n_steps++];
        st->k.node = n;
        st->k.def = ot_op_find(n->domain, n->op_type);
        st->k.threads = p->opts.threads;
        st->k.opset = ot_model_opset(m, n->domain);
        if (!st->k.def) {
            s = ot_err(OCTET_ERR_UNSUPPORTED, "unsupported op %s (domain '%s', opset %lld) at node '%s'", n->op_type,
                       ot_domain_is_onnx(n->domain) ? "ai.onnx" : n->domain, (long long)st->k.opset, n->name);
            goto fail;
        }
        st->n_in = n->n_inputs;
        st->n_out = n->n_outputs;
        st->in_slots = calloc((size_t)n->n_inputs + 1, sizeof(int));
        st->out_slots = calloc((size_t)n->n_outputs + 1, sizeof(int));
        if (!st->in_slots || !st->out_slots) goto oom;
        for (int j = 0; j < n->n_inputs; j++) {
            st->in_slots[j] = -1;
            if (!n->inputs[j][0]) continue;
            int sl = resolve(p, n->inputs[j]);
            if (sl < 0) {
                s = ot_err(OCTET_ERR_PARSE, "input '%s' of %s node '%s' is not a graph input, initializer or node output",
                           n->inputs[j], n->op_type, n->name);
                goto fail;
            }
            st->in_slots[j] = sl;
        }
        for (int j = 0; j < n->n_outputs; j++)
            st->out_slots[j] = n->outputs[j][0] ? ot_strmap_get(&p->map, n->outputs[j], -1) : -1;

        /* subgraphs, planned against this plan */
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].type == OT_ATTR_GRAPH && n->attrs[a].g) st->n_sub++;
        if (st->n_sub) {
            st->subplans = calloc((size_t)st->n_sub, sizeof *st->subplans);
            st->sub_names = calloc((size_t)st->n_sub, sizeof *st->sub_names);
            if (!st->subplans || !st->sub_names) goto oom;
            int k = 0;
            for (int a = 0; a < n->n_attrs; a++) {
                if (n->attrs[a].type != OT_ATTR_GRAPH || !n->attrs[a].g) continue;
                st->sub_names[k] = n->attrs[a].name;
                ot_plan_options so = p->opts;
                so.profile = false;
                if ((s = ot_plan_create(&st->subplans[k], m, n->attrs[a].g, p, &so)) != OCTET_OK) {
                    ot_err_prefix(s, "in subgraph '%s' of %s node '%s': ", n->attrs[a].name, n->op_type, n->name);
                    goto fail;
                }
                k++;
            }
        }

        bool all_const = p->opts.fold_constants && !st->n_sub && !is_nondeterministic(n);
        for (int j = 0; j < st->n_in && all_const; j++)
            if (st->in_slots[j] >= 0 && p->slots[st->in_slots[j]].kind != SLOT_CONST) all_const = false;
        if (all_const) {
            if ((s = fold_step(p, st)) != OCTET_OK) goto fail;
            p->n_steps--;  /* folded away; clean the step */
            free(st->in_slots);
            free(st->out_slots);
            memset(st, 0, sizeof *st);
            continue;
        }
        if (st->k.def->prepare) {
            const octet_tensor *consts[64] = {0};
            int nin = st->n_in < 64 ? st->n_in : 64;
            for (int j = 0; j < nin; j++)
                if (st->in_slots[j] >= 0 && p->slots[st->in_slots[j]].kind == SLOT_CONST)
                    consts[j] = p->slots[st->in_slots[j]].cval;
            if ((s = st->k.def->prepare(&st->k, consts, nin)) != OCTET_OK) goto fail;
        }
    }

    /* graph outputs */
    p->output_slots = calloc((size_t)g->n_outputs + 1, sizeof *p->output_slots);
    if (!p->output_slots) goto oom;
    for (int i = 0; i < g->n_outputs; i++) {
        int sl = resolve(p, g->outputs[i].name);
        if (sl < 0) {
            s = ot_err(OCTET_ERR_PARSE, "graph output '%s' is not produced by any node, input or initializer",
                       g->outputs[i].name);
            goto fail;
        }
        p->output_slots[p->n_outputs++] = sl;
        p->slots[sl].last_use = INT_MAX;
    }

    /* liveness: last step that reads each node-produced slot, including reads from subgraphs */
    for (int si = 0; si < p->n_steps; si++) {
        ot_step *st = &p->steps[si];
        for (int j = 0; j < st->n_in; j++) {
            int sl = st->in_slots[j];
            if (sl >= 0 && p->slots[sl].last_use != INT_MAX && p->slots[sl].last_use < si) p->slots[sl].last_use = si;
        }
        for (int k = 0; k < st->n_sub; k++) {
            const ot_plan *sp = st->subplans[k];
            for (int j = 0; j < sp->n_slots; j++) {
                if (sp->slots[j].kind != SLOT_OUTER) continue;
                int sl = sp->slots[j].outer_slot;
                if (p->slots[sl].last_use != INT_MAX && p->slots[sl].last_use < si) p->slots[sl].last_use = si;
            }
        }
    }
    /* Which step frees each intermediate: two passes, count then fill, so each list is exactly sized. */
    int *free_at = malloc(((size_t)p->n_slots + 1) * sizeof *free_at);
    if (!free_at) goto oom;
    for (int sl = 0; sl < p->n_slots; sl++) {
        free_at[sl] = -1;
        if (p->slots[sl].kind != SLOT_NODE || p->slots[sl].last_use == INT_MAX) continue;
        int at = p->slots[sl].last_use;
        if (at < 0) {
            /* never read: free right after the producing step */
            for (int si = 0; si < p->n_steps && at < 0; si++)
                for (int j = 0; j < p->steps[si].n_out; j++)
                    if (p->steps[si].out_slots[j] == sl) at = si;
        }
        free_at[sl] = at;
        if (at >= 0) p->steps[at].n_frees++;
    }
    for (int si = 0; si < p->n_steps; si++) {
        p->steps[si].frees = calloc((size_t)p->steps[si].n_frees + 1, sizeof(int));
        p->steps[si].n_frees = 0;
        if (!p->steps[si].frees) {
            free(free_at);
            goto oom;
        }
    }
    for (int sl = 0; sl < p->n_slots; sl++)
        if (free_at[sl] >= 0) p->steps[free_at[sl]].frees[p->steps[free_at[sl]].n_frees++] = sl;
    free(free_at);
    p->pool = malloc(sizeof *p->pool);
    if (!p->pool) goto oom;
    ot_bufpool_init(p->pool);
    p->hook.take = pool_take;
    p->hook.ctx = p->pool;
    p->pool_enabled = !(getenv("OCTET_NO_BUFPOOL") && getenv("OCTET_NO_BUFPOOL")[0] == '1');
    if (p->opts.profile) {
        p->prof_ms = calloc((size_t)p->n_steps + 1, sizeof *p->prof_ms);
        p->prof_runs = calloc((size_t)p->n_steps + 1, sizeof *p->prof_runs);
        if (!p->prof_ms || !p->prof_runs) goto oom;
    }
    free(order);
    *out = p;
    return OCTET_OK;
oom:
    s = ot_err(OCTET_ERR_NOMEM, "out of memory while planning graph '%s'", g->name);
fail:
    free(order);
    ot_plan_free(p);
    return s;
}

static octet_status run_step(const ot_plan *p, const ot_frame *f, const ot_step *st, octet_tensor *owned,
                             const octet_tensor **vals) {
    const octet_tensor *ins[64];
    octet_tensor *outs[64];
    if (st->n_in > 64 || st->n_out > 64)
        return ot_err(OCTET_ERR_UNSUPPORTED, "node '%s' has more than 64 inputs or outputs", st->k.node->name);
    for (int j = 0; j < st->n_in; j++) {
        int sl = st->in_slots[j];
        ins[j] = sl >= 0 ? vals[sl] : NULL;
        if (sl >= 0 && !ins[j])
            return ot_err(OCTET_ERR_INVALID_ARG, "value '%s' needed by %s node '%s' was not provided", p->slots[sl].name,
                          st->k.node->op_type, st->k.node->name);
    }
    for (int j = 0; j < st->n_out; j++) outs[j] = st->out_slots[j] >= 0 ? &owned[st->out_slots[j]] : NULL;
    ot_kernel kk = st->k;
    ot_exec ex = {p, f, st};
    kk.exec = &ex;
    octet_status s = st->k.def->run(&kk, ins, st->n_in, outs, st->n_out);
    if (s != OCTET_OK) return s;
    for (int j = 0; j < st->n_out; j++)
        if (st->out_slots[j] >= 0) vals[st->out_slots[j]] = outs[j];
    return OCTET_OK;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* A dead intermediate's buffer goes back to the plan's pool, not to malloc. */
static void release_slot(const ot_plan *p, octet_tensor *t) {
    if (t->owns && t->data && p->pool_enabled) ot_bufpool_put(p->pool, t->data, t->cap);
    else ot_tensor_reset(t);
    memset(t, 0, sizeof *t);
}

octet_status ot_plan_run(const ot_plan *p, const ot_frame *outer, const octet_tensor *const *inputs, int n_in,
                         octet_tensor *outputs, int n_out) {
    return ot_plan_run_hooked(p, outer, inputs, n_in, outputs, n_out, outer ? outer->hooks : NULL);
}

octet_status ot_plan_run_hooked(const ot_plan *p, const ot_frame *outer, const octet_tensor *const *inputs, int n_in,
                                octet_tensor *outputs, int n_out, const ot_run_hooks *hooks) {
    if (n_in > p->n_inputs)
        return ot_err(OCTET_ERR_INVALID_ARG, "graph '%s' takes %d inputs, %d given", p->g->name, p->n_inputs, n_in);
    if (n_out != p->n_outputs)
        return ot_err(OCTET_ERR_INVALID_ARG, "graph '%s' has %d outputs, %d requested", p->g->name, p->n_outputs, n_out);
    ot_frame f = {p, outer, hooks, outer ? outer->depth + 1 : 0, NULL, NULL};
    f.vals = calloc((size_t)p->n_slots + 1, sizeof *f.vals);
    f.owned = calloc((size_t)p->n_slots + 1, sizeof *f.owned);
    if (!f.vals || !f.owned) {
        free(f.vals);
        free(f.owned);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    const ot_alloc_hook *saved_hook = ot_tensor_set_alloc_hook(p->pool_enabled ? &p->hook : NULL);
    for (int i = 0; i < p->n_slots; i++) {
        if (p->slots[i].kind == SLOT_CONST) f.vals[i] = p->slots[i].cval;
        else if (p->slots[i].kind == SLOT_OUTER) f.vals[i] = outer ? outer->vals[p->slots[i].outer_slot] : NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (inputs[i]) f.vals[p->input_slots[i]] = inputs[i];
    octet_status s = OCTET_OK;
    for (int si = 0; si < p->n_steps && s == OCTET_OK; si++) {
        const ot_step *st = &p->steps[si];
        double t0 = p->prof_ms ? now_ms() : 0;
        s = run_step(p, &f, st, f.owned, f.vals);
        if (p->prof_ms) {
            p->prof_ms[si] += now_ms() - t0;
            p->prof_runs[si]++;
        }
        if (s == OCTET_OK && hooks && hooks->on_value)
            for (int j = 0; j < st->n_out; j++)
                if (st->out_slots[j] >= 0 && f.vals[st->out_slots[j]])
                    hooks->on_value(hooks->ctx, f.depth, st->k.node, st->k.node->outputs[j], f.vals[st->out_slots[j]]);
        for (int j = 0; j < st->n_frees && s == OCTET_OK; j++) {
            release_slot(p, &f.owned[st->frees[j]]);
            f.vals[st->frees[j]] = NULL;
        }
    }
    for (int i = 0; i < n_out && s == OCTET_OK; i++) {
        int sl = p->output_slots[i];
        if (!f.vals[sl]) {
            s = ot_err(OCTET_ERR_INVALID_ARG, "graph output '%s' was not computed", p->slots[sl].name);
            break;
        }
        ot_tensor_reset(&outputs[i]);
        bool moved_before = false;
        for (int j = 0; j < i; j++) moved_before |= p->output_slots[j] == sl;
        if (p->slots[sl].kind == SLOT_NODE && f.vals[sl] == &f.owned[sl] && !moved_before) {
            bool used_later = false;
            for (int j = i + 1; j < n_out; j++) used_later |= p->output_slots[j] == sl;
            if (!used_later) {
                outputs[i] = f.owned[sl];  /* move */
                memset(&f.owned[sl], 0, sizeof f.owned[sl]);
                f.vals[sl] = &outputs[i];
                continue;
            }
        }
        s = ot_tensor_copy_into(&outputs[i], f.vals[sl]);
    }
    for (int i = 0; i < p->n_slots; i++) release_slot(p, &f.owned[i]);
    ot_tensor_set_alloc_hook(saved_hook);
    free(f.owned);
    free(f.vals);
    return s;
}

static const ot_plan *find_subplan(const ot_kernel *k, const char *attr) {
    const ot_step *st = k->exec ? k->exec->step : NULL;
    if (!st) return NULL;
    for (int i = 0; i < st->n_sub; i++)
        if (strcmp(st->sub_names[i], attr) == 0) return st->subplans[i];
    return NULL;
}

octet_status ot_exec_run_subgraph(const ot_kernel *k, const char *attr, const octet_tensor *const *inputs, int n_in,
                                  octet_tensor *outputs, int n_out) {
    const ot_plan *sp = find_subplan(k, attr);
    if (!sp) return ot_node_err(k, OCTET_ERR_PARSE, "has no subgraph attribute '%s'", attr);
    octet_status s = ot_plan_run(sp, k->exec->frame, inputs, n_in, outputs, n_out);
    if (s != OCTET_OK) ot_err_prefix(s, "in subgraph '%s' of %s node '%s': ", attr, k->node->op_type, k->node->name);
    return s;
}

int ot_exec_subgraph_inputs(const ot_kernel *k, const char *attr) {
    const ot_plan *sp = find_subplan(k, attr);
    return sp ? sp->n_inputs : -1;
}

int ot_exec_subgraph_outputs(const ot_kernel *k, const char *attr) {
    const ot_plan *sp = find_subplan(k, attr);
    return sp ? sp->n_outputs : -1;
}

int ot_plan_profile(const ot_plan *p, octet_node_profile *out, int cap) {
    if (!p->prof_ms) return 0;
    for (int i = 0; i < p->n_steps && i < cap; i++) {
        const ot_node *n = p->steps[i].k.node;
        out[i].name = n->name ? n->name : "";
        out[i].op_type = n->op_type;
        out[i].domain = n->domain ? n->domain : "";
        out[i].total_ms = p->prof_ms[i];
        out[i].runs = p->prof_runs[i];
    }
    return p->n_steps;
}

void ot_plan_profile_reset(ot_plan *p) {
    if (!p->prof_ms) return;
    memset(p->prof_ms, 0, (size_t)p->n_steps * sizeof *p->prof_ms);
    memset(p->prof_runs, 0, (size_t)p->n_steps * sizeof *p->prof_runs);
}
