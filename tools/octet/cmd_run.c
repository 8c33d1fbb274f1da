/* octet run MODEL --input NAME=FILE.npy ... [--inputs FILE.npz] [--output-dir DIR] [--threads N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tensor/tensor.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet run MODEL [--input NAME=FILE.npy ...] [--inputs FILE.npz] [--output-dir DIR] [--threads N]\n"
            "\n"
            "Run MODEL once and print each output's type, shape and min/max/mean.\n"
            "\n"
            "  --input NAME=FILE.npy  bind graph input NAME to an .npy file (repeatable)\n"
            "  --inputs FILE.npz      bind every array of an .npz archive to the input of its name\n"
            "  --output-dir DIR       write each output to DIR/<name>.npy (characters outside\n"
            "                         [A-Za-z0-9_.-] in the name become '_'); DIR is created\n"
            "  --threads N            worker threads (0 = all cores, the default)\n"
            "  --no-optimize          run the graph exactly as written: no constant folding, no fusion\n"
            "                         (a QDQ model then runs in float, as its Q/DQ nodes literally say)\n");
}

/* "min -0.5  max 3.5  mean 1.08" over any numeric tensor; NaNs are counted, not summed. */
static void print_summary(const octet_tensor *t) {
    int64_t n = ot_tensor_numel(t);
    if (n == 0 || t->dtype == OCTET_STRING || t->dtype == OCTET_FLOAT16 || octet_dtype_size(t->dtype) == 0) {
        printf("%s", n == 0 ? "(empty)" : "");
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int64_t nans = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = ot_tensor_get_f64(t, i);
        if (isnan(v)) {
            nans++;
            continue;
        }
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
    }
    if (nans == n) printf("all %lld values are NaN", (long long)n);
    else printf("min %.6g  max %.6g  mean %.6g", lo, hi, sum / (double)(n - nans));
    if (nans && nans != n) printf("  NaN %lld", (long long)nans);
}

static bool path_taken(char **paths, int n, const char *p) {
    for (int j = 0; j < n; j++)
        if (strcmp(paths[j], p) == 0) return true;
    return false;
}

/* DIR/<sanitized name>.npy per output; "_<index>" is appended when two names sanitize alike. */
static int output_paths(const octet_model *m, const char *dir, char ***out) {
    int n = m->graph->n_outputs;
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    if (!paths) return cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        char base[256], path[4096 + 300];
        cli_sanitize_name(m->graph->outputs[i].name, base, sizeof base);
        snprintf(path, sizeof path, "%s/%s.npy", dir, base);
        for (int k = i; path_taken(paths, i, path); k += n) snprintf(path, sizeof path, "%s/%s_%d.npy", dir, base, k);
        paths[i] = strdup(path);
        if (!paths[i]) {
            for (int j = 0; j < i; j++) free(paths[j]);
            free(paths);
            return cli_error(CLI_RUNTIME, "out of memory");
        }
    }
    *out = paths;
    return CLI_OK;
}

