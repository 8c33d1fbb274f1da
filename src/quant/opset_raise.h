/* Raise a model's ai.onnx opset (for quantization: per-axis QuantizeLinear/DequantizeLinear need 13). */
#ifndef OT_OPSET_RAISE_H
#define OT_OPSET_RAISE_H

#include "ir/graph.h"

/* Rewrite every node whose form changed between the model's ai.onnx opset and `target` (attributes
 * that became inputs: Clip<11, Slice<10, Pad<11, Squeeze/Unsqueeze/Split/ReduceSum<13, TopK<10;
 * Softmax/LogSoftmax/Hardmax<13 whose axis is not the last one; Dropout<12), main graph and subgraphs,
 * then set the opset. OCTET_ERR_UNSUPPORTED (model unchanged) for ops it cannot convert (Upsample,
 * Scatter, Resize-10, opsets < 7). Does nothing when the opset is already >= target. */
octet_status ot_raise_opset(octet_model *m, int64_t target);

#endif
