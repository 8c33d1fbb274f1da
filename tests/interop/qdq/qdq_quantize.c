/* Static quantization through the public API only (include/octet.h), for the interop test:
 *   qdq_quantize IN.onnx CALIB.npy N OUT.onnx [--qoperator] [--int8] [--per-tensor] [--weight-bits7]
 *                [--exclude X ...]
 * prepares the model, calibrates on the first N samples of CALIB.npy (one sample per run), quantizes and
 * saves. The same steps as `octet quantize --mode static`, without the CLI. */
#include <octet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "qdq_quantize: %s: %s\n", what, octet_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: qdq_quantize IN.onnx CALIB.npy N OUT.onnx [--qoperator] [--int8] [--per-tensor] [--weight-bits7] [--exclude X]\n");
        return 2;
    }
    octet_static_config cfg = octet_static_config_default();
    const char *excl[16];
    int n_excl = 0;
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--qoperator") == 0) cfg.format = OCTET_FORMAT_QOPERATOR;
        else if (strcmp(argv[i], "--int8") == 0) cfg.activation_type = OCTET_INT8;
        else if (strcmp(argv[i], "--per-tensor") == 0) cfg.per_channel = 0;
        else if (strcmp(argv[i], "--weight-bits7") == 0) cfg.weight_bits = 7;
        else if (strcmp(argv[i], "--exclude") == 0 && i + 1 < argc && n_excl < 16) excl[n_excl++] = argv[++i];
        else {
            fprintf(stderr, "qdq_quantize: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    cfg.exclude = excl;
    cfg.n_exclude = n_excl;
    octet_model *m = NULL;
    octet_tensor *data = NULL;
    octet_calibrator *cal = NULL;
    int rc = 0;
    if (octet_model_load(&m, argv[1]) != OCTET_OK) return fail("load");
    if (octet_npy_load(&data, argv[2]) != OCTET_OK) {
        octet_model_free(m);
        return fail("calibration data");
    }
    long n = strtol(argv[3], NULL, 10);
    int ndim = octet_tensor_ndim(data);
    int64_t dims[8] = {0};
    for (int i = 0; i < ndim && i < 8; i++) dims[i] = octet_tensor_dim(data, i);
    if (ndim < 1 || ndim > 8) {
        fprintf(stderr, "qdq_quantize: calibration data needs a batch axis\n");
        rc = 2;
    }
    if (n < 1 || n > dims[0]) n = (long)dims[0];
    if (!rc && octet_static_prepare(m) != OCTET_OK) rc = fail("prepare");
    if (!rc && octet_calibrator_create(&cal, m, NULL) != OCTET_OK) rc = fail("calibrator");
    size_t row = dims[0] ? (size_t)octet_tensor_count(data) * octet_dtype_size(octet_tensor_dtype(data)) / (size_t)dims[0] : 0;
    for (long s = 0; s < n && !rc; s++) {
        int64_t d[8];
        memcpy(d, dims, (size_t)ndim * sizeof *d);
        d[0] = 1;
        octet_tensor *b = NULL;
        if (octet_tensor_wrap(&b, octet_tensor_dtype(data), ndim, d, (char *)octet_tensor_data(data) + (size_t)s * row) !=
                OCTET_OK ||
            octet_calibrator_feed(cal, &b, 1) != OCTET_OK)
            rc = fail("calibrate");
        octet_tensor_free(b);
    }
    if (!rc && octet_quantize_static(m, cal, &cfg) != OCTET_OK) rc = fail("quantize");
    if (!rc && octet_model_save(m, argv[4]) != OCTET_OK) rc = fail("save");
    octet_calibrator_free(cal);
    octet_tensor_free(data);
    octet_model_free(m);
    return rc;
}
