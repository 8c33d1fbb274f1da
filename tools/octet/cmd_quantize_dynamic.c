/* octet quantize --mode dynamic IN.onnx -o OUT.onnx [options]
 * Dynamic quantization (PyTorch's quantize_dynamic): 8-bit weights, activations quantized at run time.
 * Prints sizes before/after, what was quantized and what stayed float (and why). The output is written
 * through octet_model_save (temporary file + rename) and never overwrites the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "quant/dynamic.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet quantize --mode dynamic IN.onnx -o OUT.onnx\n"
            "                      [--ops MatMul,Gemm,LSTM,GRU,RNN,Conv] [--per-channel] [--weight-type int8|uint8]\n"
            "                      [--asymmetric] [--reduce-range] [--exclude NAME_OR_OP ...] [--ort-compatible]\n"
            "                      [--form contrib|onnx] [-v]\n"
            "\n"
            "Dynamic quantization, as PyTorch's quantize_dynamic: weights become 8-bit now; activations stay\n"
            "float and are quantized on every run (min/max -> uint8) right before the integer product.\n"
            "No calibration data is needed.\n"
            "\n"
            "  --ops LIST           op types to quantize (default MatMul,Gemm,LSTM,GRU,RNN; Conv is opt-in)\n"
            "  --per-channel        one weight scale per output column (default: per tensor)\n"
            "  --weight-type T      int8 (default) or uint8\n"
            "  --asymmetric         affine weights with a zero point (default: symmetric)\n"
            "  --reduce-range       7-bit weights: ONNX Runtime's int8 kernels on AVX2 CPUs without VNNI can\n"
            "                       saturate on full-range int8 weights; this (or --weight-type uint8) avoids it\n"
            "  --exclude X          keep node X (by name) or every node of op type X in float (repeatable)\n"
            "  --ort-compatible     only ops ONNX Runtime has: GRU and RNN stay float\n"
            "  --form F             contrib (default): MatMul/Gemm -> com.microsoft DynamicQuantizeMatMul;\n"
            "                       onnx: DynamicQuantizeLinear + MatMulInteger + Cast + Mul (opset >= 11)\n"
            "  -v, --verbose        list every candidate node\n"
            "\n"
            "LSTM becomes com.microsoft DynamicQuantizeLSTM; GRU and RNN become ai.octet DynamicQuantizeGRU /\n"
            "DynamicQuantizeRNN, which only octet runs (see docs/DYNAMIC.md).\n");
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The same file (also through links or another spelling of the path)? */
static bool same_file(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return true;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int add_ops(const char ***ops, int *n, int *cap, const char *list, char ***owned, int *n_owned) {
    char *copy = strdup(list);
    if (!copy) return cli_error(CLI_RUNTIME, "out of memory");
    char **o = realloc(*owned, (size_t)(*n_owned + 1) * sizeof *o);
    if (!o) {
        free(copy);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    *owned = o;
    o[(*n_owned)++] = copy;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!*t) continue;
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 8;
            const char **g = realloc(*ops, (size_t)nc * sizeof *g);
            if (!g) return cli_error(CLI_RUNTIME, "out of memory");
            *ops = g, *cap = nc;
        }
        (*ops)[(*n)++] = t;
    }
    return CLI_OK;
}

/* One line per (op type, reason) of the nodes left float, with a few of their names. */
static void print_float_groups(const ot_dynamic_report *r) {
    bool *done = calloc((size_t)r->n + 1, sizeof *done);
    if (!done) return;
    for (int i = 0; i < r->n; i++) {
        const ot_dynamic_entry *e = &r->entries[i];
        if (e->quantized || done[i]) continue;
        int count = 0;
        char names[160] = "";
        size_t len = 0;
        for (int j = i; j < r->n; j++) {
            const ot_dynamic_entry *f = &r->entries[j];
            if (f->quantized || done[j] || strcmp(f->op_type, e->op_type) != 0 ||
                strcmp(f->reason ? f->reason : "", e->reason ? e->reason : "") != 0)
                continue;
            done[j] = true;
            if (count < 3 && len < sizeof names - 1)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", count ? ", " : "",
                                        f->node[0] ? f->node : "(unnamed)");
            count++;
        }
        if (len >= sizeof names) len = sizeof names - 1;
        printf("  %-8s %4d  %s  [%s%s]\n", e->op_type, count, e->reason ? e->reason : "", names, count > 3 ? ", ..." : "");
    }
    free(done);
}

