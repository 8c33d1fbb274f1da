"""Per-op cases for src/ops/softmax.c: Softmax and LogSoftmax at opsets before 13 (input coerced to
2-D at `axis`) and from 13 (normalized along one axis), every axis of random odd shapes from a fixed
seed, default axes, large magnitudes (stability), double inputs."""
import numpy as np
from case_util import make_case, one_node

SEED = 7703


def model(op, opset, x, **attrs):
    return one_node(op, opset, [("x", x)], outputs=("out",), **attrs)


def case(name, mdl, rtol=1e-5, atol=1e-6, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for op in ["Softmax", "LogSoftmax"]:
        for opset in [7, 11, 13, 21]:
            for rank in [1, 2, 3, 4]:
                shape = [int(rng.integers(2, 7)) for _ in range(rank)]
                shape[-1] = int(rng.integers(3, 40))
                x = rng.uniform(-8, 8, size=shape).astype(np.float32)
                for axis in range(-rank, rank):
                    out.append(case("%s_o%d_r%d_axis%d" % (op.lower(), opset, rank, axis),
                                    model(op, opset, x, axis=axis)))
                # before opset 13 the default axis is 1, out of range for rank 1
                bad = opset < 13 and rank == 1
                out.append(case("%s_o%d_r%d_default" % (op.lower(), opset, rank), model(op, opset, x),
                                expect_error=bad, expect_ort_error=bad))
        # large magnitudes: subtracting the max keeps exp finite
        x = rng.uniform(-1, 1, size=[3, 17]).astype(np.float32) * 1000
        out.append(case("%s_large" % op.lower(), model(op, 13, x)))
        x = np.array([[1000, 1000, -1000], [-np.inf, 0, 1], [5, 5, 5]], np.float32)
        out.append(case("%s_extremes" % op.lower(), model(op, 13, x)))
        # a long row (vocabulary-sized) and a wide inner axis
        x = rng.standard_normal(size=[2, 5003]).astype(np.float32) * 4
        out.append(case("%s_long_row" % op.lower(), model(op, 13, x), atol=1e-7))
        x = rng.standard_normal(size=[2, 7, 301]).astype(np.float32)
        out.append(case("%s_inner_axis" % op.lower(), model(op, 13, x, axis=1)))
        x = rng.standard_normal(size=[3, 11]).astype(np.float64)
        out.append(case("%s_f64" % op.lower(), model(op, 13, x), rtol=1e-12, atol=1e-12))
        out.append(case("%s_bad_axis" % op.lower(), model(op, 13, rng.standard_normal(size=[2, 3]).astype(np.float32),
                                                          axis=2), expect_error=True))
    return out
