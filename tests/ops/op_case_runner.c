/* Runs octet on per-op test cases and compares with ONNX Runtime's outputs.
 *
 *   op_case_runner [-v] [--threads 1,2] [--no-fork] PATH...
 *
 * PATH is a case folder (model.onnx, input_<k>_<name>.npy, expected_<k>_<name>.npy, tolerance.txt,
 * optional markers expect_error / expect_ort_error / ort_error.txt / gen_error.txt) or a folder of
 * case folders (one op family). Each case runs in a child process so that a crash or a sanitizer
 * report fails that case only. Prints one line per failing case and ends with "N passed, M failed". */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"
#include "octet.h"
#include "runset.h"

#define SKIP_CODE 77
#define MSG_LEN 2048

typedef struct options {
    int threads[8];
    int n_threads;
    int fork;
    int verbose;
    unsigned timeout;   /* seconds per case */
} options;

typedef struct tolerance {
    double rtol, atol;
} tolerance;

static void join(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static int has(const char *dir, const char *name)
{
    char p[4096];
    join(p, sizeof p, dir, name);
    return tc_file_exists(p);
}

static tolerance read_tolerance(const char *dir)
{
    tolerance t = {1e-5, 1e-5};
    char p[4096], line[256];
    join(p, sizeof p, dir, "tolerance.txt");
    FILE *f = fopen(p, "r");
    if (!f)
        return t;
    while (fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "rtol=%lf", &v) == 1)
            t.rtol = v;
        else if (sscanf(line, "atol=%lf", &v) == 1)
            t.atol = v;
    }
    fclose(f);
    return t;
}

/* Run indices of a case: the union of input and reference k's (0 when there are none). */
static int case_runs(const char *dir, int64_t **ks)
{
    int64_t *a = NULL, *b = NULL;
    int na = tc_list_runs(dir, "input", &a), nb = tc_list_runs(dir, "expected", &b);
    if (na < 0)
        na = 0;
    if (nb < 0)
        nb = 0;
    *ks = malloc(sizeof **ks * (size_t)(na + nb + 1));
    int n = 0;
    if (*ks) {
        for (int i = 0; i < na + nb; i++) {
            int64_t k = i < na ? a[i] : b[i - na];
            int seen = 0;
            for (int j = 0; j < n; j++)
                seen |= (*ks)[j] == k;
            if (!seen)
                (*ks)[n++] = k;
        }
        if (n == 0)
            (*ks)[n++] = 0;
    }
    free(a);
    free(b);
    return n;
}

