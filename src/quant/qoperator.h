/* The QOperator form of a static-quantized model, for files. */
#ifndef OT_QOPERATOR_H
#define OT_QOPERATOR_H

#include "ir/graph.h"

/* Turn the QDQ graph made by ot_quantize_static_qdq into integer operators: QLinearConv, QLinearMatMul
 * (ai.onnx), com.microsoft QGemm / QLinearAdd / QLinearMul / QLinearAveragePool /
 * QLinearGlobalAveragePool / QLinearConcat / QLinearSigmoid / QLinearLeakyRelu / QLinearSoftmax, and
 * MaxPool / Reshape / Resize (nearest) / Pad / ... on the quantized tensors. What has no integer form stays
 * float between DequantizeLinear and QuantizeLinear. Only ops and attributes ONNX Runtime knows are
 * written (checked before returning). *fused (may be NULL): ops rewritten. */
octet_status ot_qdq_to_qoperator_file(octet_model *m, int *fused);

#endif
