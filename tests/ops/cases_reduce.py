"""Per-op cases for src/ops/reduce.c: ReduceSum Mean Max Min Prod L1 L2 SumSquare LogSum LogSumExp,
ArgMax ArgMin. Random shapes and axis sets (adjacent, non-adjacent, negative, all, none) from a fixed
seed, keepdims both ways, axes as attribute (ReduceSum before 13, the others before 18) and as input,
noop_with_empty_axes, integer inputs, select_last_index with ties."""
import numpy as np
import onnx
from case_util import make_case, one_node

SEED = 7702
KNOWN_OPSET = onnx.defs.onnx_opset_version()  # onnx 1.12 checks up to 17; opset-18 variants join when it knows them

REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]


def model(op, opset, inputs, out_dtype=None, consts=None, **attrs):
    return one_node(op, opset, inputs, consts, outputs=("out",), out_dtype=out_dtype, **attrs)


def case(name, mdl, rtol=1e-5, atol=1e-5, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def axes_input_opset(op):
    return 13 if op == "ReduceSum" else 18


def input_for(rng, op, shape, dtype=np.float32):
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" else -20
        hi = 3 if op == "ReduceProd" else 20
        return rng.integers(lo if op != "ReduceProd" else -3, hi, size=shape, endpoint=True).astype(dtype)
    if op == "ReduceProd":
        return rng.uniform(0.7, 1.4, size=shape).astype(dtype) * rng.choice([-1, 1], size=shape).astype(dtype)
    if op == "ReduceLogSum":
        return rng.uniform(0.01, 3, size=shape).astype(dtype)
    if op == "ReduceLogSumExp":
        return rng.uniform(-30, 30, size=shape).astype(dtype)
    return rng.uniform(-5, 5, size=shape).astype(dtype)


def reduce_model(op, opset, x, axes, keepdims, noop=None, axes_const=True):
    """axes None = not given. Before axes_input_opset(op) axes is an attribute, from it an input."""
    attrs = {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    if opset < axes_input_opset(op):
        if axes is not None:
            attrs["axes"] = list(axes)
        return model(op, opset, [("x", x)], **attrs)
    if axes is None:
        return model(op, opset, [("x", x)], **attrs)
    a = np.array(axes, np.int64)
    if axes_const:
        return model(op, opset, [("x", x)], consts={"axes": a}, **attrs)
    return model(op, opset, [("x", x), ("axes", a)], **attrs)


def random_axes(rng, rank):
    k = int(rng.integers(1, rank + 1))
    axes = sorted(rng.choice(rank, size=k, replace=False).tolist())
    return [a - rank if rng.random() < 0.3 else a for a in axes]


def reduce_cases(rng):
    out = []
    for op in REDUCE_OPS:
        opsets = [11, 13] + ([18] if KNOWN_OPSET >= 18 else [])
        if op == "ReduceSum":
            opsets.append(21)  # ReduceSum-13 is its latest version, so onnx 1.12 can check an opset-21 model
        for i in range(9):
            opset = opsets[i % len(opsets)]
            rank = int(rng.integers(1, 6))
            shape = [int(rng.integers(1, 7)) for _ in range(rank)]
            shape[-1] = int(rng.integers(3, 30))
            x = input_for(rng, op, shape)
            axes = random_axes(rng, rank)
            if i == 0:
                axes = [rank - 1]  # the trailing axis (LayerNorm / GlobalAveragePool style)
            elif i == 1 and rank >= 3:
                axes = [0, rank - 1]  # non-adjacent: two passes
            elif i == 2:
                axes = None  # reduce everything
            keep = int(i % 3 != 1)
            out.append(case("%s_%d_o%d_r%d_k%d" % (op.lower(), i, opset, rank, keep),
                            reduce_model(op, opset, x, axes, keep, axes_const=i % 2 == 0)))
        # classic CNN: mean over H, W of [N, C, H, W]
        x = input_for(rng, op, [2, 5, 7, 9])
        out.append(case("%s_hw" % op.lower(), reduce_model(op, 13, x, [2, 3], 1)))
        # size-1 reduced axes still apply the element function (L2 -> |x|, LogSumExp -> x, ...)
        x = input_for(rng, op, [3, 1, 4])
        out.append(case("%s_size1_axis" % op.lower(), reduce_model(op, 13, x, [1], 0)))
    # axes as an input: empty axes reduce all, or nothing with noop_with_empty_axes
    x = input_for(rng, "ReduceSum", [3, 4, 5])
    e = np.zeros([0], np.int64)
    out.append(case("reducesum_empty_axes", model("ReduceSum", 13, [("x", x)], consts={"axes": e})))
    out.append(case("reducesum_empty_axes_noop", model("ReduceSum", 13, [("x", x)], consts={"axes": e},
                                                       noop_with_empty_axes=1)))
    out.append(case("reducesum_no_axes_noop", model("ReduceSum", 13, [("x", x)], noop_with_empty_axes=1)))
    out.append(case("reducesum_no_axes_keep0", model("ReduceSum", 13, [("x", x)], keepdims=0)))
    out.append(case("reducesum_fed_axes", model("ReduceSum", 13, [("x", x), ("axes", np.array([-1, 0], np.int64))])))
    # integers
    for op in ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean", "ReduceSumSquare", "ReduceL1"]:
        for dt in [np.int32, np.int64]:
            x = input_for(rng, op, [3, 5, 4], dt)
            out.append(case("%s_%s" % (op.lower(), np.dtype(dt).name), reduce_model(op, 13, x, [1], 1), rtol=0, atol=0))
    # doubles
    for op in ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2", "ReduceLogSumExp"]:
        x = input_for(rng, op, [4, 6], np.float64)
        out.append(case("%s_f64" % op.lower(), reduce_model(op, 13, x, [0], 0), rtol=1e-12, atol=1e-12))
    # a long row, summed in double
    x = rng.uniform(-1, 1, size=[2, 20001]).astype(np.float32)
    out.append(case("reducesum_long_row", reduce_model("ReduceSum", 11, x, [1], 1), rtol=1e-4, atol=1e-4))
    out.append(case("reducemean_long_col", reduce_model("ReduceMean", 11, x.reshape(20001, 2), [0], 0)))
    # errors
    out.append(case("reducemax_axis_out_of_range", reduce_model("ReduceMax", 13, x, [2], 1), expect_error=True))
    return out


def arg_cases(rng):
    out = []
    for op in ["ArgMax", "ArgMin"]:
        for i in range(10):
            opset = [11, 12, 13, 21][i % 4]
            rank = int(rng.integers(1, 5))
            shape = [int(rng.integers(1, 8)) for _ in range(rank)]
            dt = [np.float32, np.int32, np.int64, np.float32, np.uint8][i % 5]
            # few distinct values so ties happen
            x = rng.integers(0, 4, size=shape).astype(dt)
            if dt == np.float32 and i % 2:
                x = rng.standard_normal(size=shape).astype(dt)
            axis = int(rng.integers(-rank, rank))
            attrs = {"axis": axis, "keepdims": int(i % 4 != 3)}
            if opset >= 12 and i % 2 == 0:
                attrs["select_last_index"] = 1
            if i == 9:
                attrs = {}  # defaults: axis 0, keepdims 1
            out.append(case("%s_%d_o%d" % (op.lower(), i, opset), model(op, opset, [("x", x)], out_dtype=np.int64, **attrs),
                            rtol=0, atol=0))
    return out


def cases():
    rng = np.random.default_rng(SEED)
    return reduce_cases(rng) + arg_cases(rng)
