#include "ops/rnn_act.h"

#include <math.h>
#include <stdbool.h>
#include <strings.h>

#include "kernels/rnn_f32.h"

/* Which activations take alpha/beta, and their defaults when the lists run out (as ONNX Runtime). */
static const struct {
    const char *name;
    act_kind kind;
    bool takes_alpha, takes_beta;
    float alpha, beta;
} k_acts[] = {
    {"Relu", ACT_RELU, false, false, 0.0f, 0.0f},
    {"Tanh", ACT_TANH, false, false, 0.0f, 0.0f},
    {"Sigmoid", ACT_SIGMOID, false, false, 0.0f, 0.0f},
    {"Affine", ACT_AFFINE, true, true, 0.0f, 0.0f},
    {"LeakyRelu", ACT_LEAKYRELU, true, false, 0.01f, 0.0f},
    {"ThresholdedRelu", ACT_THRESHOLDEDRELU, true, false, 0.0f, 0.0f},
    {"ScaledTanh", ACT_SCALEDTANH, true, true, 0.0f, 0.0f},
    {"HardSigmoid", ACT_HARDSIGMOID, true, true, 0.2f, 0.5f},
    {"Elu", ACT_ELU, true, false, 1.0f, 0.0f},
    {"Softsign", ACT_SOFTSIGN, false, false, 0.0f, 0.0f},
    {"Softplus", ACT_SOFTPLUS, false, false, 0.0f, 0.0f},
};

octet_status ot_rnn_act_parse(const ot_kernel *k, const char *name, const float *alphas, size_t n_alpha,
                              size_t *ia, const float *betas, size_t n_beta, size_t *ib, rnn_act *out) {
    for (size_t i = 0; i < sizeof k_acts / sizeof *k_acts; i++) {
        if (strcasecmp(name, k_acts[i].name) != 0) continue;
        out->kind = k_acts[i].kind;
        out->alpha = k_acts[i].alpha;
        out->beta = k_acts[i].beta;
        if (k_acts[i].takes_alpha && *ia < n_alpha) out->alpha = alphas[(*ia)++];
        if (k_acts[i].takes_beta && *ib < n_beta) out->beta = betas[(*ib)++];
        return OCTET_OK;
    }
    return ot_node_err(k, OCTET_ERR_UNSUPPORTED,
                       "activation '%s' is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, "
                       "ScaledTanh, HardSigmoid, Elu, Softsign, Softplus",
                       name);
}

void ot_rnn_act_apply(const rnn_act *a, float *x, int n) {
    float al = a->alpha, be = a->beta;
    switch (a->kind) {
    case ACT_SIGMOID: ot_rnn_sigmoid(x, n); break;
    case ACT_TANH: ot_rnn_tanh(x, n); break;
    case ACT_RELU:
        for (int i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ACT_AFFINE:
        for (int i = 0; i < n; i++) x[i] = al * x[i] + be;
        break;
    case ACT_LEAKYRELU:
        for (int i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : al * x[i];
        break;
    case ACT_THRESHOLDEDRELU:
        for (int i = 0; i < n; i++) x[i] = x[i] > al ? x[i] : 0.0f;
        break;
    case ACT_SCALEDTANH:
        for (int i = 0; i < n; i++) x[i] *= be;
        ot_rnn_tanh(x, n);
        for (int i = 0; i < n; i++) x[i] *= al;
        break;
    case ACT_HARDSIGMOID:
        for (int i = 0; i < n; i++) x[i] = fmaxf(0.0f, fminf(1.0f, al * x[i] + be));
        break;
    case ACT_ELU:
        for (int i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : al * (expf(x[i]) - 1.0f);
        break;
    case ACT_SOFTSIGN:
        for (int i = 0; i < n; i++) x[i] = x[i] / (1.0f + fabsf(x[i]));
        break;
    case ACT_SOFTPLUS: /* log(1 + e^x) without overflow */
        for (int i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] + log1pf(expf(-x[i])) : log1pf(expf(x[i]));
        break;
    }
}

