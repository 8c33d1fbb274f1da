/* Scalar exp / sigmoid / tanh used by the recurrent ops. The AVX2 versions in rnn_f32_avx2.c do the
 * same operations in the same order, so both give identical bits.
 *
 * exp: Cody-Waite range reduction x = n*ln2 + r with a degree-5 polynomial for e^r (Cephes expf
 * coefficients), then scaling by 2^n through the exponent bits; input clamped to [-88, 88].
 * tanh: odd polynomial below |x| = 0.625 (Cephes tanhf), else 1 - 2/(e^{2|x|} + 1) with |x| <= 9. */
#ifndef OT_RNN_F32_MATH_H
#define OT_RNN_F32_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define OT_RNN_EXP_HI 88.0f
#define OT_RNN_EXP_LO (-88.0f)
#define OT_RNN_LOG2E 1.44269504088896341f
#define OT_RNN_LN2_HI 0.693359375f
#define OT_RNN_LN2_LO (-2.12194440e-4f)
#define OT_RNN_EXP_P0 1.9875691500e-4f
#define OT_RNN_EXP_P1 1.3981999507e-3f
#define OT_RNN_EXP_P2 8.3334519073e-3f
#define OT_RNN_EXP_P3 4.1665795894e-2f
#define OT_RNN_EXP_P4 1.6666665459e-1f
#define OT_RNN_EXP_P5 5.0000001201e-1f
#define OT_RNN_TANH_SMALL 0.625f
#define OT_RNN_TANH_BIG 9.0f
#define OT_RNN_TANH_T0 (-5.70498872745e-3f)
#define OT_RNN_TANH_T1 2.06390887954e-2f
#define OT_RNN_TANH_T2 (-5.37397155531e-2f)
#define OT_RNN_TANH_T3 1.33314422036e-1f
#define OT_RNN_TANH_T4 (-3.33332819422e-1f)

static inline float ot_rnn_exp1(float x) {
    x = fminf(fmaxf(x, OT_RNN_EXP_LO), OT_RNN_EXP_HI);
    float fx = floorf(fmaf(x, OT_RNN_LOG2E, 0.5f));
    float r = fmaf(fx, -OT_RNN_LN2_HI, x);
    r = fmaf(fx, -OT_RNN_LN2_LO, r);
    float y = OT_RNN_EXP_P0;
    y = fmaf(y, r, OT_RNN_EXP_P1);
    y = fmaf(y, r, OT_RNN_EXP_P2);
    y = fmaf(y, r, OT_RNN_EXP_P3);
    y = fmaf(y, r, OT_RNN_EXP_P4);
    y = fmaf(y, r, OT_RNN_EXP_P5);
    float r2 = r * r;
    y = fmaf(y, r2, r);
    y = y + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)fx + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

static inline float ot_rnn_sigmoid1(float x) { return 1.0f / (1.0f + ot_rnn_exp1(-x)); }

static inline float ot_rnn_tanh1(float x) {
    float ax = fabsf(x);
    if (ax < OT_RNN_TANH_SMALL) {
        float z = x * x;
        float p = fmaf(fmaf(fmaf(fmaf(OT_RNN_TANH_T0, z, OT_RNN_TANH_T1), z, OT_RNN_TANH_T2), z, OT_RNN_TANH_T3), z,
                       OT_RNN_TANH_T4);
        return fmaf(p * z, x, x);
    }
    float e = ot_rnn_exp1(2.0f * fminf(ax, OT_RNN_TANH_BIG));
    return copysignf(1.0f - 2.0f / (e + 1.0f), x);
}

#endif
