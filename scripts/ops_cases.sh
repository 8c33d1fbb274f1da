#!/usr/bin/env bash
# Make the per-op test cases and their ONNX Runtime references (the ctest fixture ops.setup).
#   scripts/ops_cases.sh SOURCE_DIR OUT_DIR
# Needs /usr/bin/python3 with numpy + onnx, and node with tests/ort/node_modules/onnxruntime-node.
# If one is missing: exit 77 (ctest skip) with a loud SKIPPED line, or fail when CI is set.
set -euo pipefail
src=${1:?usage: ops_cases.sh SOURCE_DIR OUT_DIR}
out=${2:?usage: ops_cases.sh SOURCE_DIR OUT_DIR}
python=${OCTET_PYTHON:-/usr/bin/python3}

missing=()
if ! [ -x "$python" ] || ! "$python" -c 'import numpy, onnx' 2>/dev/null; then
    missing+=("$python with numpy and onnx")
fi
if ! command -v node >/dev/null; then
    missing+=("node")
elif ! (cd "$src/tests/ort" && node -e "require('onnxruntime-node')" 2>/dev/null); then
    missing+=("onnxruntime-node in tests/ort/node_modules")
fi

rm -rf "$out"
mkdir -p "$out"
if [ ${#missing[@]} -gt 0 ]; then
    if [ -n "${CI:-}" ]; then
        echo "FAILED: ONNX Runtime oracle not available under CI: missing ${missing[*]}" >&2
        exit 1
    fi
    echo "missing: ${missing[*]}" > "$out/ORACLE_SKIPPED"
    echo "****************************************************************"
    echo "SKIPPED: ONNX Runtime oracle not available (run scripts/setup.sh)"
    echo "  missing: ${missing[*]}"
    echo "****************************************************************"
    exit 77
fi

"$python" "$src/tests/ops/gen_cases.py" --src "$src/tests/ops" --out "$out"
find "$out" -mindepth 2 -maxdepth 2 -type d | sort > "$out/cases.txt"
if ! [ -s "$out/cases.txt" ]; then
    echo "ops_cases: no cases generated"
    exit 0
fi
# One ONNX Runtime worker for all cases (node start-up is the slow part); a crash only costs a restart.
node "$src/tests/ort/run_ort.mjs" --list "$out/cases.txt"
