"""Per-op cases for src/ops/pool.c: MaxPool (1-D/2-D/3-D, pads, strides, dilations, ceil_mode,
auto_pad, Indices with both storage orders, int8/uint8), AveragePool (count_include_pad, ceil_mode,
pads, auto_pad, dilations from opset 19), GlobalAveragePool, GlobalMaxPool, LpPool, GlobalLpPool.
Random odd shapes from a fixed seed."""
import numpy as np
from onnx import TensorProto, helper
from case_util import elem_type, finish, make_case

SEED = 5150


def model(op, x, opset, outputs=("y",), **attrs):
    node = helper.make_node(op, ["x"], list(outputs), **attrs)
    g_in = [helper.make_tensor_value_info("x", elem_type(x.dtype), x.shape)]
    g_out = [helper.make_tensor_value_info(outputs[0], elem_type(x.dtype), None)]
    if len(outputs) > 1:
        g_out.append(helper.make_tensor_value_info(outputs[1], TensorProto.INT64, None))
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out)
    m = finish(graph, opset)
    return m, {"x": x}


def case(name, mdl, rtol=1e-5, atol=1e-5, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def random_pool(rng, i, op, nsp, opset):
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 6))
    k = [int(rng.integers(1, 4 if nsp == 3 else 5)) for _ in range(nsp)]
    s = [int(rng.integers(1, 4)) for _ in range(nsp)]
    # dilations: MaxPool from opset 10 (AveragePool's, from 19, are beyond onnx 1.12's checker)
    dil_ok = op == "MaxPool" and opset >= 10
    d = [int(rng.choice([1, 1, 2])) if dil_ok else 1 for _ in range(nsp)]
    maxsz = {1: 40, 2: 19, 3: 7}[nsp]
    size = [int(rng.integers((k[j] - 1) * d[j] + 1, (k[j] - 1) * d[j] + 1 + maxsz)) for j in range(nsp)]
    x = rng.standard_normal(size=[n, c] + size).astype(np.float32)
    attrs = {"kernel_shape": k, "strides": s}
    if any(v != 1 for v in d):
        attrs["dilations"] = d
    kind = int(rng.integers(0, 5))
    if kind == 0:
        attrs["auto_pad"] = "SAME_UPPER"
    elif kind == 1:
        attrs["auto_pad"] = "SAME_LOWER"
    elif kind == 2:
        attrs["auto_pad"] = "VALID"
    else:
        attrs["pads"] = [int(rng.integers(0, kk)) for kk in k] + [int(rng.integers(0, kk)) for kk in k]
    if opset >= 10 and rng.integers(0, 2):
        attrs["ceil_mode"] = 1
    if op == "AveragePool" and rng.integers(0, 2):
        attrs["count_include_pad"] = 1
    if op == "LpPool":
        attrs["p"] = int(rng.choice([1, 2, 3]))
        attrs.pop("ceil_mode", None)
    # SAME padding comes out negative when the kernel is smaller than the stride; ONNX Runtime
    # rejects that in some kernels, so octet's result is then only checked not to crash
    neg = "auto_pad" in attrs and attrs["auto_pad"].startswith("SAME") and any(
        ((size[j] + s[j] - 1) // s[j] - 1) * s[j] + k[j] - size[j] < 0 for j in range(nsp))
    return case("%s%dd_o%d_%03d" % (op.lower(), nsp, opset, i), model(op, x, opset, **attrs), expect_ort_error=neg)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for op, opsets in (("MaxPool", [8, 10, 12, 21]), ("AveragePool", [7, 11, 19, 21]), ("LpPool", [11, 18])):
        for i in range(48):
            nsp = [2, 2, 1, 3][i % 4]
            out.append(random_pool(rng, i, op, nsp, opsets[i % len(opsets)]))

    # MaxPool Indices (row-major and column-major), incl. batch and channel offsets
    for order in (0, 1):
        for nsp, size, k in ((2, [9, 11], [3, 2]), (1, [17], [3]), (3, [4, 5, 6], [2, 2, 3])):
            x = rng.standard_normal(size=[2, 3] + size).astype(np.float32)
            attrs = {"kernel_shape": k, "strides": [2] * nsp, "pads": [1] * nsp + [0] * nsp, "storage_order": order}
            out.append(case("maxpool_indices%dd_order%d" % (nsp, order),
                            model("MaxPool", x, 12, outputs=("y", "i"), **attrs)))
    # int8 / uint8 MaxPool (quantized models run it on the integers)
    for dt in (np.int8, np.uint8):
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max + 1, size=[1, 4, 13, 17]).astype(dt)
        out.append(case("maxpool_%s" % np.dtype(dt).name,
                        model("MaxPool", x, 12, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                        rtol=0, atol=0))
    # as in ResNet and PaddleOCR
    x = rng.standard_normal(size=[2, 16, 56, 57]).astype(np.float32)
    out.append(case("maxpool_resnet", model("MaxPool", x, 13, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])))
    out.append(case("maxpool_2x2", model("MaxPool", x, 13, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])))
    out.append(case("avgpool_3x3_s1", model("AveragePool", x, 13, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                            count_include_pad=1)))
    out.append(case("avgpool_ceil", model("AveragePool", x, 13, kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)))

    # global pools, 1-D to 3-D
    for op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        for shape in ([1, 5, 17], [2, 3, 7, 9], [1, 960, 7, 7], [2, 2, 3, 4, 5], [1, 3, 1, 1]):
            x = rng.standard_normal(size=shape).astype(np.float32)
            attrs = {"p": 3} if op == "GlobalLpPool" and len(shape) == 4 else {}
            out.append(case("%s_%s" % (op.lower(), "x".join(map(str, shape))), model(op, x, 13, **attrs)))
    x = rng.standard_normal(size=[1, 8, 160, 240]).astype(np.float32)
    out.append(case("globalaveragepool_wide", model("GlobalAveragePool", x, 13), rtol=1e-4))

    # errors
    x = rng.standard_normal(size=[1, 2, 5, 5]).astype(np.float32)
    out.append(case("err_pool_rank", model("MaxPool", x, 13, kernel_shape=[2]), expect_error=True,
                    expect_ort_error=True))
    out.append(case("err_pool_input_rank", model("GlobalAveragePool", np.ones([3, 4], np.float32), 13),
                    expect_error=True, expect_ort_error=True))
    return out
