/* Real-model corpus test: runs octet on shared/models/NAME.onnx for every reference run k in
 * NAME.io/ (input_<k>_*.npy -> output_<k>_*.npy, recorded with ONNX Runtime) and checks
 * max |octet - ort| <= 1e-4 * max(1, max|ref|) per output, with 1 and 2 threads.
 *
 *   test_models [--threads 1,2] MODELS_DIR NAME...
 *   test_models --missing MODELS_DIR      (the corpus was not found at configure time)
 *
 * A missing corpus is a loud skip (exit 77), or a failure when the CI environment variable is set. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compare.h"
#include "octet.h"
#include "runset.h"

#define SKIP_CODE 77
#define REL_TOL 1e-4
#define OT_TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))

static int missing_corpus(const char *dir)
{
    const char *ci = getenv("CI");
    if (ci && *ci) {
        printf("FAILED: %s not found — real-model tests cannot run under CI\n", dir);
        return 1;
    }
    printf("****************************************************************\n");
    printf("SKIPPED: ../shared not found — real-model tests did not run\n");
    printf("  looked in %s (set OCTET_SHARED and re-run cmake)\n", dir);
    printf("****************************************************************\n");
    return SKIP_CODE;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct counts {
    int passed, failed;
} counts;

/* Failure lines; an error repeated for the next runs of a model is counted, not printed again. */
static char last_fail[1024];
static int repeats;

static void flush_repeats(void)
{
    if (repeats)
        printf("FAIL   ... the same error %d more time%s\n", repeats, repeats > 1 ? "s" : "");
    repeats = 0;
    last_fail[0] = 0;
}

static void fail(counts *c, int n, const char *where, const char *fmt, ...) OT_TEST_PRINTF(4, 5);
static void fail(counts *c, int n, const char *where, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    c->failed += n;
    if (strcmp(what, last_fail) == 0) {
        repeats++;
        return;
    }
    flush_repeats();
    printf("FAIL %s: %s\n", where, what);
    snprintf(last_fail, sizeof last_fail, "%s", what);
}

/* Outputs of every run with the first thread count, kept to compare with the other counts. */
typedef struct kept {
    octet_tensor **t;   /* [n_runs * n_out] */
} kept;

