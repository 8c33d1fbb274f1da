/* Error reporting, option parsing and formatting helpers of the CLI. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "tensor/tensor.h"

int cli_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("octet: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_fail(void) {
    const char *msg = octet_last_error();
    return cli_error(CLI_RUNTIME, "%s", msg && *msg ? msg : "unknown failure");
}

bool cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != 0) return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_USAGE, "option %s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

bool cli_parse_int(const char *opt, const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_error(CLI_USAGE, "%s wants a whole number from %ld to %ld, got '%s'", opt, lo, hi, s);
        return false;
    }
    *out = (int)v;
    return true;
}

bool cli_parse_choice(const char *opt, const char *s, const char *const *names, int n, int *index) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *index = i;
            return true;
        }
    char list[512];
    size_t o = 0;
    list[0] = 0;
    for (int i = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    cli_error(CLI_USAGE, "%s must be %s, not '%s'", opt, list, s);
    return false;
}

bool cli_load_model(const char *path, octet_model **m) {
    if (octet_model_load(m, path) != OCTET_OK) {
        cli_fail();
        return false;
    }
    return true;
}

char *cli_value_type_str(const ot_value_info *vi, char *buf, size_t n) {
    const char *dt = vi->dtype == OCTET_UNDEFINED ? "?" : octet_dtype_name(vi->dtype);
    if (vi->ndim < 0) {
        snprintf(buf, n, "%s[?...]", dt);
        return buf;
    }
    size_t o = (size_t)snprintf(buf, n, "%s[", dt);
    for (int i = 0; i < vi->ndim && o < n; i++) {
        const ot_dim *d = &vi->dims[i];
        const char *sep = i ? "," : "";
        if (d->value >= 0) o += (size_t)snprintf(buf + o, n - o, "%s%lld", sep, (long long)d->value);
        else o += (size_t)snprintf(buf + o, n - o, "%s%s", sep, d->param && *d->param ? d->param : "?");
    }
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

char *cli_tensor_type_str(const octet_tensor *t, char *buf, size_t n) {
    int o = snprintf(buf, n, "%s", octet_dtype_name(t->dtype));
    if (o >= 0 && (size_t)o < n) ot_shape_str(buf + o, n - (size_t)o, t->ndim, t->dims);
    return buf;
}

void cli_sanitize_name(const char *name, char *out, size_t n) {
    size_t i = 0;
    for (; name[i] && i + 1 < n; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        out[i] = ok ? c : '_';
    }
    if (i == 0 && n > 1) out[i++] = '_';   /* an empty name still needs a file name */
    if (n) out[i] = 0;
}

bool cli_make_dirs(const char *path) {
    char buf[4096];
    if (!*path) {
        cli_error(CLI_USAGE, "empty output folder name");
        return false;
    }
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        cli_error(CLI_USAGE, "output folder name is too long");
        return false;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        struct stat st;
        if (stat(buf, &st) != 0) {
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                cli_error(CLI_RUNTIME, "cannot create folder '%s': %s", buf, strerror(errno));
                return false;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            cli_error(CLI_RUNTIME, "'%s' exists and is not a folder", buf);
            return false;
        }
        *p = c;
        if (!c) break;
    }
    return true;
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
