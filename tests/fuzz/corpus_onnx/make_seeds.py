#!/usr/bin/python3
"""Writes the seed corpus for fuzz_onnx_load (run with Debian's /usr/bin/python3, which has onnx).
Small models that between them use every part of ONNX the loader reads. The fuzz driver skips .py files."""
import os
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

OUT = os.path.dirname(os.path.abspath(__file__))


def save(name, graph, opsets=(("", 13),), **kw):
    m = h.make_model(graph, opset_imports=[h.make_opsetid(d, v) for d, v in opsets], **kw)
    m.ir_version = kw.pop("ir_version", 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(m.SerializeToString())


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


rng = np.random.default_rng(0)

# 1. Add with a raw float initializer and a symbolic batch dimension
w = nh.from_array(rng.standard_normal((2, 3)).astype(np.float32), "w")
save("add_raw.onnx", h.make_graph([h.make_node("Add", ["x", "w"], ["y"], name="add")], "add",
                                  [vi("x", TP.FLOAT, ["N", 3])], [vi("y", TP.FLOAT, ["N", 3])], [w]))

# 2. If with subgraphs that hold their own initializers
one = nh.from_array(np.array([1], np.int64), "one")
two = nh.from_array(np.array([2], np.int64), "two")
then_g = h.make_graph([h.make_node("Identity", ["one"], ["o1"])], "then", [], [vi("o1", TP.INT64, [1])], [one])
else_g = h.make_graph([h.make_node("Identity", ["two"], ["o2"])], "else", [], [vi("o2", TP.INT64, [1])], [two])
save("if_subgraphs.onnx", h.make_graph(
    [h.make_node("If", ["c"], ["r"], then_branch=then_g, else_branch=else_g, name="if")], "ifg",
    [vi("c", TP.BOOL, [])], [vi("r", TP.INT64, [1])]))

# 3. Constants in typed fields (not raw_data) of several dtypes, plus value_info
consts = [
    h.make_node("Constant", [], ["cf"], value=h.make_tensor("cf", TP.FLOAT, [3], [1.5, -2.0, 0.25])),
    h.make_node("Constant", [], ["ci8"], value=h.make_tensor("ci8", TP.INT8, [2, 2], [-128, 127, 0, 5])),
    h.make_node("Constant", [], ["ci64"], value=h.make_tensor("ci64", TP.INT64, [2], [-1, 1 << 40])),
    h.make_node("Constant", [], ["cd"], value=h.make_tensor("cd", TP.DOUBLE, [1], [3.25])),
    h.make_node("Constant", [], ["cb"], value=h.make_tensor("cb", TP.BOOL, [2], [True, False])),
    h.make_node("Constant", [], ["ch"], value=h.make_tensor("ch", TP.FLOAT16, [1], [15360], raw=False)),
    h.make_node("Constant", [], ["cu32"], value=h.make_tensor("cu32", TP.UINT32, [1], [4000000000])),
    h.make_node("Cast", ["cf"], ["y"], to=TP.DOUBLE),
]
save("constants_typed.onnx", h.make_graph(consts, "consts", [], [vi("y", TP.DOUBLE, [3])],
                                          value_info=[vi("cf", TP.FLOAT, [3]), vi("ci8", TP.INT8, ["a", "b"])]))

# 4. Every attribute kind on a custom-domain node
body = h.make_graph([h.make_node("Neg", ["x"], ["y"])], "body", [vi("x", TP.FLOAT, [None])], [vi("y", TP.FLOAT, [None])])
node = h.make_node("Everything", ["x"], ["y"], domain="com.example", name="all",
                   f=0.5, i=-7, s=b"str\x00bytes", t=nh.from_array(np.arange(4, dtype=np.int16)), g=body,
                   fs=[1.0, 2.5], ints=[1, -2, 3], strs=[b"a", b""],
                   ts=[nh.from_array(np.ones(2, np.uint8)), nh.from_array(np.zeros((1, 1), np.float64))],
                   gs=[body, body])
save("attributes.onnx", h.make_graph([node], "attrs", [vi("x", TP.FLOAT, [2])], [vi("y", TP.FLOAT, [2])]),
     opsets=(("", 13), ("com.example", 1)))

# 5. A sparse initializer
sp = h.make_sparse_tensor(nh.from_array(np.array([1, 2, 3], np.float32), "sp"),
                          nh.from_array(np.array([0, 5, 11], np.int64), "sp_idx"), [3, 4])
g = h.make_graph([h.make_node("Identity", ["sp"], ["y"])], "sparse", [], [vi("y", TP.FLOAT, [3, 4])])
g.sparse_initializer.append(sp)
save("sparse.onnx", g)

# 6. Metadata, doc strings and the extra domains silero_vad_legacy declares
g = h.make_graph([h.make_node("Relu", ["x"], ["y"], doc_string="node doc")], "meta",
                 [vi("x", TP.FLOAT, [1])], [vi("y", TP.FLOAT, [1])], doc_string="graph doc")
save("metadata.onnx", g, opsets=(("", 16), ("ai.onnx.ml", 3), ("ai.onnx.training", 1), ("com.microsoft", 1),
                                 ("com.ms.internal.nhwc", 1), ("org.pytorch.aten", 1)),
     producer_name="seed", producer_version="1", doc_string="model doc")
m = onnx.load(os.path.join(OUT, "metadata.onnx"))
h.set_model_props(m, {"author": "octet", "empty": ""})
with open(os.path.join(OUT, "metadata.onnx"), "wb") as f:
    f.write(m.SerializeToString())

# 7. External data (refused when loaded from memory without a folder)
t = TP(name="ext", data_type=TP.FLOAT, dims=[4])
t.data_location = TP.EXTERNAL
for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "16")):
    e = t.external_data.add()
    e.key, e.value = k, v
