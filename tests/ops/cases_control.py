"""Per-op cases for src/ops/control.c: If, Loop and Scan against ONNX Runtime. If whose branches give
different shapes, If inside If reading values of both enclosing graphs (one whose producer becomes
ready after the If), Loop with a trip count, a condition, both, zero iterations, a condition that
turns false without a cond input, scan outputs, a growing loop-carried value, a Loop inside an If,
Scan with axes and directions (opset 16), and an If whose branch output count is wrong."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper
from case_util import finish, make_case

SEED = 5151
F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, elem, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, arr):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(arr), name + "_v"))


def model(nodes, inputs, outputs, inits=(), opset=16):
    g = helper.make_graph(nodes, "control_test", inputs, outputs, initializer=list(inits))
    return finish(g, opset)


def case(name, m, feeds, rtol=1e-5, atol=1e-6, **extra):
    return make_case(name, (m, feeds), rtol, atol, **extra)


def if_shapes(rng, cond):
    x = rng.standard_normal(5).astype(np.float32)
    then_g = helper.make_graph([helper.make_node("Concat", ["x", "x"], ["yt"], axis=0)], "then", [], [vi("yt", F)])
    else_g = helper.make_graph([const("one", np.float32(1)), helper.make_node("Add", ["x", "one"], ["ye"])],
                               "else", [], [vi("ye", F)])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    m = model([node], [vi("x", F, [5]), vi("c", BOOL, [])], [vi("y", F)])
    return m, {"x": x, "c": np.array(cond)}


def if_nested(rng, c1, c2):
    """y = If(c1){ b = a + x; If(c2){ b * a } else { b - x } } else { a + 1 }, with a = Abs(x*x): the If
    is ready before a's producer when nodes are ordered by explicit inputs only."""
    x = rng.standard_normal([2, 3]).astype(np.float32)
    inner_then = helper.make_graph([helper.make_node("Mul", ["b", "a"], ["zt"])], "inner_then", [], [vi("zt", F)])
    inner_else = helper.make_graph([helper.make_node("Sub", ["b", "x"], ["ze"])], "inner_else", [], [vi("ze", F)])
    outer_then = helper.make_graph([
        helper.make_node("Add", ["a", "x"], ["b"]),
        helper.make_node("If", ["c2"], ["z"], then_branch=inner_then, else_branch=inner_else),
    ], "outer_then", [], [vi("z", F)])
    outer_else = helper.make_graph([const("one", np.float32(1)), helper.make_node("Add", ["a", "one"], ["ye"])],
                                   "outer_else", [], [vi("ye", F)])
    nodes = [helper.make_node("Mul", ["x", "x"], ["a0"]),
             helper.make_node("Abs", ["a0"], ["a"]),
             helper.make_node("If", ["c1"], ["y"], then_branch=outer_then, else_branch=outer_else)]
    m = model(nodes, [vi("x", F, [2, 3]), vi("c1", BOOL, []), vi("c2", BOOL, [])], [vi("y", F)])
    return m, {"x": x, "c1": np.array(c1), "c2": np.array(c2)}


def loop_model(with_m, with_cond, scan_rank1=True):
    """s = s * 2 + i * w; cond = s < limit; scan: [s, i] per iteration (w, limit from the outer graph)."""
    body = helper.make_graph([
        helper.make_node("Cast", ["i"], ["fi"], to=F),
        const("two", np.float32(2)),
        helper.make_node("Mul", ["s_in", "two"], ["s2"]),
        helper.make_node("Mul", ["fi", "w"], ["fiw"]),
        helper.make_node("Add", ["s2", "fiw"], ["s_out"]),
        helper.make_node("Less", ["s_out", "limit"], ["cv"]),
        const("ax", np.array([0], np.int64)),
        helper.make_node("Squeeze", ["cv", "ax"], ["c_out"]),
        helper.make_node("Unsqueeze", ["fi", "ax"], ["fi1"]),
        helper.make_node("Concat", ["s_out", "fi1"], ["row"], axis=0),
    ], "body", [vi("i", I64, []), vi("c_in", BOOL, []), vi("s_in", F, [1])],
        [vi("c_out", BOOL, []), vi("s_out", F, [1]), vi("row", F, [2])])
    node = helper.make_node("Loop", ["M" if with_m else "", "cond" if with_cond else "", "s0"], ["s", "trace"],
                            body=body)
    inputs = [vi("s0", F, [1]), vi("w", F, [1]), vi("limit", F, [1])]
    if with_m:
        inputs.insert(0, vi("M", I64, []))
    if with_cond:
        inputs.insert(1 if with_m else 0, vi("cond", BOOL, []))
    return model([node], inputs, [vi("s", F, [1]), vi("trace", F)])


def loop_case(name, with_m, M, with_cond, cond, limit):
    feeds = {"s0": np.array([1.0], np.float32), "w": np.array([0.25], np.float32),
             "limit": np.array([limit], np.float32)}
    if with_m:
        feeds["M"] = np.array(M, np.int64)
    if with_cond:
        feeds["cond"] = np.array(cond)
    return case(name, loop_model(with_m, with_cond), feeds)


