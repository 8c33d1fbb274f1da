/* TensorProto <-> octet_tensor for the loader, and external data. Internal to src/onnx. */
#ifndef OT_ONNX_TENSOR_PROTO_H
#define OT_ONNX_TENSOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.pb-c.h"
#include "tensor/tensor.h"

/* The allocator every unpack in src/onnx uses: blocks are plain free()-able, and those of 64 bytes
 * or more are 64-byte aligned, so a tensor can take over (steal) an unpacked raw_data buffer. */
extern ProtobufCAllocator ot_pb_allocator;

/* A new tensor from tp. what names it in errors ("initializer 'conv1.weight'"). Buffers of tp
 * may be stolen (tp stays valid to free). base_dir: folder for external data (NULL = refuse). */
octet_status ot_tensor_from_proto(Onnx__TensorProto *tp, const char *what, const char *base_dir,
                                  octet_tensor **out);
/* A dense tensor from a SparseTensorProto. */
octet_status ot_tensor_from_sparse_proto(Onnx__SparseTensorProto *sp, const char *what, const char *base_dir,
                                         octet_tensor **out);

/* Read tp's external data (exactly nbytes) into a new 64-byte aligned buffer *data. */
octet_status ot_external_read(const Onnx__TensorProto *tp, const char *what, const char *base_dir, size_t nbytes,
                              void **data);
/* base_dir + location, refusing absolute paths, ".." and anything whose real path leaves base_dir.
 * *real receives the resolved path (malloc'ed). */
octet_status ot_external_resolve(const char *base_dir, const char *location, const char *what, char **real);

/* ONNX data type name for messages, also for types octet lacks ("bfloat16", "complex64"). */
const char *ot_onnx_type_name(int32_t onnx_type);

#endif