/* One case; returns 0 = pass, 1 = fail, with a one-line message. */
static int run_case(const char *dir, const options *o, char *msg, size_t mn)
{
    char p[4096], line[1024];
    msg[0] = 0;
    if (has(dir, "gen_error.txt")) {
        join(p, sizeof p, dir, "gen_error.txt");
        snprintf(msg, mn, "case generation failed: %s", tc_read_first_line(p, line, sizeof line));
        return 1;
    }
    tolerance tol = read_tolerance(dir);
    int expect_error = has(dir, "expect_error");
    int ort_error = has(dir, "ort_error.txt");
    if (ort_error && !has(dir, "expect_ort_error") && !expect_error) {
        join(p, sizeof p, dir, "ort_error.txt");
        snprintf(msg, mn, "ONNX Runtime rejected the case: %s", tc_read_first_line(p, line, sizeof line));
        return 1;
    }

    octet_model *m = NULL;
    join(p, sizeof p, dir, "model.onnx");
    octet_status s = octet_model_load(&m, p);
    if (s != OCTET_OK) {
        snprintf(msg, mn, "%soctet_model_load: %s: %s", expect_error ? "rejected as expected: " : "",
                 octet_status_name(s), octet_last_error());
        return expect_error ? 0 : 1;
    }
    int64_t *ks = NULL;
    int n_runs = case_runs(dir, &ks);
    int n_out = octet_model_output_count(m);
    octet_tensor **outs = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof *outs);
    octet_tensor **refs = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof *refs);
    int result = -1;   /* -1 = undecided */
    double worst_err = 0;
    if (!ks || !outs || !refs) {
        snprintf(msg, mn, "out of memory");
        result = 1;
    }

    for (int ti = 0; result < 0 && ti < o->n_threads; ti++) {
        octet_session *sess = NULL;
        octet_session_options so = {.threads = o->threads[ti]};
        s = octet_session_create(&sess, m, &so);
        if (s != OCTET_OK) {
            snprintf(msg, mn, "%soctet_session_create [threads=%d]: %s: %s",
                     expect_error ? "rejected as expected: " : "", so.threads, octet_status_name(s),
                     octet_last_error());
            result = expect_error ? 0 : 1;
            break;
        }
        for (int r = 0; result < 0 && r < n_runs; r++) {
            tc_inputs in;
            char err[1024];
            if (tc_load_inputs(dir, ks[r], m, &in, err, sizeof err) != 0) {
                snprintf(msg, mn, "inputs of run %lld: %s", (long long)ks[r], err);
                result = 1;
                break;
            }
            s = octet_session_run(sess, in.names, in.tensors, in.n, outs, n_out);
            tc_inputs_free(&in);
            if (s != OCTET_OK) {
                snprintf(msg, mn, "%soctet_session_run [threads=%d k=%lld]: %s: %s",
                         expect_error ? "rejected as expected: " : "", so.threads, (long long)ks[r],
                         octet_status_name(s), octet_last_error());
                result = expect_error ? 0 : 1;
                break;
            }
            if (!expect_error && !ort_error) {
                if (tc_load_refs(dir, "expected", ks[r], m, refs, err, sizeof err) != 0) {
                    snprintf(msg, mn, "references of run %lld: %s", (long long)ks[r], err);
                    result = 1;
                }
                for (int i = 0; result < 0 && i < n_out; i++) {
                    tc_cmp c;
                    if (!tc_compare(outs[i], refs[i], tol.rtol, tol.atol, &c)) {
                        snprintf(msg, mn, "output '%s' [threads=%d k=%lld]: %s", octet_model_output_name(m, i),
                                 so.threads, (long long)ks[r], c.reason);
                        result = 1;
                    } else if (c.max_abs > worst_err) {
                        worst_err = c.max_abs;
                    }
                }
                for (int i = 0; i < n_out; i++) {
                    octet_tensor_free(refs[i]);
                    refs[i] = NULL;
                }
            }
            for (int i = 0; i < n_out; i++) {
                octet_tensor_free(outs[i]);
                outs[i] = NULL;
            }
        }
        octet_session_free(sess);
    }
    if (result < 0) {
        if (expect_error) {
            snprintf(msg, mn, "octet accepted a case it must reject (expect_error)");
            result = 1;
        } else if (ort_error) {
            snprintf(msg, mn, "ran (no ONNX Runtime reference: expect_ort_error)");
            result = 0;
        } else {
            snprintf(msg, mn, "max abs err %.3g (rtol %g atol %g)", worst_err, tol.rtol, tol.atol);
            result = 0;
        }
    }
    free(ks);
    free(outs);
    free(refs);
    octet_model_free(m);
    return result;
}

/* Run one case in a child process; a crash, timeout or sanitizer exit fails the case. */
static int run_case_isolated(const char *dir, const options *o, char *msg, size_t mn)
{
    if (!o->fork)
        return run_case(dir, o, msg, mn);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(msg, mn, "pipe: %s", strerror(errno));
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, mn, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        alarm(o->timeout);
        char cmsg[MSG_LEN];
        int rc = run_case(dir, o, cmsg, sizeof cmsg);
        char buf[MSG_LEN + 2];
        int len = snprintf(buf, sizeof buf, "%c%s", rc ? 'F' : 'P', cmsg);
        if (len > (int)sizeof buf - 1)
            len = (int)sizeof buf - 1;
        ssize_t w = write(fds[1], buf, (size_t)len);
        (void)w;
        close(fds[1]);
        exit(0);   /* exit(), not _exit(): LeakSanitizer reports at exit */
    }
    close(fds[1]);
    char buf[MSG_LEN + 2];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof buf - 1)
            break;
    }
    buf[got] = 0;
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (sig == SIGALRM)
            snprintf(msg, mn, "timed out after %u s", o->timeout);
        else
            snprintf(msg, mn, "crashed: signal %d (%s)", sig, strsignal(sig));
        return 1;
    }
    if (got == 0) {
        snprintf(msg, mn, "child exited with status %d and no result (sanitizer report above?)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return 1;
    }
    size_t l = strlen(buf + 1) < mn ? strlen(buf + 1) : mn - 1;
    memcpy(msg, buf + 1, l);
    msg[l] = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        l = strlen(msg);
        snprintf(msg + l, mn - l, "; then exited with status %d (sanitizer report above?)", WEXITSTATUS(st));
        return 1;
    }
    return buf[0] == 'P' ? 0 : 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Subfolders of dir, sorted; returns count or -1. */
