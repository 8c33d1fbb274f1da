/* Scalar twins, packing and dispatch for the recurrent-op kernels (see rnn_f32.h). */
#include "kernels/rnn_f32.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/rnn_f32_math.h"

size_t ot_rnn_pack_floats(int n, int k) {
    size_t panels = ((size_t)n + OT_RNN_PANEL - 1) / OT_RNN_PANEL;
    return panels * OT_RNN_PANEL * (size_t)k;
}

void ot_rnn_pack(const float *w, int n, int k, int ldw, float *dst) {
    int panels = (n + OT_RNN_PANEL - 1) / OT_RNN_PANEL;
    for (int p = 0; p < panels; p++) {
        float *d = dst + (size_t)p * OT_RNN_PANEL * k;
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < OT_RNN_PANEL; j++) {
                int row = p * OT_RNN_PANEL + j;
                d[(size_t)kk * OT_RNN_PANEL + j] = row < n ? w[(size_t)row * ldw + kk] : 0.0f;
            }
    }
}

void ot_rnn_gemm_acc_ref(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const float *panel = packed + (size_t)(j / OT_RNN_PANEL) * OT_RNN_PANEL * k + j % OT_RNN_PANEL;
            float acc = 0.0f;
            for (int kk = 0; kk < k; kk++) acc = fmaf(a[(size_t)i * lda + kk], panel[(size_t)kk * OT_RNN_PANEL], acc);
            c[(size_t)i * ldc + j] += acc;
        }
}

void ot_rnn_sigmoid_ref(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = ot_rnn_sigmoid1(x[i]);
}

void ot_rnn_tanh_ref(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = ot_rnn_tanh1(x[i]);
}

/* The process-wide choice (kernels/cpu.h): honours OCTET_ISA=scalar and the OS's YMM support. */
bool ot_rnn_have_avx2(void) { return ot_kernels_get()->isa >= OT_ISA_AVX2; }

void ot_rnn_gemm_acc(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                     int threads) {
    if (m <= 0 || n <= 0) return;
    if (!ot_rnn_have_avx2()) {
        ot_rnn_gemm_acc_ref(m, n, k, a, lda, packed, c, ldc);
        return;
    }
    int panels = (n + OT_RNN_PANEL - 1) / OT_RNN_PANEL;
    double work = (double)m * n * (k > 0 ? k : 1);
    if (threads > 1 && omp_in_parallel()) threads = 1;
    /* Below ~128k multiply-adds per thread the fork/join costs more than it saves. */
    while (threads > 1 && work / threads < 131072.0) threads--;
    if (threads > panels) threads = panels;
    if (threads <= 1) {
        ot_rnn_gemm_acc_avx2(m, 0, n, k, a, lda, packed, c, ldc);
        return;
    }
    /* Column blocks in whole panels, one per thread; each thread streams its own share of W. */
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) {
        int p0 = (int)((int64_t)panels * t / threads), p1 = (int)((int64_t)panels * (t + 1) / threads);
        int n0 = p0 * OT_RNN_PANEL, n1 = p1 * OT_RNN_PANEL < n ? p1 * OT_RNN_PANEL : n;
        if (n1 > n0) ot_rnn_gemm_acc_avx2(m, n0, n1, k, a, lda, packed, c, ldc);
    }
}

void ot_rnn_sigmoid(float *x, int n) {
    if (ot_rnn_have_avx2()) ot_rnn_sigmoid_avx2(x, n);
    else ot_rnn_sigmoid_ref(x, n);
}

void ot_rnn_tanh(float *x, int n) {
    if (ot_rnn_have_avx2()) ot_rnn_tanh_avx2(x, n);
    else ot_rnn_tanh_ref(x, n);
}

#if !(defined(__x86_64__) || defined(__i386__))
/* Non-x86 builds: the AVX2 entry points are never called, but must link. */
void ot_rnn_gemm_acc_avx2(int m, int n0, int n1, int k, const float *a, int lda, const float *packed, float *c,
                          int ldc) {
    (void)m; (void)n0; (void)n1; (void)k; (void)a; (void)lda; (void)packed; (void)c; (void)ldc;
}
void ot_rnn_sigmoid_avx2(float *x, int n) { ot_rnn_sigmoid_ref(x, n); }
void ot_rnn_tanh_avx2(float *x, int n) { ot_rnn_tanh_ref(x, n); }
#endif
