"""Per-op cases for src/ops/conv.c: Conv (1-D/2-D/3-D, pads, strides, dilations, groups incl.
depthwise and channel multipliers, every auto_pad, optional bias, kernel_shape given or inferred,
constant and non-constant weights, shapes that exercise every GEMM path and its blocking),
ConvTranspose (strides, pads, dilations, groups, output_padding, output_shape, auto_pad) and
com.microsoft FusedConv (activations, Z). Random shapes from a fixed seed; odd sizes."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from case_util import finish, make_case

SEED = 4242


def make_model(op, x, w, b, attrs, opset, const_w=True, domain="", z=None):
    inputs = ["x", "w"] + (["b"] if b is not None else [])
    if z is not None:
        if b is None:
            inputs.append("")
        inputs.append("z")
    node = helper.make_node(op, inputs, ["y"], domain=domain, **attrs)
    g_in = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    feed = {"x": x}
    inits = []
    for name, arr in (("w", w), ("b", b)):
        if arr is None:
            continue
        if const_w:
            inits.append(numpy_helper.from_array(arr, name))
        else:
            g_in.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, arr.shape))
            feed[name] = arr
    if z is not None:
        g_in.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, z.shape))
        feed["z"] = z
    g_out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out, inits)
    return finish(graph, opset, [(domain, 1)] if domain else []), feed


def case(name, mdl, rtol=1e-4, atol=1e-4, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def randn(rng, shape):
    return rng.standard_normal(size=shape).astype(np.float32)


def conv_case(rng, name, nsp, n, c, m, g, k, s, d, pads, auto_pad, size, bias=True, kshape=None, opset=13,
              const_w=True):
    x = randn(rng, [n, c] + size)
    w = randn(rng, [m, c // g] + k) * np.float32(1.0 / np.sqrt(max(1, (c // g) * int(np.prod(k)))))
    b = randn(rng, [m]) if bias else None
    attrs = {"group": g, "strides": s, "dilations": d}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    elif pads is not None:
        attrs["pads"] = pads
    if kshape:
        attrs["kernel_shape"] = k
    return case(name, make_model("Conv", x, w, b, attrs, opset, const_w))


def random_conv(rng, i, nsp, depthwise=False):
    n = int(rng.integers(1, 3))
    if depthwise:
        g = int(rng.integers(1, 20))
        c = g
        m = g * int(rng.choice([1, 1, 2]))
    else:
        g = int(rng.choice([1, 1, 2, 3]))
        c = g * int(rng.integers(1, 6))
        m = g * int(rng.integers(1, 6))
    k = [int(rng.integers(1, 4 if nsp == 3 else 6)) for _ in range(nsp)]
    s = [int(rng.integers(1, 4)) for _ in range(nsp)]
    d = [int(rng.choice([1, 1, 2])) for _ in range(nsp)]
    maxsz = {1: 60, 2: 23, 3: 7}[nsp]
    size = [int(rng.integers((k[j] - 1) * d[j] + 1, (k[j] - 1) * d[j] + 1 + maxsz)) for j in range(nsp)]
    auto_pad = [None, None, "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"][int(rng.integers(0, 6))]
    if auto_pad and auto_pad.startswith("SAME"):
        d = [1] * nsp  # ONNX Runtime rejects dilations with SAME padding
    pads = [int(rng.integers(0, kk)) for kk in k] + [int(rng.integers(0, kk)) for kk in k]
    return conv_case(rng, "conv%dd_%s%03d" % (nsp, "dw" if depthwise else "", i), nsp, n, c, m, g, k, s, d, pads,
                     auto_pad, size, bias=bool(rng.integers(0, 3)), kshape=bool(rng.integers(0, 2)),
                     opset=int(rng.choice([11, 13, 21])), const_w=bool(rng.integers(0, 4)))


def convt_case(rng, name, n, c, m, g, k, s, d, size, pads=None, out_pad=None, out_shape=None, auto_pad=None,
               bias=True, opset=13, **extra):
    x = randn(rng, [n, c] + size)
    w = randn(rng, [c, m // g] + k) * np.float32(0.5)
    b = randn(rng, [m]) if bias else None
    attrs = {"group": g, "strides": s, "dilations": d}
    if pads is not None:
        attrs["pads"] = pads
    if out_pad is not None:
        attrs["output_padding"] = out_pad
    if out_shape is not None:
        attrs["output_shape"] = out_shape
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    return case(name, make_model("ConvTranspose", x, w, b, attrs, opset), **extra)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    # random small convolutions of every kind
    for i in range(60):
        out.append(random_conv(rng, i, 2))
    for i in range(25):
        out.append(random_conv(rng, i, 1))
    for i in range(12):
        out.append(random_conv(rng, i, 3))
    for i in range(40):
        out.append(random_conv(rng, i, 2, depthwise=True))
    for i in range(10):
        out.append(random_conv(rng, i, 1, depthwise=True))

    # shapes of real networks: each GEMM path (in place 1x1, padded copy, packed im2col), K > 256
    # and M > 96 blocking, narrow outputs, depthwise 3x3/5x5 stride 1/2 on wide and narrow planes
    real = [
        # name, n, c, m, g, k, s, pads, size
        ("pw_small_m", 1, 144, 24, 1, [1, 1], [1, 1], [0, 0, 0, 0], [29, 31]),
        ("pw_big_m", 2, 96, 200, 1, [1, 1], [1, 1], [0, 0, 0, 0], [13, 21]),
        ("pw_stride2", 1, 64, 128, 1, [1, 1], [2, 2], [0, 0, 0, 0], [27, 27]),
        ("pw_narrow", 1, 320, 130, 1, [1, 1], [1, 1], [0, 0, 0, 0], [7, 7]),
        ("k3_packed", 1, 64, 70, 1, [3, 3], [1, 1], [1, 1, 1, 1], [30, 33]),
        ("k3_padded", 2, 96, 24, 1, [3, 3], [1, 1], [1, 1, 1, 1], [20, 45]),
        ("k3_s2_packed", 1, 40, 64, 1, [3, 3], [2, 2], [1, 1, 1, 1], [41, 39]),
        ("k3_narrow", 1, 300, 100, 1, [3, 3], [1, 1], [1, 1, 1, 1], [7, 7]),
        ("k7_s2_rgb", 1, 3, 64, 1, [7, 7], [2, 2], [3, 3, 3, 3], [67, 71]),
        ("k3_s2_rgb", 1, 3, 16, 1, [3, 3], [2, 2], [1, 1, 1, 1], [64, 96]),
        ("k3_groups4", 1, 32, 64, 4, [3, 3], [1, 1], [1, 1, 1, 1], [19, 40]),
        ("k5_asym_pads", 1, 12, 30, 1, [5, 3], [1, 2], [2, 0, 1, 1], [33, 50]),
        ("dw3_wide", 1, 16, 16, 16, [3, 3], [1, 1], [1, 1, 1, 1], [40, 230]),
        ("dw3_s2_wide", 1, 20, 20, 20, [3, 3], [2, 2], [1, 1, 1, 1], [41, 233]),
        ("dw3", 2, 37, 37, 37, [3, 3], [1, 1], [1, 1, 1, 1], [28, 28]),
        ("dw3_s2", 1, 45, 45, 45, [3, 3], [2, 2], [1, 1, 1, 1], [29, 27]),
        ("dw3_7x7", 1, 96, 96, 96, [3, 3], [1, 1], [1, 1, 1, 1], [7, 7]),
        ("dw5", 1, 24, 24, 24, [5, 5], [1, 1], [2, 2, 2, 2], [20, 61]),
        ("dw5_s2", 1, 19, 19, 19, [5, 5], [2, 2], [2, 2, 2, 2], [21, 60]),
        ("dw_mult2", 1, 8, 16, 8, [3, 3], [1, 1], [1, 1, 1, 1], [17, 19]),
        ("dw7_dil", 1, 9, 9, 9, [7, 7], [1, 1], [6, 6, 6, 6], [25, 31]),
    ]
    for name, n, c, m, g, k, s, pads, size in real:
        d = [1, 1] if name != "dw7_dil" else [2, 2]
        out.append(conv_case(rng, "net_" + name, 2, n, c, m, g, k, s, d, pads, None, size))
        out.append(conv_case(rng, "net_" + name + "_nobias_var", 2, n, c, m, g, k, s, d, pads, None, size,
                             bias=False, const_w=False))

    # 1-D audio-style and 3-D video-style convolutions
    out.append(conv_case(rng, "net_1d_wide", 1, 2, 16, 32, 1, [5], [2], [1], [2, 2], None, [301]))
    out.append(conv_case(rng, "net_1d_dw", 1, 1, 64, 64, 64, [3], [1], [1], [1, 1], None, [500]))
    out.append(conv_case(rng, "net_3d", 3, 1, 4, 8, 1, [3, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 1, 1, 1, 1], None,
                         [5, 9, 11]))
    out.append(conv_case(rng, "net_3d_dw", 3, 1, 6, 6, 6, [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1, 1, 1, 1],
                         None, [4, 8, 9]))

    # errors: channel mismatch, kernel larger than the input, bias of the wrong size
    x = randn(rng, [1, 3, 8, 8])
    out.append(case("err_channels", make_model("Conv", x, randn(rng, [4, 2, 3, 3]), None, {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_kernel_too_big", make_model("Conv", x, randn(rng, [4, 3, 9, 9]), None, {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_bias", make_model("Conv", x, randn(rng, [4, 3, 3, 3]), randn(rng, [5]), {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_group", make_model("Conv", x, randn(rng, [4, 3, 3, 3]), None, {"group": 2}, 13),
                    expect_error=True, expect_ort_error=True))

    # ConvTranspose
    for i in range(40):
        nsp = 2 if i % 4 else 1
        n = int(rng.integers(1, 3))
        g = int(rng.choice([1, 1, 2, 3]))
        c = g * int(rng.integers(1, 4))
        m = g * int(rng.integers(1, 4))
        k = [int(rng.integers(1, 5)) for _ in range(nsp)]
        s = [int(rng.integers(1, 4)) for _ in range(nsp)]
        d = [int(rng.choice([1, 1, 2])) for _ in range(nsp)]
        size = [int(rng.integers(1, 13)) for _ in range(nsp)]
        out_pad = [int(rng.integers(0, s[j])) for j in range(nsp)]
        full = [(size[j] - 1) * s[j] + out_pad[j] + (k[j] - 1) * d[j] + 1 for j in range(nsp)]
        kind = i % 5
        pads = [int(rng.integers(0, k[j])) for j in range(nsp)] + [int(rng.integers(0, k[j])) for j in range(nsp)]
        for j in range(nsp):
            if full[j] - pads[j] - pads[nsp + j] < 1:
                pads[j] = pads[nsp + j] = 0
        if kind == 0:
            out.append(convt_case(rng, "convt%02d_pads" % i, n, c, m, g, k, s, d, size, pads=pads, out_pad=out_pad))
        elif kind == 1:
            shape = [max(1, full[j] - int(rng.integers(0, 3))) for j in range(nsp)]
            out.append(convt_case(rng, "convt%02d_outshape" % i, n, c, m, g, k, s, d, size, out_pad=out_pad,
                                  out_shape=shape))
        elif kind == 2:
            out.append(convt_case(rng, "convt%02d_same_upper" % i, n, c, m, g, k, s, d, size, out_pad=out_pad,
                                  auto_pad="SAME_UPPER"))
        elif kind == 3:
            out.append(convt_case(rng, "convt%02d_same_lower" % i, n, c, m, g, k, s, d, size, out_pad=out_pad,
                                  auto_pad="SAME_LOWER"))
        else:
            out.append(convt_case(rng, "convt%02d_plain" % i, n, c, m, g, k, s, d, size, bias=False))
    # as in PaddleOCR's DB head: 2x2 stride 2 upsampling on a wide map
    out.append(convt_case(rng, "convt_db_head", 1, 24, 24, 1, [2, 2], [2, 2], [1, 1], [40, 120], pads=[0, 0, 0, 0]))
    out.append(convt_case(rng, "convt_db_head_1ch", 1, 24, 1, 1, [2, 2], [2, 2], [1, 1], [40, 120]))
    # stride = kernel (each output written once, the set-not-add path) and its near misses
    out.append(convt_case(rng, "convt_tile_g2_b2", 2, 4, 6, 2, [2, 2], [2, 2], [1, 1], [5, 7]))
    out.append(convt_case(rng, "convt_tile_3x1_nobias", 1, 5, 3, 1, [3, 1], [3, 1], [1, 1], [4, 9], bias=False))
    out.append(convt_case(rng, "convt_tile_1d_k3", 2, 3, 4, 1, [3], [3], [1], [11]))
    out.append(convt_case(rng, "convt_tile_1x1", 1, 3, 5, 1, [1, 1], [1, 1], [1, 1], [6, 7]))
    out.append(convt_case(rng, "convt_tile_outpad", 1, 3, 4, 1, [2, 2], [2, 2], [1, 1], [5, 6], out_pad=[1, 0]))
    out.append(convt_case(rng, "convt_tile_dil2", 1, 3, 4, 1, [2, 2], [2, 2], [2, 2], [5, 6]))
    out.append(convt_case(rng, "convt_3d", 1, 2, 3, 1, [2, 3, 3], [2, 1, 2], [1, 1, 1], [3, 4, 5],
                          expect_ort_error=True))
    out.append(case("err_convt_channels", make_model("ConvTranspose", randn(rng, [1, 3, 5, 5]),
                                                     randn(rng, [2, 4, 3, 3]), None, {}, 13),
                    expect_error=True, expect_ort_error=True))

    # com.microsoft FusedConv: activation (and Z) after the convolution
    acts = [("Relu", []), ("Clip", [-0.5, 0.75]), ("LeakyRelu", [0.1]), ("Sigmoid", []), ("Tanh", []),
            ("HardSigmoid", [0.2, 0.5])]
    for i, (act, params) in enumerate(acts):
        for kind, (c, m, k, size, g) in enumerate([(8, 12, [3, 3], [9, 20], 1), (16, 16, [3, 3], [11, 13], 16),
                                                    (32, 64, [1, 1], [10, 10], 1)]):
            x = randn(rng, [1, c] + size)
            w = randn(rng, [m, c // g] + k) * np.float32(0.3)
            b = randn(rng, [m])
            attrs = {"activation": act, "group": g, "pads": [1, 1, 1, 1] if k[0] == 3 else [0, 0, 0, 0]}
            if params:
                attrs["activation_params"] = params
            out.append(case("fused_%s_%d" % (act.lower(), kind),
                            make_model("FusedConv", x, w, b, attrs, 13, domain="com.microsoft")))
    x = randn(rng, [1, 8, 9, 20])
    z = randn(rng, [1, 12, 9, 20])
    out.append(case("fused_relu_z", make_model("FusedConv", x, randn(rng, [12, 8, 3, 3]) * np.float32(0.3),
                                               randn(rng, [12]), {"activation": "Relu", "pads": [1, 1, 1, 1]}, 13,
                                               domain="com.microsoft", z=z)))
    return out
