#include "onnx/wire.h"

#include <stdbool.h>

#include "util/status.h"

static int read_varint(ot_wire *w, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (w->p >= w->end) return -1;
        uint8_t b = *w->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;   /* more than 10 bytes */
}

int ot_wire_next(ot_wire *w, ot_wire_field *f) {
    if (w->p >= w->end) return 0;
    f->start = w->p;
    f->data = NULL;
    f->len = 0;
    f->varint = 0;
    uint64_t tag;
    if (read_varint(w, &tag) < 0 || tag > UINT32_MAX) return -1;
    f->number = (uint32_t)(tag >> 3);
    f->type = (int)(tag & 7);
    if (f->number == 0) return -1;
    switch (f->type) {
    case OT_WIRE_VARINT:
        if (read_varint(w, &f->varint) < 0) return -1;
        break;
    case OT_WIRE_I64:
    case OT_WIRE_I32: {
        size_t k = f->type == OT_WIRE_I64 ? 8 : 4;
        if ((size_t)(w->end - w->p) < k) return -1;
        w->p += k;
        break;
    }
    case OT_WIRE_LEN: {
        uint64_t n;
        /* protobuf-c keeps lengths in 32 bits */
        if (read_varint(w, &n) < 0 || n > UINT32_MAX || n > (uint64_t)(w->end - w->p)) return -1;
        f->data = w->p;
        f->len = (size_t)n;
        w->p += n;
        break;
    }
    default:
        return -1;   /* groups (3, 4) and 6, 7 are not used by ONNX */
    }
    f->end = w->p;
    return 1;
}

static const char *wire_name(int t) {
    switch (t) {
    case OT_WIRE_VARINT: return "varint";
    case OT_WIRE_I64: return "64-bit";
    case OT_WIRE_LEN: return "length-delimited";
    case OT_WIRE_I32: return "32-bit";
    default: return "invalid";
    }
}

/* The wire type a field of this protobuf type uses (packed repeated scalars use LEN as well). */
static int scalar_wire(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_FLOAT: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: return OT_WIRE_I32;
    case PROTOBUF_C_TYPE_DOUBLE: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: return OT_WIRE_I64;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE: return OT_WIRE_LEN;
    default: return OT_WIRE_VARINT;
    }
}

/* A packed repeated payload: whole fixed-size elements, or varints that all end inside it. */
static bool packed_ok(const ot_wire_field *f, int elem_wire) {
    if (elem_wire == OT_WIRE_I32) return f->len % 4 == 0;
    if (elem_wire == OT_WIRE_I64) return f->len % 8 == 0;
    return f->len == 0 || !(f->data[f->len - 1] & 0x80);
}

static octet_status check(const uint8_t *base, const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *desc,
                          int depth, int max_depth, const char *what) {
    const char *sep = *what ? ": " : "";
    if (depth > max_depth)
        return ot_err(OCTET_ERR_PARSE, "%s%snot a valid ONNX file: messages are nested more than %d deep", what, sep,
                      max_depth);
    ot_wire w = ot_wire_init(p, n);
    ot_wire_field f;
    int r;
    while ((r = ot_wire_next(&w, &f)) > 0) {
        const ProtobufCFieldDescriptor *fd = desc ? protobuf_c_message_descriptor_get_field(desc, f.number) : NULL;
        if (!fd) continue;   /* unknown fields are skipped */
        int want = scalar_wire(fd->type);
        bool packed = fd->label == PROTOBUF_C_LABEL_REPEATED && want != OT_WIRE_LEN && f.type == OT_WIRE_LEN;
        size_t at = (size_t)(f.start - base);
        if (f.type != want && !packed)
            return ot_err(OCTET_ERR_PARSE, "%s%snot a valid ONNX file: field '%s' of %s at byte %zu is %s, expected %s",
                          what, sep, fd->name, desc->short_name, at, wire_name(f.type), wire_name(want));
        if (packed && !packed_ok(&f, want))
            return ot_err(OCTET_ERR_PARSE, "%s%snot a valid ONNX file: packed field '%s' of %s at byte %zu "
                          "is cut short", what, sep, fd->name, desc->short_name, at);
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
            OT_TRY(check(base, f.data, f.len, fd->descriptor, depth + 1, max_depth, what));
    }
    if (r < 0)
        return ot_err(OCTET_ERR_PARSE, "%s%snot a valid ONNX file (malformed protobuf field at byte %zu, inside a %s)",
                      what, sep, (size_t)(f.start - base), desc ? desc->short_name : "message");
    return OCTET_OK;
}

octet_status ot_wire_check(const void *p, size_t n, const ProtobufCMessageDescriptor *desc, int max_depth,
                           const char *what) {
    return check((const uint8_t *)p, (const uint8_t *)p, n, desc, 0, max_depth, what);
}