static void test_model(const char *models_dir, const char *name, const int *threads, int n_threads, counts *c)
{
    char model_path[4096], io_dir[4096], err[1024];
    snprintf(model_path, sizeof model_path, "%s/%s.onnx", models_dir, name);
    snprintf(io_dir, sizeof io_dir, "%s/%s.io", models_dir, name);

    octet_model *m = NULL;
    octet_status s = octet_model_load(&m, model_path);
    if (s != OCTET_OK) {
        fail(c, 1, name, "octet_model_load: %s: %s", octet_status_name(s), octet_last_error());
        flush_repeats();
        return;
    }
    int64_t *ks = NULL;
    int n_runs = tc_list_runs(io_dir, "input", &ks);
    if (n_runs <= 0) {
        fail(c, 1, name, "no input_<k>_*.npy in %s", io_dir);
        flush_repeats();
        octet_model_free(m);
        free(ks);
        return;
    }
    int n_out = octet_model_output_count(m);
    octet_tensor **outs = calloc((size_t)n_out, sizeof *outs);
    octet_tensor **refs = calloc((size_t)n_out, sizeof *refs);
    kept first = {calloc((size_t)n_runs * (size_t)n_out, sizeof(octet_tensor *))};

    for (int ti = 0; ti < n_threads; ti++) {
        octet_session *sess = NULL;
        octet_session_options so = {.threads = threads[ti]};
        char where[512];
        double t0 = now_ms();
        s = octet_session_create(&sess, m, &so);
        if (s != OCTET_OK) {
            snprintf(where, sizeof where, "%s threads=%d", name, so.threads);
            fail(c, n_runs, where, "octet_session_create: %s: %s", octet_status_name(s), octet_last_error());
            continue;
        }
        printf("%s threads=%d: session created in %.0f ms\n", name, so.threads, now_ms() - t0);
        for (int r = 0; r < n_runs; r++) {
            int64_t k = ks[r];
            tc_inputs in;
            snprintf(where, sizeof where, "%s k=%lld threads=%d", name, (long long)k, so.threads);
            if (tc_load_inputs(io_dir, k, m, &in, err, sizeof err) != 0) {
                fail(c, 1, where, "inputs: %s", err);
                continue;
            }
            t0 = now_ms();
            s = octet_session_run(sess, in.names, in.tensors, in.n, outs, n_out);
            double ms = now_ms() - t0;
            tc_inputs_free(&in);
            if (s != OCTET_OK) {
                fail(c, 1, where, "octet_session_run: %s: %s", octet_status_name(s), octet_last_error());
                continue;
            }
            if (tc_load_refs(io_dir, "output", k, m, refs, err, sizeof err) != 0) {
                fail(c, 1, where, "references: %s", err);
                for (int i = 0; i < n_out; i++) {
                    octet_tensor_free(outs[i]);
                    outs[i] = NULL;
                }
                continue;
            }
            int ok = 1;
            for (int i = 0; i < n_out; i++) {
                tc_cmp cmp;
                double atol = REL_TOL * fmax(1.0, tc_max_abs_value(refs[i]));
                int good = tc_compare(outs[i], refs[i], 0.0, atol, &cmp);
                ok &= good;
                if (good) {
                    flush_repeats();
                    printf("  %s k=%lld threads=%d %s: max abs err %.3g (tol %.3g, max|ref| %.3g) %.1f ms\n", name,
                           (long long)k, so.threads, octet_model_output_name(m, i), cmp.max_abs, atol,
                           cmp.max_ref, ms);
                } else {
                    fail(c, 0, where, "output '%s': %s", octet_model_output_name(m, i), cmp.reason);
                }
                /* Same input, another thread count: results should be bit-identical (reported only). */
                if (ti == 0) {
                    first.t[r * n_out + i] = outs[i];
                    outs[i] = NULL;
                } else if (first.t[r * n_out + i]) {
                    tc_cmp same;
                    tc_compare(outs[i], first.t[r * n_out + i], 0.0, 0.0, &same);
                    if (!same.ok || same.max_abs != 0)
                        printf("  note: %s k=%lld %s: threads=%d differs from threads=%d by max %.3g\n", name,
                               (long long)k, octet_model_output_name(m, i), so.threads, threads[0], same.max_abs);
                }
                octet_tensor_free(outs[i]);
                outs[i] = NULL;
                octet_tensor_free(refs[i]);
                refs[i] = NULL;
            }
            if (ok)
                c->passed++;
            else
                c->failed++;   /* the failing outputs were counted 0 above: one failure per run */
            fflush(stdout);
        }
        octet_session_free(sess);
    }
    flush_repeats();
    for (int i = 0; i < n_runs * n_out; i++)
        octet_tensor_free(first.t[i]);
    free(first.t);
    free(outs);
    free(refs);
    free(ks);
    octet_model_free(m);
}

static int parse_threads(const char *s, int *t, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 256 || (*end && *end != ','))
            return 0;
        t[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    int threads[8] = {1, 2}, n_threads = 2;
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "--missing") == 0)
        return missing_corpus(argv[a + 1]);
    if (a + 1 < argc && strcmp(argv[a], "--threads") == 0) {
        n_threads = parse_threads(argv[a + 1], threads, 8);
        a += 2;
    }
    if (n_threads == 0 || argc - a < 2) {
        fprintf(stderr, "usage: %s [--threads 1,2] MODELS_DIR NAME...\n", argv[0]);
        return 2;
    }
    const char *dir = argv[a++];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return missing_corpus(dir);
    counts c = {0, 0};
    for (; a < argc; a++)
        test_model(dir, argv[a], threads, n_threads, &c);
    printf("%d passed, %d failed\n", c.passed, c.failed);
    return c.failed ? 1 : 0;
}
