/* octet quantize --mode static IN.onnx --calib DATA.npy -o OUT.onnx [options]
 * Static post-training quantization to QDQ: fold BatchNormalization, calibrate min/max ranges on the
 * data, write int8 weights and Q/DQ pairs. The output never overwrites the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "io/npy.h"
#include "ir/passes/passes.h"
#include "quant/static_qdq.h"
#include "tensor/tensor.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet quantize --mode dynamic IN.onnx -o OUT.onnx [options]   (see --mode dynamic --help)\n"
            "       octet quantize --mode static IN.onnx --calib DATA.npy -o OUT.onnx\n"
            "                      [--calib-samples N] [--batch N] [--per-tensor] [--activation-type uint8|int8]\n"
            "                      [--exclude NAME_OR_OP ...] [--threads N]\n"
            "\n"
            "Static post-training quantization (QDQ form): BatchNormalization is folded into the preceding\n"
            "convolution, activation ranges are recorded on the calibration data (min/max observer), weights\n"
            "become int8 per output channel, and Q/DQ pairs are inserted around Conv, Gemm, MatMul, Add, Mul,\n"
            "pooling and Concat. The file runs in octet, ONNX Runtime and other QDQ-aware runtimes.\n"
            "\n"
            "  --calib DATA.npy        calibration inputs, batch on axis 0 (single-input models)\n"
            "  --calib-samples N       use the first N samples (default: all)\n"
            "  --batch N               samples per calibration run (default 32)\n"
            "  --per-tensor            one weight scale per tensor instead of per output channel\n"
            "  --activation-type T     uint8 (default) or int8\n"
            "  --exclude X             keep node X (by name) or every node of op type X in float\n");
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
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
    int samples = 0, batch = 32, threads = 0;
    ot_static_config cfg = ot_static_config_default();
    const char **excl = calloc((size_t)argc + 1, sizeof *excl);
    if (!excl) return cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            free(excl);
            return CLI_OK;
        }
        if ((r = cli_opt(argc, argv, &i, "--mode", &val))) {
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
        } else if ((r = cli_opt(argc, argv, &i, "--batch", &val))) {
            if (r < 0 || !cli_parse_int("--batch", val, 1, 1 << 20, &batch)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--threads", &val))) {
            if (r < 0 || !cli_parse_int("--threads", val, 0, 256, &threads)) goto usage;
        } else if ((r = cli_opt(argc, argv, &i, "--activation-type", &val))) {
            if (r < 0) goto usage;
            if (strcmp(val, "uint8") == 0) cfg.activation_type = OCTET_UINT8;
            else if (strcmp(val, "int8") == 0) cfg.activation_type = OCTET_INT8;
            else {
                cli_error(CLI_USAGE, "--activation-type must be uint8 or int8, not '%s'", val);
                goto usage;
            }
        } else if ((r = cli_opt(argc, argv, &i, "--exclude", &val))) {
            if (r < 0) goto usage;
            excl[cfg.n_exclude++] = val;
        } else if (strcmp(argv[i], "--per-tensor") == 0) {
            cfg.per_channel = false;
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
    if (!mode || strcmp(mode, "static") != 0) {
        free(excl);
        return cli_error(CLI_USAGE, mode ? "--mode %s is not a mode: use dynamic or static" : "--mode is required (dynamic or static)%s",
                         mode ? mode : "");
    }
    if (!in_path || !out_path || !calib) {
        free(excl);
        return cli_error(CLI_USAGE, "need IN.onnx, -o OUT.onnx and --calib DATA.npy (see 'octet quantize --help')");
    }
    if (strcmp(in_path, out_path) == 0) {
        free(excl);
        return cli_error(CLI_USAGE, "refusing to overwrite the input model '%s'", in_path);
    }
    octet_model *m = NULL;
    octet_tensor *data = NULL;
    ot_calib *cal = NULL;
    int rc = CLI_OK;
    if (!cli_load_model(in_path, &m)) {
        free(excl);
        return CLI_RUNTIME;
    }
    if (octet_model_input_count(m) != 1) {
        rc = cli_error(CLI_USAGE, "calibration from one .npy needs a single-input model; this one has %d inputs",
                       octet_model_input_count(m));
        goto done;
    }
    if (octet_npy_load(&data, calib) != OCTET_OK || data->ndim < 1) {
        rc = data ? cli_error(CLI_USAGE, "%s: calibration data needs a batch axis", calib) : cli_fail();
        goto done;
    }
    int folded_bn = 0;
    if (ot_pass_fold_constants(m, 0, NULL) != OCTET_OK || ot_pass_fold_batchnorm(m, &folded_bn) != OCTET_OK ||
        ot_pass_dce(m, NULL) != OCTET_OK || ot_calib_create(&cal, m, &(ot_calib_options){.threads = threads ? threads : 1}) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    int64_t total = data->dims[0];
    if (samples > 0 && samples < total) total = samples;
    size_t row = ot_tensor_nbytes(data) / (size_t)data->dims[0];
    double t0 = cli_now_ms();
    for (int64_t s0 = 0; s0 < total; s0 += batch) {
        int64_t nb = total - s0 < batch ? total - s0 : batch;
        int64_t dims[OCTET_MAX_DIMS];
        memcpy(dims, data->dims, sizeof dims);
        dims[0] = nb;
        octet_tensor *b = NULL;
        if (octet_tensor_wrap(&b, data->dtype, data->ndim, dims, (char *)data->data + (size_t)s0 * row) != OCTET_OK ||
            ot_calib_feed(cal, &b, 1) != OCTET_OK) {
            octet_tensor_free(b);
            rc = cli_fail();
            goto done;
        }
        octet_tensor_free(b);
    }
    double t_cal = cli_now_ms() - t0;
    int nq = 0;
    if (ot_quantize_static_qdq(m, cal, &cfg, &nq) != OCTET_OK || octet_model_save(m, out_path) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    long before = file_size(in_path), after = file_size(out_path);
    printf("calibrated on %lld samples in %.1f s (min/max observer)\n", (long long)total, t_cal / 1000.0);
    printf("folded %d BatchNormalization, quantized %d nodes (QDQ, %s activations, int8 weights %s)\n", folded_bn, nq,
           cfg.activation_type == OCTET_INT8 ? "int8" : "uint8", cfg.per_channel ? "per channel" : "per tensor");
    printf("size      %.6f MB -> %.6f MB (%.2fx smaller)\n", before / 1e6, after / 1e6,
           after > 0 ? (double)before / (double)after : 0.0);
    printf("wrote     %s\n", out_path);
done:
    ot_calib_free(cal);
    octet_tensor_free(data);
    octet_model_free(m);
    free(excl);
    return rc;
usage:
    free(excl);
    return CLI_USAGE;
}
