/* The scalar definitions of octet's int8 rounding steps. Every SIMD kernel reproduces these op for op
 * (same float operations in the same order), which is what makes the variants bit-exact.
 *
 * Written as ORT's MLAS computes on x86: clamp in float, then convert with the default rounding mode
 * (round half to even), then add the zero point. max/min are spelled as maxps/minps behave: when the
 * first operand is NaN the result is the second (the bound). */
#ifndef OT_REQUANT_H
#define OT_REQUANT_H

#include <math.h>
#include <stdint.h>

/* Requantization multiplier (s_x * s_w) / s_y, in float32, as ORT's QLinearConv/QLinearMatMul do. */
static inline float ot_requant_scale(float s_x, float s_w, float s_y) {
    float t = s_x * s_w;
    return t / s_y;
}

static inline float ot_maxps1(float a, float b) { return a > b ? a : b; }
static inline float ot_minps1(float a, float b) { return a < b ? a : b; }

/* v already scaled; lo_f = lo - zp, hi_f = hi - zp. */
static inline int32_t ot_round_clamp(float v, float lo_f, float hi_f, int32_t zp) {
    v = ot_maxps1(v, lo_f);
    v = ot_minps1(v, hi_f);
    return (int32_t)nearbyintf(v) + zp;
}

/* int32 accumulator -> 8-bit: clamp(round_half_even((float)acc * scale) + zp, lo, hi). */
static inline int32_t ot_requant1(int32_t acc, float scale, float lo_f, float hi_f, int32_t zp) {
    float v = (float)acc * scale;
    return ot_round_clamp(v, lo_f, hi_f, zp);
}

/* ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zp); NaN gives the lowest value. */
static inline int32_t ot_quantize1(float x, float scale, float lo_f, float hi_f, int32_t zp) {
    float v = x / scale;
    return ot_round_clamp(v, lo_f, hi_f, zp);
}

#endif
