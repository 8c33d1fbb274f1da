/* IR -> ONNX. The protobuf-c structs point into the IR (no tensor is copied); the main graph is
 * written field by field and initializer data straight from the tensors, so saving needs no
 * buffer the size of the model (except ot_model_serialize, whose result is that buffer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "onnx/opset.h"
#include "util/atomic_file.h"
#include "util/mem.h"
#include "util/status.h"

#define NOMEM() ot_err(OCTET_ERR_NOMEM, "out of memory")
#define PROTOBUF_MAX ((size_t)INT32_MAX)   /* protobuf's 2 GB limit on a message */
#define EXTERNAL_ALIGN 64

/* ---- allocation pool: every struct built for one save, freed together ---- */

typedef struct pool {
    void **p;
    int n, cap;
} pool;

static void *palloc(pool *P, size_t count, size_t size) {
    if (!ot_grow((void **)&P->p, &P->cap, P->n + 1, sizeof *P->p)) return NULL;
    void *q = ot_calloc(count, size);
    if (q) P->p[P->n++] = q;
    return q;
}

static void pool_free(pool *P) {
    for (int i = 0; i < P->n; i++) free(P->p[i]);
    free(P->p);
}

/* Side file for external data (only when asked for). */
typedef struct ext {
    ot_atomic_file file;
    const char *location;   /* as written into the model */
    size_t min_bytes;
    uint64_t offset;
} ext;

typedef struct sv {
    pool P;
    ext *X;   /* NULL: everything inline */
} sv;

static char *str_or_null(const char *s) { return s && *s ? (char *)s : NULL; }

/* ---- IR -> protobuf structs ---- */

static const uint8_t empty_bytes[1];

static octet_status write_external(sv *S, const octet_tensor *t, size_t nbytes, Onnx__TensorProto *tp) {
    ext *X = S->X;
    static const uint8_t zeros[EXTERNAL_ALIGN];
    size_t pad = (size_t)((EXTERNAL_ALIGN - X->offset % EXTERNAL_ALIGN) % EXTERNAL_ALIGN);
    ot_atomic_write(&X->file, zeros, pad);
    OT_TRY(ot_atomic_write(&X->file, t->data, nbytes));
    uint64_t off = X->offset + pad;
    X->offset = off + nbytes;
    Onnx__StringStringEntryProto *kv = palloc(&S->P, 3, sizeof *kv);
    Onnx__StringStringEntryProto **kvp = palloc(&S->P, 3, sizeof *kvp);
    char *nums = palloc(&S->P, 2, 24);
    if (!kv || !kvp || !nums) return NOMEM();
    snprintf(nums, 24, "%llu", (unsigned long long)off);
    snprintf(nums + 24, 24, "%zu", nbytes);
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {X->location, nums, nums + 24};
    for (int i = 0; i < 3; i++) {
        onnx__string_string_entry_proto__init(&kv[i]);
        kv[i].key = (char *)keys[i];
        kv[i].value = (char *)vals[i];
        kvp[i] = &kv[i];
    }
    tp->n_external_data = 3;
    tp->external_data = kvp;
    tp->has_data_location = 1;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    return OCTET_OK;
}

static octet_status build_tensor(sv *S, const octet_tensor *t, const char *name, const char *doc, bool may_external,
                                 Onnx__TensorProto **out) {
    const char *nm = name && *name ? name : "(unnamed)";
    if (!t) return ot_err(OCTET_ERR_INVALID_ARG, "tensor '%s' is NULL", nm);
    if (t->dtype == OCTET_STRING || !octet_dtype_size(t->dtype))
        return ot_err(OCTET_ERR_UNSUPPORTED, "tensor '%s' has dtype %s, which octet cannot save", nm,
                      octet_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > OCTET_MAX_DIMS)
        return ot_err(OCTET_ERR_INVALID_ARG, "tensor '%s' has rank %d", nm, t->ndim);
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0) return ot_err(OCTET_ERR_INVALID_ARG, "tensor '%s' has a negative dimension", nm);
    size_t nbytes = ot_tensor_nbytes(t);
    if (nbytes && !t->data) return ot_err(OCTET_ERR_INVALID_ARG, "tensor '%s' has no data", nm);
    Onnx__TensorProto *tp = *out = palloc(&S->P, 1, sizeof *tp);
    if (!tp) return NOMEM();
    onnx__tensor_proto__init(tp);
    if (t->ndim) {
        if (!(tp->dims = palloc(&S->P, (size_t)t->ndim, sizeof *tp->dims))) return NOMEM();
        memcpy(tp->dims, t->dims, (size_t)t->ndim * sizeof *tp->dims);
    }
    tp->n_dims = (size_t)t->ndim;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->name = str_or_null(name);
    tp->doc_string = str_or_null(doc);
    if (may_external && S->X && nbytes >= S->X->min_bytes) return write_external(S, t, nbytes, tp);
    tp->has_raw_data = 1;
    tp->raw_data.len = nbytes;
    tp->raw_data.data = nbytes ? (uint8_t *)t->data : (uint8_t *)empty_bytes;
    return OCTET_OK;
}

