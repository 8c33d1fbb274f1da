/* ONNX -> IR. The main graph is read field by field straight from the file bytes: each node and
 * initializer is unpacked by protobuf-c, converted and freed before the next, and tensors take over
 * the unpacked raw_data buffers. With the file mmap'ed and its pages dropped once converted, peak
 * memory stays near the size of the weights instead of file + message + IR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "onnx/opset.h"
#include "onnx/tensor_proto.h"
#include "onnx/wire.h"
#include "util/mem.h"
#include "util/status.h"
#include "util/strmap.h"

/* Model -> graph -> node -> attribute -> graph ... : 100 allows ~30 levels of nested subgraphs. */
#define OT_MAX_NESTING 100

typedef struct ld {
    const char *base_dir;    /* folder for external data (NULL: refuse) */
    const uint8_t *map;      /* the mmap'ed file, whose pages may be dropped once read; NULL otherwise */
    size_t map_len;
    char where[160];         /* " in subgraph 'x'" while converting a subgraph, else "" */
} ld;

#define NOMEM() ot_err(OCTET_ERR_NOMEM, "out of memory")

/* Drop the pages wholly inside [p, p+n) of the mapped file: they were converted and are not read
 * again (and if they were, the kernel would read them back from the file). */
static void release(const ld *L, const void *p, size_t n) {
    if (!L->map || n < (1u << 16)) return;
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t b = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

static char *dup0(const char *s) { return ot_strdup(s ? s : ""); }
/* NULL for a missing or empty doc string (most are empty; the IR treats NULL as empty). */
static octet_status dup_doc(char **dst, const char *s) {
    free(*dst);
    *dst = NULL;
    if (!s || !*s) return OCTET_OK;
    return (*dst = ot_strdup(s)) ? OCTET_OK : NOMEM();
}

static const char *node_label(char *buf, size_t n, const char *op_type, const char *name, int idx) {
    if (name && *name) snprintf(buf, n, "%.64s node '%.160s'", op_type, name);
    else snprintf(buf, n, "%.64s node #%d", op_type, idx);
    return buf;
}

/* ---- value info ---- */

/* Convert vp into v. Graph inputs/outputs (strict) must be tensors octet knows; a value_info entry
 * octet cannot represent is only a hint and is dropped (*keep = false). */
static octet_status conv_vi(const ld *L, const Onnx__ValueInfoProto *vp, const char *kind, int idx, bool strict,
                            ot_value_info *v, bool *keep) {
    *keep = true;
    const char *name = vp->name ? vp->name : "";
    if (!*name) return ot_err(OCTET_ERR_PARSE, "%s #%d%s has no name", kind, idx, L->where);
    v->dtype = OCTET_UNDEFINED;
    v->ndim = -1;
    const Onnx__TypeProto *tp = vp->type;
    if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET) {
        const char *problem = NULL;
        const Onnx__TypeProto__Tensor *tt = tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
                                                ? tp->tensor_type : NULL;
        int32_t et = tt && tt->has_elem_type ? tt->elem_type : 0;
        if (!tt) problem = "is not a tensor (sequence, map, optional and sparse types are not supported)";
        else if (et < 0 || et > 13) problem = "has an element type octet does not support";
        else if (tt->shape && tt->shape->n_dim > OCTET_MAX_DIMS) problem = "has more than 8 dimensions";
        if (problem) {
            if (!strict) {
                *keep = false;
                return OCTET_OK;
            }
            return ot_err(OCTET_ERR_UNSUPPORTED, "%s '%s'%s %s%s%s", kind, name, L->where, problem,
                          et > 13 ? ": " : "", et > 13 ? ot_onnx_type_name(et) : "");
        }
        v->dtype = (octet_dtype)et;
        if (tt->shape) {
            v->ndim = (int)tt->shape->n_dim;
            for (int i = 0; i < v->ndim; i++) {
                const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
                v->dims[i].value = -1;
                if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
                    v->dims[i].value = d->dim_value;
                else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
                         *d->dim_param && !(v->dims[i].param = ot_strdup(d->dim_param)))
                    return NOMEM();
            }
        }
    }
    if (!(v->name = ot_strdup(name))) return NOMEM();
    return dup_doc(&v->doc, vp->doc_string);
}

