#!/usr/bin/env bash
# Install what octet's build, tests and demo need. Idempotent: installs only what is missing.
#   scripts/setup.sh [--with-torch]     (root, or sudo available, for apt-get)
# Debian packages: compiler, CMake, protobuf-c, ONNX's .proto, OpenBLAS, cmocka, zlib, stb (images), Python with
# numpy + onnx (test fixtures only), Fashion-MNIST (the demo and its accuracy test), clang + libFuzzer (fuzzers), node + npm (ONNX Runtime oracle).
# npm: onnxruntime-node into tests/ort/node_modules (CPU binaries ship inside the package).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pkgs=(build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev libopenblas-dev
      libcmocka-dev zlib1g-dev libstb-dev python3-numpy python3-onnx clang libclang-rt-dev dataset-fashion-mnist)
# PyTorch is large: only with --with-torch (examples, peer benchmarks) or when a test imports it.
if [ "${1:-}" = --with-torch ] || grep -rqsE '^\s*(import|from) torch' --include='*.py' "$root/tests"; then
    pkgs+=(python3-torch)
fi
# torchvision: only the peer benchmark bench/compare_static.py needs it.
[ "${1:-}" = --with-torch ] && pkgs+=(python3-torchvision)
# node: keep whatever node is installed (it may come from elsewhere with npm bundled).
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup: Debian packages present"
fi

# ONNX Runtime for node (the test oracle). ONNXRUNTIME_NODE_INSTALL=skip: the CPU runtime is in the
# package; the install script would only fetch GPU providers.
if (cd "$root/tests/ort" && node -e "require('onnxruntime-node')" >/dev/null 2>&1); then
    echo "setup: onnxruntime-node present"
else
    echo "setup: npm install onnxruntime-node in tests/ort"
    (cd "$root/tests/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)
    (cd "$root/tests/ort" && node -e "require('onnxruntime-node')")
fi
