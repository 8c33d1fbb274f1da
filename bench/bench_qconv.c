/* int8 convolution layers of resnet18 and mobilenet_v2 (NHWC, u8 in/out, s8 per-channel weights) at
 * 1 thread: the Winograd path (3x3, stride 1) against im2col + GEMM on the same layer, in ms and
 * effective GOPS (2 * direct MACs / time). Decides where Winograd pays; run after kernel changes.
 * Usage: bench_qconv [seconds per layer, default 0.3] [batch, default 1] [only layers containing TEXT] [w7]
 * Weights span int8 as per-channel quantized weights do (each channel reaches +-127); w7: 7-bit weights
 * in [-64, 63] (--weight-bits 7), which the GEMM path runs on its u8 x s7 kernel. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cpu.h"
#include "kernels/qconv.h"

typedef struct layer {
    const char *name;
    int C, M, H, W, k, s;   /* input channels, output channels, input size, kernel, stride (pad k/2) */
} layer;

static const layer kLayers[] = {
    {"r18 layer1 3x3 64", 64, 64, 56, 56, 3, 1},
    {"r18 layer2.0 3x3 s2 128", 64, 128, 56, 56, 3, 2},
    {"r18 layer2 3x3 128", 128, 128, 28, 28, 3, 1},
    {"r18 layer3.0 3x3 s2 256", 128, 256, 28, 28, 3, 2},
    {"r18 layer3 3x3 256", 256, 256, 14, 14, 3, 1},
    {"r18 layer4.0 3x3 s2 512", 256, 512, 14, 14, 3, 2},
    {"r18 layer4 3x3 512", 512, 512, 7, 7, 3, 1},
    {"r18 conv1 7x7 s2", 3, 64, 224, 224, 7, 2},
    {"mbv2 pw 16->96 112", 16, 96, 112, 112, 1, 1},
    {"mbv2 pw 144->24 56", 144, 24, 56, 56, 1, 1},
    {"mbv2 pw 960->160 7", 960, 160, 7, 7, 1, 1},
};

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Median-free but robust enough on a shared machine: the fastest of several batches of runs. */
static double time_layer(const ot_qconv *q, const ot_qconv_geom *g, const void *x, void *y, double budget) {
    double best = 1e30;
    double end = cpu_now() + budget;
    do {
        double t0 = cpu_now();
        int reps = 0;
        do {
            ot_qconv_run(q, g, x, y, 1);
            reps++;
        } while (cpu_now() - t0 < budget / 8);
        double per = (cpu_now() - t0) / reps;
        if (per < best) best = per;
    } while (cpu_now() < end);
    return best;
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 0.3;
    int N = argc > 2 ? atoi(argv[2]) : 1;
    const char *only = argc > 3 && argv[3][0] ? argv[3] : NULL;
    bool w7 = argc > 4 && strcmp(argv[4], "w7") == 0;
    if (budget <= 0) budget = 0.3;
    if (N < 1) N = 1;
    ot_isa isa = ot_kernels_get()->isa;
    printf("qconv, isa %s, batch %d, %s weights, 1 thread (thread CPU time, best of batches)\n", ot_isa_name(isa), N,
           w7 ? "7-bit" : "8-bit");
    printf("%-26s %5s %5s %4s | %9s %7s | %9s %7s | %s\n", "layer", "C", "M", "HW", "gemm ms", "GOPS", "wino ms",
           "GOPS", "wino/gemm");
    srand(1);
    for (size_t li = 0; li < sizeof kLayers / sizeof kLayers[0]; li++) {
        const layer *L = &kLayers[li];
        if (only && !strstr(L->name, only)) continue;
        int p = L->k / 2, OH = (L->H + 2 * p - L->k) / L->s + 1, OW = (L->W + 2 * p - L->k) / L->s + 1;
        size_t nw = (size_t)L->M * L->C * L->k * L->k, nx = (size_t)N * L->H * L->W * L->C,
               ny = (size_t)N * OH * OW * L->M;
        int8_t *w = malloc(nw);
        uint8_t *x = malloc(nx), *y = malloc(ny);
        float *scale = malloc((size_t)L->M * sizeof *scale);
        int32_t *bias = calloc((size_t)L->M, sizeof *bias);
        if (!w || !x || !y || !scale || !bias) return 1;
        /* trained-weight-like: mostly small, each channel's largest at the end of the range */
        int wmax = w7 ? 63 : 127;
        for (size_t i = 0; i < nw; i++) w[i] = (int8_t)(rand() % 61 - 30) * wmax / 127;
        for (int m = 0; m < L->M; m++) w[(size_t)m * (nw / L->M)] = (int8_t)(m % 2 ? wmax : -wmax);
        for (size_t i = 0; i < nx; i++) x[i] = (uint8_t)(rand() & 255);
        for (int m = 0; m < L->M; m++) scale[m] = 1.0f / 8192;
        ot_qconv_desc d = {.nsp = 2, .C = L->C, .M = L->M, .G = 1, .k = {L->k, L->k}, .w = w, .w_signed = true,
                           .bias = bias, .zx = 3, .out_type = OT_QGEMM_OUT_U8, .scale = scale, .scale_count = L->M,
                           .zy = 0, .lo = 0, .hi = 255, .channels_last = true};
        ot_qconv_geom g = {.N = N, .in = {L->H, L->W}, .out = {OH, OW}, .s = {L->s, L->s}, .d = {1, 1}, .p = {p, p}};
        ot_qconv *gemm = NULL, *wino = NULL;
        if (ot_qconv_create(&gemm, &d, isa) != OCTET_OK) return 1;
        double ops = 2.0 * (double)ny * L->C * L->k * L->k;
        double tg = time_layer(gemm, &g, x, y, budget), tw = 0;
        if (L->s == 1 && L->k == 3) {
            d.unit_stride = true;
            if (ot_qconv_create(&wino, &d, isa) != OCTET_OK) return 1;
            tw = time_layer(wino, &g, x, y, budget);
        }
        printf("%-26s %5d %5d %4d | %9.3f %7.1f | ", L->name, L->C, L->M, L->H, tg * 1e3, ops / tg * 1e-9);
        if (tw > 0) printf("%9.3f %7.1f | %.2f\n", tw * 1e3, ops / tw * 1e-9, tw / tg);
        else printf("%9s %7s |\n", "-", "-");
        ot_qconv_free(gemm);
        ot_qconv_free(wino);
        free(w), free(x), free(y), free(scale), free(bias);
    }
    return 0;
}
