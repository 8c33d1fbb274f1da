"""Per-op cases for src/ops/norm.c: BatchNormalization (inference; opsets 7 with spatial=0/1, 9, 14,
15; ranks 2..5; training_mode=1 rejected), LayerNormalization (opset 17: every axis, with and without
bias, Mean/InvStdDev outputs, broadcast scale), InstanceNormalization and LpNormalization.
Random odd shapes from a fixed seed."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from case_util import finish, make_case

SEED = 7341


def model(op, x, params, opset, n_out=1, **attrs):
    names = ["x"] + ([n for n, _ in params])
    outs = ["y", "out_mean", "out_invstd", "out_4", "out_5"][:n_out]
    node = helper.make_node(op, names, outs, **attrs)
    g_in = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    inits = [numpy_helper.from_array(v, n) for n, v in params if n]
    g_out = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out, inits)
    m = finish(graph, opset)
    return m, {"x": x}


def case(name, mdl, rtol=1e-4, atol=1e-5, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def randn(rng, shape, scale=1.0, shift=0.0):
    return (rng.standard_normal(size=shape) * scale + shift).astype(np.float32)


def bn_params(rng, shape):
    return [("scale", randn(rng, shape)), ("bias", randn(rng, shape)), ("mean", randn(rng, shape)),
            ("var", np.abs(randn(rng, shape)) + np.float32(0.1))]


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    # BatchNormalization
    for opset in (7, 9, 14, 15):
        for rank in (2, 3, 4, 5):
            shape = [int(rng.integers(1, 4)), int(rng.integers(1, 9))] + [int(rng.integers(1, 9)) for _ in range(rank - 2)]
            x = randn(rng, shape, 2.0, 0.5)
            eps = float(rng.choice([1e-5, 1e-3, 0.1]))
            out.append(case("bn_o%d_r%d" % (opset, rank), model("BatchNormalization", x, bn_params(rng, [shape[1]]),
                                                                 opset, epsilon=eps)))
    x = randn(rng, [2, 3, 4, 5])
    out.append(case("bn_o7_spatial0", model("BatchNormalization", x, bn_params(rng, [3, 4, 5]), 7, spatial=0)))
    out.append(case("bn_large", model("BatchNormalization", randn(rng, [2, 96, 40, 120]), bn_params(rng, [96]), 15)))
    out.append(case("err_bn_training", model("BatchNormalization", x, bn_params(rng, [3]), 15, n_out=3,
                                             training_mode=1), expect_error=True, expect_ort_error=True))
    out.append(case("err_bn_params", model("BatchNormalization", x, bn_params(rng, [4]), 15),
                    expect_error=True, expect_ort_error=True))

    # LayerNormalization (opset 17)
    for rank in (1, 2, 3, 4):
        shape = [int(rng.integers(2, 7)) for _ in range(rank)]
        shape[-1] = int(rng.integers(3, 70))
        x = randn(rng, shape, 3.0, 1.0)
        for axis in range(-rank, rank):
            norm = shape[axis:]
            with_b = bool(rng.integers(0, 2))
            params = [("scale", randn(rng, norm))] + ([("b", randn(rng, norm))] if with_b else [])
            n_out = int(rng.integers(1, 4))
            out.append(case("ln_r%d_axis%d_b%d_out%d" % (rank, axis, with_b, n_out),
                            model("LayerNormalization", x, params, 17, n_out=n_out, axis=axis,
                                  epsilon=float(rng.choice([1e-5, 1e-3])))))
    x = randn(rng, [2, 37, 768])
    out.append(case("ln_transformer", model("LayerNormalization", x, [("scale", randn(rng, [768])), ("b", randn(rng, [768]))],
                                            17)))
    out.append(case("ln_bcast_scale", model("LayerNormalization", randn(rng, [3, 4, 5]), [("scale", randn(rng, [1, 5]))],
                                            17, axis=1)))
    out.append(case("err_ln_scale", model("LayerNormalization", randn(rng, [3, 4, 5]), [("scale", randn(rng, [4]))], 17),
                    expect_error=True, expect_ort_error=True))

    # InstanceNormalization
    for rank in (3, 4, 5):
        shape = [int(rng.integers(1, 4)), int(rng.integers(1, 7))] + [int(rng.integers(2, 11)) for _ in range(rank - 2)]
        x = randn(rng, shape, 2.0, -1.0)
        out.append(case("in_r%d" % rank, model("InstanceNormalization", x,
                                                [("scale", randn(rng, [shape[1]])), ("bias", randn(rng, [shape[1]]))],
                                                13, epsilon=float(rng.choice([1e-5, 0.01])))))
    # LpNormalization
    for p in (1, 2):
        for rank in (1, 2, 3):
            shape = [int(rng.integers(2, 9)) for _ in range(rank)]
            x = randn(rng, shape)
            for axis in range(-rank, rank):
                out.append(case("lp_p%d_r%d_axis%d" % (p, rank, axis), model("LpNormalization", x, [], 13, p=p, axis=axis)))
    return out
