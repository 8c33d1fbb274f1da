"""Per-op cases for src/ops/octet_int8.c and the channels-last int8 path against live ONNX Runtime:

* com.microsoft QLinearConv with channels_last = 1 (ONNX Runtime's NHWC convolution; octet: qlinear.c);
* com.microsoft NhwcMaxPool (uint8, int8);
* chains of int8 image ops in ONNX layout (QLinearConv -> QLinearConv -> QLinearAdd -> ..., MaxPool,
  QLinearConcat, QLinearMul broadcasting, QLinearGlobalAveragePool / QLinearAveragePool, QLinearSigmoid):
  ONNX Runtime runs them literally (graph optimizations off), octet's session rewrites them to run
  channels-last (ir/passes/int8_layout.c), with layout changes only at the chain's edges. Intermediate
  values are also graph outputs or read by float ops, so the layout changes back are checked too.

Every output is compared exactly. As in cases_qlinear.py, uint8 x int8 convolutions keep the weights in
[-64, 63]: ONNX Runtime's AVX2 kernel (vpmaddubsw) saturates beyond that, octet does not."""
import importlib.util
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

SEED = 4417
IR = 8
MS = "com.microsoft"
U8, S8 = np.uint8, np.int8


def _qlinear():
    spec = importlib.util.spec_from_file_location(
        "cases_qlinear_helpers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases_qlinear.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


QL = _qlinear()


def et(dtype):
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]


class Graph:
    """A small graph builder: constants become initializers, feeds graph inputs."""

    def __init__(self):
        self.nodes, self.inits, self.inputs, self.feed, self.outputs = [], [], [], {}, []
        self.n = 0

    def const(self, arr, base="c"):
        self.n += 1
        name = "%s%d" % (base, self.n)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def input(self, name, arr):
        self.inputs.append(helper.make_tensor_value_info(name, et(arr.dtype), arr.shape))
        self.feed[name] = arr
        return name

    def node(self, op, ins, domain="", **attrs):
        self.n += 1
        out = "v%d" % self.n
        self.nodes.append(helper.make_node(op, ins, [out], domain=domain, name="n%d" % self.n, **attrs))
        return out

    def output(self, name, dtype):
        self.outputs.append(helper.make_tensor_value_info(name, et(dtype), None))

    def model(self):
        g = helper.make_graph(self.nodes, "int8_chain", self.inputs, self.outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS, 1)],
                              producer_name="octet-tests")
        m.ir_version = IR
        return m


def case(name, g, rtol=0.0, atol=0.0, **extra):
    c = {"name": name, "model": g.model(), "inputs": g.feed, "rtol": rtol, "atol": atol}
    c.update(extra)
    return c


def rand_q(rng, dtype, shape, lo=None, hi=None):
    return QL.rand_q(rng, dtype, shape, lo, hi)


class Q:
    """A quantized value in the builder: name, scale, zero point, dtype, channel count."""

    def __init__(self, name, scale, zp, dtype, C):
        self.name, self.scale, self.zp, self.dtype, self.C = name, np.float32(scale), zp, np.dtype(dtype), C


def qparams(g, v):
    return [g.const(np.array(v.scale, np.float32), "s"), g.const(np.array(v.zp, v.dtype), "z")]


