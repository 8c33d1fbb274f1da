/* Activation functions of the recurrent ops (LSTM, GRU, RNN and their dynamically quantized twins):
 * names, ONNX Runtime's default alpha/beta, parsing from the node's attributes, and applying one. */
#ifndef OT_RNN_ACT_H
#define OT_RNN_ACT_H

#include <stddef.h>

#include "ops/op.h"

typedef enum {
    ACT_RELU,
    ACT_TANH,
    ACT_SIGMOID,
    ACT_AFFINE,
    ACT_LEAKYRELU,
    ACT_THRESHOLDEDRELU,
    ACT_SCALEDTANH,
    ACT_HARDSIGMOID,
    ACT_ELU,
    ACT_SOFTSIGN,
    ACT_SOFTPLUS
} act_kind;

typedef struct {
    act_kind kind;
    float alpha, beta;
} rnn_act;

/* One activation by name (any letter case); alpha/beta are taken from the lists at *ia / *ib when the
 * function uses them, else ONNX Runtime's defaults. */
octet_status ot_rnn_act_parse(const ot_kernel *k, const char *name, const float *alphas, size_t n_alpha, size_t *ia,
                              const float *betas, size_t n_beta, size_t *ib, rnn_act *out);
/* x = f(x) in place. */
void ot_rnn_act_apply(const rnn_act *a, float *x, int n);

#endif
