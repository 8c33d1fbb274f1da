/* Shared by the ops that carry an elementwise program (kernels/gemm_f32_nchwc.h): NchwcConv's post
 * ops and FusedElementwise. Attributes ew_ops (ints: op, a, b per instruction, operands as in
 * ot_ew_ins) and ew_params (floats: p0, p1 per instruction); operand k is the node's input
 * first_const + k: a scalar, or one value per channel laid out [1, blocks, 1, 1, 8] (FusedElementwise
 * also takes computed ones, [N, blocks, 1, 1, 8]). */
#ifndef OT_OPS_F32_FUSED_H
#define OT_OPS_F32_FUSED_H

#include "kernels/gemm_f32_nchwc.h"
#include "ops/op.h"

/* pg->n = 0 when the node has no program. blocks: channel blocks of the tensor it runs on (-1: a
 * plain tensor, scalar constants only); images: its batch. A per-channel operand is [1 or images,
 * blocks, 1, 1, 8] (one set of values per image when its batch is images > 1). */
octet_status ot_ewprog_parse(const ot_kernel *k, const octet_tensor *const *in, int n_in, int first_const,
                             int blocks, int64_t images, ot_ewprog *pg);

#endif
