"""QDQ islands DequantizeLinear -> element-wise float op -> QuantizeLinear against live ONNX Runtime.

octet's session turns each island into one ai.octet QLinearLookup (a 256-entry byte table made by running
the island's own float code on every input code: ops/octet_lookup.c, ir/passes/qdq_fuse.c); ONNX Runtime
(graph optimizations off) runs the island literally in float. Inputs hold every one of the 256 codes plus
random ones, in odd shapes; scales and zero points are random, at the type's ends, tiny and saturating;
uint8 and int8 on both sides, mixed too.

Tolerance: ops whose float result is exact IEEE arithmetic in both runtimes (HardSwish, HardSigmoid,
Relu, Clip, Abs, Neg, Sign, Floor, Ceil, Round, Shrink, ThresholdedRelu, Reciprocal, Sqrt, Softsign)
compare the 8-bit output exactly. Transcendental ops (Tanh, Erf, Exp, Log, Elu, ...) may differ from ORT's
float op in the last ulp (octet: glibc libm / libmvec, ORT: MLAS / Eigen), which moves a quantized value by
one step when it lands next to a rounding boundary: their cases dequantize the result once more and allow
one output step (atol = 1.001 * y_scale) on that float output.

Also: chains QLinearConv -> island -> QLinearMul/QLinearAdd by a one-element constant -> QLinearConv and a
squeeze-excite gate (HardSigmoid island -> QLinearMul broadcast), which octet runs channels-last with the
lookup inside the chain. Gelu (opset 20) and Mish (opset 18) are beyond onnx 1.12's checker: covered by
tests/unit/test_qlookup.c against octet's literal run only."""
import importlib.util
import os

import numpy as np
from onnx import helper, numpy_helper

SEED = 7919
U8, S8 = np.uint8, np.int8


