/* ONNX reading and writing beyond the public octet_model_load/save: serializing to memory and
 * saving with external data. load.c and save.c are the only code that knows protobuf. */
#ifndef OT_ONNX_IO_H
#define OT_ONNX_IO_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

/* IR -> ONNX bytes. *bytes is malloc'ed (free with free). Every tensor is written inline as
 * little-endian raw_data; fails with OCTET_ERR_UNSUPPORTED past protobuf's 2 GB limit. */
octet_status ot_model_serialize(const octet_model *m, uint8_t **bytes, size_t *size);

typedef struct ot_save_options {
    /* Tensors (initializers and tensor attributes) of at least this many bytes go to a side file
     * next to the model instead of inline; 0 = everything inline. */
    size_t external_min_bytes;
    /* Name of the side file, a plain file name in the model's folder; NULL = "<model file>.data". */
    const char *external_name;
} ot_save_options;

/* octet_model_save with options (opts NULL = defaults = everything inline). The side file is
 * written (atomically) before the model, so a reader never sees a model without its data. */
octet_status ot_model_save_opts(const octet_model *m, const char *path, const ot_save_options *opts);

/* Names in error messages come from files: turn control characters in the thread's message into '?'
 * so it stays one printable line. Returns s. */
octet_status ot_onnx_one_line_error(octet_status s);

#endif
