/* Vector twins of MLAS's logistic and tanh approximations in their FMA3 form (qc_logistic / qc_tanh with
 * fused multiply-adds), for the quantized recurrent ops' gates: same operations in the same order, so
 * the results are bit-identical to the scalar fmaf code. They handle n rounded down to a multiple of 8
 * and return that count; the caller finishes the tail with the scalar function. */
#ifndef OT_QRNN_ACT_H
#define OT_QRNN_ACT_H

int ot_qrnn_logistic_fma_avx2(float *v, int n);
int ot_qrnn_tanh_fma_avx2(float *v, int n);

/* The default LSTM cell (f = logistic, g = h = tanh, no peepholes, no input_forget) on units [0, n),
 * n rounded down to 8 (returned), as the scalar steps do it one after the other: with the gate
 * pre-activations pi, po, pf, pc (read only) and the fused bias [4H] in i, o, f, c order (or NULL),
 *   i = logistic(cb(pi, bi)), f = logistic(cb(pf, bf)), g = tanh(cb(pc, bc)), c = c * f + i * g,
 *   o = logistic(cb(po, bo)), h = tanh(c) * o      with cb = ORT's clip_add_bias / clip_ignore_bias;
 * bias points at unit 0 of the i block (so bias + H, + 2H, + 3H are o, f, c). */
int ot_qrnn_lstm_cell_fma_avx2(const float *pi, const float *po, const float *pf, const float *pc, const float *bias,
                               int H, float clip, float *c, float *h, int n);

#endif
