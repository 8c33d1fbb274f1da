"""QDQ ConvTranspose against live ONNX Runtime.

octet's session turns DequantizeLinear(x), DequantizeLinear(w) [, bias] -> ConvTranspose -> [Relu | Clip]
-> QuantizeLinear into one ai.octet QLinearConvTranspose (ir/passes/qdq_fuse.c, ops/octet_qconvt.c): an
exact int32 sum requantized once. ONNX Runtime (graph optimizations off) runs the QDQ graph literally, in
float. The two can differ by one output step where the float sum lands next to a rounding boundary, so
every case dequantizes its output once more and allows one step (atol = 1.001 * y_scale).

Covered: stride = kernel (the one-tap path: 2x2/2, 3x3/3, 1x1/1, 2x3/(2,3)) and the general col2im path
(3x3/2 with padding and output_padding, 4x4/2 pad 1, dilation 2, 3x3/1 pad 1, auto_pad SAME_UPPER,
output_shape); uint8 and int8 x and y; int8 and uint8 weights, per tensor and per output channel (axis 1)
with zero points; bias or none; Relu / Clip folded or none; odd sizes and batch 2. Also: a grouped
ConvTranspose (stays float in octet), and chains Conv -> ConvTranspose -> Conv which octet runs
channels-last end to end (ir/passes/int8_layout.c)."""
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import case_util as CU  # noqa: E402  (tests/ops/case_util.py)

SEED = 6011
U8, S8 = np.uint8, np.int8


def zp_of(dt, rng):
    return int(rng.integers(100, 156)) if np.dtype(dt) == np.uint8 else int(rng.integers(-20, 21))