def _load(name):
    spec = importlib.util.spec_from_file_location(
        name + "_helpers", os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CU = _load("case_util")
I8 = _load("cases_octet_int8")

# (op, attributes, exact vs ORT, input range the scales aim at, output range)
OPS = [
    ("HardSwish", {}, True, 5.0, 5.0),
    ("HardSigmoid", {}, True, 4.0, 1.0),
    ("HardSigmoid", {"alpha": 0.31, "beta": 0.42}, True, 3.0, 1.0),
    ("Relu", {}, True, 2.0, 2.0),
    ("Abs", {}, True, 2.0, 2.0),
    ("Neg", {}, True, 2.0, 2.0),
    ("Sign", {}, True, 2.0, 1.0),
    ("Floor", {}, True, 6.0, 6.0),
    ("Ceil", {}, True, 6.0, 6.0),
    ("Round", {}, True, 6.0, 6.0),
    ("Shrink", {"lambd": 0.8, "bias": 0.3}, True, 3.0, 3.0),
    ("ThresholdedRelu", {"alpha": 0.6}, True, 3.0, 3.0),
    ("Reciprocal", {}, True, 4.0, 8.0),
    ("Sqrt", {}, True, 4.0, 2.0),
    ("Softsign", {}, True, 5.0, 1.0),
    ("Tanh", {}, False, 3.0, 1.0),
    ("Erf", {}, False, 2.5, 1.0),
    ("Exp", {}, False, 3.0, 20.0),
    ("Log", {}, False, 4.0, 3.0),
    ("Elu", {"alpha": 0.7}, False, 3.0, 3.0),
    ("Selu", {}, False, 3.0, 3.0),
    ("Celu", {"alpha": 1.3}, False, 3.0, 3.0),
    ("Softplus", {}, False, 4.0, 4.0),
    ("Sin", {}, False, 4.0, 1.0),
    ("Cos", {}, False, 4.0, 1.0),
    ("Tan", {}, False, 1.2, 3.0),
    ("Asin", {}, False, 1.0, 1.6),
    ("Acos", {}, False, 1.0, 3.2),
    ("Atan", {}, False, 5.0, 1.6),
    ("Sinh", {}, False, 3.0, 10.0),
    ("Cosh", {}, False, 3.0, 10.0),
    ("Asinh", {}, False, 5.0, 2.5),
    ("Acosh", {}, False, 5.0, 2.5),
    ("Atanh", {}, False, 1.0, 3.0),
]


def scalar(v, dt):
    return np.array(v, dt)


def codes_input(rng, dt, shape):
    """An odd-shaped input whose first 256 elements are every code once, in random order."""
    n = int(np.prod(shape))
    x = np.empty(n, np.uint8)
    x[:256] = rng.permutation(256).astype(np.uint8)
    x[256:] = rng.integers(0, 256, size=n - 256).astype(np.uint8)
    return x.view(dt).reshape(shape)


def island_model(op, attrs, xt, yt, xs, xz, ys, yz, shape, opset=17, extra=None, dequant_out=False, omit_zp=False):
    """x -> DequantizeLinear -> op -> QuantizeLinear (-> DequantizeLinear) -> y."""
    inits = [numpy_helper.from_array(scalar(xs, np.float32), "xs"), numpy_helper.from_array(scalar(ys, np.float32), "ys")]
    if not omit_zp:
        inits += [numpy_helper.from_array(scalar(xz, xt), "xz"), numpy_helper.from_array(scalar(yz, yt), "yz")]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs"] + ([] if omit_zp else ["xz"]), ["f"], name="dq")]
    ins = ["f"]
    for name, val in (extra or []):
        if name:
            inits.append(numpy_helper.from_array(scalar(val, np.float32), name))
        ins.append(name)
    nodes.append(helper.make_node(op, ins, ["g"], name="op", **attrs))
    nodes.append(helper.make_node("QuantizeLinear", ["g", "ys"] + ([] if omit_zp else ["yz"]), ["q"], name="q"))
    out_t = yt
    if dequant_out:
        nodes.append(helper.make_node("DequantizeLinear", ["q", "ys"] + ([] if omit_zp else ["yz"]), ["y"], name="dq_out"))
        out_t = np.float32
    else:
        nodes[-1].output[0] = "y"
    g = helper.make_graph(nodes, "qlookup_" + op.lower(),
                          [helper.make_tensor_value_info("x", CU.elem_type(xt), shape)],
                          [helper.make_tensor_value_info("y", CU.elem_type(out_t), None)], inits)
    return CU.finish(g, opset)


def zp_range(dt):
    return (-128, 127) if np.dtype(dt) == np.int8 else (0, 255)


def param_sets(rng, xt, yt, in_range, out_range):
    """(xs, xz, ys, yz): random, both zero points at the type's ends, tiny scales, saturating output."""
    xlo, xhi = zp_range(xt)
    ylo, yhi = zp_range(yt)
    return [
        (in_range / 128 * rng.uniform(0.7, 1.3), int(rng.integers(xlo + 60, xhi - 60)),
         out_range / 128 * rng.uniform(0.7, 1.3), int(rng.integers(ylo + 60, yhi - 60))),
        (in_range / 255 * rng.uniform(0.9, 1.2), xlo, out_range / 255 * rng.uniform(0.9, 1.2), ylo),
        (in_range / 255 * rng.uniform(0.9, 1.2), xhi, out_range / 255 * rng.uniform(0.9, 1.2), yhi),
        (1e-30, int(rng.integers(xlo, xhi)), 1e-32, int(rng.integers(ylo, yhi))),
        (in_range / 64, (xlo + xhi + 1) // 2, out_range / 1024, (ylo + yhi + 1) // 2),
    ]


def island_cases(rng):
    out = []
    types = [(U8, U8), (S8, S8), (U8, S8), (S8, U8)]
    shapes = [[1, 7, 41], [3, 5, 19], [2, 3, 7, 9], [263]]
    for op, attrs, exact, rin, rout in OPS:
        for ti, (xt, yt) in enumerate(types):
            for pi, (xs, xz, ys, yz) in enumerate(param_sets(rng, xt, yt, rin, rout)):
                if pi == 3 and op in ("Elu", "Selu", "Celu"):
                    # ORT computes alpha * (exp(x) - 1), octet expm1(x): for |x| ~ 1e-28 ORT gives 0 and octet
                    # x; only a y_scale near 1e-32 can see it (with real scales both round to the same step)
                    continue
                shape = shapes[(ti + pi) % len(shapes)]
                m = island_model(op, attrs, xt, yt, xs, xz, ys, yz, shape, dequant_out=not exact)
                name = "%s%s_%s%s_p%d" % (op.lower(), "_attrs" if attrs and op == "HardSigmoid" else "",
                                          np.dtype(xt).name, np.dtype(yt).name, pi)
                atol = 0.0 if exact else 1.001 * float(np.float32(ys))
                out.append(CU.make_case(name, (m, {"x": codes_input(rng, xt, shape)}), rtol=0.0, atol=atol))
    # zero points left out: uint8 output, X's type from the tensor
    for op, attrs, exact, rin, rout in OPS[:3]:
        for xt in (U8, S8):
            m = island_model(op, attrs, xt, U8, rin / 128, 0, rout / 255, 0, [5, 61], omit_zp=True)
            out.append(CU.make_case("%s_nozp_%s" % (op.lower(), np.dtype(xt).name),
                                    (m, {"x": codes_input(rng, xt, [5, 61])})))
    # Clip: bounds as constant inputs (all, min only, max only), and as attributes (opset 10)
    for xt, yt in types:
        tag = np.dtype(xt).name + np.dtype(yt).name
        for k, extra in enumerate([[("lo", -0.37), ("hi", 0.81)], [("lo", -0.2)], [("", 0), ("hi", 0.5)]]):
            m = island_model("Clip", {}, xt, yt, 0.011, zp_range(xt)[0] + 128, 0.006, zp_range(yt)[0] + 100, [3, 97],
                             extra=extra)
            out.append(CU.make_case("clip_inputs%d_%s" % (k, tag), (m, {"x": codes_input(rng, xt, [3, 97])})))
        m = island_model("Clip", {"min": -0.4, "max": 0.9}, xt, yt, 0.009, zp_range(xt)[0] + 140, 0.005,
                         zp_range(yt)[0] + 90, [1, 300], opset=10)
        out.append(CU.make_case("clip_attrs_opset10_%s" % tag, (m, {"x": codes_input(rng, xt, [1, 300])})))
    # Sigmoid / LeakyRelu with mixed types (no QLinear twin fits: a table)
    for op, attrs in [("Sigmoid", {}), ("LeakyRelu", {"alpha": 0.13})]:
        for xt, yt in [(U8, S8), (S8, U8)]:
            m = island_model(op, attrs, xt, yt, 0.04, zp_range(xt)[0] + 120, 1.0 / 256 if op == "Sigmoid" else 0.03,
                             zp_range(yt)[0] + (0 if op == "Sigmoid" else 60), [7, 43], dequant_out=op == "Sigmoid")
            atol = 1.001 / 256 if op == "Sigmoid" else 0.0
            out.append(CU.make_case("%s_mixed_%s%s" % (op.lower(), np.dtype(xt).name, np.dtype(yt).name),
                                    (m, {"x": codes_input(rng, xt, [7, 43])}), rtol=0.0, atol=atol))
    return out


def lookup_island(g, x, op, ys, yz, **attrs):
    """DequantizeLinear -> op -> QuantizeLinear on the builder's value x (an I8.Q); returns the new Q."""
    f = g.node("DequantizeLinear", [x.name] + I8.qparams(g, x))
    h = g.node(op, [f], **attrs)
    q = g.node("QuantizeLinear", [h, g.const(np.array(ys, np.float32), "s"), g.const(np.array(yz, x.dtype), "z")])
    return I8.Q(q, ys, yz, x.dtype, x.C)


def scalar_affine(g, rng, x, op):
    """QLinearMul / QLinearAdd of x and a one-element constant (PP-LCNetV3's learnable affine)."""
    lo, hi = zp_range(x.dtype)
    k = I8.Q(g.const(np.array([int(rng.integers(lo + 140, hi - 20))], x.dtype), "k"), 0.01, lo + 128, x.dtype, 1)
    sy = np.float32(x.scale * 1.4)
    zy = int(rng.integers(lo + 100, lo + 150))
    ins = [k.name] + I8.qparams(g, k) + [x.name] + I8.qparams(g, x) if op == "QLinearMul" else \
        [x.name] + I8.qparams(g, x) + [k.name] + I8.qparams(g, k)
    out = g.node(op, ins + [g.const(np.array(sy, np.float32), "s"), g.const(np.array(zy, x.dtype), "z")],
                 domain=CU.MS)
    return I8.Q(out, sy, zy, x.dtype, x.C)


class Graph(I8.Graph):
    """cases_octet_int8's builder at ai.onnx opset 17 (HardSwish is opset 14)."""

    def model(self):
        m = super().model()
        for o in m.opset_import:
            if o.domain == "":
                o.version = 17
        return m


def chain_cases(rng):
    out = []
    for dt, N in [(U8, 1), (S8, 2)]:
        tag = np.dtype(dt).name
        lo = zp_range(dt)[0]
        # conv -> HardSwish island -> x * a -> + b -> conv (-> a second island as the graph output)
        g = Graph()
        x = I8.quant_input(g, rng, [N, 3, 13, 11], dt)
        h = I8.conv(g, rng, x, 16, (3, 3), (2, 2))
        h = lookup_island(g, h, "HardSwish", float(h.scale) * 0.8, lo + 20)
        h = scalar_affine(g, rng, h, "QLinearMul")
        h = scalar_affine(g, rng, h, "QLinearAdd")
        h = I8.conv(g, rng, h, 16, (3, 3), group=16)
        h = lookup_island(g, h, "HardSwish", float(h.scale) * 0.8, lo + 20)
        h = I8.conv(g, rng, h, 8, (1, 1))
        g.output(h.name, dt)
        out.append(I8.case("chain_hardswish_affine_%s_n%d" % (tag, N), g))
        # squeeze-excite: GAP -> 1x1 conv -> HardSigmoid island -> QLinearMul broadcast over H, W
        g = Graph()
        x = I8.quant_input(g, rng, [N, 4, 9, 10], dt)
        a = I8.conv(g, rng, x, 12, (3, 3))
        a = lookup_island(g, a, "HardSwish", float(a.scale) * 0.8, lo + 20)
        s = I8.gap(g, a)
        s = I8.conv(g, rng, s, 12, (1, 1))
        s = lookup_island(g, s, "HardSigmoid", 1.0 / 255, lo, alpha=1.0 / 6, beta=0.5)
        m = I8.binop(g, rng, "QLinearMul", a, s)
        h = I8.conv(g, rng, m, 6, (3, 3))
        h = lookup_island(g, h, "HardSwish", float(h.scale) * 0.8, lo + 20)
        g.output(h.name, dt)
        g.output(I8.dequant(g, s), np.float32)   # the gate, read outside the chain too
        out.append(I8.case("chain_se_hardsigmoid_%s_n%d" % (tag, N), g))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return island_cases(rng) + chain_cases(rng)
