/* The machine's per-core arithmetic peak, the yardstick for bench_qgemm:
 *   fp32 FMA (ymm), vpmaddwd (ymm, the AVX2 int8 path's multiply), vpmaddwd + vpaddd (what the AVX2
 *   qgemm inner loop issues per 16 MACs), vpdpbusd ymm (AVX-VNNI) and zmm (AVX-512 VNNI) when present.
 * Each loop runs 12 independent accumulator chains so throughput, not latency, is measured.
 * Usage: bench_peak [seconds per loop, default 0.3] */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/cpu.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHAINS 12
#define INNER 1000

static volatile int g_sink;

__attribute__((target("avx2,fma"))) static double loop_fma(long iters) {
    __m256 acc[CHAINS], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        for (int r = 0; r < INNER; r++)
            for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    g_sink = (int)_mm256_cvtss_f32(s);
    return (double)iters * INNER * CHAINS * 8 * 2;   /* flops */
}

__attribute__((target("avx2"))) static double loop_madd(long iters) {
    __m256i acc[CHAINS], b = _mm256_set1_epi16(1);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_epi16((short)i);
    for (long it = 0; it < iters; it++)
        for (int r = 0; r < INNER; r++)
            for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_madd_epi16(acc[i], b);
    __m256i s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_epi32(s, acc[i]);
    g_sink = _mm256_extract_epi32(s, 0);
    return (double)iters * INNER * CHAINS * 16 * 2;  /* int ops (multiply + add per MAC) */
}

__attribute__((target("avx2"))) static double loop_madd_add(long iters) {
    __m256i acc[CHAINS], x = _mm256_set1_epi16(3), b[2] = {_mm256_set1_epi16(1), _mm256_set1_epi16(2)};
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < iters; it++)
        for (int r = 0; r < INNER; r++) {
            for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(x, b[i & 1]));
            __asm__ volatile("" : "+x"(x));   /* keep the products in the loop */
        }
    __m256i s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_epi32(s, acc[i]);
    g_sink = _mm256_extract_epi32(s, 0);
    return (double)iters * INNER * CHAINS * 16 * 2;
}

__attribute__((target("avx2,avxvnni"))) static double loop_vnni_ymm(long iters) {
    __m256i acc[CHAINS], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(1);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < iters; it++)
        for (int r = 0; r < INNER; r++)
            for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], a, b);
    __m256i s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_epi32(s, acc[i]);
    g_sink = _mm256_extract_epi32(s, 0);
    return (double)iters * INNER * CHAINS * 32 * 2;
}

__attribute__((target("avx512f,avx512vnni"))) static double loop_vnni_zmm(long iters) {
    __m512i acc[CHAINS], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(1);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iters; it++)
        for (int r = 0; r < INNER; r++)
            for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i s = acc[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_epi32(s, acc[i]);
    g_sink = _mm512_reduce_add_epi32(s);
    return (double)iters * INNER * CHAINS * 64 * 2;
}

/* Run fn long enough and return G(fl)ops per second (best of 3). */
static double measure(double (*fn)(long), double seconds) {
    long iters = 1;
    for (;;) {   /* calibrate */
        double t0 = now();
        fn(iters);
        double dt = now() - t0;
        if (dt > 0.02) {
            iters = (long)((double)iters * (seconds / 3) / dt) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        double ops = fn(iters);
        double g = ops / (now() - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    double sec = argc > 1 ? atof(argv[1]) : 0.3;
    if (sec <= 0) sec = 0.3;
    const ot_cpu_features *f = ot_cpu_features_get();
    printf("per-core peak (1 thread, best of 3; 'ops' = 2 per multiply-add)\n");
    if (!f->avx2 || !f->fma) {
        printf("no AVX2/FMA: nothing to measure\n");
        return 0;
    }
    double fma = measure(loop_fma, sec);
    double madd = measure(loop_madd, sec);
    double madd_add = measure(loop_madd_add, sec);
    printf("  fp32 FMA ymm              %8.1f GFLOPS\n", fma);
    printf("  vpmaddwd ymm              %8.1f GOPS   (int16 pairs; AVX2 int8 GEMM peak)\n", madd);
    printf("  vpmaddwd + vpaddd ymm     %8.1f GOPS   (the AVX2 qgemm inner-loop mix)\n", madd_add);
    if (f->avxvnni) printf("  vpdpbusd ymm (AVX-VNNI)   %8.1f GOPS\n", measure(loop_vnni_ymm, sec));
    else printf("  vpdpbusd ymm (AVX-VNNI)   not available on this CPU\n");
    if (f->avx512f && f->avx512vnni) printf("  vpdpbusd zmm (AVX512-VNNI)%8.1f GOPS\n", measure(loop_vnni_zmm, sec));
    else printf("  vpdpbusd zmm (AVX512-VNNI) not available on this CPU\n");
    return 0;
}
