#include "ir/graph.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/status.h"

octet_model *ot_model_new(void) {
    octet_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ir_version = 8;
    m->graph = ot_graph_new("main");
    if (!m->graph) {
        free(m);
        return NULL;
    }
    return m;
}

ot_graph *ot_graph_new(const char *name) {
    ot_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->name = ot_strdup(name ? name : "");
    return g;
}

void ot_attr_clear(ot_attr *a) {
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    free(a->doc);
    for (size_t i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    octet_tensor_free(a->t);
    ot_graph_free(a->g);
    for (size_t i = 0; a->tensors && i < a->n; i++) octet_tensor_free(a->tensors[i]);
    free(a->tensors);
    for (size_t i = 0; a->graphs && i < a->n; i++) ot_graph_free(a->graphs[i]);
    free(a->graphs);
    memset(a, 0, sizeof *a);
}

void ot_node_free(ot_node *n) {
    if (!n) return;
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->doc);
    for (int i = 0; i < n->n_inputs; i++) free(n->inputs[i]);
    free(n->inputs);
    for (int i = 0; i < n->n_outputs; i++) free(n->outputs[i]);
    free(n->outputs);
    for (int i = 0; i < n->n_attrs; i++) ot_attr_clear(&n->attrs[i]);
    free(n->attrs);
    free(n);
}

void ot_value_info_clear(ot_value_info *v) {
    free(v->name);
    free(v->doc);
    for (int i = 0; i < v->ndim && i < OCTET_MAX_DIMS; i++) free(v->dims[i].param);
    memset(v, 0, sizeof *v);
}

void ot_graph_free(ot_graph *g) {
    if (!g) return;
    free(g->name);
    free(g->doc);
    for (int i = 0; i < g->n_nodes; i++) ot_node_free(g->nodes[i]);
    free(g->nodes);
    for (int i = 0; i < g->n_inputs; i++) ot_value_info_clear(&g->inputs[i]);
    free(g->inputs);
    for (int i = 0; i < g->n_outputs; i++) ot_value_info_clear(&g->outputs[i]);
    free(g->outputs);
    for (int i = 0; i < g->n_value_info; i++) ot_value_info_clear(&g->value_info[i]);
    free(g->value_info);
    for (int i = 0; i < g->n_inits; i++) {
        free(g->inits[i].name);
        free(g->inits[i].doc);
        if (!g->inits[i].borrowed) octet_tensor_free(g->inits[i].tensor);
    }
    free(g->inits);
    free(g);
}

void octet_model_free(octet_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_opsets; i++) free(m->opsets[i].domain);
    free(m->opsets);
    free(m->producer_name);
    free(m->producer_version);
    free(m->domain);
    free(m->doc);
    for (int i = 0; i < m->n_metadata; i++) {
        free(m->metadata[i].key);
        free(m->metadata[i].value);
    }
    free(m->metadata);
    ot_graph_free(m->graph);
    free(m->base_dir);
    free(m);
}

/* ---- deep copies ---- */

static char **clone_strs(char *const *src, size_t n, bool *ok) {
    if (!src || !n) return NULL;
    char **d = calloc(n, sizeof *d);
    if (!d) { *ok = false; return NULL; }
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = ot_strdup(src[i] ? src[i] : ""))) *ok = false;
    return d;
}

static void *clone_mem(const void *src, size_t bytes, bool *ok) {
    if (!src || !bytes) return NULL;
    void *d = malloc(bytes);
    if (!d) { *ok = false; return NULL; }
    memcpy(d, src, bytes);
    return d;
}

static ot_graph *graph_clone(const ot_graph *s, bool share);

static bool clone_attr(ot_attr *d, const ot_attr *s, bool share) {
    bool ok = true;
    *d = *s;
    d->name = ot_strdup(s->name);
    d->doc = ot_strdup(s->doc);
    d->s = s->s ? ot_strndup(s->s, s->s_len) : NULL;
    d->floats = clone_mem(s->floats, s->floats ? s->n * sizeof(float) : 0, &ok);
    d->ints = clone_mem(s->ints, s->ints ? s->n * sizeof(int64_t) : 0, &ok);
    d->strings = s->strings ? clone_strs(s->strings, s->n, &ok) : NULL;
    d->t = s->t ? ot_tensor_clone(s->t) : NULL;
    if (s->t && !d->t) ok = false;
    d->g = s->g ? graph_clone(s->g, share) : NULL;
    if (s->g && !d->g) ok = false;
    d->tensors = NULL;
    d->graphs = NULL;
    if (s->tensors) {
        d->tensors = calloc(s->n, sizeof *d->tensors);
        if (!d->tensors) ok = false;
        for (size_t i = 0; d->tensors && i < s->n; i++)
            if (!(d->tensors[i] = ot_tensor_clone(s->tensors[i]))) ok = false;
    }
    if (s->graphs) {
        d->graphs = calloc(s->n, sizeof *d->graphs);
        if (!d->graphs) ok = false;
        for (size_t i = 0; d->graphs && i < s->n; i++)
            if (!(d->graphs[i] = graph_clone(s->graphs[i], share))) ok = false;
    }
    return ok && d->name;
}

