#!/usr/bin/env bash
# The main demo: installs dependencies, builds veil, imports the shipped ONNX models into
# integer .veil models, classifies the Fashion-MNIST test set with each classifier,
# generates a line of text with the shipped text model, then starts a local network
# (`veil up`: embedded registry + 3 node processes over mutual TLS), runs requests through
# it (split inference, then consensus and zero-knowledge proofs, each with a receipt that is
# verified offline), kills a node and shows the failover, and shuts the network down.
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

echo "== a local network: registry + 3 node processes (mutual TLS), shipped models published"
export VEIL_HOME=$PWD/out/network  # keeps the network's identities and files out of ~/.veil
rm -f "$VEIL_HOME/network.json"
$veil up --nodes 3 --replicas 3 --model out/mlp.veil --model out/cnn.veil --model out/vit.veil \
  --model out/textgen.veil > out/up.log 2>&1 &
up=$!
trap 'kill -INT $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -f "$VEIL_HOME/network.json" ] && break; sleep 0.2; done
cat out/up.log
$veil models
echo "== split inference through the network (first and last segments stay here)"
$veil infer --model cnn --images 0:6
echo "== consensus: every middle segment on a VRF-drawn committee of 3, commit-reveal, quorum 2"
$veil infer --model cnn --images 0:6 --mode consensus --receipt out/cnn.receipt
echo "== proofs: each middle segment of the MLP proven in zero knowledge by its node, checked here"
$veil infer --model mlp --images 0:4 --mode proof --receipt out/mlp.receipt
$veil models --json > out/registry-snapshot.json
echo "== the receipts, checked offline against the registry snapshot"
$veil verify-receipt out/cnn.receipt --keys out/registry-snapshot.json
$veil verify-receipt out/mlp.receipt --keys out/registry-snapshot.json
echo "== generation across nodes (each node keeps the session's KV cache)"
$veil generate --model textgen --prompt "In the beginning God" --tokens 60
echo "== kill -9 one node, then generate again: the client routes around it (or fails over), same text"
victim=$(/usr/bin/python3 -c "import json,os;print(json.load(open(os.environ['VEIL_HOME']+'/network.json'))['nodes'][1]['pid'])")
kill -9 "$victim"
$veil generate --model textgen --prompt "In the beginning God" --tokens 60
echo "== the same text from one process"
$veil generate out/textgen.veil --prompt "In the beginning God" --tokens 60
kill -INT $up
wait $up || true
trap - EXIT
tail -n 2 out/up.log
