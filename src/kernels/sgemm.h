/* fp32 GEMM: C = alpha * op(A) * op(B) + beta * C, row-major. Backed by OpenBLAS.
 *
 * Threading: OpenBLAS itself always runs single-threaded; octet splits a GEMM into column or row
 * blocks over its own OpenMP threads. One thread pool in the process means no oversubscription
 * when OpenMP kernels and GEMMs alternate, and calls made inside an OpenMP region stay serial. */
#ifndef OT_SGEMM_H
#define OT_SGEMM_H

#include <stdbool.h>

/* Threaded with the count last given to ot_sgemm_set_threads (serial inside a parallel region). */
void ot_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc);
/* Same with an explicit thread budget (1 = run in the calling thread). */
void ot_sgemm_mt(int threads, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
/* y[n] = alpha * op(A) x + beta * y, A row-major [rows, cols] (op = A or A^T), split over threads.
 * For GEMMs with a single row: a GEMM call would pack all of A (the weights) every time. */
void ot_sgemv_mt(int threads, bool trans_a, int rows, int cols, float alpha, const float *a, int lda, const float *x,
                 float beta, float *y);
void ot_sgemm_set_threads(int n);
int ot_sgemm_threads(void);

#endif
