/* octet quantize --mode static IN.onnx --calib DATA -o OUT.onnx [options]
 * Static post-training quantization: fold BatchNormalization, calibrate activation ranges on the data
 * (calib_data.h: .npy, .npz, a folder of them, or a folder of images) with the chosen observer, write
 * int8 weights and QDQ pairs (or QOperator ops), then report how far the quantized model, run by octet,
 * is from the float one on the calibration samples. The output never overwrites the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_data.h"
#include "cli.h"
#include "ir/passes/passes.h"
#include "quant/compare.h"
#include "quant/static_qdq.h"
#include "runtime/threads.h"
#include "tensor/tensor.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet quantize --mode dynamic IN.onnx -o OUT.onnx [options]   (see --mode dynamic --help)\n"
            "       octet quantize --mode static IN.onnx --calib PATH -o OUT.onnx [options]\n"
            "\n"
            "Static post-training quantization: BatchNormalization is folded into the preceding convolution,\n"
            "activation ranges are recorded on the calibration data, weights become int8 (per output channel),\n"
            "and Conv, Gemm, MatMul, Add, Mul, pooling and Concat run on 8-bit integers. The QDQ file runs in\n"
            "octet, ONNX Runtime and other QDQ-aware runtimes. Afterwards the SQNR of each output, float vs\n"
            "quantized (both run by octet), is measured on the first calibration samples.\n"
            "\n"
            "  --calib PATH            calibration data: a .npy (batch on axis 0), a .npz with one array per\n"
            "                          model input (named after it), a folder of .npy/.npz files (sorted by\n"
            "                          name), or a folder of PNG/JPEG images (see the image options)\n"
            "  --calib-samples N       use the first N samples (default: all)\n"
            "  --batch N               samples per run (default 32)\n"
            "  --method M              range observer: minmax (default), ema, histogram, percentile, entropy, mse\n"
            "  --percentile P          for --method percentile (default 99.999)\n"
            "  --bins N                histogram bins for histogram/percentile/entropy/mse (default 2048)\n"
            "  --ema-constant C        averaging constant for --method ema (default 0.01)\n"
            "  --format F              qdq (default) or qoperator (QLinearConv, QLinearMatMul, com.microsoft QLinear*)\n"
            "  --per-tensor            one weight scale per tensor instead of per output channel\n"
            "  --activation-type T     uint8 (default) or int8\n"
            "  --symmetric-activations activation zero point at the middle of the type's range\n"
            "  --reduce-range          7-bit activation ranges (PyTorch's reduce_range)\n"
            "  --weight-bits N         8 (default) or 7: weights in [-64, 64] (ONNX Runtime's reduce_range); on\n"
            "                          AVX2 CPUs without VNNI octet runs them on faster exact kernels, and ONNX\n"
            "                          Runtime's 16-bit sums cannot saturate; costs some accuracy\n"
            "  --exclude X             keep node X (by name) or every node of op type X in float (repeatable)\n"
            "  --eval-samples N        calibration samples the SQNR report runs on (default 256; 0 = no report)\n"
            "  --threads N             threads (default: all cores)\n"
            "%s",
            calib_data_options_help());
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static const struct {
    const char *name, *desc;
    ot_calib_method m;
} k_methods[] = {
    {"minmax", "min/max", OT_CALIB_MINMAX},
    {"ema", "moving-average min/max", OT_CALIB_EMA},
    {"histogram", "histogram, L2 clip search", OT_CALIB_HISTOGRAM},
    {"percentile", "percentile", OT_CALIB_PERCENTILE},
    {"entropy", "entropy (KL divergence)", OT_CALIB_ENTROPY},
    {"mse", "histogram, MSE clip search", OT_CALIB_MSE},
};
#define N_METHODS (int)(sizeof k_methods / sizeof *k_methods)

static bool parse_double(const char *opt, const char *s, double lo, double hi, bool lo_open, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v <= hi) || (lo_open ? !(v > lo) : !(v >= lo))) {
        cli_error(CLI_USAGE, "%s wants a number in %s%g, %g], got '%s'", opt, lo_open ? "(" : "[", lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* Feed every calibration batch, with a progress bar on a terminal. */
static int calibrate(calib_data *data, ot_calib *cal) {
    cli_progress bar;
    cli_progress_start(&bar, "calibrating", calib_data_samples(data));
    int64_t done = 0, n;
    octet_tensor *const *batch;
    int r;
    while ((r = calib_data_next(data, &batch, &n)) > 0) {
        if (ot_calib_feed(cal, batch, calib_data_input_count(data)) != OCTET_OK) {
            cli_progress_end(&bar);
            return cli_fail();
        }
        done += n;
        cli_progress_update(&bar, done);
    }
    cli_progress_end(&bar);
    return r < 0 ? CLI_RUNTIME : CLI_OK;
}

