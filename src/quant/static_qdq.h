/* Static post-training quantization to the QDQ form (see static_qdq.c). */
#ifndef OT_STATIC_QDQ_H
#define OT_STATIC_QDQ_H

#include "quant/calibrate.h"

typedef struct ot_static_config {
    octet_dtype activation_type;   /* OCTET_UINT8 (default) or OCTET_INT8 */
    octet_dtype weight_type;       /* OCTET_INT8 (default) or OCTET_UINT8 */
    bool per_channel;              /* weights per output channel (default) */
    bool symmetric_weights;        /* default true */
    bool symmetric_activations;
    bool reduce_range;
    const char *const *exclude;    /* node names or op types left float */
    int n_exclude;
    bool qoperator;                /* write QLinearConv/QLinearMatMul/com.microsoft QLinear* (default: QDQ) */
} ot_static_config;

typedef struct ot_qdq_params {
    float scale;
    int32_t zero_point;
} ot_qdq_params;

ot_static_config ot_static_config_default(void);

/* Rewrite m (already calibrated with cal, which must have observed m's tensor names) to QDQ.
 * Run ot_pass_constants_to_initializers and ot_pass_fold_batchnorm before calibrating. */
octet_status ot_quantize_static_qdq(octet_model *m, const ot_calib *cal, const ot_static_config *cfg, int *n_quantized);

#endif