static bool clone_vi(ot_value_info *d, const ot_value_info *s) {
    *d = *s;
    d->name = ot_strdup(s->name);
    d->doc = ot_strdup(s->doc);
    for (int i = 0; i < s->ndim && i < OCTET_MAX_DIMS; i++) d->dims[i].param = ot_strdup(s->dims[i].param);
    return d->name != NULL;
}

static bool clone_vis(ot_value_info **dst, int *dn, int *dcap, const ot_value_info *src, int n) {
    *dst = NULL; *dn = 0; *dcap = 0;
    if (!n) return true;
    *dst = calloc((size_t)n, sizeof **dst);
    if (!*dst) return false;
    *dcap = n;
    for (int i = 0; i < n; i++) {
        (*dn)++;
        if (!clone_vi(&(*dst)[i], &src[i])) return false;
    }
    return true;
}

ot_graph *ot_graph_clone(const ot_graph *s) { return graph_clone(s, false); }

static ot_graph *graph_clone(const ot_graph *s, bool share) {
    ot_graph *g = ot_graph_new(s->name);
    if (!g) return NULL;
    bool ok = true;
    g->doc = ot_strdup(s->doc);
    for (int i = 0; i < s->n_nodes && ok; i++) {
        const ot_node *sn = s->nodes[i];
        ot_node *n = ot_graph_add_node(g, sn->op_type, sn->domain, sn->name);
        if (!n) { ok = false; break; }
        n->doc = ot_strdup(sn->doc);
        ok = ot_node_set_inputs(n, sn->n_inputs, (const char *const *)sn->inputs) == OCTET_OK &&
             ot_node_set_outputs(n, sn->n_outputs, (const char *const *)sn->outputs) == OCTET_OK;
        if (ok && sn->n_attrs) {
            n->attrs = calloc((size_t)sn->n_attrs, sizeof *n->attrs);
            if (!n->attrs) { ok = false; break; }
            for (int a = 0; a < sn->n_attrs && ok; a++) {
                n->n_attrs++;
                ok = clone_attr(&n->attrs[a], &sn->attrs[a], share);
            }
        }
    }
    ok = ok && clone_vis(&g->inputs, &g->n_inputs, &g->cap_inputs, s->inputs, s->n_inputs);
    ok = ok && clone_vis(&g->outputs, &g->n_outputs, &g->cap_outputs, s->outputs, s->n_outputs);
    ok = ok && clone_vis(&g->value_info, &g->n_value_info, &g->cap_value_info, s->value_info, s->n_value_info);
    for (int i = 0; i < s->n_inits && ok; i++) {
        octet_tensor *t = share ? s->inits[i].tensor : ot_tensor_clone(s->inits[i].tensor);
        if (share) {
            /* add without taking ownership */
            ok = ot_grow((void **)&g->inits, &g->cap_inits, g->n_inits + 1, sizeof *g->inits);
            if (ok) {
                ot_initializer *in = &g->inits[g->n_inits];
                memset(in, 0, sizeof *in);
                in->name = ot_strdup(s->inits[i].name);
                in->tensor = t;
                in->borrowed = true;
                ok = in->name != NULL;
                if (ok) g->n_inits++;
            }
        } else {
            ok = t && ot_graph_add_initializer(g, s->inits[i].name, t) == OCTET_OK;
        }
        if (ok && s->inits[i].doc) g->inits[g->n_inits - 1].doc = ot_strdup(s->inits[i].doc);
    }
    if (!ok) {
        ot_graph_free(g);
        return NULL;
    }
    return g;
}

static octet_model *model_clone(const octet_model *s, bool share);

octet_model *ot_model_clone(const octet_model *s) { return model_clone(s, false); }
octet_model *ot_model_clone_sharing_weights(const octet_model *s) { return model_clone(s, true); }

