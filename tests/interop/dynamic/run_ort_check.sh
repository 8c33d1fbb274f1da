#!/usr/bin/env bash
# Dynamically quantized shared models in ONNX Runtime vs octet (ctest interop.dynamic.ort).
#   run_ort_check.sh DYN_INTEROP_EXE MODELS_DIR OUT_DIR SOURCE_DIR
# 1. dyn_interop prepare: quantize every shared model in several configurations, save the files with
#    their inputs and octet's outputs; 2. tests/ort/run_ort.mjs: ONNX Runtime's outputs of the same files;
# 3. dyn_interop verify: compare. Without node + onnxruntime-node: exit 77 (skip), or fail under CI.
set -euo pipefail
exe=${1:?usage: run_ort_check.sh EXE MODELS OUT SOURCE}
models=${2:?}
out=${3:?}
src=${4:?}

if ! command -v node >/dev/null || ! (cd "$src/tests/ort" && node -e "require('onnxruntime-node')" 2>/dev/null); then
    if [ -n "${CI:-}" ]; then
        echo "FAILED: node with onnxruntime-node (tests/ort/node_modules) is needed under CI" >&2
        exit 1
    fi
    echo "SKIPPED: ONNX Runtime not available (node + tests/ort/node_modules/onnxruntime-node; scripts/setup.sh)"
    exit 77
fi
rm -rf "$out"
mkdir -p "$out"
rc=0
"$exe" prepare "$models" "$out" || rc=$?
[ "$rc" = 77 ] && exit 77
find "$out" -mindepth 1 -maxdepth 1 -type d | sort > "$out/cases.txt"
node "$src/tests/ort/run_ort.mjs" --list "$out/cases.txt" || rc=1
"$exe" verify "$models" "$out" || rc=1
exit $rc
