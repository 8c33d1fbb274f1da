/* Which ONNX IR versions and opsets octet accepts, and the checks the loader and saver run. */
#ifndef OT_ONNX_OPSET_H
#define OT_ONNX_OPSET_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

#define OT_ONNX_IR_MIN 3      /* IR 3 (ONNX 1.1) introduced opset_import */
#define OT_ONNX_IR_MAX 11
#define OT_ONNX_OPSET_MIN 7   /* ai.onnx opsets octet's ops are written for */
#define OT_ONNX_OPSET_MAX 21

/* IR version and opset imports: the IR version is in range, every import has a version >= 1, no
 * domain is imported twice with different versions, and the ai.onnx opset is in range. */
octet_status ot_onnx_check_versions(const octet_model *m);

/* Every node (subgraphs included) uses a domain the model imports. */
octet_status ot_onnx_check_node_domains(const octet_model *m);

/* A short name for a domain in messages ("ai.onnx" for ""). */
const char *ot_onnx_domain_name(const char *domain);

#endif
