/* int8 GEMM, fp32 GEMM and int8 depthwise conv throughput at 1 thread, against the per-core peak.
 *   int8:  ot_qgemm (the variant in use; OCTET_ISA can force one), u8 activations x s8 weights with a
 *          requantized u8 output, vs the vpdpbusd peak (AVX-512 VNNI) or the vpmaddwd peak (AVX2).
 *   fp32:  ot_sgemm (OpenBLAS) on the same shapes vs the FMA peak.
 *   dw:    ot_dwconv_s8 3x3 layers of mobilenet_v2, in GB/s of activations read + written.
 * Shapes: square 256/512/1024, and conv layers as GEMMs (M = H*W, N = Cout, K = Cin*kh*kw).
 * Usage: bench_qgemm [seconds per shape, default 0.3] [threads, default 1] [only shapes containing TEXT]
 *                    [int8: skip the fp32 column | w7: that, with 7-bit weights in [-64, 63] (reduce_range),
 *                     which AVX2 runs on its exact vpmaddubsw kernel | act: int8 with activation-like A
 *                     (ReLU-like, zero point 0), which AVX2's split kernel runs on vpmaddubsw; the other
 *                     modes' uniform A makes it fall back to its int16 kernel]
 *   TEXT may list several alternatives separated by '|' ("square|mlp"), or be one shape "MxNxK". */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cpu.h"
#include "kernels/dwconv_s8.h"
#include "kernels/qgemm.h"
#include "kernels/sgemm.h"

/* With one thread the kernels' own CPU time is timed, so time spent descheduled on a shared machine
 * does not count; with more threads it is wall time. */
