#!/usr/bin/env bash
# Trains and exports all shipped float models (models/{mlp,cnn,vit,textgen,polymlp}) one after another.
# Needs: VEIL_WITH_TRAINING=1 scripts/install-deps.sh (python3-torch, python3-onnx, numpy,
# dataset-fashion-mnist, bible-kjv) and, for a ~8x faster run, libopenblas0-serial.
# Usage: tools/train/train_all.sh [--quick]   (logs in ${VEIL_TRAIN_LOG_DIR:-/tmp}/train_<name>.log;
# --quick writes to /tmp/veil-models-quick unless VEIL_MODELS_DIR is set)
set -euo pipefail
cd "$(dirname "$0")"
# Debian's torch lives in the system interpreter; a pyenv/venv python3 on PATH would miss it.
PY=${VEIL_PYTHON:-/usr/bin/python3}
LOG_DIR=${VEIL_TRAIN_LOG_DIR:-/tmp}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
"$PY" -c 'import torch, onnx, numpy' || {
  echo "python3-torch/python3-onnx missing: VEIL_WITH_TRAINING=1 scripts/install-deps.sh" >&2; exit 1; }
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
  echo "note: torch uses the reference BLAS; apt-get install libopenblas0-serial is ~8x faster" >&2
fi
# A --quick smoke run must not overwrite the shipped models.
if [[ " $* " == *" --quick "* && -z "${VEIL_MODELS_DIR:-}" ]]; then
  export VEIL_MODELS_DIR=/tmp/veil-models-quick
  echo "--quick: writing to $VEIL_MODELS_DIR (set VEIL_MODELS_DIR to change)"
fi
for name in mlp cnn vit textgen polymlp; do
  echo "== $name ($(date +%T))"
  "$PY" "train_$name.py" "$@" 2>&1 | tee "$LOG_DIR/train_$name.log"
done
echo "== done ($(date +%T))"
