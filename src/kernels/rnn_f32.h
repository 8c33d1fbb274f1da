/* fp32 kernels for the recurrent ops (LSTM, GRU, RNN).
 *
 * The per-step product H_{t-1} · R^T has a handful of rows (the batch) against a big weight matrix,
 * so it is memory-bound: R is packed once into 16-column panels (panel p holds columns
 * 16p..16p+15 of R^T, row after row) and streamed through a small-M kernel that keeps up to 4
 * batch rows in registers. The gate nonlinearities (sigmoid, tanh) are vectorized.
 *
 * Every AVX2 routine has a scalar twin (*_ref) that performs the same float operations in the same
 * order (explicit fmaf), so the two agree bit for bit; the public entry points pick one at run
 * time from CPUID. */
#ifndef OT_RNN_F32_H
#define OT_RNN_F32_H

#include <stdbool.h>
#include <stddef.h>

#define OT_RNN_PANEL 16

/* Floats needed to pack an n x k matrix (n rows = output features, k = reduction length). */
size_t ot_rnn_pack_floats(int n, int k);
/* Pack w (n rows of k floats, row stride ldw) into dst; columns past n are zero. */
void ot_rnn_pack(const float *w, int n, int k, int ldw, float *dst);

/* C[m x n] += A[m x k] · W^T with W packed by ot_rnn_pack. threads >= 1 (serial inside a
 * parallel region or when the product is small). */
void ot_rnn_gemm_acc(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                     int threads);
/* In place: x = 1 / (1 + exp(-x)), x = tanh(x). */
void ot_rnn_sigmoid(float *x, int n);
void ot_rnn_tanh(float *x, int n);

/* Scalar twins (always built; tests compare them with the dispatched versions). */
void ot_rnn_gemm_acc_ref(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc);
void ot_rnn_sigmoid_ref(float *x, int n);
void ot_rnn_tanh_ref(float *x, int n);

/* AVX2 + FMA versions (rnn_f32_avx2.c); only call when ot_rnn_have_avx2(). */
bool ot_rnn_have_avx2(void);
void ot_rnn_gemm_acc_avx2(int m, int n0, int n1, int k, const float *a, int lda, const float *packed, float *c,
                          int ldc);
void ot_rnn_sigmoid_avx2(float *x, int n);
void ot_rnn_tanh_avx2(float *x, int n);

#endif
