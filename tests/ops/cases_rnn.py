"""Per-op cases for src/ops/rnn.c: LSTM, GRU and RNN against ONNX Runtime. Random weights from a fixed
seed and odd sizes (hidden 1/3/17, input 5, seq 1/7, batch 1/3, plus a few larger shapes that take
the packed-kernel and BLAS paths); every direction; the optional inputs B, sequence_lens (with zero
and partial lengths), initial_h, initial_c, P; clip, input_forget, linear_before_reset, opset 7;
all activation functions with activation_alpha/beta; weights as initializers (packed once at
session creation) and as graph inputs; unused outputs; error cases.

ONNX Runtime 1.30 refuses layout=1 and a missing hidden_size, so those cases carry references from
reference() below: a plain float64 transcription of the spec's equations (checked against ONNX
Runtime on the layout=0 cases when this file was written)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from case_util import finish, make_case

SEED = 4242
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
N_ACTS = {"RNN": 1, "GRU": 2, "LSTM": 3}
ACTS = ["Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid",
        "Elu", "Softsign", "Softplus"]


def act_fn(name, alpha, beta):
    n = name.lower()
    return {
        "relu": lambda x: np.maximum(x, 0),
        "tanh": np.tanh,
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
        "affine": lambda x: alpha * x + beta,
        "leakyrelu": lambda x: np.where(x >= 0, x, alpha * x),
        "thresholdedrelu": lambda x: np.where(x > alpha, x, 0),
        "scaledtanh": lambda x: alpha * np.tanh(beta * x),
        "hardsigmoid": lambda x: np.clip(alpha * x + beta, 0, 1),
        "elu": lambda x: np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1)),
        "softsign": lambda x: x / (1 + np.abs(x)),
        "softplus": lambda x: np.log1p(np.exp(x)),
    }[n]


def activations(op, attrs, nd):
    """Per direction [f, g, h] callables; alpha/beta consumed in list order (ONNX Runtime's defaults)."""
    per = N_ACTS[op]
    names = list(attrs.get("activations") or [["Tanh"], ["Sigmoid", "Tanh"], ["Sigmoid", "Tanh", "Tanh"]][per - 1])
    alphas, betas = list(attrs.get("activation_alpha", [])), list(attrs.get("activation_beta", []))
    fns = []
    for n in names:
        l = n.lower()
        a = {"leakyrelu": 0.01, "hardsigmoid": 0.2, "elu": 1.0}.get(l, 0.0)
        b = 0.5 if l == "hardsigmoid" else 0.0
        if l in ("affine", "leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu") and alphas:
            a = alphas.pop(0)
        if l in ("affine", "scaledtanh", "hardsigmoid") and betas:
            b = betas.pop(0)
        fns.append(act_fn(n, a, b))
    if len(fns) == per * nd:
        return [fns[d * per:(d + 1) * per] for d in range(nd)]
    return [fns[:per] for _ in range(nd)]


def reference(op, values, attrs):
    """The outputs Y, Y_h (, Y_c) in float64, straight from the ONNX equations."""
    layout = attrs.get("layout", 0)
    X = values["X"].astype(np.float64)
    if layout:
        X = X.transpose(1, 0, 2)
    T, B, _ = X.shape
    W, R = values["W"].astype(np.float64), values["R"].astype(np.float64)
    nd, H, G = W.shape[0], R.shape[2], GATES[op]
    bias = values.get("B", np.zeros((nd, 2 * G * H))).astype(np.float64)
    lens = values.get("sequence_lens", np.full(B, T))
    zeros = np.zeros((B, nd, H) if layout else (nd, B, H))
    h0 = values.get("initial_h", zeros).astype(np.float64)
    c0 = values.get("initial_c", zeros).astype(np.float64)
    if layout:
        h0, c0 = h0.transpose(1, 0, 2), c0.transpose(1, 0, 2)
    P = values.get("P", np.zeros((nd, 3 * H))).astype(np.float64)
    clip = attrs.get("clip")
    cl = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
    acts = activations(op, attrs, nd)
    Y, Yh, Yc = np.zeros((T, nd, B, H)), np.zeros((nd, B, H)), np.zeros((nd, B, H))
    for d in range(nd):
        rev = d == 1 or attrs.get("direction") == "reverse"
        f, g, hf = (acts[d] + [None, None])[:3]
        Wb, Rb = bias[d, :G * H], bias[d, G * H:]
        for b in range(B):
            h, c, L = h0[d, b].copy(), c0[d, b].copy(), int(lens[b])
            for s in range(L):
                t = L - 1 - s if rev else s
                xw = W[d] @ X[t, b] + Wb
                if op == "RNN":
                    h = f(cl(xw + R[d] @ h + Rb))
                elif op == "GRU":
                    rz = xw[:2 * H] + R[d, :2 * H] @ h + Rb[:2 * H]
                    z, r = f(cl(rz[:H])), f(cl(rz[H:]))
                    if attrs.get("linear_before_reset", 0):
                        hh = g(cl(xw[2 * H:] + r * (R[d, 2 * H:] @ h + Rb[2 * H:])))
                    else:
                        hh = g(cl(xw[2 * H:] + R[d, 2 * H:] @ (r * h) + Rb[2 * H:]))
                    h = (1 - z) * hh + z * h
                else:  # LSTM, gate blocks i o f c
                    a = xw + R[d] @ h + Rb
                    i = f(cl(a[:H] + P[d, :H] * c))
                    fg = 1 - i if attrs.get("input_forget", 0) else f(cl(a[2 * H:3 * H] + P[d, 2 * H:] * c))
                    c = fg * c + i * g(cl(a[3 * H:]))
                    o = f(cl(a[H:2 * H] + P[d, H:2 * H] * c))
                    h = o * hf(c)
                Y[t, d, b] = h
            if L > 0:
                Yh[d, b], Yc[d, b] = h, c
    if layout:
        Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    return {"Y": Y.astype(np.float32), "Y_h": Yh.astype(np.float32), "Y_c": Yc.astype(np.float32)}


def build(rng, op, T, B, I, H, direction="forward", layout=0, opset=14, bias=True, seq=None, h0=False,
          c0=False, peep=False, const_w=True, outputs=("Y", "Y_h", "Y_c"), hidden_attr=True, **attrs):
    """One-node model; returns (model, feeds). seq: None, "full", "mixed" (zero, partial, full)."""
    nd = 2 if direction == "bidirectional" else 1
    G = GATES[op]
    scale = 1.2 / np.sqrt(H)
    X = rng.uniform(-1.5, 1.5, size=(B, T, I) if layout else (T, B, I)).astype(np.float32)
    values = {
        "X": X,
        "W": rng.uniform(-scale, scale, size=(nd, G * H, I)).astype(np.float32),
        "R": rng.uniform(-scale, scale, size=(nd, G * H, H)).astype(np.float32),
    }
    names = ["X", "W", "R"]
    if bias:
        values["B"] = rng.uniform(-0.5, 0.5, size=(nd, 2 * G * H)).astype(np.float32)
    if seq:
        lens = np.full(B, T, np.int32)
        if seq == "mixed":
            lens = rng.integers(0, T + 1, size=B).astype(np.int32)
            lens[0] = T
            if B > 2:
                lens[2] = 0
        values["sequence_lens"] = lens
    state_shape = (B, nd, H) if layout else (nd, B, H)
    if h0:
        values["initial_h"] = rng.uniform(-1, 1, size=state_shape).astype(np.float32)
    if c0:
        values["initial_c"] = rng.uniform(-1, 1, size=state_shape).astype(np.float32)
    if peep:
        values["P"] = rng.uniform(-0.7, 0.7, size=(nd, 3 * H)).astype(np.float32)
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h"] + (["initial_c", "P"] if op == "LSTM" else [])
    node_inputs = [n if n in values else "" for n in order]
    while node_inputs and node_inputs[-1] == "":
        node_inputs.pop()
    out_order = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node_outputs = [n if n in outputs else "" for n in out_order]
    while node_outputs and node_outputs[-1] == "":
        node_outputs.pop()
    if hidden_attr:
        attrs["hidden_size"] = H
    if direction != "forward" or rng.integers(2):
        attrs["direction"] = direction
    if layout:
        attrs["layout"] = layout
    node = helper.make_node(op, node_inputs, node_outputs, **attrs)
    weights = {"W", "R", "B", "P"} if const_w else set()
    inits = [numpy_helper.from_array(values[n], n) for n in order if n in values and n in weights]
    g_in = [helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[values[n].dtype], values[n].shape)
            for n in order if n in values and n not in weights]
    g_out = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in node_outputs if n]
    graph = helper.make_graph([node], op.lower() + "_test", g_in, g_out, initializer=inits)
    m = finish(graph, opset)
    feeds = {n: values[n] for n in order if n in values and n not in weights}
    expected = None
    if layout or not hidden_attr:  # ONNX Runtime cannot run these: compute the references here
        ref = reference(op, values, attrs)
        expected = {n: ref[n] for n in node_outputs if n}
    return m, feeds, expected