int cmd_run(int argc, char **argv) {
    const char *model_path = NULL, *out_dir = NULL, *val;
    int threads = 0, rc = CLI_OK, no_optimize = 0;
    cli_inputs in = {0};
    bool options_done = false;
    /* First pass: everything that does not need files, so usage errors come before any I/O. */
    const char **specs = calloc((size_t)argc, sizeof *specs), **npzs = calloc((size_t)argc, sizeof *npzs);
    int n_specs = 0, n_npzs = 0;
    if (!specs || !npzs) {
        free(specs);
        free(npzs);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *a = argv[i];
        int r;
        if (!options_done && cli_is_help(a)) {
            help(stdout);
            free(specs);
            free(npzs);
            return CLI_OK;
        }
        if (!options_done && strcmp(a, "--") == 0) options_done = true;
        else if (!options_done && (r = cli_opt(argc, argv, &i, "--input", &val)) != 0) {
            if (r < 0) rc = CLI_USAGE;
            else if (!strchr(val, '=') || val[0] == '=' || !strchr(val, '=')[1])
                rc = cli_error(CLI_USAGE, "--input wants NAME=FILE.npy, got '%s'", val);
            else specs[n_specs++] = val;
        } else if (!options_done && (r = cli_opt(argc, argv, &i, "--inputs", &val)) != 0) {
            if (r < 0) rc = CLI_USAGE;
            else npzs[n_npzs++] = val;
        } else if (!options_done && (r = cli_opt(argc, argv, &i, "--output-dir", &val)) != 0) {
            rc = r < 0 ? CLI_USAGE : CLI_OK;
            out_dir = val;
        } else if (!options_done && (r = cli_opt(argc, argv, &i, "--threads", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--threads", val, 0, 4096, &threads)) rc = CLI_USAGE;
        } else if (!options_done && strcmp(a, "--no-optimize") == 0) {
            no_optimize = 1;
        } else if (!options_done && a[0] == '-' && a[1]) {
            rc = cli_error(CLI_USAGE, "unknown option '%s' for 'octet run' (see 'octet run --help')", a);
        } else if (!model_path) {
            model_path = a;
        } else {
            rc = cli_error(CLI_USAGE, "unexpected argument '%s' (one MODEL only)", a);
        }
    }
    if (rc == CLI_OK && !model_path) rc = cli_error(CLI_USAGE, "no MODEL given (see 'octet run --help')");

    octet_model *m = NULL;
    if (rc == CLI_OK && !cli_load_model(model_path, &m)) rc = CLI_RUNTIME;
    for (int i = 0; i < n_specs && rc == CLI_OK; i++) rc = cli_inputs_add_spec(&in, specs[i]);
    for (int i = 0; i < n_npzs && rc == CLI_OK; i++) rc = cli_inputs_add_npz(&in, npzs[i]);
    free(specs);
    free(npzs);
    if (rc == CLI_OK) rc = cli_inputs_check(&in, m, true);

    octet_session *s = NULL;
    if (rc == CLI_OK) {
        octet_session_options opts = {.threads = threads, .disable_graph_optimizations = no_optimize};
        if (octet_session_create(&s, m, &opts) != OCTET_OK) rc = cli_fail();
    }
    int n_out = m ? m->graph->n_outputs : 0;
    octet_tensor **outs = calloc((size_t)n_out + 1, sizeof *outs);
    if (!outs && rc == CLI_OK) rc = cli_error(CLI_RUNTIME, "out of memory");
    double ms = 0;
    if (rc == CLI_OK) {
        double t0 = cli_now_ms();
        if (octet_session_run(s, (const char *const *)in.names, in.tensors, in.n, outs, n_out) != OCTET_OK)
            rc = cli_fail();
        ms = cli_now_ms() - t0;
    }
    char **paths = NULL;
    if (rc == CLI_OK && out_dir) {
        if (!cli_make_dirs(out_dir)) rc = CLI_RUNTIME;
        else rc = output_paths(m, out_dir, &paths);
    }
    if (rc == CLI_OK) {
        int w = 4;
        for (int i = 0; i < n_out; i++) {
            int l = (int)strlen(m->graph->outputs[i].name);
            if (l > w) w = l < 40 ? l : 40;
        }
        for (int i = 0; i < n_out; i++) {
            char ty[160];
            printf("%-*s  %-24s  ", w, m->graph->outputs[i].name, cli_tensor_type_str(outs[i], ty, sizeof ty));
            print_summary(outs[i]);
            printf("\n");
        }
        for (int i = 0; paths && i < n_out && rc == CLI_OK; i++) {
            if (octet_npy_save(outs[i], paths[i]) != OCTET_OK) rc = cli_fail();
            else printf("wrote %s\n", paths[i]);
        }
        if (rc == CLI_OK) printf("ran in %.3f ms\n", ms);
    }
    for (int i = 0; i < n_out && outs; i++) {
        octet_tensor_free(outs[i]);
        if (paths) free(paths[i]);
    }
    free(paths);
    free(outs);
    octet_session_free(s);
    cli_inputs_free(&in);
    octet_model_free(m);   /* after the session: it borrows the model */
    return rc;
}
