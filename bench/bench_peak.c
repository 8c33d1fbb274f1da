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
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);   /* not counting time descheduled */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Each loop body: 12 instructions into ymm0..ymm11 (zmm for AVX-512), sources ymm14/ymm15, written in
 * assembly so the compiler cannot spill or reorder them. Accumulating forms (FMA, vpdpbusd) form 12
 * independent chains: enough to cover their latency at 2 per cycle. */
#define X12(op, r) op(0, r) op(1, r) op(2, r) op(3, r) op(4, r) op(5, r) op(6, r) op(7, r) op(8, r) op(9, r) op(10, r) op(11, r)
#define FMA(i, r) "vfmadd231ps %%" r "14, %%" r "15, %%" r #i "\n\t"
#define MADD(i, r) "vpmaddwd %%" r "14, %%" r "15, %%" r #i "\n\t"
#define MADDADD(i, r) "vpmaddwd %%" r "14, %%" r "15, %%" r "13\n\t" "vpaddd %%" r "13, %%" r #i ", %%" r #i "\n\t"
#define DPBUSD(i, r) "vpdpbusd %%" r "14, %%" r "15, %%" r #i "\n\t"
#define DPBUSD_VEX(i, r) "%{vex%} vpdpbusd %%" r "14, %%" r "15, %%" r #i "\n\t"  /* AVX-VNNI, not EVEX */
#define YMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                     "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc"

__attribute__((target("avx2,fma"))) static double loop_fma(long iters) {
    long n = iters;
    __asm__ volatile("vxorps %%ymm14, %%ymm14, %%ymm14\n\tvxorps %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(FMA, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper"
                     : "+r"(n)::YMM_CLOBBERS);
    return (double)iters * 12 * 8 * 2;   /* flops */
}

__attribute__((target("avx2"))) static double loop_madd(long iters) {
    long n = iters;
    __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\tvpxor %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(MADD, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper"
                     : "+r"(n)::YMM_CLOBBERS);
    return (double)iters * 12 * 16 * 2;  /* int ops: multiply + add per int16 pair product */
}

__attribute__((target("avx2"))) static double loop_madd_add(long iters) {
    long n = iters;
    __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\tvpxor %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(MADDADD, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper"
                     : "+r"(n)::YMM_CLOBBERS);
    return (double)iters * 12 * 16 * 2;
}

__attribute__((target("avx2,avxvnni"))) static double loop_vnni_ymm(long iters) {
    long n = iters;
    __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\tvpxor %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(DPBUSD_VEX, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper"
                     : "+r"(n)::YMM_CLOBBERS);
    return (double)iters * 12 * 32 * 2;
}

__attribute__((target("avx512f,avx512vnni"))) static double loop_vnni_zmm(long iters) {
    long n = iters;
    __asm__ volatile("vpxord %%zmm14, %%zmm14, %%zmm14\n\tvpxord %%zmm15, %%zmm15, %%zmm15\n\t"
                     "1:\n\t" X12(DPBUSD, "zmm") "dec %0\n\tjnz 1b\n\tvzeroupper"
                     : "+r"(n)::YMM_CLOBBERS);
    return (double)iters * 12 * 64 * 2;
}

/* G(fl)ops per second: the best of many ~2 ms runs within the time budget, which stays close to the
 * hardware figure even when other processes share the core. */
static double measure(double (*fn)(long), double seconds) {
    long iters = 1;
    for (;;) {
        double t0 = now();
        fn(iters);
        if (now() - t0 > 0.002) break;
        iters *= 2;
    }
    double best = 0, start = now();
    while (now() - start < seconds) {
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
    printf("per-core peak (1 thread, best of many short runs; 'ops' = 2 per multiply-add)\n");
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