static octet_model *model_clone(const octet_model *s, bool share) {
    octet_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    bool ok = true;
    m->ir_version = s->ir_version;
    m->model_version = s->model_version;
    m->producer_name = ot_strdup(s->producer_name);
    m->producer_version = ot_strdup(s->producer_version);
    m->domain = ot_strdup(s->domain);
    m->doc = ot_strdup(s->doc);
    m->base_dir = ot_strdup(s->base_dir);
    for (int i = 0; i < s->n_opsets && ok; i++)
        ok = ot_model_set_opset(m, s->opsets[i].domain, s->opsets[i].version) == OCTET_OK;
    if (s->n_metadata) {
        m->metadata = calloc((size_t)s->n_metadata, sizeof *m->metadata);
        if (!m->metadata) ok = false;
        for (int i = 0; ok && i < s->n_metadata; i++) {
            m->n_metadata++;
            m->metadata[i].key = ot_strdup(s->metadata[i].key);
            m->metadata[i].value = ot_strdup(s->metadata[i].value);
        }
    }
    m->graph = ok ? graph_clone(s->graph, share) : NULL;
    if (!m->graph) {
        octet_model_free(m);
        return NULL;
    }
    return m;
}

/* ---- building ---- */

ot_node *ot_graph_add_node(ot_graph *g, const char *op_type, const char *domain, const char *name) {
    if (!ot_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) return NULL;
    ot_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->op_type = ot_strdup(op_type ? op_type : "");
    n->domain = ot_strdup(domain ? domain : "");
    n->name = ot_strdup(name ? name : "");
    if (!n->op_type || !n->domain || !n->name) {
        ot_node_free(n);
        return NULL;
    }
    g->nodes[g->n_nodes++] = n;
    return n;
}

/* Builds the new list before freeing the old one, so names may alias the node's current names. */
static octet_status set_names(char ***dst, int *dn, int count, const char *const *names) {
    char **fresh = NULL;
    if (count > 0) {
        fresh = calloc((size_t)count, sizeof *fresh);
        if (!fresh) return ot_err(OCTET_ERR_NOMEM, "out of memory");
        for (int i = 0; i < count; i++)
            if (!(fresh[i] = ot_strdup(names && names[i] ? names[i] : ""))) {
                for (int j = 0; j < i; j++) free(fresh[j]);
                free(fresh);
                return ot_err(OCTET_ERR_NOMEM, "out of memory");
            }
    }
    for (int i = 0; i < *dn; i++) free((*dst)[i]);
    free(*dst);
    *dst = fresh;
    *dn = count > 0 ? count : 0;
    return OCTET_OK;
}

octet_status ot_node_set_inputs(ot_node *n, int count, const char *const *names) {
    return set_names(&n->inputs, &n->n_inputs, count, names);
}

octet_status ot_node_set_outputs(ot_node *n, int count, const char *const *names) {
    return set_names(&n->outputs, &n->n_outputs, count, names);
}

