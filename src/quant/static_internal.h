/* Shared between the parts of the static quantizer (static_select.c, static_weights.c, static_qdq.c). */
#ifndef OT_STATIC_INTERNAL_H
#define OT_STATIC_INTERNAL_H

#include "quant/static_qdq.h"

/* One activation tensor that gets a QuantizeLinear -> DequantizeLinear pair. */
typedef struct ot_qtensor {
    char *name;
    int share;           /* index of the tensor whose parameters this one takes (output of a value-moving op), or -1 */
    bool fixed;          /* parameters set by the op (Softmax output: scale 1/256, zero point = type minimum) */
    ot_qdq_params p;
    float lo, hi;        /* the range the parameters come from */
} ot_qtensor;

/* A constant operand of Add/Mul quantized like an activation (per tensor). */
typedef struct ot_qconst {
    int node, slot;
} ot_qconst;

typedef struct ot_qplan {
    ot_qtensor *t;
    int n, cap;
    int *weighted;       /* nodes (Conv, ConvTranspose, Gemm, MatMul) whose constant weight becomes int8 */
    int n_weighted, cap_weighted;
    ot_qconst *consts;
    int n_consts, cap_consts;
    int n_nodes;         /* nodes that run quantized */
} ot_qplan;

bool ot_sq_op_is(const ot_node *n, const char *op);
/* A float initializer that no graph input overrides, or NULL. */
const octet_tensor *ot_sq_const(const ot_graph *g, const char *name);
int ot_qplan_find(const ot_qplan *p, const char *name);

/* Decide what gets quantized (static_select.c). */
octet_status ot_sq_select(const ot_graph *g, const ot_calib *cal, const ot_static_config *cfg, ot_qplan *p);
void ot_qplan_free(ot_qplan *p);

/* A plain ai.onnx node with one output (static_weights.c). */
octet_status ot_sq_add_node(ot_graph *g, const char *op, const char *name, int n_in, const char **ins, const char *out,
                            ot_node **made);

/* Weights and constants (static_weights.c). Node indices stay valid: these only append nodes. */
octet_status ot_sq_quantize_weights(ot_graph *g, int node, float x_scale, const ot_static_config *cfg);
octet_status ot_sq_quantize_const(ot_graph *g, int node, int slot, const ot_static_config *cfg);

#endif