/* SQNR of each output, float vs quantized, on the first `limit` calibration samples. */
static int report_sqnr(const octet_model *fm, const octet_model *qm, calib_data *data, int64_t limit, int threads) {
    ot_compare *cmp = NULL;
    ot_compare_options co = {.threads = threads};
    if (ot_compare_create(&cmp, fm, qm, &co) != OCTET_OK) return cli_fail();
    calib_data_rewind(data);
    calib_data_limit(data, limit);
    int64_t total = calib_data_samples(data), done = 0, n;
    cli_progress bar;
    cli_progress_start(&bar, "measuring  ", total);
    octet_tensor *const *batch;
    int r = 1, rc = CLI_OK;
    while ((r = calib_data_next(data, &batch, &n)) > 0) {
        if (ot_compare_feed(cmp, (const octet_tensor *const *)batch, calib_data_input_count(data), NULL, 0) !=
            OCTET_OK) {
            rc = cli_fail();
            break;
        }
        done += n;
        cli_progress_update(&bar, done);
    }
    cli_progress_end(&bar);
    if (r < 0) rc = CLI_RUNTIME;
    for (int i = 0; rc == CLI_OK && i < ot_compare_output_count(cmp); i++) {
        const ot_cmp_acc *a = ot_compare_output(cmp, i);
        double s = ot_cmp_sqnr_db(a);
        printf("SQNR      %s %.2f dB", ot_compare_output_name(cmp, i), s);
        if (a->rows) printf(", top-1 agreement %.4f", (double)a->agree / (double)a->rows);
        printf(" (float vs int8 in octet, %lld calibration samples)\n", (long long)done);
    }
    ot_compare_free(cmp);
    return rc;
}

