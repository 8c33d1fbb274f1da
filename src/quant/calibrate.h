/* Calibration: run a model on sample inputs and record, per float tensor, what observers need.
 * Today: the min/max observer (PyTorch MinMaxObserver) over every float value of the main graph.
 * Calibrators merge (min of mins, max of maxes), so calibration can be split across threads, processes
 * or machines and combined. */
#ifndef OT_CALIBRATE_H
#define OT_CALIBRATE_H

#include "ir/graph.h"

typedef struct ot_range {
    char *name;
    float min, max;
    int64_t count;   /* elements observed */
} ot_range;

typedef struct ot_calib ot_calib;

/* m must outlive the calibrator. */
octet_status ot_calib_create(ot_calib **out, const octet_model *m, int threads);
void ot_calib_free(ot_calib *c);
/* Run one batch (inputs in graph order, initializer-backed inputs excluded) and observe. */
octet_status ot_calib_feed(ot_calib *c, octet_tensor *const *inputs, int n_in);
const ot_range *ot_calib_range(const ot_calib *c, const char *name);
int ot_calib_count(const ot_calib *c);
const ot_range *ot_calib_at(const ot_calib *c, int i);
octet_status ot_calib_merge(ot_calib *dst, const ot_calib *src);

#endif
