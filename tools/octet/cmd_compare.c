/* octet compare FLOAT.onnx QUANT.onnx --data PATH [--labels FILE.npy] [--per-layer] [--json]
 * Runs both models on every sample and reports, per output, SQNR, cosine similarity, max abs error,
 * top-1 agreement and (with labels) each model's accuracy; with --per-layer, the SQNR of every quantized
 * tensor against its float twin, worst first (src/quant/compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_data.h"
#include "cli.h"
#include "quant/compare.h"
#include "tensor/tensor.h"
#include "util/mem.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet compare FLOAT.onnx QUANT.onnx --data PATH [options]\n"
            "\n"
            "Runs both models on every sample of PATH and prints, per output: SQNR = 20 log10(|x| / |x - y|)\n"
            "in dB (x float, y quantized, over all samples), cosine similarity, max abs error, top-1 agreement\n"
            "(argmax over the last axis) and, with --labels, each model's top-1 accuracy.\n"
            "\n"
            "  --data PATH             a .npy (batch on axis 0), a .npz with one array per input, a folder of\n"
            "                          .npy/.npz files (sorted by name) or a folder of PNG/JPEG images\n"
            "  --labels FILE.npy       integer class labels, one per sample (or one per output row)\n"
            "  --per-layer             also the SQNR of every quantized tensor against its float twin, worst first\n"
            "  --top N                 --per-layer: show the N worst tensors (default: all)\n"
            "  --json                  machine-readable output on stdout\n"
            "  --samples N             use the first N samples (default: all)\n"
            "  --batch N               samples per run (default 32)\n"
            "  --threads N             threads (default: all cores)\n"
            "%s",
            calib_data_options_help());
}

typedef struct labels {
    int64_t *v;
    int64_t samples, per;   /* v holds samples x per ids */
} labels;

static int load_labels(const char *path, int64_t need, labels *l) {
    octet_tensor *t = NULL;
    memset(l, 0, sizeof *l);
    if (octet_npy_load(&t, path) != OCTET_OK) return cli_fail();
    char got[128];
    int rc = CLI_OK;
    if (!ot_dtype_is_int(t->dtype) || t->ndim < 1)
        rc = cli_error(CLI_USAGE, "labels '%s' hold %s: want integers, one per sample (axis 0)", path,
                       cli_tensor_type_str(t, got, sizeof got));
    else if (t->dims[0] < need)
        rc = cli_error(CLI_USAGE, "labels '%s' hold %lld samples but the data has %lld", path, (long long)t->dims[0],
                       (long long)need);
    if (rc == CLI_OK) {
        int64_t n = ot_tensor_numel(t);
        l->samples = t->dims[0];
        l->per = l->samples ? n / l->samples : 0;
        if (!(l->v = ot_malloc((size_t)(n ? n : 1) * sizeof *l->v))) rc = cli_error(CLI_RUNTIME, "out of memory");
        for (int64_t i = 0; rc == CLI_OK && i < n; i++) l->v[i] = ot_tensor_get_i64(t, i);
    }
    octet_tensor_free(t);
    return rc;
}

/* ---- output ---- */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* A number; infinities as the strings "inf" / "-inf", NaN as null (JSON has neither). */
static void json_num(double v) {
    if (isnan(v)) printf("null");
    else if (isinf(v)) printf(v > 0 ? "\"inf\"" : "\"-inf\"");
    else printf("%.9g", v);
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : NAN; }

static void fmt_num(char *buf, size_t n, double v, const char *fmt) {
    if (isnan(v)) snprintf(buf, n, "-");
    else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else snprintf(buf, n, fmt, v);
}

static void print_text(ot_compare *c, const char *fpath, const char *qpath, const char *desc, double ms) {
    printf("compared  %s vs %s on %s in %.1f s\n\n", fpath, qpath, desc, ms / 1000.0);
    int w = 6;
    for (int i = 0; i < ot_compare_output_count(c); i++) {
        int l = (int)strlen(ot_compare_output_name(c, i));
        if (l > w) w = l;
    }
    printf("%-*s  %9s  %9s  %12s  %11s  %9s  %9s\n", w, "output", "SQNR dB", "cosine", "max abs err", "top-1 agree",
           "acc float", "acc quant");
    for (int i = 0; i < ot_compare_output_count(c); i++) {
        const ot_cmp_acc *a = ot_compare_output(c, i);
        char s[32], co[32], mx[32], ag[32], af[32], aq[32];
        fmt_num(s, sizeof s, ot_cmp_sqnr_db(a), "%.2f");
        fmt_num(co, sizeof co, ot_cmp_cosine(a), "%.6f");
        fmt_num(mx, sizeof mx, a->max_abs, "%.6g");
        fmt_num(ag, sizeof ag, ratio(a->agree, a->rows), "%.4f");
        fmt_num(af, sizeof af, ratio(a->correct_ref, a->labeled), "%.4f");
        fmt_num(aq, sizeof aq, ratio(a->correct_test, a->labeled), "%.4f");
        printf("%-*s  %9s  %9s  %12s  %11s  %9s  %9s\n", w, ot_compare_output_name(c, i), s, co, mx, ag, af, aq);
        if (a->nonfinite)
            printf("  (%lld NaN/inf values left out of '%s')\n", (long long)a->nonfinite, ot_compare_output_name(c, i));
    }
}

