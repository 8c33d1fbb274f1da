/* octet's in-memory graph (IR). Mirrors ONNX's structure, with no protobuf types: edges are value
 * names (strings), as in ONNX, and the runtime resolves them to slots once at plan time. */
#ifndef OT_GRAPH_H
#define OT_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "octet.h"
#include "tensor/tensor.h"

struct ot_graph;

/* Numbers are ONNX AttributeProto.AttributeType's. */
typedef enum ot_attr_type {
    OT_ATTR_UNDEFINED = 0,
    OT_ATTR_FLOAT = 1,
    OT_ATTR_INT = 2,
    OT_ATTR_STRING = 3,
    OT_ATTR_TENSOR = 4,
    OT_ATTR_GRAPH = 5,
    OT_ATTR_FLOATS = 6,
    OT_ATTR_INTS = 7,
    OT_ATTR_STRINGS = 8,
    OT_ATTR_TENSORS = 9,
    OT_ATTR_GRAPHS = 10
} ot_attr_type;

typedef struct ot_attr {
    char *name;
    ot_attr_type type;
    float f;
    int64_t i;
    char *s;            /* STRING: bytes, NUL-terminated; s_len excludes the NUL */
    size_t s_len;
    size_t n;           /* element count of the list kinds below */
    float *floats;
    int64_t *ints;
    char **strings;
    octet_tensor *t;    /* TENSOR */
    struct ot_graph *g; /* GRAPH (owned) */
    octet_tensor **tensors;
    struct ot_graph **graphs;
    char *doc;
} ot_attr;

typedef struct ot_node {
    char *name;
    char *op_type;
    char *domain;         /* "" = ai.onnx */
    char *doc;
    int n_inputs;
    char **inputs;        /* "" = omitted optional input */
    int n_outputs;
    char **outputs;       /* "" = unused optional output */
    int n_attrs;
    ot_attr *attrs;
} ot_node;

/* One dimension: value >= 0 when known; otherwise param may name it ("batch") or be NULL. */
typedef struct ot_dim {
    int64_t value;
    char *param;
} ot_dim;

typedef struct ot_value_info {
    char *name;
    octet_dtype dtype;      /* OCTET_UNDEFINED when unknown */
    int ndim;               /* -1 = rank unknown */
    ot_dim dims[OCTET_MAX_DIMS];
    char *doc;
} ot_value_info;

typedef struct ot_initializer {
    char *name;
    octet_tensor *tensor;   /* owned, unless borrowed */
    char *doc;
    bool borrowed;          /* tensor belongs to another model (see ot_model_clone_sharing_weights) */
} ot_initializer;

typedef struct ot_graph {
    char *name;
    char *doc;
    ot_node **nodes;        /* topological order is not assumed: the planner sorts */
    int n_nodes, cap_nodes;
    ot_value_info *inputs;
    int n_inputs, cap_inputs;
    ot_value_info *outputs;
    int n_outputs, cap_outputs;
    ot_value_info *value_info;
    int n_value_info, cap_value_info;
    ot_initializer *inits;
    int n_inits, cap_inits;
} ot_graph;

typedef struct ot_opset {
    char *domain;           /* "" or "ai.onnx" = default domain */
    int64_t version;
} ot_opset;

typedef struct ot_kv {
    char *key, *value;
} ot_kv;

struct octet_model {
    int64_t ir_version;
    ot_opset *opsets;
    int n_opsets;
    char *producer_name, *producer_version, *domain, *doc;
    int64_t model_version;
    ot_kv *metadata;
    int n_metadata;
    ot_graph *graph;
    char *base_dir;         /* folder external data is resolved against (NULL: none allowed) */
};

