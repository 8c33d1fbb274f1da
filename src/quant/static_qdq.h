/* Static post-training quantization: graph preparation, then the QDQ form (static_qdq.c) or the
 * QOperator form made from it (qoperator.c). */
#ifndef OT_STATIC_QDQ_H
#define OT_STATIC_QDQ_H

#include "quant/calibrate.h"

typedef struct ot_static_config {
    octet_dtype activation_type;   /* OCTET_UINT8 (default) or OCTET_INT8 */
    octet_dtype weight_type;       /* OCTET_INT8 (default) or OCTET_UINT8 */
    bool per_channel;              /* weights per output channel (default) */
    bool symmetric_weights;        /* default true */
    bool symmetric_activations;
    bool reduce_range;             /* 7-bit activations */
    bool weights_7bit;             /* weights in [-64, 64] (symmetric: amax / 63.5 puts the extreme at 64) */
    const char *const *exclude;    /* node names or op types left float */
    int n_exclude;
    bool qoperator;                /* write QLinearConv/QLinearMatMul/com.microsoft QLinear* (default: QDQ) */
} ot_static_config;

typedef struct ot_qdq_params {
    float scale;
    int32_t zero_point;
} ot_qdq_params;

ot_static_config ot_static_config_default(void);

/* What ot_static_prepare did. */
typedef struct ot_static_prep {
    int constants;          /* Constant nodes that became initializers */
    int folded;             /* nodes evaluated at preparation time */
    int batchnorms;         /* BatchNormalization folded into Conv / ConvTranspose / Gemm / MatMul */
    int affines;            /* Mul / Add by constants folded into the Conv / Gemm before them */
    int hardswishes;        /* hand-written hard-swish patterns made one HardSwish */
    int removed;            /* dead nodes removed */
    int64_t opset_from, opset_to;
} ot_static_prep;

/* Graph preparation before calibration: Constant nodes -> initializers (PaddleOCR keeps its weights in
 * Constant nodes), constant folding, ai.onnx opset raised to 13 (per-axis parameters; 14 where a
 * hand-written hard-swish becomes HardSwish), BatchNormalization
 * and per-channel Mul/Add folded into the producing Conv / ConvTranspose / Gemm / MatMul, dead code
 * removed. rep may be NULL. */
octet_status ot_static_prepare(octet_model *m, ot_static_prep *rep);

/* Rewrite m (already prepared and calibrated with cal, which must have observed m's tensor names) to QDQ,
 * or to QOperator when cfg->qoperator. *n_quantized (may be NULL): nodes that run quantized. */
octet_status ot_quantize_static_qdq(octet_model *m, const ot_calib *cal, const ot_static_config *cfg, int *n_quantized);

#endif
