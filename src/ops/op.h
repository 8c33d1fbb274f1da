/* The operator interface. Each op family lives in one file (conv.c, elementwise.c, ...) and exports
 * a table of ot_op_def; registry.c collects the tables. An op is looked up by (domain, op_type);
 * opset differences (attributes that became inputs, ...) are handled inside the op via k->opset. */
#ifndef OT_OP_H
#define OT_OP_H

#include <stdbool.h>

#include "ir/graph.h"
#include "tensor/tensor.h"
#include "util/status.h"

struct ot_exec;
struct ot_op_def;

/* One planned node. */
typedef struct ot_kernel {
    const ot_node *node;
    const struct ot_op_def *def;
    int64_t opset;           /* the model's opset for the node's domain */
    int threads;             /* worker threads this kernel may use (>= 1) */
    void *state;             /* whatever prepare() stored; freed by def->release */
    struct ot_exec *exec;    /* runtime services (subgraph runs) */
    void *subplans;          /* runtime-owned plans of the node's graph attributes */
} ot_kernel;

/* prepare: called once when the session is created. consts[i] is the value of input i when it is
 *   an initializer or folded constant (else NULL), so weights can be packed once. May be NULL.
 * run: in[i] is NULL for an omitted optional input. out[i] is an empty tensor struct to fill with
 *   ot_tensor_alloc (NULL when the node leaves output i unused). Must validate shapes and dtypes and
 *   return OCTET_ERR_SHAPE / OCTET_ERR_UNSUPPORTED with a clear message, never crash. */
typedef struct ot_op_def {
    const char *domain;      /* "" = ai.onnx, "com.microsoft", "ai.octet" */
    const char *op_type;
    octet_status (*prepare)(ot_kernel *k, const octet_tensor *const *consts, int n_in);
    octet_status (*run)(ot_kernel *k, const octet_tensor *const *in, int n_in, octet_tensor **out, int n_out);
    void (*release)(void *state);
} ot_op_def;

/* Find the op for a node; NULL if octet does not have it. */
const ot_op_def *ot_op_find(const char *domain, const char *op_type);
/* All registered ops, for listings and tests. */
int ot_op_count(void);
const ot_op_def *ot_op_at(int i);

/* Helpers for kernels. */
#define OT_NODE_ERR(k, status, ...) ot_node_err((k), (status), __VA_ARGS__)
octet_status ot_node_err(const ot_kernel *k, octet_status s, const char *fmt, ...) OT_PRINTF(3, 4);
/* Require n_in within [lo, hi] and required inputs non-NULL (first `lo`). */
octet_status ot_check_inputs(const ot_kernel *k, const octet_tensor *const *in, int n_in, int lo, int hi);
/* Require a dtype. */
octet_status ot_check_dtype(const ot_kernel *k, const octet_tensor *t, int input_index, octet_dtype want);
/* Normalize a possibly negative axis into [0, rank); error if out of range. */
octet_status ot_norm_axis(const ot_kernel *k, int64_t axis, int rank, int *out);

/* Every op family exports one of these (terminated by an entry with op_type == NULL). */
#define OT_OP_FAMILIES(X) \
    X(elementwise)        \
    X(unary)              \
    X(logical)            \
    X(reduce)             \
    X(shape)              \
    X(tensor_ops)         \
    X(gemm)               \
    X(conv)               \
    X(pool)               \
    X(norm)               \
    X(softmax)            \
    X(resize)             \
    X(rnn)                \
    X(control)            \
    X(quantize)           \
    X(qlinear)            \
    X(qcontrib)           \
    X(octet_domain)       \
    X(octet_int8)         \
    X(octet_qconvt)       \
    X(f32_fused)

#define OT_DECLARE_FAMILY(name) extern const ot_op_def ot_ops_##name[];
OT_OP_FAMILIES(OT_DECLARE_FAMILY)
#undef OT_DECLARE_FAMILY

#endif