octet_status ot_node_set_op(ot_node *n, const char *domain, const char *op_type) {
    char *d = ot_strdup(domain ? domain : ""), *o = ot_strdup(op_type);
    if (!d || !o) {
        free(d);
        free(o);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    free(n->domain);
    free(n->op_type);
    n->domain = d;
    n->op_type = o;
    return OCTET_OK;
}

static ot_attr *new_attr(ot_node *n, const char *name, ot_attr_type type) {
    ot_attr *a = ot_realloc_array(n->attrs, (size_t)n->n_attrs + 1, sizeof *a);
    if (!a) return NULL;
    n->attrs = a;
    a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = ot_strdup(name);
    if (!a->name) return NULL;
    a->type = type;
    n->n_attrs++;
    return a;
}

octet_status ot_node_add_attr_int(ot_node *n, const char *name, int64_t v) {
    ot_attr *a = new_attr(n, name, OT_ATTR_INT);
    if (!a) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    a->i = v;
    return OCTET_OK;
}

octet_status ot_node_add_attr_float(ot_node *n, const char *name, float v) {
    ot_attr *a = new_attr(n, name, OT_ATTR_FLOAT);
    if (!a) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    a->f = v;
    return OCTET_OK;
}

octet_status ot_node_add_attr_string(ot_node *n, const char *name, const char *v) {
    ot_attr *a = new_attr(n, name, OT_ATTR_STRING);
    if (!a || !(a->s = ot_strdup(v))) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    a->s_len = strlen(v);
    return OCTET_OK;
}

octet_status ot_node_add_attr_ints(ot_node *n, const char *name, const int64_t *v, size_t count) {
    ot_attr *a = new_attr(n, name, OT_ATTR_INTS);
    if (!a) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    a->n = count;
    a->ints = malloc(count ? count * sizeof *v : 1);
    if (!a->ints) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (count) memcpy(a->ints, v, count * sizeof *v);
    return OCTET_OK;
}

octet_status ot_node_add_attr_floats(ot_node *n, const char *name, const float *v, size_t count) {
    ot_attr *a = new_attr(n, name, OT_ATTR_FLOATS);
    if (!a) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    a->n = count;
    a->floats = malloc(count ? count * sizeof *v : 1);
    if (!a->floats) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    if (count) memcpy(a->floats, v, count * sizeof *v);
    return OCTET_OK;
}

octet_status ot_node_add_attr_tensor(ot_node *n, const char *name, octet_tensor *t) {
    ot_attr *a = new_attr(n, name, OT_ATTR_TENSOR);
    if (!a) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    a->t = t;
    return OCTET_OK;
}

void ot_graph_remove_node(ot_graph *g, int i) {
    if (i < 0 || i >= g->n_nodes) return;
    ot_node_free(g->nodes[i]);
    memmove(&g->nodes[i], &g->nodes[i + 1], (size_t)(g->n_nodes - i - 1) * sizeof *g->nodes);
    g->n_nodes--;
}

void ot_graph_remove_initializer(ot_graph *g, int i) {
    if (i < 0 || i >= g->n_inits) return;
    free(g->inits[i].name);
    free(g->inits[i].doc);
    if (!g->inits[i].borrowed) octet_tensor_free(g->inits[i].tensor);
    memmove(&g->inits[i], &g->inits[i + 1], (size_t)(g->n_inits - i - 1) * sizeof *g->inits);
    g->n_inits--;
}

octet_status ot_graph_add_initializer(ot_graph *g, const char *name, octet_tensor *t) {
    int k = ot_graph_find_initializer_index(g, name);
    if (k >= 0) {
        if (!g->inits[k].borrowed) octet_tensor_free(g->inits[k].tensor);
        g->inits[k].tensor = t;
        g->inits[k].borrowed = false;
        return OCTET_OK;
    }
    if (!ot_grow((void **)&g->inits, &g->cap_inits, g->n_inits + 1, sizeof *g->inits)) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    ot_initializer *in = &g->inits[g->n_inits];
    memset(in, 0, sizeof *in);
    in->name = ot_strdup(name);
    if (!in->name) {
        octet_tensor_free(t);
        return ot_err(OCTET_ERR_NOMEM, "out of memory");
    }
    in->tensor = t;
    g->n_inits++;
    return OCTET_OK;
}

static octet_status add_vi(ot_value_info **arr, int *n, int *cap, const char *name, octet_dtype dtype, int ndim,
                           const int64_t *dims) {
    if (ndim > OCTET_MAX_DIMS) return ot_err(OCTET_ERR_UNSUPPORTED, "rank %d > %d", ndim, OCTET_MAX_DIMS);
    if (!ot_grow((void **)arr, cap, *n + 1, sizeof **arr)) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    ot_value_info *v = &(*arr)[*n];
    memset(v, 0, sizeof *v);
    v->name = ot_strdup(name);
    if (!v->name) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    v->dtype = dtype;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->dims[i].value = dims ? dims[i] : -1;
    (*n)++;
    return OCTET_OK;
}

octet_status ot_graph_add_input(ot_graph *g, const char *name, octet_dtype dtype, int ndim, const int64_t *dims) {
    return add_vi(&g->inputs, &g->n_inputs, &g->cap_inputs, name, dtype, ndim, dims);
}

octet_status ot_graph_add_output(ot_graph *g, const char *name, octet_dtype dtype, int ndim, const int64_t *dims) {
    return add_vi(&g->outputs, &g->n_outputs, &g->cap_outputs, name, dtype, ndim, dims);
}

bool ot_domain_is_onnx(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

octet_status ot_model_set_opset(octet_model *m, const char *domain, int64_t version) {
    for (int i = 0; i < m->n_opsets; i++) {
        bool same = ot_domain_is_onnx(domain) ? ot_domain_is_onnx(m->opsets[i].domain)
                                              : strcmp(m->opsets[i].domain, domain) == 0;
        if (same) {
            m->opsets[i].version = version;
            return OCTET_OK;
        }
    }
    ot_opset *o = ot_realloc_array(m->opsets, (size_t)m->n_opsets + 1, sizeof *o);
    if (!o) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    m->opsets = o;
    o[m->n_opsets].domain = ot_strdup(domain ? domain : "");
    if (!o[m->n_opsets].domain) return ot_err(OCTET_ERR_NOMEM, "out of memory");
    o[m->n_opsets].version = version;
    m->n_opsets++;
    return OCTET_OK;
}

/* ---- lookup ---- */

const ot_attr *ot_node_attr(const ot_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ot_node_attr_int(const ot_node *n, const char *name, int64_t dflt) {
    const ot_attr *a = ot_node_attr(n, name);
    if (!a) return dflt;
    if (a->type == OT_ATTR_INT) return a->i;
    if (a->type == OT_ATTR_FLOAT) return (int64_t)a->f;
    return dflt;
}

float ot_node_attr_float(const ot_node *n, const char *name, float dflt) {
    const ot_attr *a = ot_node_attr(n, name);
    if (!a) return dflt;
    if (a->type == OT_ATTR_FLOAT) return a->f;
    if (a->type == OT_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *ot_node_attr_string(const ot_node *n, const char *name, const char *dflt) {
    const ot_attr *a = ot_node_attr(n, name);
    return (a && a->type == OT_ATTR_STRING && a->s) ? a->s : dflt;
}

size_t ot_node_attr_ints(const ot_node *n, const char *name, const int64_t **out) {
    const ot_attr *a = ot_node_attr(n, name);
    *out = NULL;
    if (!a) return 0;
    if (a->type == OT_ATTR_INTS) {
        *out = a->ints;
        return a->n;
    }
    if (a->type == OT_ATTR_INT) {
        *out = &a->i;
        return 1;
    }
    return 0;
}

size_t ot_node_attr_floats(const ot_node *n, const char *name, const float **out) {
    const ot_attr *a = ot_node_attr(n, name);
    *out = NULL;
    if (!a) return 0;
    if (a->type == OT_ATTR_FLOATS) {
        *out = a->floats;
        return a->n;
    }
    if (a->type == OT_ATTR_FLOAT) {
        *out = &a->f;
        return 1;
    }
    return 0;
}

const char *ot_node_input(const ot_node *n, int i) {
    if (i < 0 || i >= n->n_inputs || !n->inputs[i][0]) return NULL;
    return n->inputs[i];
}

int ot_graph_find_initializer_index(const ot_graph *g, const char *name) {
    for (int i = 0; i < g->n_inits; i++)
        if (strcmp(g->inits[i].name, name) == 0) return i;
    return -1;
}

const ot_initializer *ot_graph_find_initializer(const ot_graph *g, const char *name) {
    int i = ot_graph_find_initializer_index(g, name);
    return i >= 0 ? &g->inits[i] : NULL;
}

const octet_tensor *ot_graph_constant(const ot_graph *g, const char *name) {
    if (!name || !name[0]) return NULL;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return NULL;
    const ot_initializer *in = ot_graph_find_initializer(g, name);
    return in ? in->tensor : NULL;
}

int64_t ot_model_opset(const octet_model *m, const char *domain) {
    for (int i = 0; i < m->n_opsets; i++) {
        bool same = ot_domain_is_onnx(domain) ? ot_domain_is_onnx(m->opsets[i].domain)
                                              : strcmp(m->opsets[i].domain, domain) == 0;
        if (same) return m->opsets[i].version;
    }
    return 0;
}

int octet_model_input_count(const octet_model *m) {
    if (!m) return 0;
    int n = 0;
    for (int i = 0; i < m->graph->n_inputs; i++)
        if (!ot_graph_find_initializer(m->graph, m->graph->inputs[i].name)) n++;
    return n;
}

int octet_model_output_count(const octet_model *m) { return m ? m->graph->n_outputs : 0; }

const char *octet_model_input_name(const octet_model *m, int k) {
    if (!m) return NULL;
    int n = 0;
    for (int i = 0; i < m->graph->n_inputs; i++) {
        if (ot_graph_find_initializer(m->graph, m->graph->inputs[i].name)) continue;
        if (n++ == k) return m->graph->inputs[i].name;
    }
    return NULL;
}

const char *octet_model_output_name(const octet_model *m, int i) {
    return (m && i >= 0 && i < m->graph->n_outputs) ? m->graph->outputs[i].name : NULL;
}
