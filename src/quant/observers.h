/* Range searches over a histogram (src/quant/histogram.h): which [lo, hi] to quantize a tensor with.
 * Each takes the quantized type and the quantizer's symmetric / reduce_range flags, because the best
 * clip depends on the grid the quantizer will use. Formulas and references: docs/OBSERVERS.md.
 * All return false only when out of memory. The histogram must hold at least one value. */
#ifndef OT_OBSERVERS_H
#define OT_OBSERVERS_H

#include <stdbool.h>

#include "octet.h"
#include "quant/histogram.h"

typedef struct ot_qtarget {
    octet_dtype qt;     /* uint8, int8, uint16, int16 */
    bool symmetric;
    bool reduce_range;
} ot_qtarget;

/* Number of quantized levels the quantizer uses: qmax - qmin + 1 (halved by reduce_range). */
int ot_qlevels(const ot_qtarget *t);

/* PyTorch HistogramObserver._non_linear_param_search (L2 norm), on `bins` bins over [min, max]. */
bool ot_range_l2(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi);
/* Percentile pct in (0, 100]: symmetric -> the pct-th percentile of |x|; else both tails cut by
 * (100 - pct) / 2 percent. */
bool ot_range_percentile(const ot_hist *h, double pct, const ot_qtarget *t, float *lo, float *hi);
/* TensorRT entropy calibration: the |x| threshold minimizing KL(P || Q), `bins` bins over [0, max|x|]. */
bool ot_range_entropy(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi);
/* The clip range minimizing the expected squared quantize-dequantize error (rounding + clipping) over
 * the histogram's density, for the exact grid ot_calc_qparams gives; candidates on `bins` steps. */
bool ot_range_mse(const ot_hist *h, int bins, const ot_qtarget *t, float *lo, float *hi);

/* Expected squared error of quantizing the density with (scale, zero_point) to [qmin, qmax].
 * Exported for tests. */
double ot_density_qerror(const ot_density *d, double scale, int zero_point, int qmin, int qmax);

#endif