static void print_layers_text(ot_compare *c, int top) {
    const ot_layer_result *r;
    int n = ot_compare_layers(c, &r), show = top > 0 && top < n ? top : n;
    printf("\nper-layer SQNR, worst first: %d quantized tensors against their float twins", n);
    if (show < n) printf(" (the %d worst)", show);
    printf("\n");
    if (!n) {
        printf("  (no quantized tensor pairs with a tensor of the float model)\n");
        return;
    }
    int w = 6, wf = 8, wq = 8;
    for (int i = 0; i < show; i++) {
        if ((int)strlen(r[i].name) > w) w = (int)strlen(r[i].name);
        if ((int)strlen(r[i].ref_op) > wf) wf = (int)strlen(r[i].ref_op);
        if ((int)strlen(r[i].test_op) > wq) wq = (int)strlen(r[i].test_op);
    }
    printf("%9s  %-*s  %-*s  %-*s  %9s  %12s\n", "SQNR dB", w, "tensor", wf, "float op", wq, "quant op", "cosine",
           "max abs err");
    for (int i = 0; i < show; i++) {
        char s[32], co[32], mx[32];
        fmt_num(s, sizeof s, ot_cmp_sqnr_db(&r[i].acc), "%.2f");
        fmt_num(co, sizeof co, ot_cmp_cosine(&r[i].acc), "%.6f");
        fmt_num(mx, sizeof mx, r[i].acc.max_abs, "%.6g");
        printf("%9s  %-*s  %-*s  %-*s  %9s  %12s\n", s, w, r[i].name, wf, r[i].ref_op, wq, r[i].test_op, co, mx);
    }
}

static void print_json(ot_compare *c, const char *fpath, const char *qpath, int64_t samples, bool per_layer, int top) {
    printf("{\"float_model\": ");
    json_str(fpath);
    printf(", \"quant_model\": ");
    json_str(qpath);
    printf(", \"samples\": %lld,\n \"outputs\": [", (long long)samples);
    for (int i = 0; i < ot_compare_output_count(c); i++) {
        const ot_cmp_acc *a = ot_compare_output(c, i);
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_str(ot_compare_output_name(c, i));
        printf(", \"sqnr_db\": ");
        json_num(ot_cmp_sqnr_db(a));
        printf(", \"cosine\": ");
        json_num(ot_cmp_cosine(a));
        printf(", \"max_abs_error\": ");
        json_num(a->n ? a->max_abs : NAN);
        printf(", \"elements\": %lld, \"nonfinite\": %lld, \"top1_rows\": %lld, \"top1_agreement\": ", (long long)a->n,
               (long long)a->nonfinite, (long long)a->rows);
        json_num(ratio(a->agree, a->rows));
        printf(", \"labeled\": %lld, \"accuracy_float\": ", (long long)a->labeled);
        json_num(ratio(a->correct_ref, a->labeled));
        printf(", \"accuracy_quant\": ");
        json_num(ratio(a->correct_test, a->labeled));
        printf("}");
    }
    printf("\n ]");
    if (per_layer) {
        const ot_layer_result *r;
        int n = ot_compare_layers(c, &r), show = top > 0 && top < n ? top : n;
        printf(",\n \"layers\": [");
        for (int i = 0; i < show; i++) {
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_str(r[i].name);
            printf(", \"quantized\": ");
            json_str(r[i].qname);
            printf(", \"float_op\": ");
            json_str(r[i].ref_op);
            printf(", \"quant_op\": ");
            json_str(r[i].test_op);
            printf(", \"sqnr_db\": ");
            json_num(ot_cmp_sqnr_db(&r[i].acc));
            printf(", \"cosine\": ");
            json_num(ot_cmp_cosine(&r[i].acc));
            printf(", \"max_abs_error\": ");
            json_num(r[i].acc.max_abs);
            printf(", \"elements\": %lld}", (long long)r[i].acc.n);
        }
        printf("\n ]");
    }
    printf("\n}\n");
}

