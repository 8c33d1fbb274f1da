/* Calibration: run a model on sample inputs and record, per float tensor of the main graph, what the
 * chosen observer needs (docs/OBSERVERS.md). Calibrators merge, so calibration can be split across
 * threads, processes or machines and combined. */
#ifndef OT_CALIBRATE_H
#define OT_CALIBRATE_H

#include "ir/graph.h"

typedef struct ot_range {
    char *name;
    float min, max;
    int64_t count;   /* elements observed */
} ot_range;

typedef struct ot_calib ot_calib;

typedef enum ot_calib_method {
    OT_CALIB_MINMAX = 0,   /* PyTorch MinMaxObserver */
    OT_CALIB_EMA,          /* MovingAverageMinMaxObserver */
    OT_CALIB_HISTOGRAM,    /* HistogramObserver: L2-norm clip search */
    OT_CALIB_PERCENTILE,
    OT_CALIB_ENTROPY,      /* KL divergence, as TensorRT */
    OT_CALIB_MSE
} ot_calib_method;

typedef struct ot_calib_options {
    int threads;           /* for running the model; <= 0 means 1 */
    ot_calib_method method;
    double percentile;     /* OT_CALIB_PERCENTILE, default 99.999 */
    double ema_constant;   /* OT_CALIB_EMA averaging constant, default 0.01 */
    int bins;              /* histogram methods, default 2048 */
} ot_calib_options;

ot_calib_options ot_calib_options_default(void);

/* m must outlive the calibrator. opts NULL = defaults (min/max, 1 thread). */
octet_status ot_calib_create(ot_calib **out, const octet_model *m, const ot_calib_options *opts);
void ot_calib_free(ot_calib *c);
/* Run one batch (inputs in graph order, initializer-backed inputs excluded) and observe. */
octet_status ot_calib_feed(ot_calib *c, octet_tensor *const *inputs, int n_in);
/* The raw observed min/max of a tensor, or NULL if calibration never saw it. */
const ot_range *ot_calib_range(const ot_calib *c, const char *name);
/* The range [*lo, *hi] to quantize tensor `name` with, as the calibrator's method chooses it for
 * quantized type qt (symmetric / reduce_range as the quantizer will use them). */
octet_status ot_calib_choose_range(const ot_calib *c, const char *name, octet_dtype qt, bool symmetric,
                                   bool reduce_range, float *lo, float *hi);
int ot_calib_count(const ot_calib *c);
const ot_range *ot_calib_at(const ot_calib *c, int i);
octet_status ot_calib_merge(ot_calib *dst, const ot_calib *src);

#endif