static octet_status add_vi(const ld *L, ot_value_info **arr, int *n, int *cap, const Onnx__ValueInfoProto *vp,
                           const char *kind, bool strict) {
    if (*n == INT_MAX || !ot_grow((void **)arr, cap, *n + 1, sizeof **arr)) return NOMEM();
    ot_value_info *v = &(*arr)[*n];
    memset(v, 0, sizeof *v);
    bool keep = true;
    octet_status s = conv_vi(L, vp, kind, *n, strict, v, &keep);
    if (s != OCTET_OK || !keep) {
        ot_value_info_clear(v);
        return s;
    }
    (*n)++;
    return OCTET_OK;
}

/* ---- initializers ---- */

static octet_status append_init(ot_graph *g, const char *name, const char *doc, octet_tensor *t) {
    if (g->n_inits == INT_MAX || !ot_grow((void **)&g->inits, &g->cap_inits, g->n_inits + 1, sizeof *g->inits)) {
        octet_tensor_free(t);
        return NOMEM();
    }
    ot_initializer *in = &g->inits[g->n_inits];
    memset(in, 0, sizeof *in);
    in->tensor = t;
    in->name = ot_strdup(name);
    if (!in->name || dup_doc(&in->doc, doc) != OCTET_OK) {
        free(in->name);
        octet_tensor_free(t);
        memset(in, 0, sizeof *in);
        return NOMEM();
    }
    g->n_inits++;
    return OCTET_OK;
}

static octet_status add_init(const ld *L, ot_graph *g, Onnx__TensorProto *tp) {
    const char *name = tp->name ? tp->name : "";
    if (!*name) return ot_err(OCTET_ERR_PARSE, "initializer #%d%s has no name", g->n_inits, L->where);
    char what[400]; /* 14 + 200 + where (at most 160) */
    snprintf(what, sizeof what, "initializer '%.200s'%.160s", name, L->where);
    octet_tensor *t;
    OT_TRY(ot_tensor_from_proto(tp, what, L->base_dir, &t));
    return append_init(g, name, tp->doc_string, t);
}

static octet_status add_sparse_init(const ld *L, ot_graph *g, Onnx__SparseTensorProto *sp) {
    const char *name = sp->values && sp->values->name ? sp->values->name : "";
    if (!*name) return ot_err(OCTET_ERR_PARSE, "sparse initializer%s has no name", L->where);
    char what[400]; /* 14 + 200 + where (at most 160) */
    snprintf(what, sizeof what, "sparse initializer '%.200s'%.160s", name, L->where);
    octet_tensor *t;
    OT_TRY(ot_tensor_from_sparse_proto(sp, what, L->base_dir, &t));
    return append_init(g, name, sp->values->doc_string, t);
}

/* ---- nodes ---- */

static octet_status conv_graph(ld *L, const Onnx__GraphProto *gp, ot_graph **out);

/* Attribute type for files that leave it out (IR < 4 writers): whichever value is present. */
static int infer_attr_type(const Onnx__AttributeProto *ap) {
    if (ap->has_f) return OT_ATTR_FLOAT;
    if (ap->has_i) return OT_ATTR_INT;
    if (ap->has_s) return OT_ATTR_STRING;
    if (ap->t) return OT_ATTR_TENSOR;
    if (ap->g) return OT_ATTR_GRAPH;
    if (ap->n_floats) return OT_ATTR_FLOATS;
    if (ap->n_ints) return OT_ATTR_INTS;
    if (ap->n_strings) return OT_ATTR_STRINGS;
    if (ap->n_tensors) return OT_ATTR_TENSORS;
    if (ap->n_graphs) return OT_ATTR_GRAPHS;
    return OT_ATTR_UNDEFINED;
}

