#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_msg[1024];

octet_status ot_err(octet_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return s;
}

octet_status ot_err_prefix(octet_status s, const char *fmt, ...) {
    char old[sizeof g_msg];
    memcpy(old, g_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof g_msg) snprintf(g_msg + n, sizeof g_msg - (size_t)n, "%s", old);
    return s;
}

void ot_err_clear(void) { g_msg[0] = 0; }

const char *octet_last_error(void) { return g_msg; }

const char *octet_status_name(octet_status s) {
    switch (s) {
    case OCTET_OK: return "OCTET_OK";
    case OCTET_ERR_INVALID_ARG: return "OCTET_ERR_INVALID_ARG";
    case OCTET_ERR_IO: return "OCTET_ERR_IO";
    case OCTET_ERR_PARSE: return "OCTET_ERR_PARSE";
    case OCTET_ERR_UNSUPPORTED: return "OCTET_ERR_UNSUPPORTED";
    case OCTET_ERR_SHAPE: return "OCTET_ERR_SHAPE";
    case OCTET_ERR_NOMEM: return "OCTET_ERR_NOMEM";
    case OCTET_ERR_INTERNAL: return "OCTET_ERR_INTERNAL";
    }
    return "OCTET_ERR_UNKNOWN";
}

const char *octet_version(void) { return "0.1.0"; }
