/* Dynamic quantization (PyTorch's quantize_dynamic, for ONNX): weights become 8-bit once, here;
 * activations stay float in memory and are quantized on every call (min/max of the tensor -> uint8)
 * right before an integer matrix product whose int32 result is scaled back to float.
 * No calibration data is needed. What each rewrite produces: docs/DYNAMIC.md. */
#ifndef OT_QUANT_DYNAMIC_H
#define OT_QUANT_DYNAMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

/* How quantized MatMul/Gemm (and Conv) are written. */
typedef enum ot_dynamic_form {
    /* com.microsoft DynamicQuantizeMatMul: one node per product, what ONNX Runtime's optimizer fuses the
     * ONNX form into (default). */
    OT_DYNAMIC_FORM_CONTRIB = 0,
    /* Plain ONNX: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul (-> Add bias); runs anywhere
     * opset >= 11 is supported. */
    OT_DYNAMIC_FORM_ONNX = 1
} ot_dynamic_form;

typedef struct ot_dynamic_config {
    /* Op types to quantize: NULL = the default set MatMul, Gemm (constant weight), LSTM, GRU, RNN.
     * Conv is accepted too (DynamicQuantizeLinear + ConvInteger), but only when named. */
    const char *const *op_types;
    int n_op_types;
    octet_dtype weight_type;       /* OCTET_INT8 (default) or OCTET_UINT8 */
    bool per_channel;              /* one scale per output column (default: per tensor) */
    bool symmetric_weights;        /* default true (zero point 0, or 128 for uint8) */
    bool reduce_range;             /* 7-bit weights ([-64,63] / [0,127]), as PyTorch's and ORT's option: keeps
                                    * u8 x s8 pairs below int16 saturation in AVX2 kernels without VNNI */
    const char *const *exclude;    /* node names or op types left float */
    int n_exclude;
    ot_dynamic_form form;
    bool ort_compatible;           /* only ops ONNX Runtime has: GRU and RNN stay float */
} ot_dynamic_config;

ot_dynamic_config ot_dynamic_config_default(void);

/* What happened to one candidate node (every MatMul/Gemm/LSTM/GRU/RNN/Conv met, in graph order;
 * nodes of other op types are not listed). */
typedef struct ot_dynamic_entry {
    char *node;          /* node name ("" if unnamed) */
    char *op_type;       /* original op type */
    char *graph;         /* "" for the main graph, else the subgraph path ("If_25.then_branch/...") */
    bool quantized;
    char *result;        /* quantized: the new op ("com.microsoft.DynamicQuantizeMatMul", ...) */
    char *reason;        /* left float: why; quantized: a note or NULL */
} ot_dynamic_entry;

typedef struct ot_dynamic_report {
    ot_dynamic_entry *entries;
    int n, cap;
    int n_quantized;
    int n_weights;               /* distinct weight tensors quantized (shared ones count once) */
    int folded_constants;        /* nodes folded so computed weights became initializers */
    bool needs_octet;            /* the result uses ai.octet ops (ONNX Runtime cannot run it) */
    bool needs_contrib;          /* the result uses com.microsoft ops */
    int64_t weight_bytes_before; /* tensors stored in the model (initializers + Constant values, all */
    int64_t weight_bytes_after;  /*  graphs): the ONNX analogue of PyTorch's state_dict size */
} ot_dynamic_report;

void ot_dynamic_report_free(ot_dynamic_report *r);

/* Rewrite m in place. cfg may be NULL (defaults); report may be NULL. On error the model may be
 * partly rewritten (still valid ONNX), and the error says which node failed. */
octet_status ot_quantize_dynamic(octet_model *m, const ot_dynamic_config *cfg, ot_dynamic_report *report);

/* Bytes of every tensor the model stores (initializers and Constant node values, subgraphs too). */
int64_t ot_model_weight_bytes(const octet_model *m);

/* Shared weight quantizer: `groups` float matrices w[g][K][N] (N = output channels, contiguous) become
 * 8-bit q of the same layout, with PyTorch's qparams (ot_calc_qparams) per matrix (scale/zp of shape
 * [groups], or a scalar when scalar_per_tensor and groups == 1) or per output channel ([groups, N], or
 * [N] when groups == 1). reduce_range: 7-bit range. */
octet_status ot_quantize_weights_kn(const float *w, int64_t groups, int64_t K, int64_t N, octet_dtype qt,
                                    bool per_channel, bool symmetric, bool reduce_range, bool scalar_per_tensor,
                                    octet_tensor **q, octet_tensor **scale, octet_tensor **zero_point);

#endif
