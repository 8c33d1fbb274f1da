/* Error reporting: every internal function returns an octet_status and, on failure, leaves one
 * readable line in a thread-local buffer that octet_last_error() returns. */
#ifndef OT_STATUS_H
#define OT_STATUS_H

#include "octet.h"

#if defined(__GNUC__)
#define OT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OT_PRINTF(a, b)
#endif

/* Set the thread's error message and return s. Use as: return ot_err(OCTET_ERR_PARSE, "...", ...); */
octet_status ot_err(octet_status s, const char *fmt, ...) OT_PRINTF(2, 3);
/* Prefix the current message with context ("loading x.onnx: " + old message); returns s. */
octet_status ot_err_prefix(octet_status s, const char *fmt, ...) OT_PRINTF(2, 3);
void ot_err_clear(void);

#define OT_TRY(expr)                       \
    do {                                   \
        octet_status ot_s_ = (expr);       \
        if (ot_s_ != OCTET_OK) return ot_s_; \
    } while (0)

#endif
