/* Graph-to-graph passes over the IR. Each returns OCTET_OK and leaves a valid graph, or an error
 * with the graph unchanged where that is possible. */
#ifndef OT_PASSES_H
#define OT_PASSES_H

#include "ir/graph.h"
#include "util/status.h"

/* Remove nodes whose outputs nobody uses (recursively in subgraphs) and unused initializers.
 * *removed (may be NULL) receives the number of nodes removed. */
octet_status ot_pass_dce(octet_model *m, int *removed);

/* Evaluate every node whose inputs are all constant (initializers, Constant nodes) and replace it by
 * initializers; Constant nodes become initializers. Works inside subgraphs too. Results larger than
 * max_bytes (0 = 64 MiB) are left unfolded so a model file never balloons. */
octet_status ot_pass_fold_constants(octet_model *m, size_t max_bytes, int *folded);

/* Only Constant nodes become initializers (so later passes see weights as initializers). */
octet_status ot_pass_constants_to_initializers(octet_model *m, int *converted);

/* QDQ -> QOperator: DequantizeLinear -> Conv/MatMul [-> Relu/Clip] -> QuantizeLinear becomes QLinearConv /
 * QLinearMatMul (activation folded into integer clamp bounds); data-movement ops wrapped in DQ/Q with the
 * same parameters run on the quantized tensor. Run before constant folding (which would fold the weights'
 * DequantizeLinear away). */
octet_status ot_pass_qdq_to_qoperator(octet_model *m, int *fused);

/* Concrete shapes for symbolic input dimensions: name=value pairs ("batch"=1); dims with no binding
 * default to `dflt`. */
typedef struct ot_dim_binding {
    const char *param;
    int64_t value;
} ot_dim_binding;

/* Shape inference by probing: runs the graph once on zero-filled inputs whose symbolic dimensions are
 * bound as given, and a second time with every symbolic dimension + 1, then records every value's dtype and
 * shape in graph->value_info. A dimension that changes between the two runs is kept symbolic (named after
 * the input dimension it follows when there is one, else unknown). input_shapes may override whole input
 * shapes (NULL entries = declared). */
octet_status ot_infer_shapes(octet_model *m, const ot_dim_binding *bind, int n_bind, int64_t dflt);

/* With every graph input fully static, replace Shape/Size of statically shaped values by constants and
 * fold what follows (Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains). Needs ot_infer_shapes
 * first. */
octet_status ot_pass_fold_shapes(octet_model *m, int *folded);

/* Fold BatchNormalization (inference) into a preceding Conv / ConvTranspose / Gemm / 2-D MatMul (which
 * becomes a Gemm) whose weights are constant and whose output only the BatchNormalization reads. New weights get new names; shared originals stay. */
octet_status ot_pass_fold_batchnorm(octet_model *m, int *folded);

/* Runtime fusion: Conv followed by Relu / Clip (constant bounds) / LeakyRelu / Sigmoid / Tanh /
 * HardSigmoid, where the activation is the Conv output's only reader, becomes one com.microsoft
 * FusedConv node (as ONNX Runtime does). For sessions, not for files meant for other tools. */
octet_status ot_pass_fuse_conv_activation(octet_model *m, int *fused);

/* Ops whose output values are a selection of their first input's (Reshape, Flatten, MaxPool, Transpose,
 * Squeeze, Unsqueeze, Slice, Identity): they can share its quantization parameters and run on the
 * quantized tensor. One list, so the static quantizer and the QDQ fusion agree. MaxPool counts because
 * quantization is monotonic: the max of quantized values is the quantized max. */
bool ot_op_moves_values(const ot_node *n);

/* How many places read `name` in g: node inputs (incl. reads from inside subgraphs) and graph outputs. */
int ot_graph_count_reads(const ot_graph *g, const char *name);
/* Index of the first node of g reading name (-1 if none). */
int ot_graph_find_reader(const ot_graph *g, const char *name);
/* A name not used in g yet, built from base and suffix; caller frees. */
char *ot_graph_unique_name(const ot_graph *g, const char *base, const char *suffix);

/* Find the value_info record of a name in g (inputs, outputs, value_info), or NULL. */
const ot_value_info *ot_graph_value_info(const ot_graph *g, const char *name);

#endif
