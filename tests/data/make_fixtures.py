#!/usr/bin/python3
"""Regenerate the small committed fixtures of the npy/npz and CLI tests (run by hand, never by ctest):

    /usr/bin/python3 tests/data/make_fixtures.py

tests/data/npy/  .npy/.npz files written by numpy itself, whose exact values test_npy.c checks.
tests/data/cli/  two tiny ONNX models, their input and expected output .npy files for tests/cli/.
Needs Debian's numpy and onnx (/usr/bin/python3). Output is deterministic.
"""
import os

import numpy as np
import onnx
from numpy.lib import format as npformat
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
NPY = os.path.join(HERE, "npy")
CLI = os.path.join(HERE, "cli")

F4_2X3 = (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1).astype(np.float32)
I8_5 = np.array([-3, -1, 0, 2, 9007199254740993], dtype=np.int64)


def save(name, arr, version=None):
    path = os.path.join(NPY, name)
    if version is None:
        np.save(path, arr)
    else:
        with open(path, "wb") as f:
            npformat.write_array(f, arr, version=version)


def npy_fixtures():
    os.makedirs(NPY, exist_ok=True)
    save("f4_2x3.npy", F4_2X3)
    save("f8_scalar.npy", np.array(3.141592653589793, dtype=np.float64))
    save("f2_3.npy", np.array([1.0, -2.0, 0.5], dtype=np.float16))
    save("i8_5.npy", I8_5)
    save("i4_2x2.npy", np.array([[-2147483648, 2147483647], [0, -1]], dtype=np.int32))
    save("i2_3.npy", np.array([-32768, 0, 32767], dtype=np.int16))
    save("i1_4.npy", np.array([-128, -1, 0, 127], dtype=np.int8))
    save("u1_2x2x2.npy", (np.arange(8) * 36).astype(np.uint8).reshape(2, 2, 2))
    save("u2_3.npy", np.array([0, 1, 65535], dtype=np.uint16))
    save("u4_2.npy", np.array([0, 4294967295], dtype=np.uint32))
    save("u8_2.npy", np.array([0, 18446744073709551615], dtype=np.uint64))
    save("b1_4.npy", np.array([True, False, False, True]))
    # Fortran order: the values in C order are 0..n-1, so the reader must transpose.
    save("f4_fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("i4_fortran_2x3x4.npy", np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
    save("f4_empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save("f4_v2.npy", F4_2X3, version=(2, 0))
    save("f4_v3.npy", F4_2X3, version=(3, 0))
    # Not loadable by octet: big-endian data, more than 8 dimensions, complex numbers.
    save("f4_bigendian.npy", np.arange(3, dtype=">f4"))
    save("f4_rank9.npy", np.zeros((1,) * 9, dtype=np.float32))
    save("c8_2.npy", np.array([1 + 2j, 3 - 4j], dtype=np.complex64))

    np.savez(os.path.join(NPY, "stored.npz"), x=F4_2X3, y=I8_5)
    np.savez_compressed(os.path.join(NPY, "deflated.npz"), a=np.arange(1000, dtype=np.float32),
                        b=np.array([True, False, True]), c=np.array(7, dtype=np.int32))
    # zip64 records everywhere (central directory extras, zip64 end record and locator), as numpy
    # writes archives over 4 GiB: lower zipfile's limits so a tiny archive gets them too.
    import zipfile
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 64, 1
    try:
        np.savez(os.path.join(NPY, "zip64.npz"), x=F4_2X3, y=I8_5)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits


def cli_fixtures():
    os.makedirs(CLI, exist_ok=True)
    # tiny_add_relu.onnx: y = Relu(x + b), "sum/raw" = x + b; x is float32[batch, 3].
    b = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "b"], ["sum/raw"], name="add"),
         helper.make_node("Relu", ["sum/raw"], ["y"], name="relu")],
        "tiny_add_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("sum/raw", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, producer_name="octet-fixtures", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(CLI, "tiny_add_relu.onnx"))
    np.save(os.path.join(CLI, "x.npy"), F4_2X3)
    np.save(os.path.join(CLI, "x_int64.npy"), np.arange(6, dtype=np.int64).reshape(2, 3))
    np.savez(os.path.join(CLI, "inputs.npz"), x=F4_2X3)
    np.save(os.path.join(CLI, "expected_y.npy"), np.maximum(F4_2X3 + b, 0).astype(np.float32))
    np.save(os.path.join(CLI, "expected_sum_raw.npy"), (F4_2X3 + b).astype(np.float32))

    # tiny_info.onnx: for `octet info` only (never run): an If with two branches that hold a
    # Constant and an op of an unknown domain, a Constant in the main graph, one initializer.
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["k_then"], name="k_then",
                          value=numpy_helper.from_array(np.ones((2, 2), np.float32), "k_then")),
         helper.make_node("Add", ["x", "k_then"], ["t_out"], name="then_add")],
        "then_branch", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, None)])
    else_g = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["e_out"], name="frob", domain="com.example")],
        "else_branch", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, None)])
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["scale"], name="scale", value_floats=[1.0, 2.0, 3.0]),
         helper.make_node("Mul", ["x", "w"], ["xw"], name="mul"),
         helper.make_node("If", ["cond"], ["out"], name="branch", then_branch=then_g, else_branch=else_g)],
        "tiny_info",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", None, 2]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("xw", TensorProto.FLOAT, ["batch", "seq", 2])],
        [numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(2, 2), "w")])
    model = helper.make_model(graph, producer_name="octet-fixtures", producer_version="2",
                              opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    model.ir_version = 7
    onnx.save(model, os.path.join(CLI, "tiny_info.onnx"))


if __name__ == "__main__":
    npy_fixtures()
    cli_fixtures()
