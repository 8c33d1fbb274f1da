/* octet bench MODEL [--threads N] [--runs N] [--warmup N] [--input NAME=FILE.npy ...] [--inputs FILE.npz]
 *                   [--batch N] [--profile [--top N]]
 * Inputs not given are generated from their declared shapes (symbolic dimensions = --batch). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "tensor/tensor.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: octet bench MODEL [--threads N] [--runs N] [--warmup N] [--batch N]\n"
            "                         [--input NAME=FILE.npy ...] [--inputs FILE.npz] [--profile [--top N]]\n"
            "\n"
            "Run MODEL repeatedly and print the median, p90 and min latency and the peak RSS.\n"
            "\n"
            "  --threads N            worker threads (0 = all cores, the default)\n"
            "  --runs N               timed runs (default 20)\n"
            "  --warmup N             untimed runs first (default 3)\n"
            "  --batch N              value of symbolic dimensions in generated inputs (default 1)\n"
            "  --input NAME=FILE.npy  use this data for input NAME (repeatable)\n"
            "  --inputs FILE.npz      use the arrays of an .npz archive, by name\n"
            "  --profile              also time every node: totals per op type and the slowest nodes\n"
            "                         (per timed run; timing each node adds a little overhead)\n"
            "  --top N                nodes listed by --profile (default 15, 0 = all)\n"
            "\n"
            "Inputs not given are generated: float32/64 uniform in [-1, 1), anything else zeros.\n");
}

/* A generated input for vi: fixed seed, so runs are comparable. */
static int make_input(const ot_value_info *vi, int batch, uint64_t *seed, octet_tensor **out) {
    char ty[256];
    if (vi->ndim < 0 || vi->dtype == OCTET_UNDEFINED || octet_dtype_size(vi->dtype) == 0)
        return cli_error(CLI_USAGE, "input '%s' is declared as %s: give its data with --input %s=FILE.npy", vi->name,
                         cli_value_type_str(vi, ty, sizeof ty), vi->name);
    int64_t dims[OCTET_MAX_DIMS];
    for (int i = 0; i < vi->ndim; i++) dims[i] = vi->dims[i].value >= 0 ? vi->dims[i].value : batch;
    if (octet_tensor_create(out, vi->dtype, vi->ndim, dims) != OCTET_OK) return cli_fail();
    octet_tensor *t = *out;
    int64_t n = ot_tensor_numel(t);
    if (t->dtype == OCTET_FLOAT || t->dtype == OCTET_DOUBLE)
        for (int64_t i = 0; i < n; i++) {
            *seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;   /* xorshift64 */
            ot_tensor_set_f64(t, i, (double)(*seed >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
        }
    return CLI_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_prof_desc(const void *a, const void *b) {
    double x = ((const octet_node_profile *)a)->total_ms, y = ((const octet_node_profile *)b)->total_ms;
    return x > y ? -1 : x < y;
}

/* Per op type (domain-qualified when not ai.onnx) and per node, in ms per timed run, slowest first.
 * In the per-type rows `runs` holds the node count. */
static int print_profile(octet_session *s, int runs, int top) {
    int n = octet_session_profile(s, NULL, 0);
    octet_node_profile *p = calloc((size_t)n + 1, sizeof *p), *ty = calloc((size_t)n + 1, sizeof *ty);
    if (!p || !ty) {
        free(p), free(ty);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    octet_session_profile(s, p, n);
    double total = 0;
    int n_ty = 0;
    for (int i = 0; i < n; i++) {
        total += p[i].total_ms;
        int t = 0;
        while (t < n_ty && !(strcmp(ty[t].op_type, p[i].op_type) == 0 && strcmp(ty[t].domain, p[i].domain) == 0)) t++;
        if (t == n_ty) ty[n_ty++] = (octet_node_profile){.op_type = p[i].op_type, .domain = p[i].domain};
        ty[t].total_ms += p[i].total_ms;
        ty[t].runs++;
    }
    qsort(ty, (size_t)n_ty, sizeof *ty, cmp_prof_desc);
    qsort(p, (size_t)n, sizeof *p, cmp_prof_desc);
    double pct = total > 0 ? 100.0 / total : 0;
    printf("\nprofile    %d nodes, %.3f ms per run summed over nodes\n", n, total / runs);
    printf("%-40s %6s %10s %6s\n", "op type", "nodes", "ms/run", "%");
    for (int t = 0; t < n_ty; t++) {
        char name[200];
        snprintf(name, sizeof name, "%s%s%s", ty[t].domain, ty[t].domain[0] ? ":" : "", ty[t].op_type);
        printf("%-40s %6lld %10.4f %6.1f\n", name, ty[t].runs, ty[t].total_ms / runs, ty[t].total_ms * pct);
    }
    int shown = top == 0 || top > n ? n : top;
    printf("\n%-48s %-24s %10s %6s\n", "node", "op type", "ms/run", "%");
    for (int i = 0; i < shown; i++)
        printf("%-48s %-24s %10.4f %6.1f\n", p[i].name[0] ? p[i].name : "(unnamed)", p[i].op_type,
               p[i].total_ms / runs, p[i].total_ms * pct);
    free(p), free(ty);
    return CLI_OK;
}

int cmd_bench(int argc, char **argv) {
    const char *model_path = NULL, *val;
    int threads = 0, runs = 20, warmup = 3, batch = 1, rc = CLI_OK, profile = 0, top = 15;
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
        if (cli_is_help(a)) {
            help(stdout);
            free(specs);
            free(npzs);
            return CLI_OK;
        }
        if ((r = cli_opt(argc, argv, &i, "--input", &val)) != 0) {
            if (r < 0) rc = CLI_USAGE;
            else if (!strchr(val, '=') || val[0] == '=' || !strchr(val, '=')[1])
                rc = cli_error(CLI_USAGE, "--input wants NAME=FILE.npy, got '%s'", val);
            else specs[n_specs++] = val;
        } else if ((r = cli_opt(argc, argv, &i, "--inputs", &val)) != 0) {
            if (r < 0) rc = CLI_USAGE;
            else npzs[n_npzs++] = val;
        } else if ((r = cli_opt(argc, argv, &i, "--threads", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--threads", val, 0, 4096, &threads)) rc = CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--runs", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--runs", val, 1, 1000000, &runs)) rc = CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--warmup", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--warmup", val, 0, 1000000, &warmup)) rc = CLI_USAGE;
        } else if ((r = cli_opt(argc, argv, &i, "--batch", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--batch", val, 1, 1 << 20, &batch)) rc = CLI_USAGE;
        } else if (strcmp(a, "--profile") == 0) {
            profile = 1;
        } else if ((r = cli_opt(argc, argv, &i, "--top", &val)) != 0) {
            if (r < 0 || !cli_parse_int("--top", val, 0, 1 << 30, &top)) rc = CLI_USAGE;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_error(CLI_USAGE, "unknown option '%s' for 'octet bench' (see 'octet bench --help')", a);
        } else if (!model_path) {
            model_path = a;
        } else {
            rc = cli_error(CLI_USAGE, "unexpected argument '%s' (one MODEL only)", a);
        }
    }
    if (rc == CLI_OK && !model_path) rc = cli_error(CLI_USAGE, "no MODEL given (see 'octet bench --help')");

    octet_model *m = NULL;
    cli_inputs in = {0};
    double t0 = cli_now_ms(), load_ms = 0, plan_ms = 0;
    if (rc == CLI_OK && !cli_load_model(model_path, &m)) rc = CLI_RUNTIME;
    load_ms = cli_now_ms() - t0;
    for (int i = 0; i < n_specs && rc == CLI_OK; i++) rc = cli_inputs_add_spec(&in, specs[i]);
    for (int i = 0; i < n_npzs && rc == CLI_OK; i++) rc = cli_inputs_add_npz(&in, npzs[i]);
    free(specs);
    free(npzs);
    if (rc == CLI_OK) rc = cli_inputs_check(&in, m, false);
    int n_given = in.n;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int i = 0; rc == CLI_OK && i < m->graph->n_inputs; i++) {
        const ot_value_info *vi = &m->graph->inputs[i];
        if (!cli_is_real_input(m->graph, vi) || cli_inputs_find(&in, vi->name) >= 0) continue;
        octet_tensor *t = NULL;
        rc = make_input(vi, batch, &seed, &t);
        if (rc == CLI_OK) rc = cli_inputs_add(&in, vi->name, "generated", t);
    }

    octet_session *s = NULL;
    if (rc == CLI_OK) {
        octet_session_options opts = {.threads = threads, .profile = profile};
        t0 = cli_now_ms();
        if (octet_session_create(&s, m, &opts) != OCTET_OK) rc = cli_fail();
        plan_ms = cli_now_ms() - t0;
    }
    int n_out = m ? m->graph->n_outputs : 0;
    octet_tensor **outs = calloc((size_t)n_out + 1, sizeof *outs);
    double *ms = calloc((size_t)runs, sizeof *ms);
    if (rc == CLI_OK && (!outs || !ms)) rc = cli_error(CLI_RUNTIME, "out of memory");
    for (int r = 0; rc == CLI_OK && r < warmup + runs; r++) {
        if (r == warmup) octet_session_profile_reset(s);
        t0 = cli_now_ms();
        if (octet_session_run(s, (const char *const *)in.names, in.tensors, in.n, outs, n_out) != OCTET_OK) {
            rc = cli_fail();
            break;
        }
        double dt = cli_now_ms() - t0;
        if (r >= warmup) ms[r - warmup] = dt;
        for (int i = 0; i < n_out; i++) {
            octet_tensor_free(outs[i]);
            outs[i] = NULL;
        }
    }
    if (rc == CLI_OK) {
        double sum = 0;
        for (int i = 0; i < runs; i++) sum += ms[i];
        qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
        double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
        int p90 = (int)((runs * 9 + 9) / 10) - 1;   /* nearest rank: ceil(0.9 n) - 1 */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%-10s %s\n", "model", model_path);
        if (threads) printf("%-10s %d\n", "threads", threads);
        else printf("%-10s all cores\n", "threads");
        for (int i = 0; i < in.n; i++) {
            char ty[256];
            printf("%-10s %s %s (%s)\n", i ? "" : "inputs", in.names[i], cli_tensor_type_str(in.tensors[i], ty, sizeof ty),
                   i < n_given ? in.sources[i] : "generated");
        }
        printf("%-10s load %.1f ms, session %.1f ms\n", "setup", load_ms, plan_ms);
        printf("%-10s %d timed after %d warm-up\n", "runs", runs, warmup);
        printf("%-10s median %.3f ms  p90 %.3f ms  min %.3f ms  mean %.3f ms\n", "latency", median, ms[p90], ms[0],
               sum / runs);
        printf("%-10s %.1f MiB\n", "peak RSS", (double)ru.ru_maxrss / 1024.0);
        if (profile) rc = print_profile(s, runs, top);
    }
    free(ms);
    free(outs);
    octet_session_free(s);
    cli_inputs_free(&in);
    octet_model_free(m);
    return rc;
}