save("external.onnx", h.make_graph([h.make_node("Identity", ["ext"], ["y"])], "ext", [], [vi("y", TP.FLOAT, [4])],
                                   [t]))

# 8. Loop with a body graph
lbody = h.make_graph([h.make_node("Add", ["v", "v"], ["v2"]), h.make_node("Identity", ["cond"], ["c2"])], "lbody",
                     [vi("i", TP.INT64, []), vi("cond", TP.BOOL, []), vi("v", TP.FLOAT, [2])],
                     [vi("c2", TP.BOOL, []), vi("v2", TP.FLOAT, [2])])
save("loop.onnx", h.make_graph([h.make_node("Loop", ["n", "", "v0"], ["vf"], body=lbody)], "loop",
                               [vi("n", TP.INT64, []), vi("v0", TP.FLOAT, [2])], [vi("vf", TP.FLOAT, [2])]))

# 9. Raw initializers of every numeric dtype, scalars and empty tensors
inits = []
for dt in (np.float32, np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.bool_, np.float16,
           np.float64, np.uint32, np.uint64):
    a = (rng.standard_normal((2, 3)) * 10).astype(dt)
    inits.append(nh.from_array(a, "w_" + np.dtype(dt).name))
inits.append(nh.from_array(np.array(7, np.int64), "scalar"))
inits.append(nh.from_array(np.zeros((0, 3), np.float32), "empty"))
save("dtypes.onnx", h.make_graph([h.make_node("Identity", ["w_float32"], ["y"])], "dtypes", [],
                                 [vi("y", TP.FLOAT, [2, 3])], inits), ir_version=7)

# 10. Old IR with initializers listed as inputs too
w = nh.from_array(np.ones((3,), np.float32), "w")
save("ir3_inputs.onnx", h.make_graph([h.make_node("Mul", ["x", "w"], ["y"])], "ir3",
                                     [vi("x", TP.FLOAT, [3]), vi("w", TP.FLOAT, [3])], [vi("y", TP.FLOAT, [3])], [w]),
     opsets=(("", 7),), ir_version=3)
