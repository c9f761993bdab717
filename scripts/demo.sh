#!/usr/bin/env bash
# The main demo: installs dependencies, builds veil, imports the shipped ONNX models into
# integer .veil models, classifies the Fashion-MNIST test set with each classifier, and
# generates a line of text with the shipped text model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target veil
veil=build/src/cli/veil
mkdir -p out

for m in mlp cnn vit; do
  echo "== $m"
  $veil import models/$m/$m.onnx --calibration models/$m/calibration.npy -o out/$m.veil --segments 3
  $veil run out/$m.veil --images 0:5
  $veil run out/$m.veil --test-set --threads 2
  /usr/bin/python3 -c "import json;print('   float model (PyTorch):', round(100*json.load(open('models/$m/meta.json'))['float_test_accuracy'],2), '%')"
done

echo "== a model file: ops, segments and digests"
$veil inspect out/cnn.veil | sed -n 1,30p  # sed reads it all: no SIGPIPE under pipefail

echo "== textgen"
$veil import models/textgen/textgen.onnx --calibration models/textgen/calibration_tokens.npy \
  --calibration models/textgen/calibration_positions.npy -o out/textgen.veil --segments 3
$veil generate out/textgen.veil --prompt "In the beginning God" --tokens 60