def conv(g, rng, x, M, k=(3, 3), stride=(1, 1), pads=None, group=1, dil=(1, 1), wt=S8, channels_last=False,
         per_channel=True, yt=None):
    """QLinearConv of x; returns the output Q. Output scale from a rough accumulator spread."""
    yt = x.dtype if yt is None else np.dtype(yt)
    sat = np.dtype(x.dtype) == np.uint8 and np.dtype(wt) == np.int8
    lo, hi = (-64, 63) if sat else (None, None)
    Cg = x.C // group
    w = rand_q(rng, wt, [M, Cg] + list(k), lo, hi)
    zw = np.array(0 if np.dtype(wt) == np.int8 else 128, wt)
    sw = rng.uniform(0.004, 0.02, size=(M,) if per_channel else ()).astype(np.float32)
    K = Cg * int(np.prod(k))
    spread = np.sqrt(K) * 60.0 * (37.0 if sat else 70.0)
    sy = np.float32(x.scale * float(np.mean(sw)) * spread / 45.0)
    zy = np.array(int(rng.integers(-10, 10)) if yt == np.int8 else int(rng.integers(110, 140)), yt)
    b = rng.integers(-3000, 3000, size=M).astype(np.int32)
    if pads is None:
        pads = [kk // 2 for kk in k] * 2
    ins = [x.name] + qparams(g, x) + [g.const(w, "w"), g.const(sw, "ws"), g.const(zw, "wz"),
                                      g.const(np.array(sy, np.float32), "s"), g.const(zy, "z"), g.const(b, "b")]
    attrs = dict(kernel_shape=list(k), strides=list(stride), pads=list(pads), group=group, dilations=list(dil))
    if channels_last:
        out = g.node("QLinearConv", ins, domain=MS, channels_last=1, **attrs)
    else:
        out = g.node("QLinearConv", ins, **attrs)
    return Q(out, sy, int(zy), yt, M)


def binop(g, rng, op, a, b):
    sy = np.float32(max(a.scale, b.scale) * 1.3 if op == "QLinearAdd" else a.scale * b.scale * 64)
    zy = int(rng.integers(-5, 5)) if a.dtype == np.int8 else int(rng.integers(120, 136))
    out = g.node(op, [a.name] + qparams(g, a) + [b.name] + qparams(g, b) +
                 [g.const(np.array(sy, np.float32), "s"), g.const(np.array(zy, a.dtype), "z")], domain=MS)
    return Q(out, sy, zy, a.dtype, max(a.C, b.C))


def gap(g, x):
    sy = np.float32(x.scale * 0.5)
    out = g.node("QLinearGlobalAveragePool", [x.name] + qparams(g, x) +
                 [g.const(np.array(sy, np.float32), "s"), g.const(np.array(x.zp, x.dtype), "z")], domain=MS,
                 channels_last=0)
    return Q(out, sy, x.zp, x.dtype, x.C)


def quant_input(g, rng, shape, dt):
    xf = rng.standard_normal(shape).astype(np.float32)
    g.input("x", xf)
    zp = 0 if dt == np.int8 else 128
    s = np.float32(3.0 / 127)
    q = g.node("QuantizeLinear", ["x", g.const(np.array(s, np.float32), "s"), g.const(np.array(zp, dt), "z")])
    return Q(q, s, zp, dt, shape[1])


def dequant(g, v):
    return g.node("DequantizeLinear", [v.name] + qparams(g, v))


# ---------------------------------------------------------------- single ops (NHWC forms)

def nhwc_conv_cases(rng):
    out = []
    geoms = [  # (x NHWC shape, M, k, stride, pads, group, dil)
        ([1, 7, 9, 5], 6, (3, 3), (1, 1), [1, 1, 1, 1], 1, (1, 1)),
        ([2, 8, 6, 16], 24, (1, 1), (1, 1), [0, 0, 0, 0], 1, (1, 1)),
        ([1, 9, 11, 3], 16, (3, 3), (2, 2), [1, 1, 1, 1], 1, (1, 1)),
        ([1, 10, 7, 24], 24, (3, 3), (1, 1), [1, 1, 1, 1], 24, (1, 1)),
        ([2, 9, 9, 40], 40, (3, 3), (2, 2), [0, 0, 1, 1], 40, (1, 1)),
        ([1, 8, 8, 12], 8, (3, 3), (1, 1), [2, 2, 2, 2], 4, (2, 2)),
        ([1, 5, 13, 17], 33, (1, 1), (2, 2), [0, 0, 0, 0], 1, (1, 1)),
        ([1, 6, 7, 19], 19, (5, 5), (1, 1), [2, 2, 2, 2], 19, (1, 1)),
        ([1, 11, 6, 7], 9, (2, 3), (1, 2), [0, 1, 1, 0], 1, (1, 1)),
    ]
    for i, (xs, M, k, s, p, grp, d) in enumerate(geoms):
        for xt, wt in [(U8, S8), (U8, U8), (S8, S8)]:
            g = Graph()
            x = rand_q(rng, xt, xs)
            g.input("x", x)
            xq = Q("x", rng.uniform(0.01, 0.05), int(rng.integers(-20, 20)) if xt == S8 else int(rng.integers(0, 60)),
                   xt, xs[3])
            y = conv(g, rng, xq, M, k, s, p, grp, d, wt=wt, channels_last=True, per_channel=i % 2 == 0)
            g.output(y.name, y.dtype)
            out.append(case("nhwc_qconv_%d_%s%s" % (i, np.dtype(xt).name[0], np.dtype(wt).name[0]), g))
    return out


def nhwc_maxpool_cases(rng):
    out = []
    geoms = [  # (x NHWC shape, kernel, strides, pads, dilations, ceil, auto_pad)
        ([1, 9, 11, 5], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0, None),
        ([2, 8, 8, 16], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], 0, None),
        ([1, 7, 10, 33], [3, 2], [1, 2], [1, 0, 1, 1], [1, 1], 1, None),
        ([1, 12, 9, 3], [3, 3], [2, 1], [0, 0, 0, 0], [2, 1], 0, None),
        ([1, 7, 7, 18], [3, 3], [2, 2], None, [1, 1], 0, "SAME_UPPER"),
        ([1, 6, 9, 7], [2, 3], [2, 2], None, [1, 1], 0, "SAME_LOWER"),
        ([2, 5, 8, 17], [5, 5], [1, 1], [2, 2, 2, 2], [1, 1], 0, None),
        ([1, 10, 6], [3], [2], [1, 1], [1], 1, None),
    ]
    for i, (xs, k, s, p, d, ceil, ap) in enumerate(geoms):
        for dt in (U8, S8):
            g = Graph()
            g.input("x", rand_q(rng, dt, xs))
            attrs = dict(kernel_shape=k, strides=s, dilations=d, ceil_mode=ceil)
            if ap:
                attrs["auto_pad"] = ap
            else:
                attrs["pads"] = p
            y = g.node("NhwcMaxPool", ["x"], domain=MS, **attrs)
            g.output(y, dt)
            out.append(case("nhwc_maxpool_%d_%s" % (i, np.dtype(dt).name), g))
    return out