static octet_status conv_subgraph(ld *L, const Onnx__GraphProto *gp, const char *attr, ot_graph **out) {
    char saved[sizeof L->where];
    memcpy(saved, L->where, sizeof saved);
    snprintf(L->where, sizeof L->where, " in subgraph '%.120s'", gp->name && *gp->name ? gp->name : attr);
    octet_status s = conv_graph(L, gp, out);
    memcpy(L->where, saved, sizeof saved);
    return s;
}

static octet_status conv_attr(ld *L, Onnx__AttributeProto *ap, const char *node, ot_attr *a) {
    const char *name = ap->name ? ap->name : "";
    if (!*name) return ot_err(OCTET_ERR_PARSE, "%s%s has an attribute without a name", node, L->where);
    if (!(a->name = ot_strdup(name)) || dup_doc(&a->doc, ap->doc_string) != OCTET_OK) return NOMEM();
    if (ap->ref_attr_name && *ap->ref_attr_name)
        return ot_err(OCTET_ERR_UNSUPPORTED, "%s%s: attribute '%s' refers to a function attribute", node, L->where,
                      name);
    int type = ap->has_type && ap->type != 0 ? (int)ap->type : infer_attr_type(ap);
    a->type = (ot_attr_type)type;
    char what[600]; /* node (at most ~380 characters) and where (at most 160) */
    snprintf(what, sizeof what, "attribute '%.64s' of %.380s%.160s", name, node, L->where);
    switch (type) {
    case OT_ATTR_FLOAT: a->f = ap->f; return OCTET_OK;
    case OT_ATTR_INT: a->i = ap->i; return OCTET_OK;
    case OT_ATTR_STRING:
        a->s_len = ap->s.len;
        a->s = ot_strndup(ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
        return a->s ? OCTET_OK : NOMEM();
    case OT_ATTR_TENSOR:
        if (!ap->t) return ot_err(OCTET_ERR_PARSE, "%s is of type TENSOR but holds no tensor", what);
        return ot_tensor_from_proto(ap->t, what, L->base_dir, &a->t);
    case OT_ATTR_GRAPH:
        if (!ap->g) return ot_err(OCTET_ERR_PARSE, "%s is of type GRAPH but holds no graph", what);
        return conv_subgraph(L, ap->g, name, &a->g);
    case OT_ATTR_FLOATS:
        a->n = ap->n_floats;
        if (!(a->floats = ot_malloc(a->n * sizeof *a->floats))) return NOMEM();
        if (a->n) memcpy(a->floats, ap->floats, a->n * sizeof *a->floats);
        return OCTET_OK;
    case OT_ATTR_INTS:
        a->n = ap->n_ints;
        if (!(a->ints = ot_malloc(a->n * sizeof *a->ints))) return NOMEM();
        if (a->n) memcpy(a->ints, ap->ints, a->n * sizeof *a->ints);
        return OCTET_OK;
    case OT_ATTR_STRINGS:
        if (!(a->strings = ot_calloc(ap->n_strings, sizeof *a->strings))) return NOMEM();
        a->n = ap->n_strings;
        for (size_t i = 0; i < a->n; i++) {
            const ProtobufCBinaryData *b = &ap->strings[i];
            if (!(a->strings[i] = ot_strndup(b->data ? (const char *)b->data : "", b->len))) return NOMEM();
        }
        return OCTET_OK;
    case OT_ATTR_TENSORS:
        if (!(a->tensors = ot_calloc(ap->n_tensors, sizeof *a->tensors))) return NOMEM();
        a->n = ap->n_tensors;
        for (size_t i = 0; i < a->n; i++) {
            snprintf(what, sizeof what, "attribute '%.64s'[%zu] of %s%s", name, i, node, L->where);
            OT_TRY(ot_tensor_from_proto(ap->tensors[i], what, L->base_dir, &a->tensors[i]));
        }
        return OCTET_OK;
    case OT_ATTR_GRAPHS:
        if (!(a->graphs = ot_calloc(ap->n_graphs, sizeof *a->graphs))) return NOMEM();
        a->n = ap->n_graphs;
        for (size_t i = 0; i < a->n; i++) OT_TRY(conv_subgraph(L, ap->graphs[i], name, &a->graphs[i]));
        return OCTET_OK;
    case 11: case 12: case 13: case 14:
        a->type = OT_ATTR_UNDEFINED;
        return ot_err(OCTET_ERR_UNSUPPORTED, "%s: %s attributes are not supported", what,
                      type == 11 ? "SPARSE_TENSOR" : type == 12 ? "SPARSE_TENSORS" : type == 13 ? "TYPE_PROTO"
                                                                                                 : "TYPE_PROTOS");
    default:
        a->type = OT_ATTR_UNDEFINED;
        return ot_err(OCTET_ERR_PARSE, "%s has %s type %d", what, type ? "unknown" : "no value and no", type);
    }
}

static octet_status add_node(ld *L, ot_graph *g, Onnx__NodeProto *np) {
    int idx = g->n_nodes;
    char label[256];
    node_label(label, sizeof label, np->op_type && *np->op_type ? np->op_type : "?", np->name, idx);
    if (!np->op_type || !*np->op_type) return ot_err(OCTET_ERR_PARSE, "%s%s has no op_type", label, L->where);
    if (np->n_input > INT_MAX || np->n_output > INT_MAX || np->n_attribute > INT_MAX)
        return ot_err(OCTET_ERR_PARSE, "%s%s has too many inputs, outputs or attributes", label, L->where);
    ot_node *n = ot_graph_add_node(g, np->op_type, np->domain, np->name);
    if (!n) return NOMEM();
    OT_TRY(dup_doc(&n->doc, np->doc_string));
    OT_TRY(ot_node_set_inputs(n, (int)np->n_input, (const char *const *)np->input));
    OT_TRY(ot_node_set_outputs(n, (int)np->n_output, (const char *const *)np->output));
    if (np->n_attribute) {
        if (!(n->attrs = ot_calloc(np->n_attribute, sizeof *n->attrs))) return NOMEM();
        for (size_t i = 0; i < np->n_attribute; i++) {
            ot_attr *a = &n->attrs[n->n_attrs++];
            OT_TRY(conv_attr(L, np->attribute[i], label, a));
            for (int j = 0; j < n->n_attrs - 1; j++)
                if (strcmp(n->attrs[j].name, a->name) == 0)
                    return ot_err(OCTET_ERR_PARSE, "%s%s has attribute '%s' twice", label, L->where, a->name);
        }
    }
    return OCTET_OK;
}

/* ---- graphs ---- */

static octet_status check_unique_inits(const ld *L, const ot_graph *g) {
    if (g->n_inits < 2) return OCTET_OK;
    ot_strmap map;
    if (!ot_strmap_init(&map, (size_t)g->n_inits)) return NOMEM();
    octet_status s = OCTET_OK;
    for (int i = 0; i < g->n_inits && s == OCTET_OK; i++) {
        if (ot_strmap_get(&map, g->inits[i].name, -1) >= 0)
            s = ot_err(OCTET_ERR_PARSE, "initializer '%s'%s appears twice", g->inits[i].name, L->where);
        else if (!ot_strmap_put(&map, g->inits[i].name, i))
            s = NOMEM();
    }
    ot_strmap_free(&map);
    return s;
}

/* A graph that protobuf-c unpacked whole (subgraphs of If/Loop/Scan). */
static octet_status conv_graph(ld *L, const Onnx__GraphProto *gp, ot_graph **out) {
    ot_graph *g = *out = ot_graph_new(gp->name);
    if (!g) return NOMEM();
    OT_TRY(dup_doc(&g->doc, gp->doc_string));
    for (size_t i = 0; i < gp->n_node; i++) OT_TRY(add_node(L, g, gp->node[i]));
    for (size_t i = 0; i < gp->n_input; i++)
        OT_TRY(add_vi(L, &g->inputs, &g->n_inputs, &g->cap_inputs, gp->input[i], "graph input", true));
    for (size_t i = 0; i < gp->n_output; i++)
        OT_TRY(add_vi(L, &g->outputs, &g->n_outputs, &g->cap_outputs, gp->output[i], "graph output", true));
    for (size_t i = 0; i < gp->n_value_info; i++)
        OT_TRY(add_vi(L, &g->value_info, &g->n_value_info, &g->cap_value_info, gp->value_info[i], "value_info",
                      false));
    for (size_t i = 0; i < gp->n_initializer; i++) OT_TRY(add_init(L, g, gp->initializer[i]));
    for (size_t i = 0; i < gp->n_sparse_initializer; i++) OT_TRY(add_sparse_init(L, g, gp->sparse_initializer[i]));
    return check_unique_inits(L, g);
}

static octet_status set_str(char **dst, const ot_wire_field *f) {
    free(*dst);
    *dst = ot_strndup((const char *)f->data, f->len);
    return *dst ? OCTET_OK : NOMEM();
}

/* Each repeated message field of the main graph, unpacked and converted one at a time. */
static octet_status stream_field(ld *L, ot_graph *g, const ot_wire_field *f) {
    const ProtobufCMessageDescriptor *desc;
    const char *kind;
    switch (f->number) {
    case 1: desc = &onnx__node_proto__descriptor; kind = "node"; break;
    case 5: desc = &onnx__tensor_proto__descriptor; kind = "initializer"; break;
    case 11: case 12: case 13: desc = &onnx__value_info_proto__descriptor; kind = "value info"; break;
    case 15: desc = &onnx__sparse_tensor_proto__descriptor; kind = "sparse initializer"; break;
    default: return OCTET_OK;   /* quantization_annotation and unknown fields */
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &ot_pb_allocator, f->len, f->data);
    if (!msg) return ot_err(OCTET_ERR_PARSE, "a graph %s could not be decoded (corrupt or out of memory)", kind);
    octet_status s;
    switch (f->number) {
    case 1: s = add_node(L, g, (Onnx__NodeProto *)msg); break;
    case 5: s = add_init(L, g, (Onnx__TensorProto *)msg); break;
    case 11:
        s = add_vi(L, &g->inputs, &g->n_inputs, &g->cap_inputs, (Onnx__ValueInfoProto *)msg, "graph input", true);
        break;
    case 12:
        s = add_vi(L, &g->outputs, &g->n_outputs, &g->cap_outputs, (Onnx__ValueInfoProto *)msg, "graph output",
                   true);
        break;
    case 13:
        s = add_vi(L, &g->value_info, &g->n_value_info, &g->cap_value_info, (Onnx__ValueInfoProto *)msg,
                   "value_info", false);
        break;
    default: s = add_sparse_init(L, g, (Onnx__SparseTensorProto *)msg); break;
    }
    protobuf_c_message_free_unpacked(msg, &ot_pb_allocator);
    release(L, f->start, (size_t)(f->end - f->start));
    return s;
}

static octet_status stream_graph(ld *L, const uint8_t *p, size_t n, ot_graph *g) {
    ot_wire w = ot_wire_init(p, n);
    ot_wire_field f;
    int r;
    while ((r = ot_wire_next(&w, &f)) > 0) {
        if (f.type != OT_WIRE_LEN) continue;   /* checked by ot_wire_check: only unknown fields */
        if (f.number == 2) OT_TRY(set_str(&g->name, &f));
        else if (f.number == 10) OT_TRY(set_str(&g->doc, &f));
        else OT_TRY(stream_field(L, g, &f));
    }
    if (r < 0) return ot_err(OCTET_ERR_PARSE, "the graph is not valid protobuf");
    if (g->doc && !*g->doc) {
        free(g->doc);
        g->doc = NULL;
    }
    return check_unique_inits(L, g);
}

/* ---- model ---- */

static octet_status conv_model_fields(const Onnx__ModelProto *mp, octet_model *m) {
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    if (mp->n_functions)
        return ot_err(OCTET_ERR_UNSUPPORTED, "the model defines %zu local function(s) ('%s'); octet does not support "
                      "model-local functions (inline them first, e.g. onnx.inliner.inline_local_functions)",
                      mp->n_functions, mp->functions[0]->name ? mp->functions[0]->name : "");
    if (mp->n_opset_import > 100000 || mp->n_metadata_props > 1000000)
        return ot_err(OCTET_ERR_PARSE, "the model has too many opset imports or metadata entries");
    if (mp->n_opset_import) {
        if (!(m->opsets = ot_calloc(mp->n_opset_import, sizeof *m->opsets))) return NOMEM();
        for (size_t i = 0; i < mp->n_opset_import; i++) {
            const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
            ot_opset *d = &m->opsets[m->n_opsets++];
            d->version = o->has_version ? o->version : 0;
            if (!(d->domain = dup0(o->domain))) return NOMEM();
        }
    }
    if (mp->n_metadata_props) {
        if (!(m->metadata = ot_calloc(mp->n_metadata_props, sizeof *m->metadata))) return NOMEM();
        for (size_t i = 0; i < mp->n_metadata_props; i++) {
            ot_kv *kv = &m->metadata[m->n_metadata++];
            kv->key = dup0(mp->metadata_props[i]->key);
            kv->value = dup0(mp->metadata_props[i]->value);
            if (!kv->key || !kv->value) return NOMEM();
        }
    }
    OT_TRY(dup_doc(&m->producer_name, mp->producer_name));
    OT_TRY(dup_doc(&m->producer_version, mp->producer_version));
    OT_TRY(dup_doc(&m->domain, mp->domain));
    return dup_doc(&m->doc, mp->doc_string);
}

/* Everything but the graph is small: copy it out and let protobuf-c unpack it in one go. */
static octet_status load_model_fields(const uint8_t *p, size_t n, octet_model *m, const uint8_t **graph,
                                      size_t *graph_len) {
    size_t nr = 0;
    int graphs = 0;
    ot_wire w = ot_wire_init(p, n);
    ot_wire_field f;
    int r;
    while ((r = ot_wire_next(&w, &f)) > 0) {
        if (f.number == 7 && f.type == OT_WIRE_LEN) {
            *graph = f.data;
            *graph_len = f.len;
            graphs++;
        } else {
            nr += (size_t)(f.end - f.start);
        }
    }
    if (r < 0) return ot_err(OCTET_ERR_PARSE, "not a valid ONNX file");
    if (graphs == 0) return ot_err(OCTET_ERR_PARSE, "the model has no graph");
    if (graphs > 1) return ot_err(OCTET_ERR_PARSE, "the model has %d graphs (expected one)", graphs);
    uint8_t *rest = malloc(nr ? nr : 1);
    if (!rest) return NOMEM();
    size_t at = 0;
    w = ot_wire_init(p, n);
    while (ot_wire_next(&w, &f) > 0)
        if (!(f.number == 7 && f.type == OT_WIRE_LEN)) {
            memcpy(rest + at, f.start, (size_t)(f.end - f.start));
            at += (size_t)(f.end - f.start);
        }
    octet_status s;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&ot_pb_allocator, nr, rest);
    if (!mp) {
        s = ot_err(OCTET_ERR_PARSE, "the ModelProto could not be decoded (corrupt or out of memory)");
    } else {
        s = conv_model_fields(mp, m);
        onnx__model_proto__free_unpacked(mp, &ot_pb_allocator);
    }
    free(rest);
    return s;
}