def loop_grow():
    """acc = Concat(acc, [i]) for M iterations; scan output i*i."""
    body = helper.make_graph([
        helper.make_node("Cast", ["i"], ["fi"], to=F),
        const("ax", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["fi", "ax"], ["fi1"]),
        helper.make_node("Concat", ["acc_in", "fi1"], ["acc_out"], axis=0),
        helper.make_node("Identity", ["c_in"], ["c_out"]),
        helper.make_node("Mul", ["fi", "fi"], ["sq"]),
    ], "body", [vi("i", I64, []), vi("c_in", BOOL, []), vi("acc_in", F, ["n"])],
        [vi("c_out", BOOL, []), vi("acc_out", F, ["m"]), vi("sq", F, [])])
    node = helper.make_node("Loop", ["M", "", "acc0"], ["acc", "squares"], body=body)
    m = model([node], [vi("M", I64, []), vi("acc0", F, [2])], [vi("acc", F), vi("squares", F)])
    return m, {"M": np.array(5, np.int64), "acc0": np.array([-2, -1], np.float32)}


def loop_in_if(rng, c):
    x = rng.standard_normal(3).astype(np.float32)
    body = helper.make_graph([
        helper.make_node("Add", ["v", "x2"], ["v1"]),
        helper.make_node("Mul", ["v1", "x"], ["v2"]),
        helper.make_node("Identity", ["ci"], ["co"]),
    ], "body", [vi("i", I64, []), vi("ci", BOOL, []), vi("v", F, [3])], [vi("co", BOOL, []), vi("v2", F, [3])])
    then_g = helper.make_graph([
        const("three", np.array(3, np.int64)),
        helper.make_node("Add", ["x", "x"], ["x2"]),
        helper.make_node("Loop", ["three", "", "x"], ["yt"], body=body),
    ], "then", [], [vi("yt", F, [3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["ye"])], "else", [], [vi("ye", F, [3])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    m = model([node], [vi("c", BOOL, []), vi("x", F, [3])], [vi("y", F)])
    return m, {"c": np.array(c), "x": x}


def scan_case(rng, in_axis, in_dir, out_axis, out_dir, L=4):
    body = helper.make_graph([
        helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
        helper.make_node("Mul", ["s_out", "x_t"], ["y_t"]),
    ], "body", [vi("s_in", F, [3]), vi("x_t", F, [3])], [vi("s_out", F, [3]), vi("y_t", F, [3])])
    node = helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body, num_scan_inputs=1,
                            scan_input_axes=[in_axis], scan_input_directions=[in_dir],
                            scan_output_axes=[out_axis], scan_output_directions=[out_dir])
    shape = [L, 3] if in_axis in (0, -2) else [3, L]
    m = model([node], [vi("s0", F, [3]), vi("xs", F, shape)], [vi("s", F), vi("ys", F)])
    return m, {"s0": rng.standard_normal(3).astype(np.float32), "xs": rng.standard_normal(shape).astype(np.float32)}


def cases():
    rng = np.random.default_rng(SEED)
    out = []
    for cond in [True, False]:
        m, f = if_shapes(rng, cond)
        out.append(case("if_shapes_%s" % ("then" if cond else "else"), m, f))
    for c1 in [True, False]:
        for c2 in [True, False]:
            m, f = if_nested(rng, c1, c2)
            out.append(case("if_nested_%d%d" % (c1, c2), m, f))
    out += [
        loop_case("loop_trip_count", True, 5, False, True, 1e9),
        loop_case("loop_cond_only", False, 0, True, True, 100.0),
        loop_case("loop_both_m_first", True, 3, True, True, 100.0),
        loop_case("loop_both_cond_first", True, 10, True, True, 20.0),
        loop_case("loop_zero_trips", True, 0, True, True, 100.0),
        loop_case("loop_cond_false", True, 4, True, False, 100.0),
        # no cond input, but the body's condition turns false: ONNX Runtime stops there
        loop_case("loop_m_body_cond", True, 50, False, True, 30.0),
    ]
    m, f = loop_grow()
    out.append(case("loop_growing_carry", m, f))
    for c in [True, False]:
        m, f = loop_in_if(rng, c)
        out.append(case("loop_in_if_%d" % c, m, f))
    for in_axis, in_dir, out_axis, out_dir in [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0),
                                               (0, 0, 0, 1), (-1, 1, -1, 1)]:
        m, f = scan_case(rng, in_axis, in_dir, out_axis, out_dir)
        out.append(case("scan_in%d%s_out%d%s" % (in_axis, "r" if in_dir else "", out_axis, "r" if out_dir else ""),
                        m, f))
    # a branch with two outputs for a one-output If
    x = np.ones(2, np.float32)
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Neg", ["x"], ["b"])],
                               "then", [], [vi("a", F), vi("b", F)])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["c"])], "else", [], [vi("c", F)])
    m = model([helper.make_node("If", ["cnd"], ["y"], then_branch=then_g, else_branch=else_g)],
              [vi("x", F, [2]), vi("cnd", BOOL, [])], [vi("y", F)])
    out.append(case("if_branch_outputs_mismatch", m, {"x": x, "cnd": np.array(True)}, expect_error=True,
                    expect_ort_error=True))
    return out
