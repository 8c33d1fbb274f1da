"""Fixture and file checks for the shared-weight test (check_shared.mjs).

  shared_fixture.py make DIR            shared.onnx, calib.npy (16 samples), input.npy (3 samples)
  shared_fixture.py inspect FILE KIND   check the quantized file's initializers; KIND is one of
                                        qdq, qop (per channel), qdq_pt (per tensor), qdq_excl (convB left float)

The model (opset 13), every weight read by two nodes:
  x [N,4,9,9] -> convA(x, W, bA) -> Relu ----------------------\\
  x -> Sigmoid -> convB(., W, bB) -> Relu --------------------- Add -> GlobalAveragePool -> Flatten -> f [N,8]
  f  -> MatMul(., Wm) -> Relu -> MatMul(., Wm) -> m2 [N,8]           (square Wm [8,8], axis 1 for both)
  m2 -> Gemm(., Wg, bg1) -> g1 [N,5];  f -> Gemm(., Wg, bg2) -> g2    (Wg [8,5], axis 1 for both)
  f  -> MatMul(., Wd) -> d1 [N,6];  d1 -> Gemm(., Wd, transB=1) -> d2 [N,8]
                                          (Wd [8,6]: axis 1 for the MatMul, 0 for the Gemm: they disagree)
  y = Concat(g1, g2, d2) [N,18]
Per channel, W, Wm and Wg become one int8 initializer each and Wd stays float (one copy); per tensor
all four agree (no axis) and become int8. With convB excluded, W stays float: an excluded node must see
the float values, so the other reader keeps them too.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPES = {"W": (8, 4, 3, 3), "Wm": (8, 8), "Wg": (8, 5), "Wd": (8, 6)}


def make(d):
    rng = np.random.default_rng(7)
    inits = {
        "W": rng.normal(0, 0.4, SHAPES["W"]),
        "bA": rng.normal(0, 0.1, 8),
        "bB": rng.normal(0, 0.1, 8),
        "Wm": rng.normal(0, 0.5, SHAPES["Wm"]),
        "Wg": rng.normal(0, 0.5, SHAPES["Wg"]),
        "bg1": rng.normal(0, 0.1, 5),
        "bg2": rng.normal(0, 0.1, 5),
        "Wd": rng.normal(0, 0.5, SHAPES["Wd"]),
    }
    # per-channel ranges that differ a lot, so per channel vs per tensor matters
    inits["W"] *= np.linspace(0.2, 2.0, 8)[:, None, None, None]
    inits["Wm"] *= np.linspace(0.3, 1.5, 8)[None, :]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "W", "bA"], ["ca"], name="convA", pads=[1, 1, 1, 1]),
        n("Relu", ["ca"], ["ra"], name="reluA"),
        n("Sigmoid", ["x"], ["sx"], name="sig"),
        n("Conv", ["sx", "W", "bB"], ["cb"], name="convB", pads=[1, 1, 1, 1]),
        n("Relu", ["cb"], ["rb"], name="reluB"),
        n("Add", ["ra", "rb"], ["s"], name="add"),
        n("GlobalAveragePool", ["s"], ["gp"], name="gap"),
        n("Flatten", ["gp"], ["f"], name="flat"),
        n("MatMul", ["f", "Wm"], ["m1"], name="mm1"),
        n("Relu", ["m1"], ["m1r"], name="relum"),
        n("MatMul", ["m1r", "Wm"], ["m2"], name="mm2"),
        n("Gemm", ["m2", "Wg", "bg1"], ["g1"], name="gemm1"),
        n("Gemm", ["f", "Wg", "bg2"], ["g2"], name="gemm2"),
        n("MatMul", ["f", "Wd"], ["d1"], name="mmd"),
        n("Gemm", ["d1", "Wd"], ["d2"], name="gemmd", transB=1),
        n("Concat", ["g1", "g2", "d2"], ["y"], name="cat", axis=1),
    ]
    g = helper.make_graph(
        nodes, "shared",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 18])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, f"{d}/shared.onnx")
    x = rng.normal(0, 1, (16, 4, 9, 9)).astype(np.float32)
    x[:, 0] *= 3  # channels of different ranges
    np.save(f"{d}/calib.npy", x)
    np.save(f"{d}/input.npy", rng.normal(0, 1, (3, 4, 9, 9)).astype(np.float32) * np.float32([3, 1, 1, 1])[None, :, None, None])


def inspect(path, kind):
    m = onnx.load(path)
    g = m.graph
    errors = []
    by_shape = {}
    for t in g.initializer:
        by_shape.setdefault(tuple(t.dims), []).append(t)
    readers = {}
    for node in g.node:
        for i in node.input:
            readers.setdefault(i, []).append(node)
    want_int8 = {"qdq": {"W", "Wm", "Wg"}, "qop": {"W", "Wm", "Wg"}, "qdq_pt": {"W", "Wm", "Wg", "Wd"},
                 "qdq_excl": {"Wm", "Wg"}}[kind]
    for w, shape in SHAPES.items():
        ts = by_shape.get(shape, [])
        i8 = [t for t in ts if t.data_type == TensorProto.INT8]
        fl = [t for t in ts if t.data_type == TensorProto.FLOAT]
        if w in want_int8:
            if len(i8) != 1 or fl:
                errors.append(f"{w}: want one int8 copy and no float one, got {len(i8)} int8 and {len(fl)} float")
                continue
            users = readers.get(i8[0].name, [])
            if kind == "qop":
                # both integer ops name the int8 initializer themselves
                ops = sorted(u.op_type for u in users)
                if len(users) != 2 or any(o not in ("QLinearConv", "QLinearMatMul", "QGemm") for o in ops):
                    errors.append(f"{w}: the int8 copy is read by {ops}, want two QLinearConv/QLinearMatMul/QGemm")
            else:
                # one DequantizeLinear, read by both nodes
                if len(users) != 1 or users[0].op_type != "DequantizeLinear":
                    errors.append(f"{w}: the int8 copy is read by {[u.op_type for u in users]}, want one DequantizeLinear")
                else:
                    consumers = readers.get(users[0].output[0], [])
                    if len(consumers) != 2:
                        errors.append(f"{w}: its DequantizeLinear feeds {len(consumers)} nodes, want 2")
        else:
            if len(fl) != 1 or i8:
                errors.append(f"{w}: want the float weight kept once, got {len(fl)} float and {len(i8)} int8")
    # biases: int32 with a DequantizeLinear for every reader, the second reader of a shared weight too
    want_i32 = {"qdq": {"bA", "bB", "bg1", "bg2"}, "qdq_pt": {"bA", "bB", "bg1", "bg2"}, "qdq_excl": {"bg1", "bg2"},
                "qop": set()}[kind]
    names = {t.name: t for t in g.initializer}
    for b in ("bA", "bB", "bg1", "bg2"):
        if kind == "qop":
            break
        got = "float" if b in names and names[b].data_type == TensorProto.FLOAT else (
            "int32" if any(nd.op_type == "DequantizeLinear" and nd.output[0] == b and
                           names.get(nd.input[0]) is not None and names[nd.input[0]].data_type == TensorProto.INT32
                           for nd in g.node) else "missing")
        if got != ("int32" if b in want_i32 else "float"):
            errors.append(f"bias {b} is {got}, want {'int32' if b in want_i32 else 'float'}")
    if kind == "qop":
        ops = sorted(nd.op_type for nd in g.node if nd.op_type in ("QLinearConv", "QLinearMatMul", "QGemm"))
        if ops != ["QGemm", "QGemm", "QLinearConv", "QLinearConv", "QLinearMatMul", "QLinearMatMul"]:
            errors.append(f"integer ops {ops}, want two QLinearConv, two QLinearMatMul, two QGemm")
    total_i8 = sum(1 for t in g.initializer if t.data_type == TensorProto.INT8 and len(t.dims) >= 2)
    if total_i8 != len(want_int8):
        errors.append(f"{total_i8} int8 weight initializers, want {len(want_int8)}")
    for e in errors:
        print(f"FAIL {path}: {e}")
    if not errors:
        print(f"ok   {path}: int8 once: {sorted(want_int8)}; float: {sorted(set(SHAPES) - want_int8)}")
    return 1 if errors else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "inspect":
        sys.exit(inspect(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: shared_fixture.py make DIR | inspect FILE KIND")
