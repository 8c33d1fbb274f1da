/* Folding per-output-channel affine maps (y * s + t) into the linear op that produces y. */
#ifndef OT_FOLD_AFFINE_H
#define OT_FOLD_AFFINE_H

#include "ir/passes/passes.h"

/* Output channels of node (Conv, ConvTranspose: axis 1; Gemm, MatMul with a 2-D constant weight: last
 * axis), or -1 when its weight is not a constant float initializer. */
int64_t ot_linear_out_channels(const ot_graph *g, const ot_node *n);

/* Make node `idx` compute y * s[m] + t[m] (s or t may be NULL = 1 / 0) under the name new_out. New
 * weights get new names (shared originals stay). A MatMul becomes a Gemm when t is given, so its input
 * must be 2-D (the caller knows). */
octet_status ot_fold_output_affine(ot_graph *g, int idx, const float *s, const float *t, const char *new_out);

/* Mul / Add by a constant that broadcasts along the output channel only (a scalar, [M,1,1], [1,M,1,1],
 * Gemm: [M], [1,M]), right after a Conv / ConvTranspose / Gemm whose output nothing else reads, goes into
 * the op's weights and bias (PaddleOCR v4's learnable affine blocks: Conv -> Mul(a) -> Add(b)). */
octet_status ot_pass_fold_affine(octet_model *m, int *folded);

#endif
