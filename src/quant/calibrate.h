/* Calibration: run a model on sample inputs and record, per float tensor of the main graph, what the
 * chosen observer needs (docs/OBSERVERS.md). Calibrators merge, so calibration can be split across
 * threads, processes or machines and combined. */
#ifndef OT_CALIBRATE_H
#define OT_CALIBRATE_H

#include "ir/graph.h"
#include "quant/histogram.h"

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

/* A field left 0 takes its default, so `&(ot_calib_options){.threads = 2}` is min/max on 2 threads. */
typedef struct ot_calib_options {
    int threads;           /* for running the model and observing; <= 0 means 1 */
    ot_calib_method method;
    double percentile;     /* OT_CALIB_PERCENTILE, in (0, 100]; default 99.999 */
    double ema_constant;   /* OT_CALIB_EMA averaging constant, in (0, 1]; default 0.01 */
    int bins;              /* histogram methods, in [16, 2^20]; default 2048 */
} ot_calib_options;

ot_calib_options ot_calib_options_default(void);

/* m must outlive the calibrator; m NULL makes one that only takes ot_calib_observe. opts NULL = defaults
 * (min/max, 1 thread). Out-of-range options fail with OCTET_ERR_INVALID_ARG. */
octet_status ot_calib_create(ot_calib **out, const octet_model *m, const ot_calib_options *opts);
void ot_calib_free(ot_calib *c);
/* Run one batch (inputs in graph order, initializer-backed inputs excluded) and observe. */
octet_status ot_calib_feed(ot_calib *c, octet_tensor *const *inputs, int n_in);
/* Observe one value as feeding does for every float tensor of the main graph (other dtypes ignored). */
octet_status ot_calib_observe(ot_calib *c, const char *name, const octet_tensor *t);
/* The raw observed min/max of a tensor (finite values; min > max if it held none, e.g. only empty
 * tensors), or NULL if calibration never saw it. */
const ot_range *ot_calib_range(const ot_calib *c, const char *name);
/* The range [*lo, *hi] to quantize tensor `name` with, as the calibrator's method chooses it for
 * quantized type qt (symmetric / reduce_range as the quantizer will use them). */
octet_status ot_calib_choose_range(const ot_calib *c, const char *name, octet_dtype qt, bool symmetric,
                                   bool reduce_range, float *lo, float *hi);
int ot_calib_count(const ot_calib *c);
const ot_range *ot_calib_at(const ot_calib *c, int i);
/* dst += src: afterwards dst is what one calibration over both calibrations' batches gives (exactly, for
 * every method but EMA, whose merge is the count-weighted mean of the two averages; docs/OBSERVERS.md).
 * dst's method decides what src must hold: min/max takes any; EMA needs EMA with the same constant;
 * the histogram methods need a histogram method with the same bins. */
octet_status ot_calib_merge(ot_calib *dst, const ot_calib *src);
/* The options in force (defaults filled in). */
const ot_calib_options *ot_calib_get_options(const ot_calib *c);
/* The histogram of a tensor (histogram methods), or NULL. */
const ot_hist *ot_calib_hist(const ot_calib *c, const char *name);

#endif
