#!/usr/bin/python3
"""Turn every tests/ops/cases_<family>.py into case folders for op_case_runner.

    /usr/bin/python3 gen_cases.py [--src DIR] --out DIR [FAMILY...]

Each cases_<family>.py has cases() returning a list of dicts:
    {"name": str, "model": onnx.ModelProto, "inputs": {name: np.ndarray}, "rtol": float, "atol": float}
optionally "expect_error": True (octet must reject the case), "expect_ort_error": True (ONNX Runtime
may reject it; octet's result is then only checked not to crash), "outputs": {name: np.ndarray}
(hand-computed references used instead of ONNX Runtime).

Writes OUT/<family>/<name>/{model.onnx, input_0_<name>.npy, tolerance.txt, markers}. A case that
cannot be written gets gen_error.txt, a family whose file fails gets family_error.txt: the runner
then fails that case or family, and the other families still run.
"""
import argparse
import glob
import importlib.util
import os
import re
import shutil
import sys
import traceback

import numpy as np
import onnx
import onnx.checker


def sanitize(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def one_line(text):
    return " ".join(str(text).split())


def checkable(model):
    """onnx 1.12's checker insists that graph inputs/outputs declare a shape, which ONNX Runtime
    (and octet) do not need; check a copy where a missing shape is an unknown-rank placeholder."""
    if all(v.type.tensor_type.HasField("shape") for v in list(model.graph.input) + list(model.graph.output)
           if v.type.HasField("tensor_type")):
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for v in list(copy.graph.input) + list(copy.graph.output):
        if v.type.HasField("tensor_type") and not v.type.tensor_type.HasField("shape"):
            v.type.tensor_type.shape.SetInParent()
    return copy


def write_case(folder, case):
    """Write one case; returns None or an error message (the folder then gets gen_error.txt)."""
    model = case.get("model")
    if not isinstance(model, onnx.ModelProto):
        return "'model' is not an onnx.ModelProto"
    expect_error = bool(case.get("expect_error"))
    onnx.save(model, os.path.join(folder, "model.onnx"))
    with open(os.path.join(folder, "tolerance.txt"), "w") as f:
        f.write("rtol=%r\natol=%r\n" % (float(case.get("rtol", 1e-5)), float(case.get("atol", 1e-5))))
    for marker in ("expect_error", "expect_ort_error"):
        if case.get(marker):
            open(os.path.join(folder, marker), "w").close()

    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    inputs = case.get("inputs", {})
    for name, value in inputs.items():
        if name not in [i.name for i in model.graph.input]:
            return "input '%s' is not a graph input (graph inputs: %s)" % (name, graph_inputs)
        arr = np.array(value, order="C", copy=True)  # not ascontiguousarray: it makes 0-d arrays 1-d
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        np.save(os.path.join(folder, "input_0_%s.npy" % sanitize(name)), arr, allow_pickle=False)
    missing = [n for n in graph_inputs if n not in inputs]
    if missing and not expect_error:
        return "no value for graph input(s) %s" % missing
    outputs = case.get("outputs")
    if outputs is not None:
        out_names = [o.name for o in model.graph.output]
        for name, value in outputs.items():
            if name not in out_names:
                return "'outputs' names '%s', not a graph output (%s)" % (name, out_names)
            arr = np.array(value, order="C", copy=True)  # not ascontiguousarray: it makes 0-d arrays 1-d
            np.save(os.path.join(folder, "expected_0_%s.npy" % sanitize(name)), arr, allow_pickle=False)
        open(os.path.join(folder, "expected_given"), "w").close()
    try:
        onnx.checker.check_model(checkable(model))
    except Exception as e:  # onnx raises ValidationError and others
        if not expect_error:
            return "onnx.checker: %s" % one_line(e)
    return None


def gen_family(src, out, family):
    fam_dir = os.path.join(out, family)
    shutil.rmtree(fam_dir, ignore_errors=True)
    os.makedirs(fam_dir)
    path = os.path.join(src, "cases_%s.py" % family)
    try:
        spec = importlib.util.spec_from_file_location("cases_%s" % family, path)
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, src)
        try:
            spec.loader.exec_module(mod)
        finally:
            sys.path.remove(src)
        cases = list(mod.cases())
    except Exception:
        tb = traceback.format_exc()
        with open(os.path.join(fam_dir, "family_error.txt"), "w") as f:
            f.write("%s: %s\n%s" % (os.path.basename(path), one_line(tb.strip().splitlines()[-1]), tb))
        print("gen_cases: %s failed:\n%s" % (path, tb), file=sys.stderr)
        return 0, 1
    if not cases:
        with open(os.path.join(fam_dir, "family_error.txt"), "w") as f:
            f.write("cases() returned no cases\n")
        return 0, 1
    seen, n_ok, n_bad = set(), 0, 0
    for i, case in enumerate(cases):
        name = sanitize(str(case.get("name") or "case%d" % i)) if isinstance(case, dict) else "case%d" % i
        base, j = name, 2
        while name in seen:  # duplicate names must not overwrite each other
            name, j = "%s_%d" % (base, j), j + 1
        seen.add(name)
        folder = os.path.join(fam_dir, name)
        os.makedirs(folder)
        try:
            err = write_case(folder, case) if isinstance(case, dict) else "case is not a dict"
        except Exception:
            err = "writing the case raised: %s" % one_line(traceback.format_exc().strip().splitlines()[-1])
        if err:
            with open(os.path.join(folder, "gen_error.txt"), "w") as f:
                f.write(err + "\n")
            print("gen_cases: %s/%s: %s" % (family, name, err), file=sys.stderr)
            n_bad += 1
        else:
            n_ok += 1
    return n_ok, n_bad


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=here, help="folder with cases_<family>.py (default: next to this script)")
    ap.add_argument("--out", required=True, help="output folder (one subfolder per family)")
    ap.add_argument("families", nargs="*", help="only these families (default: all)")
    args = ap.parse_args()
    families = sorted(os.path.basename(p)[len("cases_"):-len(".py")]
                      for p in glob.glob(os.path.join(args.src, "cases_*.py")))
    if args.families:
        unknown = set(args.families) - set(families)
        if unknown:
            print("gen_cases: no cases file for %s" % sorted(unknown), file=sys.stderr)
            return 2
        families = args.families
    os.makedirs(args.out, exist_ok=True)
    total_ok = total_bad = 0
    for fam in families:
        n_ok, n_bad = gen_family(args.src, args.out, fam)
        print("gen_cases: %-14s %4d cases%s" % (fam, n_ok, ", %d failed to generate" % n_bad if n_bad else ""))
        total_ok += n_ok
        total_bad += n_bad
    print("gen_cases: %d families, %d cases, %d errors" % (len(families), total_ok, total_bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