class B:
    """Graph builder: initializers, nodes, one float input quantized on the way in."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, arr, base="c"):
        self.n += 1
        name = "%s%d" % (base, self.n)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, ins, **attrs):
        self.n += 1
        out = "v%d" % self.n
        self.nodes.append(helper.make_node(op, ins, [out], name="n%d" % self.n, **attrs))
        return out

    def q(self, v, s, z, dt):
        return self.node("QuantizeLinear", [v, self.const(np.array(s, np.float32), "s"), self.const(np.array(z, dt), "z")])

    def dq(self, v, s, z, dt, axis=None):
        sc = self.const(np.asarray(s, np.float32), "s")
        zz = self.const(np.asarray(z, dt), "z")
        return self.node("DequantizeLinear", [v, sc, zz], **({} if axis is None else {"axis": axis}))


def qweights(rng, shape, wt, axis, per_channel):
    """Random weights quantized per tensor or per slice of `axis`: (q, scale, zp)."""
    w = rng.standard_normal(shape).astype(np.float32) * 0.3
    n = shape[axis] if per_channel else 1
    lo, hi = (-128, 127) if np.dtype(wt) == np.int8 else (0, 255)
    scale = (rng.uniform(0.5, 1.5, n) * 0.9 / 127).astype(np.float32)
    zp = (np.zeros(n, np.int64) if np.dtype(wt) == np.int8 else rng.integers(110, 146, n))
    if np.dtype(wt) == np.int8 and per_channel and n > 1:
        zp[::3] = rng.integers(-9, 10, len(zp[::3]))   # asymmetric channels too
    bshape = [1] * len(shape)
    bshape[axis] = n
    q = np.clip(np.round(w / scale.reshape(bshape)) + zp.reshape(bshape), lo, hi).astype(wt)
    if per_channel:
        return q, scale, zp.astype(wt)
    return q, scale[0], np.array(zp[0], wt)


def convt_block(b, rng, x, xs, xz, xt, C, M, k, yt, per_channel=True, wt=S8, bias=True, act=None, **attrs):
    """DQ(x) -> ConvTranspose(DQ(w), DQ(b)) -> act -> Q: returns (quantized value, its scale, zp)."""
    wq, ws, wz = qweights(rng, [C, M // attrs.get("group", 1)] + list(k), wt, 1, per_channel)
    ins = [b.dq(x, xs, xz, xt), b.dq(b.const(wq, "w"), ws, wz, wt, axis=1 if per_channel else None)]
    if bias:
        bs = (np.float32(xs) * np.asarray(ws, np.float32)).astype(np.float32)
        bq = rng.integers(-3000, 3000, M).astype(np.int32)
        if np.ndim(bs) == 0:
            bs = np.full(M, bs, np.float32)
        ins.append(b.dq(b.const(bq, "b"), bs, np.zeros(M, np.int32), np.int32, axis=0))
    y = b.node("ConvTranspose", ins, **attrs)
    if act == "relu":
        y = b.node("Relu", [y])
    elif act == "clip":
        y = b.node("Clip", [y, b.const(np.array(-0.2, np.float32), "lo"), b.const(np.array(0.7, np.float32), "hi")])
    ys = np.float32(rng.uniform(0.8, 1.2) * 0.02 * np.sqrt(C * np.prod(k)))
    yz = zp_of(yt, rng)
    return b.q(y, ys, yz, yt), ys, yz


def model_of(b, x_shape, out, ys, yz, yt, name):
    y = b.node("DequantizeLinear", [out, b.const(np.array(ys, np.float32), "s"), b.const(np.array(yz, yt), "z")])
    b.nodes[-1].output[0] = "y"
    g = helper.make_graph(b.nodes, name, [helper.make_tensor_value_info("x", CU.elem_type(np.float32), x_shape)],
                          [helper.make_tensor_value_info("y", CU.elem_type(np.float32), None)], b.inits)
    return CU.finish(g, 13)


def single_cases(rng):
    out = []
    geoms = [  # name, x shape (NCHW), M, kernel, attributes
        ("k2s2", [1, 5, 7, 9], 6, (2, 2), dict(strides=[2, 2])),
        ("k3s3", [2, 3, 5, 4], 4, (3, 3), dict(strides=[3, 3])),
        ("k1s1", [1, 7, 6, 5], 9, (1, 1), {}),
        ("k2x3s2x3", [1, 4, 5, 6], 5, (2, 3), dict(strides=[2, 3])),
        ("k2s2_m1", [1, 24, 8, 10], 1, (2, 2), dict(strides=[2, 2])),
        ("k3s2_pad_outpad", [1, 6, 7, 5], 8, (3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])),
        ("k4s2p1", [2, 5, 6, 7], 3, (4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
        ("k3_dil2", [1, 4, 6, 6], 5, (3, 3), dict(dilations=[2, 2], pads=[1, 0, 2, 1])),
        ("k3s1p1", [1, 16, 9, 11], 12, (3, 3), dict(pads=[1, 1, 1, 1])),
        ("k3s2_same_upper", [1, 5, 5, 6], 7, (3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
        ("k3s2_output_shape", [1, 4, 6, 5], 6, (3, 3), dict(strides=[2, 2], output_shape=[12, 11])),
        ("k2s2_pad", [1, 5, 6, 6], 4, (2, 2), dict(strides=[2, 2], pads=[1, 0, 0, 1])),   # not one-tap: padding
    ]
    variants = [  # x type, y type, w type, per channel, bias, activation
        (U8, U8, S8, True, True, None),
        (S8, S8, S8, False, True, "relu"),
        (U8, S8, S8, True, False, "clip"),
        (S8, U8, U8, True, True, None),
        (U8, U8, U8, False, False, "relu"),
    ]
    for gi, (gname, shape, M, k, attrs) in enumerate(geoms):
        for vi, (xt, yt, wt, pc, bias, act) in enumerate(variants):
            if (gi + vi) % 2 and vi > 1:
                continue   # every geometry with the first two variants, the rest on alternate geometries
            b = B()
            xs, xz = np.float32(3.0 / 127), zp_of(xt, rng)
            xq = b.q("x", xs, xz, xt)
            yq, ys, yz = convt_block(b, rng, xq, xs, xz, xt, shape[1], M, k, yt, per_channel=pc, wt=wt, bias=bias,
                                     act=act, **attrs)
            name = "%s_%s%s_w%s%s%s%s" % (gname, np.dtype(xt).name, np.dtype(yt).name, np.dtype(wt).name,
                                         "_pc" if pc else "_pt", "_b" if bias else "", "_" + act if act else "")
            x = rng.standard_normal(shape).astype(np.float32)
            out.append(CU.make_case(name, (model_of(b, shape, yq, ys, yz, yt, "qconvt_" + gname), {"x": x}),
                                    rtol=0.0, atol=1.001 * float(ys)))
    # grouped: stays a float ConvTranspose in octet (same QDQ semantics)
    b = B()
    xs, xz = np.float32(3.0 / 127), 128
    xq = b.q("x", xs, xz, U8)
    yq, ys, yz = convt_block(b, rng, xq, xs, xz, U8, 6, 4, (2, 2), U8, per_channel=False, strides=[2, 2], group=2)
    out.append(CU.make_case("grouped_stays_float", (model_of(b, [1, 6, 5, 5], yq, ys, yz, U8, "qconvt_grouped"),
                                                    {"x": rng.standard_normal([1, 6, 5, 5]).astype(np.float32)}),
                            rtol=0.0, atol=1.001 * float(ys)))
    return out


def qconv_block(b, rng, x, xs, xz, xt, C, M):
    """DQ -> Conv 3x3 pad 1 -> Relu -> Q (octet: QLinearConv), to put the transposed conv inside a chain."""
    wq, ws, wz = qweights(rng, [M, C, 3, 3], S8, 0, True)
    y = b.node("Conv", [b.dq(x, xs, xz, xt), b.dq(b.const(wq, "w"), ws, wz, S8, axis=0)], pads=[1, 1, 1, 1])
    y = b.node("Relu", [y])
    ys = np.float32(0.02 * np.sqrt(C * 9))
    return b.q(y, ys, 0, U8), ys, 0


def chain_cases(rng):
    out = []
    for name, k, attrs in [("chain_k2s2", (2, 2), dict(strides=[2, 2])),
                           ("chain_k3s2p1", (3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]))]:
        b = B()
        xs = np.float32(3.0 / 127)
        xq = b.q("x", xs, 128, U8)
        c1, s1, z1 = qconv_block(b, rng, xq, xs, 128, U8, 5, 16)
        t, st, zt = convt_block(b, rng, c1, s1, z1, U8, 16, 12, k, U8, act="relu", **attrs)
        c2, s2, z2 = qconv_block(b, rng, t, st, zt, U8, 12, 7)
        x = rng.standard_normal([1, 5, 9, 13]).astype(np.float32)
        # one step of the transposed conv can move the next conv's output by a few steps
        out.append(CU.make_case(name, (model_of(b, [1, 5, 9, 13], c2, s2, z2, U8, "qconvt_" + name), {"x": x}),
                                rtol=0.0, atol=4.001 * float(s2)))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return single_cases(rng) + chain_cases(rng)
