/* Shared between unary.c and its AVX2 loops (unary_avx2.c). */
#ifndef OT_UNARY_INTERNAL_H
#define OT_UNARY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct un_params {
    double alpha, beta, gamma;
    double lo, hi;          /* Clip on floats */
    int64_t ilo, ihi;       /* Clip on integers */
    uint64_t ulo, uhi;      /* Clip on unsigned integers */
    int flag_a, flag_b;     /* IsInf: detect_negative, detect_positive */
} un_params;

/* Applies to n contiguous elements. */
typedef void (*un_fn)(const un_params *c, int64_t n, void *out, const void *in);

/* Float32 AVX2 versions (unary_avx2.c; the transcendental ones through glibc's libmvec); only called when
 * the CPU has AVX2. */
#define OT_UNARY_V8(X) \
    X(sigmoid_v8) X(tanh_v8) X(erf_v8) X(exp_v8) X(gelu_v8) X(gelu_tanh_v8) X(hard_sigmoid_v8) X(hard_swish_v8)
#define OT_UNARY_V8_DECL(name) void name(const un_params *c, int64_t n, void *out, const void *in);
OT_UNARY_V8(OT_UNARY_V8_DECL)

/* The float32 loop of the ONNX op `op_type` (NULL if unary.c has none): the AVX2 one when `vec` (NULL
 * if there is none or this build has no AVX2 loops), else the scalar one. For tests that compare them. */
un_fn ot_unary_f32_loop(const char *op_type, bool vec);

#endif