static void print_quantized_groups(const ot_dynamic_report *r) {
    bool *done = calloc((size_t)r->n + 1, sizeof *done);
    if (!done) return;
    for (int i = 0; i < r->n; i++) {
        const ot_dynamic_entry *e = &r->entries[i];
        if (!e->quantized || done[i]) continue;
        int count = 0;
        for (int j = i; j < r->n; j++) {
            const ot_dynamic_entry *f = &r->entries[j];
            if (!f->quantized || done[j] || strcmp(f->op_type, e->op_type) != 0 || strcmp(f->result, e->result) != 0)
                continue;
            done[j] = true;
            count++;
        }
        printf("  %-8s %4d  -> %s\n", e->op_type, count, e->result);
    }
    for (int i = 0; i < r->n; i++)
        if (r->entries[i].quantized && r->entries[i].reason)
            printf("           note  %s: %s\n", r->entries[i].node, r->entries[i].reason);
    free(done);
}

static void print_report(const ot_dynamic_report *r, const ot_dynamic_config *cfg, long long fin, long long fout,
                         bool verbose) {
    printf("dynamic quantization: %s%s weights, %s, %s; MatMul/Gemm as %s\n",
           cfg->weight_type == OCTET_UINT8 ? "uint8" : "int8", cfg->reduce_range ? " (7-bit)" : "",
           cfg->per_channel ? "per channel" : "per tensor",
           cfg->symmetric_weights ? "symmetric" : "affine",
           cfg->form == OT_DYNAMIC_FORM_CONTRIB ? "com.microsoft.DynamicQuantizeMatMul"
                                                : "DynamicQuantizeLinear + MatMulInteger");
    printf("\n%-34s %14s %14s %9s\n", "size", "before (MB)", "after (MB)", "ratio");
    printf("%-34s %14.6f %14.6f %8.2fx\n", "  weights (like a state_dict)", r->weight_bytes_before / 1e6,
           r->weight_bytes_after / 1e6,
           r->weight_bytes_after > 0 ? (double)r->weight_bytes_before / (double)r->weight_bytes_after : 0.0);
    if (fin >= 0 && fout >= 0)
        printf("%-34s %14.6f %14.6f %8.2fx\n", "  ONNX file", fin / 1e6, fout / 1e6, fout > 0 ? (double)fin / (double)fout : 0.0);
    printf("\nquantized: %d node%s, %d weight tensor%s\n", r->n_quantized, r->n_quantized == 1 ? "" : "s", r->n_weights,
           r->n_weights == 1 ? "" : "s");
    print_quantized_groups(r);
    int n_float = r->n - r->n_quantized;
    printf("left float: %d node%s\n", n_float, n_float == 1 ? "" : "s");
    print_float_groups(r);
    if (r->folded_constants)
        printf("folded %d constant node%s so computed weights became initializers\n", r->folded_constants,
               r->folded_constants == 1 ? "" : "s");
    if (verbose) {
        printf("\nnodes:\n");
        for (int i = 0; i < r->n; i++) {
            const ot_dynamic_entry *e = &r->entries[i];
            printf("  %-6s %-8s %s%s%s -> %s%s%s\n", e->quantized ? "int8" : "float", e->op_type, e->graph,
                   e->graph[0] ? "/" : "", e->node[0] ? e->node : "(unnamed)", e->quantized ? e->result : "float",
                   e->reason ? ": " : "", e->reason ? e->reason : "");
        }
    }
    if (r->needs_octet)
        printf("\nruns in: octet only (ai.octet ops; --ort-compatible keeps GRU/RNN float for ONNX Runtime)\n");
    else if (r->needs_contrib)
        printf("\nruns in: octet and ONNX Runtime (com.microsoft contrib ops)\n");
    else
        printf("\nruns in: octet and any ONNX runtime (standard ops)\n");
    if (!r->needs_octet && r->n_quantized > 0 && cfg->weight_type == OCTET_INT8 && !cfg->reduce_range)
        printf("note: ONNX Runtime's int8 kernels on AVX2 CPUs without VNNI can saturate on full-range int8 weights;\n"
               "      for ONNX Runtime there, use --weight-type uint8 or --reduce-range (docs/DYNAMIC.md).\n"
               "      (octet's own kernels stay exact there, and --reduce-range is ~1.1-1.2x faster in octet.)\n");
}