int cmd_compare(int argc, char **argv) {
    const char *paths[2] = {NULL, NULL}, *data_path = NULL, *labels_path = NULL, *val;
    int n_paths = 0, samples = 0, threads = 0, top = 0;
    bool per_layer = false, json = false;
    calib_data_options dopts;
    calib_data_options_init(&dopts);
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            return CLI_OK;
        }
        if ((r = calib_data_parse_opt(&dopts, argc, argv, &i))) {
            if (r < 0) return CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--data", &val))) {
            if (r < 0) return CLI_USAGE;
            data_path = val;
        } else if ((r = cli_opt(argc, argv, &i, "--labels", &val))) {
            if (r < 0) return CLI_USAGE;
            labels_path = val;
        } else if ((r = cli_opt(argc, argv, &i, "--samples", &val))) {
            if (r < 0 || !cli_parse_int("--samples", val, 1, 1 << 30, &samples)) return CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--batch", &val))) {
            if (r < 0 || !cli_parse_int("--batch", val, 1, 1 << 20, &dopts.batch)) return CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--threads", &val))) {
            if (r < 0 || !cli_parse_int("--threads", val, 0, 256, &threads)) return CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--top", &val))) {
            if (r < 0 || !cli_parse_int("--top", val, 0, 1 << 30, &top)) return CLI_USAGE;
        } else if (strcmp(argv[i], "--per-layer") == 0) {
            per_layer = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-') {
            return cli_error(CLI_USAGE, "unknown option '%s' (see 'octet compare --help')", argv[i]);
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return cli_error(CLI_USAGE, "unexpected argument '%s'", argv[i]);
        }
    }
    if (n_paths < 2 || !data_path)
        return cli_error(CLI_USAGE, "need FLOAT.onnx, QUANT.onnx and --data PATH (see 'octet compare --help')");
    dopts.max_samples = samples;
    octet_model *fm = NULL, *qm = NULL;
    calib_data *data = NULL;
    ot_compare *cmp = NULL;
    labels lab = {0};
    int rc = CLI_OK;
    if (!cli_load_model(paths[0], &fm) || !cli_load_model(paths[1], &qm)) {
        rc = CLI_RUNTIME;
        goto done;
    }
    if ((rc = calib_data_open(&data, data_path, fm, &dopts)) != CLI_OK) goto done;
    int64_t total = calib_data_samples(data);
    if (labels_path && (rc = load_labels(labels_path, total, &lab)) != CLI_OK) goto done;
    ot_compare_options co = {.threads = threads, .per_layer = per_layer};
    if (ot_compare_create(&cmp, fm, qm, &co) != OCTET_OK) {
        rc = cli_fail();
        goto done;
    }
    if (ot_compare_input_count(cmp) != calib_data_input_count(data)) {   /* both list the real inputs */
        rc = cli_error(CLI_RUNTIME, "internal: %d inputs vs %d", ot_compare_input_count(cmp),
                       calib_data_input_count(data));
        goto done;
    }
    cli_progress bar;
    cli_progress_start(&bar, "comparing", total);
    double t0 = cli_now_ms();
    int64_t done_n = 0, n;
    octet_tensor *const *batch;
    int r;
    while ((r = calib_data_next(data, &batch, &n)) > 0) {
        const int64_t *lv = lab.v ? lab.v + done_n * lab.per : NULL;
        if (ot_compare_feed(cmp, (const octet_tensor *const *)batch, calib_data_input_count(data), lv, n * lab.per) !=
            OCTET_OK) {
            cli_progress_end(&bar);
            rc = cli_fail();
            goto done;
        }
        done_n += n;
        cli_progress_update(&bar, done_n);
    }
    cli_progress_end(&bar);
    if (r < 0) {
        rc = CLI_RUNTIME;
        goto done;
    }
    double ms = cli_now_ms() - t0;
    if (json) {
        print_json(cmp, paths[0], paths[1], done_n, per_layer, top);
    } else {
        print_text(cmp, paths[0], paths[1], calib_data_describe(data), ms);
        if (labels_path) {
            bool any = false;
            for (int i = 0; i < ot_compare_output_count(cmp); i++) any |= ot_compare_output(cmp, i)->labeled > 0;
            if (!any)
                printf("(no output has one top-1 row per label: %lld label%s per sample)\n", (long long)lab.per,
                       lab.per == 1 ? "" : "s");
        }
        if (per_layer) print_layers_text(cmp, top);
    }
done:
    ot_compare_free(cmp);
    calib_data_free(data);
    free(lab.v);
    octet_model_free(qm);
    octet_model_free(fm);
    return rc;
}