def case(name, mfe, rtol=1e-4, atol=2e-5, **extra):
    m, feeds, expected = mfe
    if expected is not None:
        extra["outputs"] = expected
    return make_case(name, (m, feeds), rtol, atol, **extra)


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    dirs = ["forward", "reverse", "bidirectional"]
    # the grid: every cell, size and direction; optional inputs rotate through variants
    for op in ["LSTM", "GRU", "RNN"]:
        for H in [1, 3, 17]:
            for T in [1, 7]:
                for B in [1, 3]:
                    for di, d in enumerate(dirs):
                        v = (H + T + B + di) % 4
                        grid_i = len(out)
                        kw = dict(bias=v != 0, seq=[None, None, "full", "mixed"][v], h0=v in (1, 3),
                                  layout=int(grid_i % 4 == 1), const_w=(v + T) % 2 == 0)
                        if op == "LSTM":
                            kw.update(c0=v == 3, peep=v >= 2)
                        if op == "GRU":
                            kw["linear_before_reset"] = v % 2
                        if v == 3:
                            kw["clip"] = 0.9
                        out.append(case("%s_h%d_t%d_b%d_%s_v%d" % (op.lower(), H, T, B, d, v),
                                        build(rng, op, T, B, 5, H, d, **kw)))
    # larger: the packed kernel's row tiles (batch 1..5), partial panels, the BLAS path (batch > 8)
    for op in ["LSTM", "GRU", "RNN"]:
        for B in [1, 2, 4, 5, 11]:
            kw = dict(seq="mixed" if B >= 4 else None, h0=True, const_w=B != 2)
            if op == "LSTM":
                kw.update(c0=True, peep=B == 5)
            if op == "GRU":
                kw["linear_before_reset"] = B % 2
            out.append(case("%s_big_b%d" % (op.lower(), B),
                            build(rng, op, 9, B, 23, 45, dirs[B % 3], layout=B == 4, **kw)))
    # activations with alpha/beta (some lists shorter than the activations that take them)
    for op in ["LSTM", "GRU", "RNN"]:
        per = N_ACTS[op]
        for i, first in enumerate(ACTS):
            d = dirs[i % 3]
            nd = 2 if d == "bidirectional" else 1
            acts = [ACTS[(i + 4 * j) % len(ACTS)] for j in range(per * nd)]
            alpha = [0.3 + 0.25 * j for j in range(1 if i % 3 == 0 else 4)]
            beta = [-0.2 + 0.3 * j for j in range(0 if i % 2 == 0 else 3)]
            kw = dict(activations=acts, activation_alpha=alpha)
            if beta:
                kw["activation_beta"] = beta
            out.append(case("%s_act_%s" % (op.lower(), first.lower()), build(rng, op, 4, 2, 5, 6, d, **kw)))
    # LSTM input_forget (with peepholes), clip on its own, opset 7 (no layout attribute)
    out.append(case("lstm_input_forget", build(rng, "LSTM", 6, 3, 5, 7, "bidirectional", peep=True, h0=True,
                                               c0=True, input_forget=1)))
    out.append(case("lstm_clip_small", build(rng, "LSTM", 7, 2, 5, 9, "forward", clip=0.25)))
    out.append(case("gru_clip_lbr", build(rng, "GRU", 7, 2, 5, 9, "reverse", clip=0.5, linear_before_reset=1)))
    for op in ["LSTM", "GRU", "RNN"]:
        out.append(case("%s_opset7" % op.lower(), build(rng, op, 5, 2, 5, 6, "bidirectional", opset=7, h0=True)))
        # only Y_h asked for; hidden_size left out (taken from R)
        out.append(case("%s_only_yh" % op.lower(), build(rng, op, 5, 3, 5, 6, "reverse", outputs=("Y_h",),
                                                          hidden_attr=False, seq="mixed")))
    # errors: hidden_size disagrees with R; unknown activation; bad direction
    out.append(case("lstm_bad_hidden", build_bad_hidden(rng), expect_error=True, expect_ort_error=True))
    out.append(case("gru_bad_activation", build(rng, "GRU", 3, 1, 5, 4, "forward", activations=["Sigmoid", "Gelu"]),
                    expect_error=True, expect_ort_error=True))
    out.append(case("rnn_bad_direction", build(rng, "RNN", 3, 1, 5, 4, "sideways"),
                    expect_error=True, expect_ort_error=True))
    return out


def build_bad_hidden(rng):
    m, feeds, _ = build(rng, "LSTM", 3, 1, 5, 4)
    for a in m.graph.node[0].attribute:
        if a.name == "hidden_size":
            a.i = 5
    return m, feeds, None
