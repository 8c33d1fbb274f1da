/* Float convolution chains in the blocked channel layout NCHWc (kernels/gemm_f32_nchwc.h), as ONNX
 * Runtime's NCHWc transformer does: session time only, for CPUs with AVX2.
 *
 * 1. Candidates: every 2-D float Conv / FusedConv with constant weights, group 1 or depthwise; then,
 *    in topological order, on blocked inputs: MaxPool (ceil_mode 0, no Indices), GlobalAveragePool,
 *    GlobalMaxPool, per-element unary ops (Relu, Clip, Sigmoid, HardSigmoid, ...), nearest Resize of
 *    H and W, Concat over channels (whole blocks but the last), and binary ops (Add, Sub, Mul, Div,
 *    Max, Min, PRelu, Pow) whose operands are blocked values of the same channel count or constants
 *    (scalars, or per-channel / spatial shapes, which get blocked copies). A convolution that would
 *    be blocked alone (plain input, no blocked reader) is left as it is.
 * 2. Fusion: Add(conv output, other blocked value) becomes the convolution's sum input Z when the Add
 *    is the output's only reader, and a Relu or Clip after that Add becomes its activation (ResNet
 *    and MobileNet blocks).
 * 3. Rewrite: blocked values get new names; convolutions become ai.octet NchwcConv, pools
 *    NchwcMaxPool / NchwcGlobalAveragePool / NchwcGlobalMaxPool, Resize NchwcResize; ReorderInput (to blocked) and
 *    ReorderOutput (back) are inserted at the edges of the blocked regions, one per value, and before
 *    graph outputs. A convolution on a plain input with fewer than 8 channels reads it in place.
 * Graphs with subgraphs (If / Loop / Scan) are left alone. Results are bit-identical to the plain
 * graph's (the blocked kernels sum in the same order). */
#ifndef OT_PASS_NCHWC_H
#define OT_PASS_NCHWC_H

#include "ir/graph.h"

octet_status ot_pass_nchwc(octet_model *m, int *converted);

/* Elementwise chains (ot_pass_nchwc runs it last): a group of per-element float ops (Add, Sub, Mul,
 * Div, Max, Min, PRelu, Relu, LeakyRelu, Clip, HardSigmoid, HardSwish) fed by one convolution or
 * blocked tensor plus constants (float scalars; per-channel ones on blocked tensors), whose
 * intermediate values only the group reads, becomes an elementwise program: run by the NchwcConv
 * that makes the tensor (when nothing else reads it), else by one ai.octet FusedElementwise node. */
octet_status ot_pass_fuse_elementwise(octet_model *m, int *fused);

#endif
