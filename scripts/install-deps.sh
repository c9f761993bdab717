#!/usr/bin/env bash
# Installs everything veil needs on a fresh Debian bookworm machine (run as root).
# Debian packages for the toolchain and libraries; npm packages (ONNX Runtime, used only
# as an independent reference in tests and benchmarks) into third_party/node.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc python3-grpcio python3-protobuf
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  libsodium-dev libssl-dev zlib1g-dev
  etcd-server
  dataset-fashion-mnist bible-kjv-text
  python3 python3-numpy
)
if [ "${VEIL_WITH_TRAINING:-0}" = 1 ]; then
  packages+=(python3-torch python3-onnx libopenblas0-serial)  # OpenBLAS: ~8x faster training
fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, used only as independent references in tests and benchmarks:
# ONNX Runtime's Node binding ships its native library inside the package (its install
# script only fetches optional GPU binaries, so scripts are skipped); node-seal is
# Microsoft SEAL compiled to WebAssembly.
if [ ! -f third_party/node/node_modules/onnxruntime-node/package.json ] ||
   [ ! -f third_party/node/node_modules/node-seal/package.json ]; then
  mkdir -p third_party/node
  (cd third_party/node && npm install --no-audit --no-fund --ignore-scripts --silent \
     --prefix . onnxruntime-node@1.20.1 node-seal@6.0.3 >/dev/null)
fi
echo "dependencies installed"
