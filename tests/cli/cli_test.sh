#!/usr/bin/env bash
# End-to-end tests of the veil program: the happy paths of every subcommand, and bad
# input (missing, truncated or corrupt files, wrong shapes and dtypes) giving a clear
# error and exit code 1 — never a crash (a signal would give 128+N).
# Usage: cli_test.sh VEIL_BINARY SOURCE_DIR
set -uo pipefail
veil=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }

# expect_error NAME PATTERN CMD...: exit code 1 and stderr matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ $rc -eq 1 ] && grep -qiE "$pattern" "$work/err"; then ok "$name"; else
    bad "$name (exit $rc, stderr: $(head -c 300 "$work/err"))"; fi
}
expect_ok() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then ok "$name"; else bad "$name (stderr: $(head -c 300 "$work/err"))"; fi
}

m=$src/models/mlp
expect_ok "import mlp" "$veil" import "$m/mlp.onnx" -c "$m/calibration.npy" -o "$work/mlp.veil" --segments 2
expect_ok "inspect --json is JSON" sh -c "'$veil' inspect '$work/mlp.veil' --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"segments\"])==2 and len(d[\"digest\"])==64'"
expect_ok "run --images 0:4 --json" sh -c "'$veil' run '$work/mlp.veil' --images 0:4 --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"predictions\"])==4'"
/usr/bin/python3 - "$work" <<'PY'
import numpy as np, sys
w = sys.argv[1]
rng = np.random.default_rng(1)
np.save(f"{w}/x.npy", rng.standard_normal((3, 1, 28, 28)).astype(np.float32))
np.save(f"{w}/wrong_shape.npy", np.zeros((3, 28, 28), np.float32))
np.save(f"{w}/wrong_dtype.npy", np.zeros((3, 1, 28, 28), np.int32))
np.save(f"{w}/nan.npy", np.full((1, 1, 28, 28), np.nan, np.float32))
PY
expect_ok "run --input --output" "$veil" run "$work/mlp.veil" --input "$work/x.npy" --output "$work/y.npy"
expect_ok "output is float32 [3,10]" /usr/bin/python3 -c "import numpy as np; y=np.load('$work/y.npy'); assert y.dtype==np.float32 and y.shape==(3,10)"
expect_ok "run --raw writes int8" sh -c "'$veil' run '$work/mlp.veil' --input '$work/x.npy' --output '$work/r.npy' --raw && /usr/bin/python3 -c \"import numpy as np; assert np.load('$work/r.npy').dtype==np.int8\""
expect_ok "scalar and auto kernels agree" sh -c "'$veil' run '$work/mlp.veil' --images 0:64 --json --kernel scalar | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"output_digest\"])' > '$work/d1' && '$veil' run '$work/mlp.veil' --images 0:64 --json --threads 2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"output_digest\"])' > '$work/d2' && cmp '$work/d1' '$work/d2'"

expect_error "missing ONNX file" "cannot open" "$veil" import "$work/nope.onnx" -c "$m/calibration.npy" -o "$work/a.veil"
head -c 5000 "$m/mlp.onnx" >"$work/trunc.onnx"
expect_error "truncated ONNX" "not a valid ONNX|truncated" "$veil" import "$work/trunc.onnx" -c "$m/calibration.npy" -o "$work/b.veil"
[ ! -e "$work/b.veil" ] && ok "failed import writes nothing" || bad "failed import left a file"
expect_error "calibration of the wrong shape" "shape|calibration" "$veil" import "$m/mlp.onnx" -c "$work/wrong_shape.npy" -o "$work/c.veil"
expect_error "missing model" "cannot open|No such|not found" "$veil" run "$work/none.veil" --images 0
head -c 3000 "$work/mlp.veil" >"$work/trunc.veil"
expect_error "truncated .veil" "corrupt|truncated" "$veil" run "$work/trunc.veil" --images 0
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
b = bytearray(open(f"{w}/mlp.veil", "rb").read())
b[len(b) // 2] ^= 0x40
open(f"{w}/flipped.veil", "wb").write(b)
open(f"{w}/garbage.veil", "wb").write(b"not a model at all" * 10)
PY
expect_error "bit-flipped .veil" "corrupt|checksum|digest" "$veil" inspect "$work/flipped.veil"
expect_error "garbage .veil" "corrupt|magic" "$veil" run "$work/garbage.veil" --images 0
expect_error "input of the wrong shape" "shape" "$veil" run "$work/mlp.veil" --input "$work/wrong_shape.npy"
expect_error "input of the wrong dtype" "dtype|float32|int32" "$veil" run "$work/mlp.veil" --input "$work/wrong_dtype.npy"
expect_error "NaN input" "NaN" "$veil" run "$work/mlp.veil" --input "$work/nan.npy"
expect_error "image index out of range" "outside" "$veil" run "$work/mlp.veil" --images 9999:10001
expect_error "no input given" "exactly one" "$veil" run "$work/mlp.veil"
expect_error "generate with a classifier" "not a text generator" "$veil" generate "$work/mlp.veil" --prompt hi
expect_error "unknown kernel path" "unknown kernel" "$veil" run "$work/mlp.veil" --images 0 --kernel sse9
expect_error "npy that is not npy" "npy|magic|corrupt" "$veil" run "$work/mlp.veil" --input "$work/garbage.veil"

t=$src/models/textgen
expect_ok "import textgen" "$veil" import "$t/textgen.onnx" -c "$t/calibration_tokens.npy" -c "$t/calibration_positions.npy" -o "$work/t.veil"
expect_ok "generate --json" sh -c "'$veil' generate '$work/t.veil' --prompt 'In the beginning' --tokens 12 --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"tokens\"])==12'"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