# ---------------------------------------------------------------- chains in ONNX layout

def inverted_residual(g, rng, x, expand, out_c, stride=1, k=3):
    h = conv(g, rng, x, x.C * expand, (1, 1))
    h = conv(g, rng, h, h.C, (k, k), (stride, stride), group=h.C)
    h = conv(g, rng, h, out_c, (1, 1))
    if stride == 1 and out_c == x.C:
        h = binop(g, rng, "QLinearAdd", h, x)
    return h


def chain_cases(rng):
    out = []
    for dt, N in [(U8, 1), (S8, 2), (U8, 3)]:
        tag = np.dtype(dt).name
        # mobilenet-like: stem, inverted residuals (with a skip add), head, GAP, dequantize
        g = Graph()
        x = quant_input(g, rng, [N, 3, 17, 15], dt)
        h = conv(g, rng, x, 16, (3, 3), (2, 2))
        h = conv(g, rng, h, 16, (3, 3), group=16)
        h = conv(g, rng, h, 8, (1, 1))
        h = inverted_residual(g, rng, h, 6, 12, stride=2)
        mid = h
        h = inverted_residual(g, rng, h, 6, 12, stride=1)
        h = inverted_residual(g, rng, h, 4, 20, stride=1, k=5)
        p = gap(g, h)
        g.output(dequant(g, p), np.float32)
        g.output(mid.name, dt)   # an intermediate that the chain also reads: handed back in ONNX layout
        out.append(case("chain_mobilenet_%s_n%d" % (tag, N), g))

        # resnet-like: 7x7 s2 stem, MaxPool, two basic blocks (one with a strided 1x1 shortcut)
        g = Graph()
        x = quant_input(g, rng, [N, 3, 23, 21], dt)
        h = conv(g, rng, x, 16, (7, 7), (2, 2))
        h = Q(g.node("MaxPool", [h.name], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), h.scale, h.zp,
              h.dtype, h.C)
        b = conv(g, rng, conv(g, rng, h, 16), 16)
        h = binop(g, rng, "QLinearAdd", b, h)
        b = conv(g, rng, conv(g, rng, h, 24, stride=(2, 2)), 24)
        sc = conv(g, rng, h, 24, (1, 1), (2, 2), pads=[0, 0, 0, 0])
        h = binop(g, rng, "QLinearAdd", b, sc)
        p = gap(g, h)
        g.output(p.name, dt)
        g.output(dequant(g, sc), np.float32)   # a float reader of a chain value
        out.append(case("chain_resnet_%s_n%d" % (tag, N), g))

        # squeeze-excite style broadcasting multiply, concat on channels, average pool, sigmoid
        g = Graph()
        x = quant_input(g, rng, [N, 5, 9, 10], dt)
        a = conv(g, rng, x, 12, (3, 3))
        s = gap(g, a)                                                      # [N, 12, 1, 1]
        s = Q(g.node("QLinearSigmoid", [s.name] + qparams(g, s) +
                     [g.const(np.array(1.0 / 256, np.float32), "s"),
                      g.const(np.array(0 if dt == U8 else -128, dt), "z")], domain=MS),
              np.float32(1.0 / 256), 0 if dt == U8 else -128, dt, 12)
        m = binop(g, rng, "QLinearMul", a, s)                              # broadcast over H, W
        c2 = conv(g, rng, x, 7, (1, 1))
        ys = np.float32(max(m.scale, c2.scale))
        yz = 0 if dt == S8 else 128
        cat = g.node("QLinearConcat", [g.const(np.array(ys, np.float32), "s"), g.const(np.array(yz, dt), "z"),
                                       m.name] + qparams(g, m) + [c2.name] + qparams(g, c2), domain=MS, axis=1)
        cat = Q(cat, ys, yz, dt, 19)
        ap = g.node("QLinearAveragePool", [cat.name] + qparams(g, cat) + qparams(g, cat), domain=MS,
                    kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
        h = conv(g, rng, Q(ap, cat.scale, cat.zp, dt, 19), 6, (3, 3))
        g.output(h.name, dt)
        out.append(case("chain_se_concat_%s_n%d" % (tag, N), g))

    # FPN-style top-down path: nearest Resize on the 8-bit tensor inside the chain (octet permutes its
    # scales and runs it channels-last; integer factors take the copy path, align_corners the generic one)
    for tag, sc, attrs in [("asym_floor_2x2", [1, 1, 2, 2], dict(coordinate_transformation_mode="asymmetric",
                                                                 nearest_mode="floor")),
                           ("half_pixel_3x2", [1, 1, 3, 2], {}),
                           ("align_corners_2x3", [1, 1, 2, 3], dict(coordinate_transformation_mode="align_corners"))]:
        for dt in (U8, S8):
            g = Graph()
            x = quant_input(g, rng, [1, 4, 12, 12], dt)
            hi = conv(g, rng, x, 8, (3, 3))
            lo = conv(g, rng, hi, 8, (3, 3), (sc[2], sc[3]), pads=[1, 1, 1, 1])
            up = Q(g.node("Resize", [lo.name, "", g.const(np.array(sc, np.float32), "sc")], mode="nearest", **attrs),
                   lo.scale, lo.zp, lo.dtype, lo.C)
            up_hw = (12 + 2 - 3) // sc[2] + 1
            if up_hw * sc[2] == 12 and ((12 + 2 - 3) // sc[3] + 1) * sc[3] == 12:
                h = binop(g, rng, "QLinearAdd", up, hi)
            else:
                h = up
            h = conv(g, rng, h, 6, (3, 3))
            g.output(h.name, dt)
            g.output(up.name, dt)   # the resized value handed back in ONNX layout too
            out.append(case("chain_fpn_resize_%s_%s" % (tag, np.dtype(dt).name), g))
    # a lone convolution between float ops stays in ONNX layout; two in a row become a chain
    g = Graph()
    x = quant_input(g, rng, [1, 4, 8, 8], U8)
    h = conv(g, rng, x, 8, (3, 3))
    g.output(dequant(g, h), np.float32)
    out.append(case("lone_conv", g))
    g = Graph()
    x = quant_input(g, rng, [2, 4, 9, 7], U8)
    h = conv(g, rng, conv(g, rng, x, 8, (3, 3)), 5, (1, 1))
    g.output(h.name, U8)
    out.append(case("two_convs", g))
    # QLinearAdd of a chain value and an outside value stays NCHW (the chain hands its value back)
    g = Graph()
    x = quant_input(g, rng, [1, 6, 5, 5], U8)
    h = conv(g, rng, conv(g, rng, x, 6, (3, 3)), 6, (3, 3))
    s = binop(g, rng, "QLinearAdd", h, x)
    g.output(s.name, U8)
    out.append(case("add_with_outside", g))
    return out


# ---------------------------------------------------------------- first layers and small pools

def first_layer_cases(rng):
    """Convolutions over one to four input channels (octet: a depth padded to 8 and im2col through a
    padded band, or the generic im2col past kw*C = 32 bytes; no Winograd below 16 channels), 3x3
    convolutions on both sides of the Winograd channel rule (20: im2col, 24: Winograd), max pools with
    many channels, and the Fashion-MNIST demo's shape as a chain over several images."""
    out = []
    geoms = [  # (x NHWC shape, M, k, stride, pads, dil)
        ([2, 28, 28, 1], 16, (3, 3), (1, 1), [1, 1, 1, 1], (1, 1)),
        ([3, 17, 30, 2], 8, (5, 5), (2, 2), [2, 2, 1, 1], (1, 1)),
        ([1, 31, 23, 3], 24, (7, 7), (2, 2), [3, 3, 3, 3], (1, 1)),
        ([2, 12, 19, 4], 10, (3, 3), (1, 1), [2, 1, 2, 1], (2, 1)),
        ([1, 9, 40, 4], 7, (3, 9), (1, 3), [0, 4, 1, 4], (1, 1)),
        ([2, 13, 11, 1], 5, (2, 2), (1, 1), [0, 0, 1, 1], (1, 2)),
        ([1, 10, 9, 20], 12, (3, 3), (1, 1), [1, 1, 1, 1], (1, 1)),
        ([2, 8, 11, 24], 16, (3, 3), (1, 1), [1, 0, 1, 2], (1, 1)),
    ]
    for i, (xs, M, k, s, p, d) in enumerate(geoms):
        for xt, wt in [(U8, S8), (U8, U8), (S8, S8)]:
            g = Graph()
            x = rand_q(rng, xt, xs)
            g.input("x", x)
            xq = Q("x", rng.uniform(0.01, 0.05), int(rng.integers(-20, 20)) if xt == S8 else int(rng.integers(0, 60)),
                   xt, xs[3])
            y = conv(g, rng, xq, M, k, s, p, 1, d, wt=wt, channels_last=True, per_channel=i % 2 == 0)
            g.output(y.name, y.dtype)
            out.append(case("first_conv_%d_%s%s" % (i, np.dtype(xt).name[0], np.dtype(wt).name[0]), g))
    pools = [  # (x NHWC shape, kernel, strides, pads, dilations)
        ([3, 28, 28, 16], [2, 2], [2, 2], [0, 0, 0, 0], [1, 1]),
        ([2, 7, 9, 64], [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]),
        ([1, 6, 6, 1], [3, 3], [1, 1], [2, 2, 2, 2], [1, 1]),
        ([1, 9, 8, 40], [2, 3], [3, 1], [1, 2, 0, 1], [2, 2]),
    ]
    for i, (xs, k, s, p, d) in enumerate(pools):
        for dt in (U8, S8):
            g = Graph()
            g.input("x", rand_q(rng, dt, xs))
            y = g.node("NhwcMaxPool", ["x"], domain=MS, kernel_shape=k, strides=s, pads=p, dilations=d)
            g.output(y, dt)
            out.append(case("nhwc_maxpool_more_%d_%s" % (i, np.dtype(dt).name), g))
    for dt, N in [(U8, 1), (S8, 3)]:
        g = Graph()
        x = quant_input(g, rng, [N, 1, 28, 28], dt)
        h = conv(g, rng, x, 16, (3, 3))
        h = Q(g.node("MaxPool", [h.name], kernel_shape=[2, 2], strides=[2, 2]), h.scale, h.zp, h.dtype, h.C)
        h = conv(g, rng, h, 32, (3, 3))
        h = Q(g.node("MaxPool", [h.name], kernel_shape=[2, 2], strides=[2, 2]), h.scale, h.zp, h.dtype, h.C)
        g.output(dequant(g, h), np.float32)
        out.append(case("chain_fmnist_%s_n%d" % (np.dtype(dt).name, N), g))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return nhwc_conv_cases(rng) + nhwc_maxpool_cases(rng) + chain_cases(rng) + first_layer_cases(rng)
