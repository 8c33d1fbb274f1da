/* Per-thread reusable scratch buffers for the float kernels. Large malloc blocks come from mmap and
 * go back to the OS when freed, so a buffer allocated per call costs a page fault per 4 KiB every
 * call; these stay mapped instead. One slot per simultaneous use; buffers are 64-byte aligned,
 * grow-only up to a cap (bigger requests are allocated for the call and released by
 * ot_scratch_f32_done), and freed when their thread exits. */
#ifndef OT_SCRATCH_F32_H
#define OT_SCRATCH_F32_H

#include <stddef.h>

enum { OT_SCRATCH_GEMM, OT_SCRATCH_DW, OT_SCRATCH_PAD, OT_SCRATCH_COL, OT_SCRATCH_SLOTS };

/* At least n floats for this thread's slot; NULL when out of memory. */
float *ot_scratch_f32(int slot, size_t n);
/* Call when done with a buffer from ot_scratch_f32 (frees it if it was too big to keep). */
void ot_scratch_f32_done(int slot, float *p);

#endif