static octet_status build_vi(sv *S, const ot_value_info *v, Onnx__ValueInfoProto **out) {
    Onnx__ValueInfoProto *vp = *out = palloc(&S->P, 1, sizeof *vp);
    if (!vp) return NOMEM();
    onnx__value_info_proto__init(vp);
    vp->name = (char *)(v->name ? v->name : "");
    vp->doc_string = str_or_null(v->doc);
    if (v->dtype == OCTET_UNDEFINED && v->ndim < 0) return OCTET_OK;   /* type unknown */
    if (v->ndim > OCTET_MAX_DIMS) return ot_err(OCTET_ERR_INVALID_ARG, "value '%s' has rank %d", vp->name, v->ndim);
    Onnx__TypeProto *tp = palloc(&S->P, 1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = palloc(&S->P, 1, sizeof *tt);
    if (!tp || !tt) return NOMEM();
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vp->type = tp;
    if (v->dtype != OCTET_UNDEFINED) {
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)v->dtype;
    }
    if (v->ndim < 0) return OCTET_OK;
    Onnx__TensorShapeProto *sh = palloc(&S->P, 1, sizeof *sh);
    Onnx__TensorShapeProto__Dimension *d = palloc(&S->P, (size_t)v->ndim, sizeof *d);
    Onnx__TensorShapeProto__Dimension **dp = palloc(&S->P, (size_t)v->ndim, sizeof *dp);
    if (!sh || !d || !dp) return NOMEM();
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)v->ndim;
    sh->dim = dp;
    for (int i = 0; i < v->ndim; i++) {
        onnx__tensor_shape_proto__dimension__init(&d[i]);
        if (v->dims[i].value >= 0) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i].dim_value = v->dims[i].value;
        } else if (v->dims[i].param && *v->dims[i].param) {
            d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i].dim_param = v->dims[i].param;
        }
        dp[i] = &d[i];
    }
    tt->shape = sh;
    return OCTET_OK;
}

static octet_status build_graph(sv *S, const ot_graph *g, Onnx__GraphProto **out);