int cmd_quantize(int argc, char **argv) {
    /* --mode dynamic has its own options: hand the whole command over */
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) v = argv[i + 1];
        else if (strncmp(argv[i], "--mode=", 7) == 0) v = argv[i] + 7;
        if (v && strcmp(v, "dynamic") == 0) return cmd_quantize_dynamic(argc, argv);
    }
    const char *in_path = NULL, *out_path = NULL, *calib = NULL, *mode = NULL, *val;
    int samples = 0, threads = 0, eval = 256, method = 0;
    ot_static_config cfg = ot_static_config_default();
    ot_calib_options copts = ot_calib_options_default();
    calib_data_options dopts;
    calib_data_options_init(&dopts);
    const char **excl = calloc((size_t)argc + 1, sizeof *excl);
    if (!excl) return cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            free(excl);
            return CLI_OK;
        }
        if ((r = calib_data_parse_opt(&dopts, argc, argv, &i))) {
            if (r < 0) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--mode", &val))) {
            if (r < 0) goto usage;
            mode = val;
        } else if ((r = cli_opt(argc, argv, &i, "-o", &val)) || (r = cli_opt(argc, argv, &i, "--output", &val))) {
            if (r < 0) goto usage;
            out_path = val;
        } else if ((r = cli_opt(argc, argv, &i, "--calib", &val))) {
            if (r < 0) goto usage;
            calib = val;
        } else if ((r = cli_opt(argc, argv, &i, "--calib-samples", &val))) {
            if (r < 0 || !cli_parse_int("--calib-samples", val, 1, 1 << 30, &samples)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--eval-samples", &val))) {
            if (r < 0 || !cli_parse_int("--eval-samples", val, 0, 1 << 30, &eval)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--batch", &val))) {
            if (r < 0 || !cli_parse_int("--batch", val, 1, 1 << 20, &dopts.batch)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--threads", &val))) {
            if (r < 0 || !cli_parse_int("--threads", val, 0, 256, &threads)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--method", &val))) {
            if (r < 0) goto usage;
            for (method = 0; method < N_METHODS && strcmp(k_methods[method].name, val) != 0; method++) {}
            if (method == N_METHODS) {
                cli_error(CLI_USAGE, "--method must be minmax, ema, histogram, percentile, entropy or mse, not '%s'",
                          val);
                goto usage;
            }
            copts.method = k_methods[method].m;
        } else if ((r = cli_opt(argc, argv, &i, "--percentile", &val))) {
            if (r < 0 || !parse_double("--percentile", val, 0, 100, true, &copts.percentile)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--ema-constant", &val))) {
            if (r < 0 || !parse_double("--ema-constant", val, 0, 1, true, &copts.ema_constant)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--bins", &val))) {
            if (r < 0 || !cli_parse_int("--bins", val, 16, 1 << 20, &copts.bins)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--format", &val))) {
            int k;
            if (r < 0 || !cli_parse_choice("--format", val, (const char *[]){"qdq", "qoperator"}, 2, &k)) goto usage;
            cfg.qoperator = k == 1;
        } else if ((r = cli_opt(argc, argv, &i, "--activation-type", &val))) {
            int k;
            if (r < 0 || !cli_parse_choice("--activation-type", val, (const char *[]){"uint8", "int8"}, 2, &k))
                goto usage;
            cfg.activation_type = k ? OCTET_INT8 : OCTET_UINT8;
        } else if ((r = cli_opt(argc, argv, &i, "--exclude", &val))) {
            if (r < 0) goto usage;
            excl[cfg.n_exclude++] = val;
        } else if (strcmp(argv[i], "--per-tensor") == 0) {
            cfg.per_channel = false;
        } else if (strcmp(argv[i], "--symmetric-activations") == 0) {
            cfg.symmetric_activations = true;
        } else if (strcmp(argv[i], "--reduce-range") == 0) {
            cfg.reduce_range = true;
        } else if ((r = cli_opt(argc, argv, &i, "--weight-bits", &val))) {
            int k;
            if (r < 0 || !cli_parse_choice("--weight-bits", val, (const char *[]){"8", "7"}, 2, &k)) goto usage;
            cfg.weights_7bit = k == 1;
        } else if (argv[i][0] == '-') {
            cli_error(CLI_USAGE, "unknown option '%s' (see 'octet quantize --help')", argv[i]);
            goto usage;
        } else if (!in_path) {
            in_path = argv[i];
        } else {
            cli_error(CLI_USAGE, "unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    cfg.exclude = excl;
    dopts.max_samples = samples;
    if (!mode || strcmp(mode, "static") != 0) {
        free(excl);
        return cli_error(CLI_USAGE, mode ? "--mode %s is not a mode: use dynamic or static" : "--mode is required (dynamic or static)%s",
                         mode ? mode : "");
    }
    if (!in_path || !out_path || !calib) {
        free(excl);
        return cli_error(CLI_USAGE, "need IN.onnx, -o OUT.onnx and --calib PATH (see 'octet quantize --help')");
    }
    if (strcmp(in_path, out_path) == 0) {
        free(excl);
        return cli_error(CLI_USAGE, "refusing to overwrite the input model '%s'", in_path);
    }
    octet_model *m = NULL, *fm = NULL;
    calib_data *data = NULL;
    ot_calib *cal = NULL;
    int rc = CLI_OK;
    int nthreads = ot_threads_resolve(threads);
    copts.threads = nthreads;
    if (!cli_load_model(in_path, &m)) {
        free(excl);
        return CLI_RUNTIME;
    }
    ot_static_prep prep = {0};
    if (ot_static_prepare(m, &prep) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    if ((rc = calib_data_open(&data, calib, m, &dopts)) != CLI_OK) goto done;
    ot_threads_apply(nthreads);
    if (ot_calib_create(&cal, m, &copts) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    double t0 = cli_now_ms();
    if ((rc = calibrate(data, cal)) != CLI_OK) goto done;
    double t_cal = cli_now_ms() - t0;
    /* the prepared float model, kept to measure the quantized one against */
    if (eval > 0 && !(fm = ot_model_clone(m))) {
        rc = cli_error(CLI_RUNTIME, "out of memory copying the model");
        goto done;
    }
    int nq = 0;
    if (ot_quantize_static_qdq(m, cal, &cfg, &nq) != OCTET_OK || octet_model_save(m, out_path) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    long before = file_size(in_path), after = file_size(out_path);
    char mdesc[64];
    if (copts.method == OT_CALIB_PERCENTILE) snprintf(mdesc, sizeof mdesc, "percentile %g", copts.percentile);
    else snprintf(mdesc, sizeof mdesc, "%s", k_methods[method].desc);
    printf("calibrated on %lld samples in %.1f s (%s observer)\n", (long long)calib_data_samples(data), t_cal / 1000.0,
           mdesc);
    printf("prepared  %d Constant nodes to initializers, %d BatchNormalization and %d Mul/Add folded", prep.constants,
           prep.batchnorms, prep.affines);
    if (prep.hardswishes) printf(", %d hard-swish patterns to HardSwish", prep.hardswishes);
    if (prep.opset_to != prep.opset_from) printf(", opset %lld -> %lld", (long long)prep.opset_from, (long long)prep.opset_to);
    printf("\n");
    printf("quantized %d nodes (%s, %s activations, int8%s weights %s)\n", nq,
           cfg.qoperator ? "QOperator" : "QDQ", cfg.activation_type == OCTET_INT8 ? "int8" : "uint8",
           cfg.weights_7bit ? " (7-bit)" : "", cfg.per_channel ? "per channel" : "per tensor");
    printf("size      %.6f MB -> %.6f MB (%.2fx smaller)\n", before / 1e6, after / 1e6,
           after > 0 ? (double)before / (double)after : 0.0);
    printf("wrote     %s\n", out_path);
    fflush(stdout);
    if (eval > 0) rc = report_sqnr(fm, m, data, eval, nthreads);
done:
    ot_calib_free(cal);
    calib_data_free(data);
    octet_model_free(fm);
    octet_model_free(m);
    free(excl);
    return rc;
usage:
    free(excl);
    return CLI_USAGE;
}