static octet_status load_bytes(ld *L, const uint8_t *p, size_t n, octet_model **out) {
    *out = NULL;
    if (n == 0) return ot_err(OCTET_ERR_PARSE, "the file is empty");
    OT_TRY(ot_wire_check(p, n, &onnx__model_proto__descriptor, OT_MAX_NESTING, ""));
    octet_model *m = calloc(1, sizeof *m);
    if (!m) return NOMEM();
    const uint8_t *gp = NULL;
    size_t gn = 0;
    octet_status s = load_model_fields(p, n, m, &gp, &gn);
    /* a wrong IR or opset version is the more useful message than anything inside the graph */
    if (s == OCTET_OK) s = ot_onnx_check_versions(m);
    if (s == OCTET_OK && !(m->graph = ot_graph_new(""))) s = NOMEM();
    if (s == OCTET_OK) s = stream_graph(L, gp, gn, m->graph);
    if (s == OCTET_OK) s = ot_onnx_check_node_domains(m);
    if (s == OCTET_OK && L->base_dir && !(m->base_dir = ot_strdup(L->base_dir))) s = NOMEM();
    if (s != OCTET_OK) {
        octet_model_free(m);
        return s;
    }
    *out = m;
    return OCTET_OK;
}

/* ---- public entry points ---- */