static octet_status build_attr(sv *S, const ot_attr *a, const ot_node *n, Onnx__AttributeProto **out) {
    Onnx__AttributeProto *ap = *out = palloc(&S->P, 1, sizeof *ap);
    if (!ap) return NOMEM();
    onnx__attribute_proto__init(ap);
    ap->name = (char *)(a->name ? a->name : "");
    ap->doc_string = str_or_null(a->doc);
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OT_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; return OCTET_OK;
    case OT_ATTR_INT: ap->has_i = 1; ap->i = a->i; return OCTET_OK;
    case OT_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = a->s ? a->s_len : 0;
        ap->s.data = a->s ? (uint8_t *)a->s : (uint8_t *)empty_bytes;
        return OCTET_OK;
    case OT_ATTR_TENSOR: return build_tensor(S, a->t, NULL, NULL, false, &ap->t);
    case OT_ATTR_GRAPH:
        if (!a->g) break;
        return build_graph(S, a->g, &ap->g);
    case OT_ATTR_FLOATS: ap->n_floats = a->floats ? a->n : 0; ap->floats = a->floats; return OCTET_OK;
    case OT_ATTR_INTS: ap->n_ints = a->ints ? a->n : 0; ap->ints = a->ints; return OCTET_OK;
    case OT_ATTR_STRINGS:
        if (!a->strings || !a->n) return OCTET_OK;
        if (!(ap->strings = palloc(&S->P, a->n, sizeof *ap->strings))) return NOMEM();
        ap->n_strings = a->n;
        for (size_t i = 0; i < a->n; i++) {
            const char *s = a->strings[i] ? a->strings[i] : "";
            ap->strings[i].len = strlen(s);
            ap->strings[i].data = (uint8_t *)s;
        }
        return OCTET_OK;
    case OT_ATTR_TENSORS:
        if (!a->tensors || !a->n) return OCTET_OK;
        if (!(ap->tensors = palloc(&S->P, a->n, sizeof *ap->tensors))) return NOMEM();
        ap->n_tensors = a->n;
        for (size_t i = 0; i < a->n; i++) OT_TRY(build_tensor(S, a->tensors[i], NULL, NULL, false, &ap->tensors[i]));
        return OCTET_OK;
    case OT_ATTR_GRAPHS:
        if (!a->graphs || !a->n) return OCTET_OK;
        if (!(ap->graphs = palloc(&S->P, a->n, sizeof *ap->graphs))) return NOMEM();
        ap->n_graphs = a->n;
        for (size_t i = 0; i < a->n; i++) {
            if (!a->graphs[i]) break;
            OT_TRY(build_graph(S, a->graphs[i], &ap->graphs[i]));
        }
        return OCTET_OK;
    default: break;
    }
    return ot_err(OCTET_ERR_INVALID_ARG, "%s node '%s': attribute '%s' has type %d and no value to save", n->op_type,
                  n->name, ap->name, (int)a->type);
}

static char **name_list(sv *S, char *const *names, int n) {
    char **d = palloc(&S->P, (size_t)n, sizeof *d);
    for (int i = 0; d && i < n; i++) d[i] = (char *)(names && names[i] ? names[i] : "");
    return d;
}

static octet_status build_node(sv *S, const ot_node *n, Onnx__NodeProto **out) {
    Onnx__NodeProto *np = *out = palloc(&S->P, 1, sizeof *np);
    if (!np) return NOMEM();
    onnx__node_proto__init(np);
    if (!n->op_type || !*n->op_type)
        return ot_err(OCTET_ERR_INVALID_ARG, "node '%s' has no op_type", n->name ? n->name : "");
    np->op_type = n->op_type;
    np->name = str_or_null(n->name);
    np->domain = str_or_null(n->domain);
    np->doc_string = str_or_null(n->doc);
    if (n->n_inputs > 0 && !(np->input = name_list(S, n->inputs, n->n_inputs))) return NOMEM();
    np->n_input = n->n_inputs > 0 ? (size_t)n->n_inputs : 0;
    if (n->n_outputs > 0 && !(np->output = name_list(S, n->outputs, n->n_outputs))) return NOMEM();
    np->n_output = n->n_outputs > 0 ? (size_t)n->n_outputs : 0;
    if (n->n_attrs > 0) {
        if (!(np->attribute = palloc(&S->P, (size_t)n->n_attrs, sizeof *np->attribute))) return NOMEM();
        np->n_attribute = (size_t)n->n_attrs;
        for (int i = 0; i < n->n_attrs; i++) OT_TRY(build_attr(S, &n->attrs[i], n, &np->attribute[i]));
    }
    return OCTET_OK;
}

static octet_status build_vis(sv *S, const ot_value_info *v, int n, size_t *count, Onnx__ValueInfoProto ***out) {
    *count = 0;
    if (n <= 0) return OCTET_OK;
    if (!(*out = palloc(&S->P, (size_t)n, sizeof **out))) return NOMEM();
    *count = (size_t)n;
    for (int i = 0; i < n; i++) OT_TRY(build_vi(S, &v[i], &(*out)[i]));
    return OCTET_OK;
}

