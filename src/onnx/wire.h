/* A minimal reader for the protobuf wire format. The loader uses it before protobuf-c sees the bytes:
 * to bound message nesting (protobuf-c recurses without a limit) and to split a model into its
 * initializers and the rest, so big tensors can be converted one at a time. */
#ifndef OT_ONNX_WIRE_H
#define OT_ONNX_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "octet.h"

enum { OT_WIRE_VARINT = 0, OT_WIRE_I64 = 1, OT_WIRE_LEN = 2, OT_WIRE_I32 = 5 };

typedef struct ot_wire_field {
    uint32_t number;          /* field number */
    int type;                 /* wire type */
    uint64_t varint;          /* value of a VARINT field */
    const uint8_t *start;     /* first byte of the tag */
    const uint8_t *end;       /* one past the field's last byte */
    const uint8_t *data;      /* LEN: payload */
    size_t len;               /* LEN: payload length */
} ot_wire_field;

typedef struct ot_wire {
    const uint8_t *p, *end;
} ot_wire;

static inline ot_wire ot_wire_init(const void *p, size_t n) {
    ot_wire w = {(const uint8_t *)p, (const uint8_t *)p + n};
    return w;
}

/* Next field: 1 when one was read, 0 at the end, -1 when the bytes are not valid wire format
 * (bad varint, length past the end, group or unknown wire type, field number 0). */
int ot_wire_next(ot_wire *w, ot_wire_field *f);

/* Walk a whole message against its protobuf-c descriptor and refuse malformed wire data and
 * sub-messages nested deeper than max_depth. what (may be "") prefixes the error. */
octet_status ot_wire_check(const void *p, size_t n, const ProtobufCMessageDescriptor *desc, int max_depth,
                           const char *what);

#endif
