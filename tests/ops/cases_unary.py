"""Per-op cases for src/ops/unary.c: activations and math functions, Clip (attributes before opset 11,
inputs after), Identity, Cast and CastLike. Random odd shapes from a fixed seed, every attribute,
several opsets and dtypes, and the edge values (0, +-0.5 ties for Round, large magnitudes)."""
import numpy as np
import onnx
from case_util import elem_type, make_case, one_node

SEED = 7701
KNOWN_OPSET = onnx.defs.onnx_opset_version()  # onnx 1.12 checks up to 17; later variants join when it knows them
# versions of this file's ops after opset 17: a model importing a later opset than the checker knows can
# only be checked when the op did not change in between
NEW_VERSIONS = {"Mish": [18], "Gelu": [20], "Cast": [19, 21], "CastLike": [19, 21], "Identity": [19, 21]}


def checkable(op, opset):
    return not any(KNOWN_OPSET < v <= opset for v in NEW_VERSIONS.get(op, []))


def model(op, opset, inputs, out_dtype=None, consts=None, order=None, **attrs):
    """One-node model over fed inputs [(name, array)] and initializers {name: array}; `order` gives the
    node's input names ("" = omitted) when they are not simply the fed ones then the constants."""
    return one_node(op, opset, inputs, consts, outputs=("out",), out_dtype=out_dtype, order=order, **attrs)


def case(name, mdl, rtol=1e-6, atol=1e-6, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def rand_shape(rng):
    rank = int(rng.integers(1, 5))
    return [int(rng.integers(1, 8)) for _ in range(rank)] + [int(rng.integers(5, 40))]


# (op, opsets, input range, attribute sets, rtol, atol)
FLOAT_OPS = [
    ("Relu", [7, 13, 14, 21], (-5, 5), [{}], 0, 0),
    ("Sigmoid", [7, 13, 21], (-20, 20), [{}], 1e-6, 5e-7),  # ORT's MLAS logistic is off by ~1e-7 absolute
    ("Tanh", [7, 13], (-10, 10), [{}], 1e-6, 1e-7),
    ("Erf", [9, 13], (-4, 4), [{}], 1e-6, 1e-7),
    ("Exp", [7, 13], (-30, 30), [{}], 1e-6, 0),
    ("Log", [7, 13], (0.001, 100), [{}], 1e-6, 1e-7),
    ("Sqrt", [7, 13], (0, 100), [{}], 1e-6, 0),
    ("Neg", [7, 13], (-5, 5), [{}], 0, 0),
    ("Abs", [7, 13], (-5, 5), [{}], 0, 0),
    ("Reciprocal", [7, 13], (0.1, 10), [{}], 1e-6, 0),
    ("Floor", [7, 13], (-10, 10), [{}], 0, 0),
    ("Ceil", [7, 13], (-10, 10), [{}], 0, 0),
    ("Round", [11], (-10, 10), [{}], 0, 0),
    ("Sign", [9, 13], (-3, 3), [{}], 0, 0),
    ("LeakyRelu", [7, 16], (-5, 5), [{}, {"alpha": 0.2}, {"alpha": 1.7}], 1e-6, 1e-7),
    ("HardSigmoid", [7], (-6, 6), [{}, {"alpha": 0.3, "beta": 0.4}, {"alpha": -0.1}], 1e-6, 1e-7),
    ("HardSwish", [14, 21], (-7, 7), [{}], 1e-6, 1e-6),
    ("Elu", [7], (-5, 5), [{}, {"alpha": 0.5}, {"alpha": 2.0}], 1e-6, 1e-7),
    ("Selu", [7], (-5, 5), [{}, {"alpha": 1.5, "gamma": 0.9}], 1e-6, 1e-7),
    ("Softplus", [7], (-30, 30), [{}], 1e-6, 1e-7),
    ("Softsign", [7], (-30, 30), [{}], 1e-6, 1e-7),
    ("Sin", [7], (-10, 10), [{}], 1e-5, 1e-6),
    ("Cos", [7], (-10, 10), [{}], 1e-5, 1e-6),
    ("Tan", [7], (-1.4, 1.4), [{}], 1e-5, 1e-6),
    ("Asin", [7], (-1, 1), [{}], 1e-5, 1e-6),
    ("Acos", [7], (-1, 1), [{}], 1e-5, 1e-6),
    ("Atan", [7], (-10, 10), [{}], 1e-5, 1e-6),
    ("Sinh", [9], (-5, 5), [{}], 1e-5, 1e-6),
    ("Cosh", [9], (-5, 5), [{}], 1e-5, 1e-6),
    ("Asinh", [9], (-10, 10), [{}], 1e-5, 1e-6),
    ("Acosh", [9], (1, 10), [{}], 1e-5, 1e-6),
    ("Atanh", [9], (-0.99, 0.99), [{}], 1e-5, 1e-6),
    ("ThresholdedRelu", [10], (-3, 3), [{}, {"alpha": 0.5}], 0, 0),
    ("Celu", [12], (-5, 5), [{}, {"alpha": 0.5}], 1e-6, 1e-7),
    ("Shrink", [9], (-3, 3), [{}, {"lambd": 1.0, "bias": 0.25}], 1e-6, 1e-7),
    ("Mish", [18], (-10, 10), [{}], 1e-5, 1e-6),
    ("Gelu", [20], (-6, 6), [{}, {"approximate": "tanh"}], 1e-5, 1e-6),
]


# ops ONNX Runtime implements for double (octet does all of them)
F64_OPS = {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Sign",
           "LeakyRelu", "Sin", "Cos", "Shrink", "Mish"}


def float_cases(rng):
    out = []
    for op, opsets, (lo, hi), attr_sets, rtol, atol in FLOAT_OPS:
        for opset in opsets:
            if not checkable(op, opset):
                continue
            for j, attrs in enumerate(attr_sets):
                x = rng.uniform(lo, hi, size=rand_shape(rng)).astype(np.float32)
                if op in ("Relu", "Sign", "Abs", "Neg", "Floor", "Ceil", "ThresholdedRelu", "Shrink"):
                    x.flat[:3] = [0.0, -0.0, lo]
                out.append(case("%s_o%d_a%d" % (op.lower(), opset, j), model(op, opset, [("x", x)], **attrs),
                                rtol=rtol, atol=atol))
        if op in F64_OPS and checkable(op, opsets[-1]):  # double inputs too
            x = rng.uniform(lo, hi, size=[3, 7]).astype(np.float64)
            out.append(case("%s_f64" % op.lower(), model(op, opsets[-1], [("x", x)]),
                            rtol=rtol, atol=atol))
    # Round: ties go to even
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999, -0.0, 7.0, -7.3], np.float32)
    out.append(case("round_ties", model("Round", 11, [("x", x)]), rtol=0, atol=0))
    # IsNaN / IsInf
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 3e38, np.nan], np.float32)
    out.append(case("isnan", model("IsNaN", 13, [("x", special)], out_dtype=np.bool_), rtol=0, atol=0))
    for dn, dp in [(1, 1), (0, 1), (1, 0)]:
        out.append(case("isinf_%d%d" % (dn, dp), model("IsInf", 10, [("x", special)], out_dtype=np.bool_,
                                                       detect_negative=dn, detect_positive=dp), rtol=0, atol=0))
    # Sigmoid/Tanh/Exp at the extremes
    ext = np.array([-100, -88, -50, -10, -1e-4, 0, 1e-4, 10, 50, 88, 100], np.float32)
    for op in ["Sigmoid", "Tanh", "Softplus", "Elu", "Selu"]:
        out.append(case("%s_extremes" % op.lower(), model(op, 7, [("x", ext)]), rtol=1e-6, atol=1e-7))
    return out