static octet_status build_graph(sv *S, const ot_graph *g, Onnx__GraphProto **out) {
    Onnx__GraphProto *gp = *out = palloc(&S->P, 1, sizeof *gp);
    if (!gp) return NOMEM();
    onnx__graph_proto__init(gp);
    gp->name = str_or_null(g->name);
    gp->doc_string = str_or_null(g->doc);
    if (g->n_nodes > 0) {
        if (!(gp->node = palloc(&S->P, (size_t)g->n_nodes, sizeof *gp->node))) return NOMEM();
        gp->n_node = (size_t)g->n_nodes;
        for (int i = 0; i < g->n_nodes; i++) OT_TRY(build_node(S, g->nodes[i], &gp->node[i]));
    }
    if (g->n_inits > 0) {
        if (!(gp->initializer = palloc(&S->P, (size_t)g->n_inits, sizeof *gp->initializer))) return NOMEM();
        gp->n_initializer = (size_t)g->n_inits;
        for (int i = 0; i < g->n_inits; i++) {
            const ot_initializer *in = &g->inits[i];
            if (!in->name || !*in->name) return ot_err(OCTET_ERR_INVALID_ARG, "initializer #%d has no name", i);
            OT_TRY(build_tensor(S, in->tensor, in->name, in->doc, true, &gp->initializer[i]));
        }
    }
    OT_TRY(build_vis(S, g->inputs, g->n_inputs, &gp->n_input, &gp->input));
    OT_TRY(build_vis(S, g->outputs, g->n_outputs, &gp->n_output, &gp->output));
    return build_vis(S, g->value_info, g->n_value_info, &gp->n_value_info, &gp->value_info);
}

static octet_status build_model(sv *S, const octet_model *m, Onnx__ModelProto *mp) {
    onnx__model_proto__init(mp);
    mp->has_ir_version = 1;
    mp->ir_version = m->ir_version;
    mp->producer_name = str_or_null(m->producer_name);
    mp->producer_version = str_or_null(m->producer_version);
    mp->domain = str_or_null(m->domain);
    mp->doc_string = str_or_null(m->doc);
    mp->has_model_version = m->model_version != 0;
    mp->model_version = m->model_version;
    if (m->n_opsets > 0) {
        Onnx__OperatorSetIdProto *o = palloc(&S->P, (size_t)m->n_opsets, sizeof *o);
        if (!o || !(mp->opset_import = palloc(&S->P, (size_t)m->n_opsets, sizeof *mp->opset_import))) return NOMEM();
        mp->n_opset_import = (size_t)m->n_opsets;
        for (int i = 0; i < m->n_opsets; i++) {
            onnx__operator_set_id_proto__init(&o[i]);
            o[i].domain = (char *)(m->opsets[i].domain ? m->opsets[i].domain : "");
            o[i].has_version = 1;
            o[i].version = m->opsets[i].version;
            mp->opset_import[i] = &o[i];
        }
    }
    if (m->n_metadata > 0) {
        Onnx__StringStringEntryProto *kv = palloc(&S->P, (size_t)m->n_metadata, sizeof *kv);
        if (!kv || !(mp->metadata_props = palloc(&S->P, (size_t)m->n_metadata, sizeof *mp->metadata_props)))
            return NOMEM();
        mp->n_metadata_props = (size_t)m->n_metadata;
        for (int i = 0; i < m->n_metadata; i++) {
            onnx__string_string_entry_proto__init(&kv[i]);
            kv[i].key = (char *)(m->metadata[i].key ? m->metadata[i].key : "");
            kv[i].value = (char *)(m->metadata[i].value ? m->metadata[i].value : "");
            mp->metadata_props[i] = &kv[i];
        }
    }
    return OCTET_OK;
}

/* ---- writing: count, memory or file ---- */

typedef struct out {
    ot_atomic_file *file;   /* file mode */
    uint8_t *mem;           /* memory mode, cap bytes; NULL with file NULL = count only */
    size_t len, cap;
    octet_status err;
} out;

static void put(out *o, const void *p, size_t n) {
    if (!n || o->err) {
        return;
    } else if (o->file) {
        o->err = ot_atomic_write(o->file, p, n);
    } else if (o->mem) {
        if (n > o->cap - o->len) {
            o->err = ot_err(OCTET_ERR_INTERNAL, "serialized model overflows its computed size");
            return;
        }
        memcpy(o->mem + o->len, p, n);
    }
    o->len += n;
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(out *o, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    put(o, b, n);
}

static void put_len_tag(out *o, uint32_t field, uint64_t len) {
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, len);
}

static size_t len_field_size(uint32_t field, size_t len) {
    return varint_size((uint64_t)field << 3 | 2) + varint_size(len) + len;
}