octet_status ot_onnx_one_line_error(octet_status s) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", octet_last_error());
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return ot_err(s, "%s", msg);
}

octet_status octet_model_load_memory(octet_model **out, const void *bytes, size_t size, const char *base_dir) {
    if (!out || (!bytes && size)) return ot_err(OCTET_ERR_INVALID_ARG, "octet_model_load_memory: NULL argument");
    ld L = {.base_dir = base_dir};
    octet_status s = load_bytes(&L, bytes, size, out);
    if (s != OCTET_OK) return ot_onnx_one_line_error(ot_err_prefix(s, "loading model from memory: "));
    return s;
}

/* The folder of path ("." for a bare file name). */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return ot_strdup(".");
    if (slash == path) return ot_strdup("/");
    return ot_strndup(path, (size_t)(slash - path));
}

/* Whole file into memory, for what cannot be mmap'ed (pipes, /dev/stdin). */
static octet_status read_all(int fd, uint8_t **buf, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) return NOMEM();
    for (;;) {
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return NOMEM();
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            octet_status s = ot_err(OCTET_ERR_IO, "read failed: %s", strerror(errno));
            free(b);
            return s;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return OCTET_OK;
}

octet_status octet_model_load(octet_model **out, const char *path) {
    if (!out || !path) return ot_err(OCTET_ERR_INVALID_ARG, "octet_model_load: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ot_err(OCTET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return ot_err(OCTET_ERR_IO, "cannot read '%s': %s", path, S_ISDIR(st.st_mode) ? "is a directory"
                                                                                      : strerror(errno));
    }
    ld L = {0};
    char *dir = dir_of(path);
    if (!dir) {
        close(fd);
        return NOMEM();
    }
    L.base_dir = dir;
    uint8_t *heap = NULL;
    const uint8_t *p = NULL;
    size_t n = 0;
    octet_status s = OCTET_OK;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        n = (size_t)st.st_size;
        void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            madvise(map, n, MADV_SEQUENTIAL);
            p = L.map = map;
            L.map_len = n;
        }
    }
    if (!p && (s = read_all(fd, &heap, &n)) == OCTET_OK) p = heap;
    close(fd);
    if (s == OCTET_OK) s = load_bytes(&L, p, n, out);
    if (L.map) munmap((void *)L.map, L.map_len);
    free(heap);
    free(dir);
    if (s != OCTET_OK) return ot_onnx_one_line_error(ot_err_prefix(s, "%s: ", path));
    return s;
}
