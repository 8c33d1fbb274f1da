/* Vector twins of MLAS's logistic and tanh approximations in their FMA3 form (qc_logistic / qc_tanh with
 * fused multiply-adds), for the quantized recurrent ops' gates: same operations in the same order, so
 * the results are bit-identical to the scalar fmaf code. They handle n rounded down to a multiple of 8
 * and return that count; the caller finishes the tail with the scalar function. */
#ifndef OT_QRNN_ACT_H
#define OT_QRNN_ACT_H

int ot_qrnn_logistic_fma_avx2(float *v, int n);
int ot_qrnn_tanh_fma_avx2(float *v, int n);

#endif