def int_cases(rng):
    out = []
    for op, opset, dts in [("Relu", 14, [np.int8, np.int32, np.int64]), ("Neg", 13, [np.int8, np.int32, np.int64]),
                           ("Abs", 13, [np.int8, np.int16, np.int32, np.int64, np.uint8]),
                           ("Sign", 13, [np.int32, np.int64, np.uint8])]:
        for dt in dts:
            info = np.iinfo(dt)
            x = rng.integers(max(info.min + 1, -100), min(info.max, 100), size=[3, 11], endpoint=True).astype(dt)
            out.append(case("%s_%s" % (op.lower(), np.dtype(dt).name), model(op, opset, [("x", x)]), rtol=0, atol=0,
                            expect_ort_error=op == "Relu" and dt == np.int64))
    return out


def clip_cases(rng):
    out = []
    x = rng.uniform(-4, 4, size=[2, 5, 7]).astype(np.float32)
    for attrs in [{}, {"min": -1.0}, {"max": 0.5}, {"min": -2.0, "max": 2.5}, {"min": 0.0, "max": 6.0}]:
        out.append(case("clip_o7_%s" % "_".join("%s%g" % kv for kv in attrs.items()), model("Clip", 7, [("x", x)], **attrs),
                        rtol=0, atol=0))
    f = lambda v: np.array(v, np.float32)
    for opset in [11, 12, 13]:
        out.append(case("clip_o%d_none" % opset, model("Clip", opset, [("x", x)]), rtol=0, atol=0))
        out.append(case("clip_o%d_both" % opset, model("Clip", opset, [("x", x)], consts={"lo": f(-1.5), "hi": f(2)}),
                        rtol=0, atol=0))
        out.append(case("clip_o%d_fed" % opset, model("Clip", opset, [("x", x), ("lo", f(0)), ("hi", f(6))]), rtol=0, atol=0))
        out.append(case("clip_o%d_min_only" % opset, model("Clip", opset, [("x", x)], consts={"lo": f(0.25)}), rtol=0, atol=0))
        out.append(case("clip_o%d_max_only" % opset, model("Clip", opset, [("x", x)], consts={"hi": f(-0.5)},
                                                           order=["x", "", "hi"]), rtol=0, atol=0))
    out.append(case("clip_min_gt_max", model("Clip", 13, [("x", x)], consts={"lo": f(2), "hi": f(1)}), rtol=0, atol=0))
    for dt in [np.int32, np.int64, np.int8, np.uint8]:
        info = np.iinfo(dt)
        xi = rng.integers(max(info.min, -100), min(info.max, 100), size=[4, 9], endpoint=True).astype(dt)
        lo, hi = (np.array(v, dt) for v in ((0, 50) if dt == np.uint8 else (-20, 30)))
        out.append(case("clip_%s" % np.dtype(dt).name, model("Clip", 13, [("x", xi)], consts={"lo": lo, "hi": hi}),
                        rtol=0, atol=0))
    out.append(case("clip_f64", model("Clip", 12, [("x", x.astype(np.float64))],
                                      consts={"lo": np.array(-1, np.float64), "hi": np.array(1, np.float64)}), rtol=0, atol=0))
    return out


