#include "kernels/sgemm.h"

#include <cblas.h>
#include <omp.h>

/* OpenBLAS exports this; other BLAS builds may not, so it is weak. */
extern void openblas_set_num_threads(int n) __attribute__((weak));

static int g_threads = 1;

void ot_sgemm_set_threads(int n) {
    g_threads = n > 0 ? n : 1;
    /* The BLAS stays serial: see sgemm.h. */
    if (openblas_set_num_threads) openblas_set_num_threads(1);
}

int ot_sgemm_threads(void) { return g_threads; }

static void gemm1(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* no products: C = beta * C (BLAS may reject a zero leading dimension) */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
                b, ldb, beta, c, ldc);
}

void ot_sgemm_mt(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    double work = (double)m * n * (k > 0 ? k : 1);
    if (threads > 1 && omp_in_parallel()) threads = 1;
    /* Below ~64k multiply-adds per thread the fork costs more than it saves. */
    while (threads > 1 && work / threads < 65536.0) threads--;
    if (threads <= 1) {
        gemm1(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* Split the wider side: columns in multiples of 16, else rows in multiples of 8. */
    bool split_n = n >= 32 * threads || n >= m;
    int len = split_n ? n : m, align = split_n ? 16 : 8;
    int chunk = (len + threads - 1) / threads;
    chunk = (chunk + align - 1) / align * align;
    if (chunk <= 0) chunk = align;
    int parts = (len + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int p = 0; p < parts; p++) {
        int lo = p * chunk, cnt = len - lo < chunk ? len - lo : chunk;
        if (split_n)
            gemm1(ta, tb, m, cnt, k, alpha, a, lda, tb ? b + (size_t)lo * ldb : b + lo, ldb, beta, c + lo, ldc);
        else
            gemm1(ta, tb, cnt, n, k, alpha, ta ? a + lo : a + (size_t)lo * lda, lda, b, ldb, beta,
                  c + (size_t)lo * ldc, ldc);
    }
}

void ot_sgemv_mt(int threads, bool ta, int rows, int cols, float alpha, const float *a, int lda, const float *x,
                 float beta, float *y) {
    int n = ta ? cols : rows;  /* length of y */
    if (n <= 0) return;
    if (threads > 1 && omp_in_parallel()) threads = 1;
    while (threads > 1 && (double)rows * cols / threads < 65536.0) threads--;
    int chunk = (n + threads - 1) / threads;
    chunk = (chunk + 15) / 16 * 16;
    int parts = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static, 1)
    for (int p = 0; p < parts; p++) {
        int lo = p * chunk, cnt = n - lo < chunk ? n - lo : chunk;
        if (ta) /* y[lo..] = A[:, lo..]^T x */
            cblas_sgemv(CblasRowMajor, CblasTrans, rows, cnt, alpha, a + lo, lda, x, 1, beta, y + lo, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasNoTrans, cnt, cols, alpha, a + (size_t)lo * lda, lda, x, 1, beta, y + lo, 1);
    }
}

void ot_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc) {
    ot_sgemm_mt(g_threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
