/*
 * octet — quantize neural networks to int8 and run them fast on CPUs.
 *
 * The whole public C API. Every call returns an octet_status; on failure
 * octet_last_error() gives one readable line that says what went wrong.
 * Handles are opaque. The library never aborts, exits or prints on bad input.
 */
#ifndef OCTET_H
#define OCTET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCTET_VERSION_MAJOR 0
#define OCTET_VERSION_MINOR 1
#define OCTET_VERSION_PATCH 0
#define OCTET_MAX_DIMS 8

/* ---- status ------------------------------------------------------------ */

typedef enum octet_status {
    OCTET_OK = 0,
    OCTET_ERR_INVALID_ARG,   /* a caller passed something unusable          */
    OCTET_ERR_IO,            /* a file could not be read or written         */
    OCTET_ERR_PARSE,         /* a file is not valid ONNX / npy / ...        */
    OCTET_ERR_UNSUPPORTED,   /* valid, but octet cannot do it (yet)         */
    OCTET_ERR_SHAPE,         /* shapes or dtypes do not fit together        */
    OCTET_ERR_NOMEM,         /* out of memory                               */
    OCTET_ERR_INTERNAL       /* a bug in octet: please report it            */
} octet_status;

/* The message of the last failed call on this thread ("" if none). */
const char *octet_last_error(void);
/* A short fixed name for a status ("OCTET_ERR_PARSE"). */
const char *octet_status_name(octet_status s);
const char *octet_version(void);

/* ---- tensors ----------------------------------------------------------- */

/* Element types; the numbers are ONNX TensorProto.DataType's. */
typedef enum octet_dtype {
    OCTET_UNDEFINED = 0,
    OCTET_FLOAT = 1,
    OCTET_UINT8 = 2,
    OCTET_INT8 = 3,
    OCTET_UINT16 = 4,
    OCTET_INT16 = 5,
    OCTET_INT32 = 6,
    OCTET_INT64 = 7,
    OCTET_STRING = 8,
    OCTET_BOOL = 9,
    OCTET_FLOAT16 = 10,
    OCTET_DOUBLE = 11,
    OCTET_UINT32 = 12,
    OCTET_UINT64 = 13
} octet_dtype;

typedef struct octet_tensor octet_tensor;

/* A new zero-filled tensor that owns its data. */
octet_status octet_tensor_create(octet_tensor **out, octet_dtype dtype, int ndim, const int64_t *dims);
/* A tensor over caller memory; the caller keeps it alive and frees it. */
octet_status octet_tensor_wrap(octet_tensor **out, octet_dtype dtype, int ndim, const int64_t *dims,
                               void *data);
void octet_tensor_free(octet_tensor *t);
octet_dtype octet_tensor_dtype(const octet_tensor *t);
int octet_tensor_ndim(const octet_tensor *t);
int64_t octet_tensor_dim(const octet_tensor *t, int axis);
int64_t octet_tensor_count(const octet_tensor *t);  /* number of elements */
void *octet_tensor_data(octet_tensor *t);
const char *octet_dtype_name(octet_dtype dtype);     /* "float32", "int64", ... */
size_t octet_dtype_size(octet_dtype dtype);          /* bytes per element, 0 if unknown */

/* .npy files (float32/64, int8/16/32/64, uint8/16/32/64, bool). */
octet_status octet_npy_load(octet_tensor **out, const char *path);
octet_status octet_npy_save(const octet_tensor *t, const char *path);

/* ---- models ------------------------------------------------------------ */

typedef struct octet_model octet_model;

/* Load an .onnx file; external data is resolved next to it and may not leave its folder. */
octet_status octet_model_load(octet_model **out, const char *path);
/* Load from memory; external data, if any, is resolved against base_dir (NULL = refuse it). */
octet_status octet_model_load_memory(octet_model **out, const void *bytes, size_t size,
                                     const char *base_dir);
/* Write a model; written to a temporary file and renamed, so a failure never leaves half a file. */
octet_status octet_model_save(const octet_model *m, const char *path);
void octet_model_free(octet_model *m);

int octet_model_input_count(const octet_model *m);
int octet_model_output_count(const octet_model *m);
const char *octet_model_input_name(const octet_model *m, int i);
const char *octet_model_output_name(const octet_model *m, int i);

/* ---- sessions ---------------------------------------------------------- */

typedef struct octet_session octet_session;

typedef struct octet_session_options {
    int threads;                      /* 0 = all cores */
    int disable_graph_optimizations;  /* 1 = run the graph exactly as written (no folding or fusion) */
    int profile;                      /* 1 = time every node of the (optimized) main graph */
} octet_session_options;

/* Plan a model for running: folds constants and BatchNormalization, fuses activations into
 * convolutions, resolves every op and packs weights. The session borrows the model's weights:
 * free the model only after the session. opts may be NULL (defaults). */
octet_status octet_session_create(octet_session **out, const octet_model *m,
                                  const octet_session_options *opts);
void octet_session_free(octet_session *s);

/* Run once. inputs[i] is bound to the graph input named names[i] (names == NULL: graph order).
 * outputs receives one new tensor per graph output, in graph order; free each with
 * octet_tensor_free. n_out must equal the number of graph outputs. */
octet_status octet_session_run(octet_session *s, const char *const *names,
                               octet_tensor *const *inputs, int n_in,
                               octet_tensor **outputs, int n_out);

/* Per-node times of a session created with opts.profile = 1, summed over its runs since creation
 * or the last reset. Nodes are those the session runs (after its rewrites: fused and re-laid-out
 * nodes carry the name of the node they came from), in run order; a control-flow node's time
 * includes its subgraphs. The strings live as long as the session. */
