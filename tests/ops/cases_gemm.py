"""Per-op cases for src/ops/gemm.c: Gemm (transA/transB, alpha, beta, every broadcast form of C, C
omitted, constant and fed B, opsets 7..13) and MatMul (1-D operands, numpy batch broadcasting, shared
2-D weights, large enough shapes to thread). Random odd shapes from a fixed seed."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from case_util import finish, make_case

SEED = 9127


def model(op, feeds, consts, opset, **attrs):
    names = list(feeds) + list(consts)
    order = [n for n in ["a", "b", "c"] if n in names]
    node = helper.make_node(op, order, ["y"], **attrs)
    g_in = [helper.make_tensor_value_info(n, TensorProto.FLOAT, v.shape) for n, v in feeds.items()]
    inits = [numpy_helper.from_array(v, n) for n, v in consts.items()]
    g_out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out, inits)
    m = finish(graph, opset)
    return m, dict(feeds)


def case(name, mdl, rtol=1e-4, atol=1e-4, **extra):
    return make_case(name, mdl, rtol, atol, **extra)


def randn(rng, shape):
    return rng.standard_normal(size=shape).astype(np.float32)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    # Gemm: every transpose combination and C form, several opsets
    cforms = ["none", "scalar", "n", "1n", "m1", "mn", "one", "11"]
    for i in range(64):
        M, N, K = (int(rng.integers(1, 40)) for _ in range(3))
        if i % 9 == 0:
            M, N, K = int(rng.integers(100, 300)), int(rng.integers(60, 200)), int(rng.integers(50, 300))
        ta, tb = i % 2, (i // 2) % 2
        cform = cforms[i % len(cforms)]
        opset = [7, 9, 11, 13][i % 4]
        if cform == "none" and opset < 11:
            cform = "mn"  # C is required before opset 11
        a = randn(rng, [K, M] if ta else [M, K])
        b = randn(rng, [N, K] if tb else [K, N])
        shapes = {"scalar": [], "n": [N], "1n": [1, N], "m1": [M, 1], "mn": [M, N], "one": [1], "11": [1, 1]}
        attrs = {}
        if ta:
            attrs["transA"] = 1
        if tb:
            attrs["transB"] = 1
        if i % 3 == 1:
            attrs["alpha"] = float(rng.uniform(-2, 2))
        if i % 3 == 2:
            attrs["beta"] = float(rng.uniform(-2, 2))
        feeds, consts = {"a": a}, {}
        # weights as initializers (the usual FC layer) or fed
        (consts if i % 2 else feeds)["b"] = b
        if cform != "none":
            (consts if i % 4 < 2 else feeds)["c"] = randn(rng, shapes[cform])
        out.append(case("gemm%02d_o%d_t%d%d_c%s" % (i, opset, ta, tb, cform), model("Gemm", feeds, consts, opset, **attrs)))
    # an FC layer like the models' classifiers
    out.append(case("gemm_fc", model("Gemm", {"a": randn(rng, [2, 1280])},
                                     {"b": randn(rng, [1000, 1280]) * np.float32(0.03), "c": randn(rng, [1000])}, 13,
                                     transB=1)))
    # K = 0: Y = beta * C (ONNX Runtime 1.30 leaves out beta here, so the reference is computed)
    c0 = randn(rng, [4])
    out.append(case("gemm_fc_batch1", model("Gemm", {"a": randn(rng, [1, 1280])},
                                            {"b": randn(rng, [1000, 1280]) * np.float32(0.03), "c": randn(rng, [1000])},
                                            13, transB=1)))
    out.append(case("gemm_row_notrans", model("Gemm", {"a": randn(rng, [1, 300])}, {"b": randn(rng, [300, 77])}, 13,
                                              alpha=0.5)))
    out.append(case("gemm_row_transa", model("Gemm", {"a": randn(rng, [300, 1]), "b": randn(rng, [77, 300])}, {}, 11,
                                             transA=1, transB=1)))
    out.append(case("gemm_k0", model("Gemm", {"a": np.zeros([3, 0], np.float32), "b": np.zeros([0, 4], np.float32)},
                                     {"c": c0}, 13, beta=0.5), outputs={"y": np.tile(0.5 * c0, (3, 1))}))
    # errors
    out.append(case("err_gemm_inner", model("Gemm", {"a": randn(rng, [3, 4]), "b": randn(rng, [5, 6])}, {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_gemm_c", model("Gemm", {"a": randn(rng, [3, 4]), "b": randn(rng, [4, 6]),
                                                 "c": randn(rng, [2, 6])}, {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_gemm_rank", model("Gemm", {"a": randn(rng, [2, 3, 4]), "b": randn(rng, [4, 6])}, {}, 13),
                    expect_error=True, expect_ort_error=True))

    # MatMul: ranks 1..4 on both sides with numpy broadcasting
    for i in range(60):
        M, N, K = (int(rng.integers(1, 12)) for _ in range(3))
        if i % 10 == 0:
            M, N, K = (int(rng.integers(60, 200)) for _ in range(3))
        ra, rb = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        nb = max(ra - 2, rb - 2, 0)
        batch = [int(rng.integers(1, 4)) for _ in range(nb)]
        ba = [1 if rng.integers(0, 4) == 0 else d for d in batch[nb - max(ra - 2, 0):]]
        bb = [1 if rng.integers(0, 4) == 0 else d for d in batch[nb - max(rb - 2, 0):]]
        sa = ba + ([M, K] if ra >= 2 else [K])
        sb = bb + ([K, N] if rb >= 2 else [K])
        feeds = {"a": randn(rng, sa)}
        consts = {}
        (consts if i % 3 == 0 else feeds)["b"] = randn(rng, sb)
        out.append(case("matmul%02d_%dx%d" % (i, ra, rb), model("MatMul", feeds, consts, [9, 13][i % 2])))
    # a transformer-style projection (3-D activations x shared 2-D weight) and batched attention scores
    out.append(case("matmul_proj", model("MatMul", {"a": randn(rng, [2, 37, 64])}, {"b": randn(rng, [64, 96])}, 13)))
    out.append(case("matmul_attn", model("MatMul", {"a": randn(rng, [2, 4, 33, 16]), "b": randn(rng, [2, 4, 16, 33])},
                                         {}, 13)))
    out.append(case("matmul_bcast_a", model("MatMul", {"a": randn(rng, [5, 7]), "b": randn(rng, [3, 2, 7, 4])}, {}, 13)))
    out.append(case("err_matmul_inner", model("MatMul", {"a": randn(rng, [3, 4]), "b": randn(rng, [5, 6])}, {}, 13),
                    expect_error=True, expect_ort_error=True))
    out.append(case("err_matmul_batch", model("MatMul", {"a": randn(rng, [2, 3, 4]), "b": randn(rng, [3, 4, 5])}, {},
                                              13), expect_error=True, expect_ort_error=True))
    return out