/* ---- construction / destruction ---- */
octet_model *ot_model_new(void);
ot_graph *ot_graph_new(const char *name);
void ot_graph_free(ot_graph *g);
void ot_node_free(ot_node *n);
void ot_attr_clear(ot_attr *a);
void ot_value_info_clear(ot_value_info *v);
/* Deep copies. */
ot_graph *ot_graph_clone(const ot_graph *g);
octet_model *ot_model_clone(const octet_model *m);
/* A deep copy whose initializers point at m's tensors (borrowed, not copied): for a session's private,
 * rewritable view of a model. m must outlive the copy. */
octet_model *ot_model_clone_sharing_weights(const octet_model *m);

/* New node appended to g (takes nothing; copies strings). NULL on OOM. */
ot_node *ot_graph_add_node(ot_graph *g, const char *op_type, const char *domain, const char *name);
/* Set inputs/outputs (copies the strings; NULL entries become ""). */
octet_status ot_node_set_inputs(ot_node *n, int count, const char *const *names);
octet_status ot_node_set_outputs(ot_node *n, int count, const char *const *names);
/* Turn n into another op (copies the strings); inputs, outputs and attributes stay. */
octet_status ot_node_set_op(ot_node *n, const char *domain, const char *op_type);
/* Add attributes (copies). */
octet_status ot_node_add_attr_int(ot_node *n, const char *name, int64_t v);
octet_status ot_node_add_attr_float(ot_node *n, const char *name, float v);
octet_status ot_node_add_attr_string(ot_node *n, const char *name, const char *v);
octet_status ot_node_add_attr_ints(ot_node *n, const char *name, const int64_t *v, size_t count);
octet_status ot_node_add_attr_floats(ot_node *n, const char *name, const float *v, size_t count);
octet_status ot_node_add_attr_tensor(ot_node *n, const char *name, octet_tensor *t /* taken */);
/* Remove node i of g (frees it); keeps the order of the rest. */
void ot_graph_remove_node(ot_graph *g, int i);

/* Remove initializer i of g (frees its tensor unless borrowed); keeps the order of the rest. */
void ot_graph_remove_initializer(ot_graph *g, int i);
/* Add an initializer (takes ownership of t; replaces one of the same name). */
octet_status ot_graph_add_initializer(ot_graph *g, const char *name, octet_tensor *t);
octet_status ot_graph_add_input(ot_graph *g, const char *name, octet_dtype dtype, int ndim, const int64_t *dims);
octet_status ot_graph_add_output(ot_graph *g, const char *name, octet_dtype dtype, int ndim, const int64_t *dims);
octet_status ot_model_set_opset(octet_model *m, const char *domain, int64_t version);

/* ---- lookup ---- */
const ot_attr *ot_node_attr(const ot_node *n, const char *name);
int64_t ot_node_attr_int(const ot_node *n, const char *name, int64_t dflt);
float ot_node_attr_float(const ot_node *n, const char *name, float dflt);
/* String attribute or dflt. */
const char *ot_node_attr_string(const ot_node *n, const char *name, const char *dflt);
/* Int list: returns count (0 if absent) and sets *out to the array (owned by the node). */
size_t ot_node_attr_ints(const ot_node *n, const char *name, const int64_t **out);
size_t ot_node_attr_floats(const ot_node *n, const char *name, const float **out);
/* Optional input i, or NULL if absent/omitted. */
const char *ot_node_input(const ot_node *n, int i);
const ot_initializer *ot_graph_find_initializer(const ot_graph *g, const char *name);
int ot_graph_find_initializer_index(const ot_graph *g, const char *name);
/* The value of `name` when it is a constant: an initializer that is not also a graph input (such an
 * initializer is only a default the caller may override). NULL otherwise, and for NULL or "". */
const octet_tensor *ot_graph_constant(const ot_graph *g, const char *name);
/* Opset version the model imports for domain ("" / "ai.onnx" are the same), or 0 if none. */
int64_t ot_model_opset(const octet_model *m, const char *domain);
/* True for "" and "ai.onnx". */
bool ot_domain_is_onnx(const char *domain);

#endif
