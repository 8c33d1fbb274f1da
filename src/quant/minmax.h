/* Min/max observation: whole tensors (fast, parallel), weights per channel, and the moving-average step
 * of PyTorch's MovingAverageMinMaxObserver. Formulas: docs/OBSERVERS.md. */
#ifndef OT_MINMAX_H
#define OT_MINMAX_H

#include <stdint.h>

/* Min and max of the finite values of x[0..n) (NaN and +-inf skipped); *mn > *mx when there is none.
 * threads > 1 splits big arrays. */
void ot_minmax_f32(const float *x, int64_t n, int threads, float *mn, float *mx);

/* Per-channel min/max (PerChannelMinMaxObserver): x viewed as [outer, nch, inner]; mn, mx have nch
 * entries. Non-finite values are skipped as above. */
void ot_minmax_per_channel(const float *x, int64_t outer, int64_t nch, int64_t inner, float *mn, float *mx);

/* v + c * (batch - v) in float arithmetic, as MovingAverageMinMaxObserver.forward computes it. */
float ot_ema_step(float v, float batch, float c);

#endif
