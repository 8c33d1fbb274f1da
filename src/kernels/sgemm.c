#include "kernels/sgemm.h"

#include <cblas.h>

/* OpenBLAS exports this; other BLAS builds may not, so it is weak. */
extern void openblas_set_num_threads(int n) __attribute__((weak));

void ot_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
              int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void ot_sgemm_set_threads(int n) {
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}
