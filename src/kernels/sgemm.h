/* fp32 GEMM: C = alpha * op(A) * op(B) + beta * C, row-major. Backed by OpenBLAS. */
#ifndef OT_SGEMM_H
#define OT_SGEMM_H

#include <stdbool.h>

void ot_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc);
void ot_sgemm_set_threads(int n);

#endif