static clockid_t g_clock = CLOCK_MONOTONIC;
static double now(void) {
    struct timespec t;
    clock_gettime(g_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Peaks: the same assembly loops as bench_peak (12 independent instructions per iteration). */
#define X12(op, r) op(0, r) op(1, r) op(2, r) op(3, r) op(4, r) op(5, r) op(6, r) op(7, r) op(8, r) op(9, r) op(10, r) op(11, r)
#define FMA(i, r) "vfmadd231ps %%" r "14, %%" r "15, %%" r #i "\n\t"
#define MADD(i, r) "vpmaddwd %%" r "14, %%" r "15, %%" r #i "\n\t"
#define DPBUSD(i, r) "vpdpbusd %%" r "14, %%" r "15, %%" r #i "\n\t"
#define CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
                 "xmm14", "xmm15", "cc"

__attribute__((target("avx2,fma"))) static double peak_fma(long n) {
    long c = n;
    __asm__ volatile("vxorps %%ymm14, %%ymm14, %%ymm14\n\tvxorps %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(FMA, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper" : "+r"(c)::CLOBBERS);
    return (double)n * 12 * 16;
}

__attribute__((target("avx2"))) static double peak_madd(long n) {
    long c = n;
    __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\tvpxor %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" X12(MADD, "ymm") "dec %0\n\tjnz 1b\n\tvzeroupper" : "+r"(c)::CLOBBERS);
    return (double)n * 12 * 32;
}

__attribute__((target("avx512f,avx512vnni"))) static double peak_vnni(long n) {
    long c = n;
    __asm__ volatile("vpxord %%zmm14, %%zmm14, %%zmm14\n\tvpxord %%zmm15, %%zmm15, %%zmm15\n\t"
                     "1:\n\t" X12(DPBUSD, "zmm") "dec %0\n\tjnz 1b\n\tvzeroupper" : "+r"(c)::CLOBBERS);
    return (double)n * 12 * 128;
}

/* Many short runs, best one: robust when other processes share the core. */
static double peak_of(double (*fn)(long)) {
    long n = 1 << 10;
    for (;;) {
        double t0 = now();
        fn(n);
        if (now() - t0 > 0.002) break;
        n *= 2;
    }
    double best = 0, start = now();
    while (now() - start < 0.3) {
        double t0 = now(), ops = fn(n), dt = now() - t0;
        if (ops / dt > best) best = ops / dt;
    }
    return best * 1e-9;
}

/* Best time of repeated calls within the budget. */
typedef void (*run_fn)(void *ctx);
static double best_time(run_fn fn, void *ctx, double budget) {
    fn(ctx);   /* warm up */
    double best = 1e30, start = now();
    int runs = 0;
    while (runs < 3 || (now() - start < budget && runs < 1000)) {
        double t0 = now();
        fn(ctx);
        double dt = now() - t0;
        if (dt < best) best = dt;
        runs++;
    }
    return best;
}

typedef struct {
    int M, N, K, threads;
    uint8_t *a;
    int8_t *b;
    uint8_t *c;
    float *af, *bf, *cf;
    ot_qgemm_packed *pb;
    float scale;
    int32_t za;
} gemm_ctx;

static void run_q(void *p) {
    gemm_ctx *g = p;
    ot_qgemm_out o = {.type = OT_QGEMM_OUT_U8, .c = g->c, .ldc = g->N, .scale = &g->scale, .zp = 128, .lo = 0, .hi = 255};
    if (ot_qgemm(g->pb, g->M, g->a, g->K, g->za, false, &o, g->threads) != OCTET_OK) abort();
}

static void run_s(void *p) {
    gemm_ctx *g = p;
    ot_sgemm(false, false, g->M, g->N, g->K, 1.0f, g->af, g->K, g->bf, g->N, 0.0f, g->cf, g->N);
}

typedef struct {
    const char *name;
    int M, N, K;
} shape;

static const shape kShapes[] = {
    {"square 256", 256, 256, 256},
    {"square 512", 512, 512, 512},
    {"square 1024", 1024, 1024, 1024},
    {"mbv2 conv0 3x3s2 3->32", 112 * 112, 32, 27},
    {"mbv2 b1 pw 16->96", 112 * 112, 96, 16},
    {"mbv2 b2 pw 96->24", 56 * 56, 24, 96},
    {"mbv2 b4 pw 32->192", 28 * 28, 192, 32},
    {"mbv2 b4 pw 192->32", 28 * 28, 32, 192},
    {"mbv2 b8 pw 64->384", 14 * 14, 384, 64},
    {"mbv2 b16 pw 160->960", 7 * 7, 960, 160},
    {"mbv2 last 320->1280", 7 * 7, 1280, 320},
    {"r18 conv1 7x7s2 3->64", 112 * 112, 64, 147},
    {"r18 layer1 3x3 64", 56 * 56, 64, 576},
    {"r18 layer2 3x3 128", 28 * 28, 128, 1152},
    {"r18 layer3 3x3 256", 14 * 14, 256, 2304},
    {"r18 layer4 3x3 512", 7 * 7, 512, 4608},
    {"r18 fc 512->1000", 1, 1000, 512},
    {"mlp b64 1024x1024", 64, 1024, 1024},   /* dynamic-quantized MatMul at batch 64 */
};

/* Does name contain one of the '|'-separated alternatives in only? */
static bool shape_selected(const char *name, const char *only) {
    if (!only) return true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
        if (strstr(name, t)) return true;
    return false;
}

typedef struct {
    ot_dwconv_packed *pk;
    ot_dwconv_geom g;
    uint8_t *x, *y;
    int threads;
} dw_ctx;

static void run_dw(void *p) {
    dw_ctx *d = p;
    if (ot_dwconv_s8_run(d->pk, &d->g, d->x, d->y, d->threads) != OCTET_OK) abort();
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 0.3;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (budget <= 0) budget = 0.3;
    if (threads < 1) threads = 1;
    const char *only = argc > 3 && argv[3][0] ? argv[3] : NULL;
    bool w7 = argc > 4 && strcmp(argv[4], "w7") == 0, act = argc > 4 && strcmp(argv[4], "act") == 0;
    bool f32 = !(argc > 4 && (strcmp(argv[4], "int8") == 0 || w7 || act));
    if (threads == 1) g_clock = CLOCK_THREAD_CPUTIME_ID;
    const ot_cpu_features *f = ot_cpu_features_get();
    ot_isa isa = ot_kernels_get()->isa;
    if (!f->avx2 || !f->fma) {
        printf("no AVX2/FMA on this CPU: peaks not measured\n");
    }
    double p_fma = (f->avx2 && f->fma && f32) ? peak_of(peak_fma) : 0;
    double p_int = 0;
    const char *p_name = "none";
    if (isa == OT_ISA_AVX512VNNI) p_int = peak_of(peak_vnni), p_name = "vpdpbusd zmm";
    else if (isa == OT_ISA_AVX2) p_int = peak_of(peak_madd), p_name = "vpmaddwd ymm";
    p_int *= threads;
    p_fma *= threads;
    ot_sgemm_set_threads(threads);
    printf("qgemm variant %s, %d thread(s); peaks: int8 %s %.1f GOPS, fp32 FMA %.1f GFLOPS\n", ot_isa_name(isa),
           threads, p_name, p_int, p_fma);
    printf("%-26s %6s %5s %5s | %9s %6s | %9s %6s\n", "shape", "M", "N", "K", "int8 GOPS", "%peak", "fp32 GF/s",
           "%peak");
    /* TEXT "MxNxK" measures that one shape instead of the table. */
    shape custom = {"custom", 0, 0, 0};
    bool use_custom = only && sscanf(only, "%dx%dx%d", &custom.M, &custom.N, &custom.K) == 3 && custom.M > 0 &&
                      custom.N > 0 && custom.K > 0;
    size_t nshapes = use_custom ? 1 : sizeof kShapes / sizeof kShapes[0];
    for (size_t s = 0; s < nshapes; s++) {
        const shape *sh = use_custom ? &custom : &kShapes[s];
        if (!use_custom && !shape_selected(sh->name, only)) continue;
        gemm_ctx g = {.M = sh->M, .N = sh->N, .K = sh->K, .threads = threads, .scale = 1.0f / 4096};
        size_t mk = (size_t)sh->M * sh->K, kn = (size_t)sh->K * sh->N, mn = (size_t)sh->M * sh->N;
        g.a = malloc(mk);
        g.b = malloc(kn);
        g.c = malloc(mn);
        g.af = malloc(mk * 4);
        g.bf = malloc(kn * 4);
        g.cf = malloc(mn * 4);
        if (!g.a || !g.b || !g.c || !g.af || !g.bf || !g.cf) return 1;
        uint64_t rs = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < mk; i++) {
            g.a[i] = (uint8_t)(i * 7 + 3), g.af[i] = (float)(i % 13) * 0.1f;
            if (act) {   /* ReLU-like: half zeros, the rest exponential with mean 24 (0.5 % above 128) */
                rs = rs * 6364136223846793005ull + 1442695040888963407ull;
                double u = (double)(rs >> 11) * 0x1.0p-53;
                int v = u < 0.5 ? 0 : (int)(-log(2.0 * (1.0 - u)) * 24.0);
                g.a[i] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
        for (size_t i = 0; i < kn; i++) g.b[i] = w7 ? (int8_t)((i * 5 + 1) % 128 - 64) : (int8_t)(i * 5 + 1), g.bf[i] = (float)(i % 7) * 0.1f;
        g.za = act ? 0 : 3;
        ot_qgemm_b d = {.K = sh->K, .N = sh->N, .b = g.b, .ldb = sh->N, .b_signed = true, .za_hint = g.za};
        if (ot_qgemm_pack_b(&g.pb, &d) != OCTET_OK) return 1;
        if (s == 0 || use_custom) printf("(int8 kernel: %s)\n", ot_qgemm_packed_kernel(g.pb));
        double ops = 2.0 * sh->M * sh->N * sh->K;
        double tq = best_time(run_q, &g, budget), ts = f32 ? best_time(run_s, &g, budget) : 0;
        double gq = ops / tq * 1e-9, gs = f32 ? ops / ts * 1e-9 : 0;
        printf("%-26s %6d %5d %5d | %9.1f %5.0f%% | %9.1f %5.0f%%\n", sh->name, sh->M, sh->N, sh->K, gq,
               p_int > 0 ? 100 * gq / p_int : 0, gs, p_fma > 0 ? 100 * gs / p_fma : 0);
        ot_qgemm_packed_free(g.pb);
        free(g.a), free(g.b), free(g.c), free(g.af), free(g.bf), free(g.cf);
    }

    /* Depthwise 3x3 layers of mobilenet_v2 (224x224 input), NHWC uint8. */
    static const struct { int H, C, stride; } dws[] = {{112, 32, 1}, {112, 96, 2}, {56, 144, 1}, {56, 144, 2},
                                                      {28, 192, 1}, {14, 384, 1}, {14, 576, 1}, {7, 960, 1}};
    if (!only) printf("\n%-26s %9s %9s\n", "depthwise 3x3 (u8, NHWC)", "GB/s", "GOPS");
    for (size_t i = 0; i < sizeof dws / sizeof dws[0] && !only; i++) {
        int H = dws[i].H, C = dws[i].C, st = dws[i].stride, OH = (H + 2 - 3) / st + 1;
        int8_t *w = malloc((size_t)9 * C);
        for (int j = 0; j < 9 * C; j++) w[j] = (int8_t)(j * 3 - 7);
        float sc = 1.0f / 512;
        ot_dwconv_params prm = {.C = C, .kh = 3, .kw = 3, .w = w, .w_signed = true, .zx = 128, .scale = &sc,
                                .scale_count = 1, .zy = 0, .lo = 0, .hi = 255};
        dw_ctx d = {.g = {.N = 1, .H = H, .W = H, .OH = OH, .OW = OH, .stride_h = st, .stride_w = st, .pad_top = 1,
                          .pad_left = 1, .dil_h = 1, .dil_w = 1},
                    .threads = threads};
        d.x = malloc((size_t)H * H * C);
        d.y = malloc((size_t)OH * OH * C);
        for (size_t j = 0; j < (size_t)H * H * C; j++) d.x[j] = (uint8_t)(j * 11);
        if (ot_dwconv_s8_pack(&d.pk, &prm) != OCTET_OK) return 1;
        double t = best_time(run_dw, &d, budget);
        double bytes = (double)H * H * C + (double)OH * OH * C, ops = 2.0 * 9 * OH * OH * C;
        char name[64];
        snprintf(name, sizeof name, "%dx%dx%d s%d", H, H, C, st);
        printf("%-26s %9.2f %9.1f\n", name, bytes / t * 1e-9, ops / t * 1e-9);
        ot_dwconv_s8_free(d.pk);
        free(d.x), free(d.y), free(w);
    }
    return 0;
}