static int list_subdirs(const char *dir, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        join(p, sizeof p, dir, e->d_name);
        if (!is_dir(p))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(*out, sizeof *g * (size_t)cap);
            if (!g)
                break;
            *out = g;
        }
        (*out)[n++] = strdup(p);
    }
    closedir(d);
    if (n)
        qsort(*out, (size_t)n, sizeof **out, cmp_str);
    return n;
}

static int parse_threads(const char *s, options *o)
{
    o->n_threads = 0;
    while (*s && o->n_threads < 8) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 256)
            return -1;
        o->threads[o->n_threads++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return o->n_threads ? 0 : -1;
}

/* The oracle was not available when the cases were made: skip (or fail under CI). */
static int oracle_skipped(const char *path)
{
    char parent[4096], marker[4096];
    snprintf(parent, sizeof parent, "%s", path);
    size_t l = strlen(parent);
    while (l > 1 && parent[l - 1] == '/')
        parent[--l] = 0;
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(parent, sizeof parent, ".");
    join(marker, sizeof marker, parent, "ORACLE_SKIPPED");
    return tc_file_exists(marker);
}

/* "family/case" for a case folder path (its last two components). */
static const char *short_name(const char *path)
{
    const char *end = path + strlen(path), *p = end;
    int slashes = 0;
    while (p > path) {
        if (p[-1] == '/' && p != end && ++slashes == 2)
            break;
        p--;
    }
    return p;
}

int main(int argc, char **argv)
{
    options o = {.threads = {1, 2}, .n_threads = 2, .fork = 1, .verbose = 0, .timeout = 300};
    const char *to = getenv("OCTET_CASE_TIMEOUT");
    if (to && atoi(to) > 0)
        o.timeout = (unsigned)atoi(to);
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "-v") == 0)
            o.verbose = 1;
        else if (strcmp(argv[first], "--no-fork") == 0)
            o.fork = 0;
        else if (strcmp(argv[first], "--threads") == 0 && first + 1 < argc && parse_threads(argv[first + 1], &o) == 0)
            first++;
        else {
            fprintf(stderr, "usage: %s [-v] [--threads 1,2] [--no-fork] CASE_DIR|FAMILY_DIR...\n", argv[0]);
            return 2;
        }
    }
    if (first == argc) {
        fprintf(stderr, "usage: %s [-v] [--threads 1,2] [--no-fork] CASE_DIR|FAMILY_DIR...\n", argv[0]);
        return 2;
    }
    int passed = 0, failed = 0;
    char msg[MSG_LEN];
    for (int a = first; a < argc; a++) {
        const char *path = argv[a];
        if (!is_dir(path)) {
            const char *ci = getenv("CI");
            if (oracle_skipped(path) && !(ci && *ci)) {
                printf("SKIPPED: ONNX Runtime oracle not available (run scripts/setup.sh)\n");
                return SKIP_CODE;
            }
            printf("FAIL %s: no cases there (did the ops.setup test run? see its output)\n", path);
            failed++;
            continue;
        }
        if (has(path, "family_error.txt")) {
            char p[4096], line[1024];
            join(p, sizeof p, path, "family_error.txt");
            printf("FAIL %s: cases file failed: %s\n", path, tc_read_first_line(p, line, sizeof line));
            failed++;
            continue;
        }
        char **cases = NULL;
        int n;
        if (has(path, "model.onnx") || has(path, "gen_error.txt")) {
            cases = malloc(sizeof *cases);
            cases[0] = strdup(path);
            n = 1;
        } else {
            n = list_subdirs(path, &cases);
            if (n <= 0) {
                printf("FAIL %s: no cases there\n", path);
                failed++;
                free(cases);
                continue;
            }
        }
        for (int i = 0; i < n; i++) {
            int rc = run_case_isolated(cases[i], &o, msg, sizeof msg);
            const char *label = short_name(cases[i]);
            if (rc) {
                printf("FAIL %s: %s\n", label, msg);
                failed++;
            } else {
                if (o.verbose)
                    printf("ok   %s: %s\n", label, msg);
                passed++;
            }
            fflush(stdout);
            free(cases[i]);
        }
        free(cases);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