typedef struct octet_node_profile {
    const char *name;
    const char *op_type;
    const char *domain;   /* "" = ai.onnx */
    double total_ms;
    long long runs;
} octet_node_profile;

/* Fills up to cap entries and returns the number of nodes (0 when the session is not profiled), so
 * a first call with cap 0 sizes the array. */
int octet_session_profile(const octet_session *s, octet_node_profile *out, int cap);
void octet_session_profile_reset(octet_session *s);

/* ---- quantization ------------------------------------------------------ */

/* Dynamic quantization (PyTorch's quantize_dynamic, for ONNX): weights become int8 now, activations
 * are quantized on every call. No data needed. Rewrites m in place; save it with octet_model_save. */
typedef enum octet_dynamic_form {
    OCTET_DYNAMIC_FORM_CONTRIB = 0,  /* com.microsoft DynamicQuantizeMatMul (default) */
    OCTET_DYNAMIC_FORM_ONNX = 1      /* DynamicQuantizeLinear + MatMulInteger + Cast + Mul */
} octet_dynamic_form;

typedef struct octet_dynamic_config {
    const char *const *op_types;  /* NULL = MatMul, Gemm (constant weight), LSTM, GRU, RNN */
    int n_op_types;
    octet_dtype weight_type;      /* OCTET_INT8 (default) or OCTET_UINT8 */
    int per_channel;              /* one scale per output column (default 0: per tensor) */
    int symmetric_weights;        /* default 1 */
    int reduce_range;             /* 7-bit weights */
    const char *const *exclude;   /* node names or op types kept float */
    int n_exclude;
    octet_dynamic_form form;
    int ort_compatible;           /* GRU and RNN stay float (ONNX Runtime has no int8 version) */
} octet_dynamic_config;

octet_dynamic_config octet_dynamic_config_default(void);
octet_status octet_quantize_dynamic(octet_model *m, const octet_dynamic_config *cfg /* NULL = defaults */);

/* Static post-training quantization:
 *   octet_static_prepare(m);                         constants, opset raise, BN and Mul/Add folding
 *   octet_calibrator_create(&c, m, &opts);           observe activation ranges ...
 *   octet_calibrator_feed(c, inputs, n) ...          ... on calibration batches
 *   octet_quantize_static(m, c, &cfg);               int8 weights, int8 activations (QDQ or QOperator)
 * Calibrators over the same model merge (octet_calibrator_merge): calibrating parts separately and
 * merging equals calibrating on everything at once, exactly, for every method but EMA (which depends on
 * batch order; its merge is the sample-weighted average). Observer formulas: docs/OBSERVERS.md. */
typedef struct octet_calibrator octet_calibrator;

typedef enum octet_calib_method {
    OCTET_CALIB_MINMAX = 0,     /* min and max seen (PyTorch MinMaxObserver) */
    OCTET_CALIB_EMA = 1,        /* moving average of per-batch min/max (MovingAverageMinMaxObserver) */
    OCTET_CALIB_HISTOGRAM = 2,  /* histogram, L2-norm clip search (HistogramObserver) */
    OCTET_CALIB_PERCENTILE = 3, /* histogram percentile */
    OCTET_CALIB_ENTROPY = 4,    /* histogram, KL-divergence threshold (TensorRT) */
    OCTET_CALIB_MSE = 5         /* histogram, clip range minimizing quantization MSE */
} octet_calib_method;

typedef struct octet_calibrator_options {
    int threads;                /* threads that run the model (0 = 1) */
    octet_calib_method method;  /* default OCTET_CALIB_MINMAX */
    double percentile;          /* OCTET_CALIB_PERCENTILE (default 99.999) */
    double ema_constant;        /* OCTET_CALIB_EMA (default 0.01) */
    int bins;                   /* histogram methods (default 2048) */
} octet_calibrator_options;

typedef enum octet_static_format {
    OCTET_FORMAT_QDQ = 0,       /* QuantizeLinear/DequantizeLinear pairs around float ops (default) */
    OCTET_FORMAT_QOPERATOR = 1  /* QLinearConv, QLinearMatMul, com.microsoft QLinear* ops */
} octet_static_format;

typedef struct octet_static_config {
    octet_dtype activation_type;  /* OCTET_UINT8 (default) or OCTET_INT8 */
    octet_dtype weight_type;      /* OCTET_INT8 (default) */
    int per_channel;              /* weights per output channel (default 1) */
    int symmetric_weights;        /* default 1 */
    int symmetric_activations;    /* default 0 */
    int reduce_range;             /* 7-bit activation ranges (PyTorch's reduce_range) */
    int weight_bits;              /* 8 (default; 0 means 8) or 7: weights in [-64, 64] (ONNX Runtime's
                                   * reduce_range), which AVX2 CPUs without VNNI run on octet's exact
                                   * vpmaddubsw kernels, ~1.2-1.3x faster, at some accuracy cost */
    const char *const *exclude;   /* node names or op types kept float */
    int n_exclude;
    octet_static_format format;   /* default OCTET_FORMAT_QDQ */
} octet_static_config;

octet_calibrator_options octet_calibrator_options_default(void);
octet_static_config octet_static_config_default(void);
octet_status octet_static_prepare(octet_model *m);
/* opts may be NULL (defaults). m must outlive the calibrator. */
octet_status octet_calibrator_create(octet_calibrator **out, const octet_model *m,
                                     const octet_calibrator_options *opts);
octet_status octet_calibrator_feed(octet_calibrator *c, octet_tensor *const *inputs, int n_in);
octet_status octet_calibrator_merge(octet_calibrator *dst, const octet_calibrator *src);
void octet_calibrator_free(octet_calibrator *c);
octet_status octet_quantize_static(octet_model *m, const octet_calibrator *c, const octet_static_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