int cmd_quantize_dynamic(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *val;
    ot_dynamic_config cfg = ot_dynamic_config_default();
    const char **excl = calloc((size_t)argc + 1, sizeof *excl);
    const char **ops = NULL;
    char **owned = NULL;
    int n_ops = 0, cap_ops = 0, n_owned = 0, rc = CLI_OK;
    bool verbose = false, ops_given = false;
    if (!excl) return cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            goto out;
        }
        if ((r = cli_opt(argc, argv, &i, "--mode", &val))) {
            if (r < 0) goto usage;
            if (strcmp(val, "dynamic") != 0) {
                rc = cli_error(CLI_USAGE, "--mode %s given twice with different values", val);
                goto out;
            }
        } else if ((r = cli_opt(argc, argv, &i, "-o", &val)) || (r = cli_opt(argc, argv, &i, "--output", &val))) {
            if (r < 0) goto usage;
            out_path = val;
        } else if ((r = cli_opt(argc, argv, &i, "--ops", &val))) {
            if (r < 0) goto usage;
            ops_given = true;
            if ((rc = add_ops(&ops, &n_ops, &cap_ops, val, &owned, &n_owned)) != CLI_OK) goto out;
        } else if ((r = cli_opt(argc, argv, &i, "--weight-type", &val))) {
            int k;
            if (r < 0 || !cli_parse_choice("--weight-type", val, (const char *[]){"int8", "uint8"}, 2, &k)) goto usage;
            cfg.weight_type = k ? OCTET_UINT8 : OCTET_INT8;
        } else if ((r = cli_opt(argc, argv, &i, "--form", &val))) {
            int k;
            if (r < 0 || !cli_parse_choice("--form", val, (const char *[]){"contrib", "onnx"}, 2, &k)) goto usage;
            cfg.form = k ? OT_DYNAMIC_FORM_ONNX : OT_DYNAMIC_FORM_CONTRIB;
        } else if ((r = cli_opt(argc, argv, &i, "--exclude", &val))) {
            if (r < 0) goto usage;
            excl[cfg.n_exclude++] = val;
        } else if (strcmp(argv[i], "--per-channel") == 0) {
            cfg.per_channel = true;
        } else if (strcmp(argv[i], "--per-tensor") == 0) {
            cfg.per_channel = false;
        } else if (strcmp(argv[i], "--asymmetric") == 0) {
            cfg.symmetric_weights = false;
        } else if (strcmp(argv[i], "--symmetric") == 0) {
            cfg.symmetric_weights = true;
        } else if (strcmp(argv[i], "--reduce-range") == 0) {
            cfg.reduce_range = true;
        } else if (strcmp(argv[i], "--ort-compatible") == 0) {
            cfg.ort_compatible = true;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error(CLI_USAGE, "unknown option '%s' (see 'octet quantize --mode dynamic --help')", argv[i]);
            goto usage;
        } else if (!in_path) {
            in_path = argv[i];
        } else {
            cli_error(CLI_USAGE, "unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    cfg.exclude = excl;
    if (ops_given) {
        if (n_ops == 0) {
            rc = cli_error(CLI_USAGE, "--ops needs at least one op type");
            goto out;
        }
        cfg.op_types = ops;
        cfg.n_op_types = n_ops;
    }
    if (!in_path || !out_path) {
        rc = cli_error(CLI_USAGE, "need IN.onnx and -o OUT.onnx (see 'octet quantize --mode dynamic --help')");
        goto out;
    }
    if (same_file(in_path, out_path)) {
        rc = cli_error(CLI_USAGE, "refusing to overwrite the input model '%s'", in_path);
        goto out;
    }
    octet_model *m = NULL;
    if (!cli_load_model(in_path, &m)) {
        rc = CLI_RUNTIME;
        goto out;
    }
    ot_dynamic_report rep;
    memset(&rep, 0, sizeof rep);
    if (ot_quantize_dynamic(m, &cfg, &rep) != OCTET_OK) {
        rc = octet_last_error()[0] && strstr(octet_last_error(), "cannot be quantized dynamically") ? cli_error(CLI_USAGE, "%s", octet_last_error())
                                                                                                 : cli_fail();
    } else if (octet_model_save(m, out_path) != OCTET_OK) {
        rc = cli_fail();
    } else {
        print_report(&rep, &cfg, file_size(in_path), file_size(out_path), verbose);
        printf("wrote %s\n", out_path);
    }
    ot_dynamic_report_free(&rep);
    octet_model_free(m);
    goto out;
usage:
    rc = CLI_USAGE;
out:
    free(excl);
    free(ops);
    for (int i = 0; i < n_owned; i++) free(owned[i]);
    free(owned);
    return rc;
}
