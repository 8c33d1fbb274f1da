"""Per-op cases for src/ops/f32_fused.c and the NCHWc pass (src/ir/passes/nchwc.c): small float
graphs whose convolutions octet runs in the blocked layout (NchwcConv, ReorderInput/Output,
NchwcMaxPool, NchwcGlobalAveragePool/MaxPool, elementwise ops on blocked tensors, Conv + Add (+ Relu /
Clip) fused as the sum input). Chains of convolutions (a lone convolution is left in the plain
layout), channel counts that are not multiples of 8, depthwise with stride and dilation, pools,
per-channel / spatial / scalar constants, a Z that broadcasts, graph outputs inside a blocked region,
batch 2, Clip from opset 6 attributes. Random shapes from a fixed seed."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from case_util import finish

SEED = 8128


class G:
    """A tiny graph builder: values by name, random constant weights."""

    def __init__(self, rng, x_shape, opset=13):
        self.rng = rng
        self.nodes, self.inits, self.opset = [], [], opset
        self.x = rng.standard_normal(size=x_shape).astype(np.float32)
        self.n = 0
        self.outputs = []

    def name(self, p):
        self.n += 1
        return "%s%d" % (p, self.n)

    def const(self, arr):
        nm = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def node(self, op, ins, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def conv(self, x, c, m, k=1, s=1, p=None, d=1, g=1, bias=True, kk=None):
        kh, kw = (k, k) if kk is None else kk
        w = self.rng.standard_normal(size=(m, c // g, kh, kw)).astype(np.float32)
        w *= np.float32(1.0 / np.sqrt((c // g) * kh * kw))
        ins = [x, self.const(w)]
        if bias:
            ins.append(self.const((self.rng.standard_normal(size=m) * 0.2).astype(np.float32)))
        if p is None:
            p = [(kh - 1) * d // 2, (kw - 1) * d // 2] * 2
        return self.node("Conv", ins, kernel_shape=[kh, kw], strides=[s, s], pads=p, dilations=[d, d], group=g)

    def clip(self, x, lo=0.0, hi=6.0):
        if self.opset < 11:
            return self.node("Clip", [x], min=lo, max=hi)
        return self.node("Clip", [x, self.const(np.float32(lo)), self.const(np.float32(hi))])

    def model(self, *outs):
        g_in = [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.x.shape)]
        g_out = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
        graph = helper.make_graph(self.nodes, "nchwc_test", g_in, g_out, self.inits)
        m = finish(graph, self.opset)
        return m


def case(name, g, *outs, rtol=1e-4, atol=1e-4):
    return {"name": name, "model": g.model(*outs), "inputs": {"x": g.x}, "rtol": rtol, "atol": atol}


def rint(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def mobile_block(rng, i):
    """expand 1x1 -> Clip -> depthwise 3x3 (stride 1/2) -> Clip -> project 1x1 (+ residual)."""
    n, c, h, w = rint(rng, 1, 2), rint(rng, 3, 13), rint(rng, 5, 19), rint(rng, 5, 19)
    g = G(rng, [n, c, h, w], opset=int(rng.choice([10, 11, 13])))
    e, o = rint(rng, 6, 40), rint(rng, 4, 20)
    x = g.clip(g.conv("x", c, o, k=3))                   # stem: a blocked input for the block
    s = int(rng.choice([1, 1, 2]))
    y = g.clip(g.conv(x, o, e))
    y = g.clip(g.conv(y, e, e, k=3, s=s, g=e, d=int(rng.choice([1, 1, 2]))))
    y = g.conv(y, e, o)
    if s == 1:
        y = g.node("Add", [x, y] if i % 2 else [y, x])
    y = g.conv(y, o, rint(rng, 1, 11), k=int(rng.choice([1, 3])))
    return case("mobile%02d" % i, g, y)


def resnet_block(rng, i):
    """conv 7x7/2 -> Relu -> MaxPool -> (conv 3x3 -> Relu -> conv 3x3) + identity -> Relu -> GAP -> Gemm."""
    n, h, w = rint(rng, 1, 2), rint(rng, 12, 30), rint(rng, 12, 30)
    g = G(rng, [n, 3, h, w])
    c = rint(rng, 5, 20)
    x = g.node("Relu", [g.conv("x", 3, c, k=7, s=2)])
    mp = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    if i % 3 == 1:
        mp = dict(kernel_shape=[2, 3], strides=[1, 2], pads=[0, 1, 1, 0], dilations=[2, 1])
    x = g.node("MaxPool", [x], **mp)
    y = g.node("Relu", [g.conv(x, c, c, k=3)])
    y = g.conv(y, c, c, k=3)
    y = g.node("Relu", [g.node("Add", [y, x])])
    pool = g.node("GlobalAveragePool" if i % 2 == 0 else "GlobalMaxPool", [y])
    f = g.node("Flatten", [pool])
    wt = g.const(rng.standard_normal(size=(c, 7)).astype(np.float32))
    out = g.node("Gemm", [f, wt])
    return case("resnet%02d" % i, g, out, y)


def se_block(rng, i):
    """ppocr-like: conv -> HardSigmoid/HardSwish chain, squeeze-excite (GAP -> 1x1 -> Relu -> 1x1 ->
    HardSigmoid) -> Mul."""
    n, c, h, w = rint(rng, 1, 2), rint(rng, 2, 9), rint(rng, 4, 17), rint(rng, 4, 17)
    g = G(rng, [n, c, h, w], opset=14)
    m = rint(rng, 8, 33)
    x = g.conv("x", c, m, k=3, s=int(rng.choice([1, 2])))
    x = g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=0.2, beta=0.5)])
    s = g.node("GlobalAveragePool", [x])
    r = max(1, m // 4)
    s = g.node("Relu", [g.conv(s, m, r)])
    s = g.node("HardSigmoid", [g.conv(s, r, m)], alpha=0.1666667, beta=0.5)
    y = g.node("Mul", [x, s])
    y = g.conv(y, m, rint(rng, 3, 12), k=3)
    return case("se%02d" % i, g, y)


def constants_chain(rng, i):
    """blocked values against per-channel, spatial and scalar constants, in both operand orders."""
    n, c, h, w = rint(rng, 1, 2), rint(rng, 1, 10), rint(rng, 3, 12), rint(rng, 3, 12)
    g = G(rng, [n, c, h, w])
    m = rint(rng, 3, 21)
    x = g.conv("x", c, m, k=3)
    pc = (rng.standard_normal(size=(m, 1, 1)) + 2.0).astype(np.float32)
    x = g.node("Mul", [x, g.const(pc)])
    x = g.node("Add", [g.const(rng.standard_normal(size=(1, m, 1, 1)).astype(np.float32)), x])
    x = g.node("Sub", [x, g.const(np.float32(0.25))])
    sp = (rng.random(size=(1, 1, h, w)) + 0.5).astype(np.float32)
    x = g.node("Div", [x, g.const(sp)])
    x = g.node("PRelu", [x, g.const((rng.random(size=(m, 1, 1)) * 0.3).astype(np.float32))])
    x = g.node("Max", [x, g.const(np.full((1, m, 1, 1), -0.5, np.float32))])
    x = g.node("Pow", [g.node("Abs", [x]), g.const(np.float32(1.5))])
    x = g.node("Sigmoid", [g.node("LeakyRelu", [x], alpha=0.1)])
    y = g.conv(x, m, rint(rng, 2, 9))
    return case("consts%02d" % i, g, y)


def odd_chain(rng, i):
    """Z broadcasting over H, W (conv output [N, C, 1, 1] + blocked [N, C, H, W]), a graph output in
    the middle of a blocked region, non-square kernels, dilation, stride 3, a Tanh-fused conv."""
    n, c, h, w = rint(rng, 1, 2), rint(rng, 1, 12), rint(rng, 6, 16), rint(rng, 6, 16)
    g = G(rng, [n, c, h, w])
    m = rint(rng, 4, 18)
    x = g.conv("x", c, m, kk=(rint(rng, 1, 4), rint(rng, 1, 4)), s=int(rng.choice([1, 3])),
               d=int(rng.choice([1, 2])), p=[1, 0, 2, 1])
    mid = g.node("Tanh", [x])
    gap = g.node("GlobalAveragePool", [mid])
    t = g.conv(gap, m, m, bias=False)
    y = g.node("Add", [t, mid])                      # t is [N, m, 1, 1]: Z broadcasts in the fused conv
    y = g.conv(y, m, rint(rng, 1, 9), k=3, s=2)
    return case("odd%02d" % i, g, y, mid)


def ew_chain(rng, i):
    """PP-LCNet-like chains after convolutions, fused into the convolution or one FusedElementwise node:
    per-channel affine, hard-swish spelled out (Add 3, Clip 0 6, Mul, Div 6) and as HardSwish, scalar
    affine, Min/Max/Relu/LeakyRelu/HardSigmoid; the convolution's output also read elsewhere (no fold),
    and a chain on a plain (not blocked) convolution output."""
    n, c, h, w = rint(rng, 1, 2), rint(rng, 1, 9), rint(rng, 3, 14), rint(rng, 3, 14)
    g = G(rng, [n, c, h, w], opset=int(rng.choice([11, 13, 14])) if i % 3 != 1 else 14)
    m = rint(rng, 2, 26)
    if i % 3 == 2:
        # a lone convolution stays plain: the chain runs on its NCHW output
        x = g.conv("x", c, m, k=3)
        x = g.node("Add", [g.node("Mul", [x, g.const(np.float32(0.5))]), g.const(np.float32(-0.25))])
        x = g.node("Max", [g.node("Relu", [x]), g.const(np.float32(0.1))])
        return case("ewplain%02d" % i, g, x)
    x = g.conv("x", c, m, k=int(rng.choice([1, 3])), s=int(rng.choice([1, 2])), g=1)
    x = g.node("Mul", [x, g.const((rng.standard_normal(size=(1, m, 1, 1)) + 1).astype(np.float32))])
    x = g.node("Add", [x, g.const(rng.standard_normal(size=(m, 1, 1)).astype(np.float32))])
    t = g.clip(g.node("Add", [x, g.const(np.float32(3.0))]), 0.0, 6.0)
    x = g.node("Div", [g.node("Mul", [x, t]), g.const(np.float32(6.0))])
    x = g.node("Add", [g.node("Mul", [g.const(np.float32(1.25)), x]), g.const(np.float32(0.125))])
    if i % 3 == 1:
        x = g.node("HardSwish", [x])
        x = g.node("Min", [g.node("LeakyRelu", [x], alpha=0.2), g.const(np.float32(0.9))])
        x = g.node("Sub", [g.const(np.float32(1.0)), g.node("HardSigmoid", [x], alpha=0.3, beta=0.4)])
    y = g.conv(x, m, rint(rng, 1, 12), k=3, g=1)
    if i % 2 == 1:
        # the first chain's output read twice: the second conv cannot take it whole
        y2 = g.node("Relu", [g.node("Sub", [x, g.const(np.float32(0.5))])])
        return case("ew%02d" % i, g, y, y2)
    return case("ew%02d" % i, g, y)


def fpn(rng, i):
    """DB-head neck: convolutions at two scales, nearest Resize 2x of the coarse one (asymmetric/floor,
    half_pixel, or Resize-10), Add, Concat over channels (8-channel multiples, the last one odd), conv."""
    n, h, w = rint(rng, 1, 2), 2 * rint(rng, 2, 7), 2 * rint(rng, 2, 7)
    opset = [13, 11, 10][i % 3]
    g = G(rng, [n, 3, h, w], opset=opset)
    c = 8 * rint(rng, 1, 3)
    fine = g.node("Relu", [g.conv("x", 3, c, k=3)])
    coarse = g.node("Relu", [g.conv(fine, c, c, k=3, s=2)])
    if opset == 10:
        up = g.node("Resize", [coarse, g.const(np.array([1, 1, 2, 2], np.float32))], mode="nearest")
    else:
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        if i % 3 == 1:
            attrs = dict(mode="nearest")
        roi = g.const(np.array([], np.float32))
        up = g.node("Resize", [coarse, roi, g.const(np.array([1, 1, 2, 2], np.float32))], **attrs)
    s = g.node("Add", [fine, up])
    last = rint(rng, 3, 13)
    cat = g.node("Concat", [s, up, g.conv(s, c, last, k=1)], axis=1 if i % 2 else -3)
    y = g.conv(cat, 2 * c + last, rint(rng, 2, 9), k=3)
    return case("fpn%02d" % i, g, y)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for i in range(10):
        out.append(mobile_block(rng, i))
    for i in range(6):
        out.append(resnet_block(rng, i))
    for i in range(6):
        out.append(se_block(rng, i))
    for i in range(6):
        out.append(constants_chain(rng, i))
    for i in range(6):
        out.append(odd_chain(rng, i))
    for i in range(9):
        out.append(ew_chain(rng, i))
    for i in range(6):
        out.append(fpn(rng, i))
    return out
