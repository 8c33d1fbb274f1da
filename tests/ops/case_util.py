"""What the cases_<family>.py files share: ONNX models of one node (or a whole graph) with octet's
test conventions (IR version 8, producer "octet-tests"), and the case dict gen_cases.py expects."""
import numpy as np
import onnx
from onnx import helper, numpy_helper

IR = 8
MS = "com.microsoft"


def elem_type(dtype):
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]


def finish(graph, opset, domains=()):
    """ModelProto for graph: ai.onnx at `opset` plus (domain, version) pairs."""
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domains]
    m = helper.make_model(graph, opset_imports=ops, producer_name="octet-tests")
    m.ir_version = IR
    return m


def one_node(op, opset, inputs, consts=None, outputs=("y",), out_dtype=None, order=None, graph_name=None,
             **attrs):
    """One-node model. inputs: [(name, array)] fed at run time; consts: {name: array} initializers. The
    node reads `order` (names, "" = omitted), by default the fed inputs then the constants. Every
    output has out_dtype, by default the first input's. Returns (ModelProto, feed dict)."""
    consts = consts or {}
    if order is None:
        order = [n for n, _ in inputs] + list(consts)
    node = helper.make_node(op, order, list(outputs), **attrs)
    if out_dtype is None:
        out_dtype = inputs[0][1].dtype if inputs else list(consts.values())[0].dtype
    g_in = [helper.make_tensor_value_info(n, elem_type(a.dtype), a.shape) for n, a in inputs]
    g_out = [helper.make_tensor_value_info(o, elem_type(out_dtype), None) for o in outputs]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in consts.items()]
    graph = helper.make_graph([node], graph_name or op.lower() + "_test", g_in, g_out, inits)
    return finish(graph, opset), dict(inputs)


def make_case(name, mdl, rtol=0.0, atol=0.0, **extra):
    """The case dict: mdl is (ModelProto, feed dict); extra keys (expect_error, ...) pass through."""
    m, feed = mdl
    c = {"name": name, "model": m, "inputs": feed, "rtol": rtol, "atol": atol}
    c.update(extra)
    return c
