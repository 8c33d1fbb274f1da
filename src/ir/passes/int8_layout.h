/* Session pass: run chains of 8-bit convolutions channels-last (NHWC).
 *
 * octet's int8 convolution kernels are channels-last; an ONNX QLinearConv is NCHW, so each one would
 * change layout twice. This pass finds the connected groups of int8 image ops (QLinearConv with 2-D
 * kernels, and what follows them: QLinearAdd/Mul (a one-element constant operand does not count as an
 * image), QLinearSigmoid/LeakyRelu, ai.octet QLinearLookup tables, QLinearConcat,
 * QLinearGlobalAveragePool, QLinearAveragePool, int8 MaxPool, nearest Resize, ai.octet
 * QLinearConvTranspose) and rewrites them to their NHWC forms
 * (com.microsoft QLinearConv / NhwcMaxPool, channels_last=1 pools: the ops ONNX Runtime's NHWC
 * transformer uses), with one Transpose where a group reads from or hands over to NCHW code.
 * A lone convolution stays as it is (two explicit transposes would gain nothing). Values keep their
 * names on the NCHW side, so graph outputs and outside readers are unchanged. Main graph only. */
#ifndef OT_INT8_LAYOUT_H
#define OT_INT8_LAYOUT_H

#include "ir/graph.h"
#include "util/status.h"

/* *converted (may be NULL) receives the number of nodes now running channels-last. */
octet_status ot_pass_int8_nhwc(octet_model *m, int *converted);

#endif