/* A whole message, packed where it goes (memory) or through a temporary buffer (file). */
static void put_packed(out *o, const ProtobufCMessage *msg, size_t size) {
    if (o->err || !size) return;
    if (!o->file) {
        if (o->mem && size > o->cap - o->len) {
            o->err = ot_err(OCTET_ERR_INTERNAL, "serialized model overflows its computed size");
            return;
        }
        if (o->mem) protobuf_c_message_pack(msg, o->mem + o->len);
        o->len += size;
        return;
    }
    uint8_t stack[4096];
    uint8_t *b = size <= sizeof stack ? stack : malloc(size);
    if (!b) {
        o->err = NOMEM();
        return;
    }
    protobuf_c_message_pack(msg, b);
    put(o, b, size);
    if (b != stack) free(b);
}

static void put_msg_field(out *o, uint32_t field, const ProtobufCMessage *msg) {
    size_t size = protobuf_c_message_get_packed_size(msg);
    put_len_tag(o, field, size);
    put_packed(o, msg, size);
}

static void put_str_field(out *o, uint32_t field, const char *s) {
    if (!s) return;
    size_t n = strlen(s);
    put_len_tag(o, field, n);
    put(o, s, n);
}

/* An initializer: its small fields packed, then raw_data (field 9) straight from the tensor. */
static void put_tensor_field(out *o, uint32_t field, Onnx__TensorProto *tp) {
    if (!tp->has_raw_data || tp->raw_data.len < 4096) {
        put_msg_field(o, field, &tp->base);
        return;
    }
    ProtobufCBinaryData raw = tp->raw_data;
    tp->has_raw_data = 0;
    tp->raw_data.len = 0;
    tp->raw_data.data = NULL;
    size_t head = protobuf_c_message_get_packed_size(&tp->base);
    put_len_tag(o, field, head + len_field_size(9, raw.len));
    put_packed(o, &tp->base, head);
    put_len_tag(o, 9, raw.len);
    put(o, raw.data, raw.len);
    tp->has_raw_data = 1;
    tp->raw_data = raw;
}

static void put_graph_fields(out *o, Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_node; i++) put_msg_field(o, 1, &gp->node[i]->base);
    put_str_field(o, 2, gp->name);
    for (size_t i = 0; i < gp->n_initializer; i++) put_tensor_field(o, 5, gp->initializer[i]);
    put_str_field(o, 10, gp->doc_string);
    for (size_t i = 0; i < gp->n_input; i++) put_msg_field(o, 11, &gp->input[i]->base);
    for (size_t i = 0; i < gp->n_output; i++) put_msg_field(o, 12, &gp->output[i]->base);
    for (size_t i = 0; i < gp->n_value_info; i++) put_msg_field(o, 13, &gp->value_info[i]->base);
}

/* The model's small fields, then the graph (field 7) streamed. */
static void put_model(out *o, Onnx__ModelProto *mp, Onnx__GraphProto *gp, size_t graph_len) {
    put_packed(o, &mp->base, protobuf_c_message_get_packed_size(&mp->base));
    put_len_tag(o, 7, graph_len);
    put_graph_fields(o, gp);
}

/* ---- entry points ---- */

typedef struct built {
    sv S;
    Onnx__ModelProto mp;
    Onnx__GraphProto *gp;
    size_t graph_len, total;
} built;

static octet_status build_all(built *B, const octet_model *m, ext *X) {
    memset(B, 0, sizeof *B);
    B->S.X = X;
    if (!m || !m->graph) return ot_err(OCTET_ERR_INVALID_ARG, "no model to save");
    /* never write a file octet itself would refuse to load */
    OT_TRY(ot_onnx_check_versions(m));
    OT_TRY(ot_onnx_check_node_domains(m));
    OT_TRY(build_model(&B->S, m, &B->mp));
    OT_TRY(build_graph(&B->S, m->graph, &B->gp));
    out count = {0};
    put_graph_fields(&count, B->gp);
    B->graph_len = count.len;
    B->total = protobuf_c_message_get_packed_size(&B->mp.base) + len_field_size(7, B->graph_len);
    if (B->total > PROTOBUF_MAX)
        return ot_err(OCTET_ERR_UNSUPPORTED, "the model is %zu bytes, over protobuf's 2 GB limit; save its weights "
                      "as external data", B->total);
    return OCTET_OK;
}