def cast_cases(rng):
    out = []
    x = rng.uniform(-100, 100, size=[3, 17]).astype(np.float32)
    x.flat[:6] = [0.0, -0.0, 0.5, -0.5, 99.99, -99.99]
    targets = [np.int32, np.int64, np.int8, np.int16, np.uint8, np.uint16, np.float64, np.float16, np.bool_, np.float32]
    for i, dt in enumerate(targets):
        opset = [7, 9, 13][i % 3]
        src = x
        if np.dtype(dt).kind == "u":
            src = np.abs(x)  # negative -> unsigned is undefined in C++; ORT's result is not portable
        out.append(case("cast_f32_to_%s_o%d" % (np.dtype(dt).name, opset),
                        model("Cast", opset, [("x", src)], out_dtype=dt, to=int(elem_type(dt))), rtol=0, atol=0))
    sources = [
        ("i64", rng.integers(-(2 ** 40), 2 ** 40, size=[11]).astype(np.int64)),
        ("i32", rng.integers(-1000, 1000, size=[2, 7]).astype(np.int32)),
        ("u8", rng.integers(0, 255, size=[9]).astype(np.uint8)),
        ("i8", rng.integers(-128, 127, size=[9]).astype(np.int8)),
        ("bool", rng.integers(0, 2, size=[8]).astype(np.bool_)),
        ("f64", rng.uniform(-1e3, 1e3, size=[10])),
        ("f16", rng.uniform(-100, 100, size=[13]).astype(np.float16)),
    ]
    for name, src in sources:
        for dt in [np.float32, np.int64, np.int32, np.float16, np.bool_, np.float64, np.uint8]:
            if np.dtype(dt) == src.dtype:
                continue
            if np.dtype(dt).kind == "u" and src.dtype.kind in "if":
                src = np.abs(src)
            if name == "i64" and np.dtype(dt) in (np.dtype(np.int32), np.dtype(np.uint8)):
                continue  # narrowing far out of range: wrapping is platform-specific in ORT
            out.append(case("cast_%s_to_%s" % (name, np.dtype(dt).name),
                            model("Cast", 13, [("x", src)], out_dtype=dt, to=int(elem_type(dt))), rtol=0, atol=0))
    # float16 rounding corners: ties, subnormals, overflow to inf
    h = np.array([1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, 1e6, 6e-8, 3e-8, 2.9e-8, 1e-10,
                  -2.5, np.inf, -np.inf], np.float32)
    out.append(case("cast_f32_to_f16_corners", model("Cast", 13, [("x", h)], out_dtype=np.float16, to=10), rtol=0, atol=0))
    out.append(case("castlike_f32_i64", model("CastLike", 15, [("x", x)], consts={"like": np.zeros([1], np.int64)},
                                              out_dtype=np.int64), rtol=0, atol=0))
    out.append(case("castlike_i32_f32", model("CastLike", 15, [("x", sources[1][1]), ("like", np.zeros([2], np.float32))],
                                              out_dtype=np.float32), rtol=0, atol=0))
    for i, dt in enumerate([np.float32, np.int64, np.bool_, np.uint8, np.float16]):
        a = rng.integers(0, 2, size=[2, 3, 5]).astype(dt)
        out.append(case("identity_%s" % np.dtype(dt).name, model("Identity", [13, 14, 16][i % 3], [("x", a)]),
                        rtol=0, atol=0))
    out.append(case("cast_to_string_rejected", model("Cast", 13, [("x", x)], out_dtype=np.float32, to=8),
                    expect_error=True, expect_ort_error=True))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return float_cases(rng) + int_cases(rng) + clip_cases(rng) + cast_cases(rng)