octet_status ot_model_serialize(const octet_model *m, uint8_t **bytes, size_t *size) {
    if (!bytes || !size) return ot_err(OCTET_ERR_INVALID_ARG, "ot_model_serialize: NULL argument");
    *bytes = NULL;
    *size = 0;
    built B;
    octet_status s = build_all(&B, m, NULL);
    uint8_t *buf = NULL;
    if (s == OCTET_OK && !(buf = malloc(B.total ? B.total : 1))) s = NOMEM();
    if (s == OCTET_OK) {
        out o = {.mem = buf, .cap = B.total};
        put_model(&o, &B.mp, B.gp, B.graph_len);
        s = o.err;
        if (s == OCTET_OK && o.len != B.total)
            s = ot_err(OCTET_ERR_INTERNAL, "serialized %zu bytes, expected %zu", o.len, B.total);
    }
    pool_free(&B.S.P);
    if (s != OCTET_OK) {
        free(buf);
        return ot_onnx_one_line_error(ot_err_prefix(s, "saving model: "));
    }
    *bytes = buf;
    *size = B.total;
    return OCTET_OK;
}

/* The side file's name: a plain file name (no folder) other than the model's own. */
static octet_status external_name(const char *path, const char *asked, char **name) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (asked) {
        if (!*asked || strchr(asked, '/') || strcmp(asked, ".") == 0 || strcmp(asked, "..") == 0 ||
            strcmp(asked, base) == 0)
            return ot_err(OCTET_ERR_INVALID_ARG, "external data file name '%s' must be a plain file name next to "
                          "the model", asked);
        *name = ot_strdup(asked);
    } else {
        size_t n = strlen(base) + 6;
        if ((*name = malloc(n))) snprintf(*name, n, "%s.data", base);
    }
    return *name ? OCTET_OK : NOMEM();
}

octet_status ot_model_save_opts(const octet_model *m, const char *path, const ot_save_options *opts) {
    if (!m || !path || !*path) return ot_err(OCTET_ERR_INVALID_ARG, "octet_model_save: NULL argument");
    ext X;
    memset(&X, 0, sizeof X);
    X.file.fd = -1;
    bool use_ext = opts && opts->external_min_bytes > 0;
    char *loc = NULL, *side = NULL;
    octet_status s = OCTET_OK;
    if (use_ext) {
        s = external_name(path, opts->external_name, &loc);
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        if (s == OCTET_OK && !(side = malloc(dl + strlen(loc) + 1))) s = NOMEM();
        if (s == OCTET_OK) {
            snprintf(side, dl + strlen(loc) + 1, "%.*s%s", (int)dl, path, loc);
            X.location = loc;
            X.min_bytes = opts->external_min_bytes;
            s = ot_atomic_open(&X.file, side);
        }
    }
    built B;
    memset(&B, 0, sizeof B);
    if (s == OCTET_OK) s = build_all(&B, m, use_ext ? &X : NULL);
    if (s == OCTET_OK && use_ext) s = ot_atomic_sync(&X.file);
    ot_atomic_file f;
    bool opened = false;
    if (s == OCTET_OK && (s = ot_atomic_open(&f, path)) == OCTET_OK) {
        opened = true;
        out o = {.file = &f};
        put_model(&o, &B.mp, B.gp, B.graph_len);
        s = o.err;
        if (s == OCTET_OK && o.len != B.total)
            s = ot_err(OCTET_ERR_INTERNAL, "wrote %zu bytes, expected %zu", o.len, B.total);
        if (s == OCTET_OK) s = ot_atomic_sync(&f);
    }
    /* both files are complete and durable: now replace the side file, then the model */
    if (s == OCTET_OK && use_ext) s = ot_atomic_commit(&X.file);
    if (s == OCTET_OK) s = ot_atomic_commit(&f);
    else if (opened) ot_atomic_abort(&f);
    if (use_ext) ot_atomic_abort(&X.file);   /* no-op once committed */
    pool_free(&B.S.P);
    free(loc);
    free(side);
    if (s != OCTET_OK) return ot_onnx_one_line_error(ot_err_prefix(s, "saving '%s': ", path));
    return OCTET_OK;
}

octet_status octet_model_save(const octet_model *m, const char *path) { return ot_model_save_opts(m, path, NULL); }
