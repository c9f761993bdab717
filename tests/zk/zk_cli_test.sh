#!/usr/bin/env bash
# End-to-end test of the zk commands: veil commit / prove / verify on the shipped MLP, CNN and ViT, and
# rejection (exit code 1, a message naming the failing segment) of tampered, swapped,
# truncated and mismatched inputs — never a crash.
# Usage: zk_cli_test.sh VEIL_BINARY SOURCE_DIR
set -uo pipefail
veil=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }

expect_ok() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then ok "$name"; else bad "$name (stderr: $(head -c 300 "$work/err"))"; fi
}
# expect_fail NAME PATTERN CMD...: exit code 1 and stdout+stderr matching PATTERN.
expect_fail() {
  local name=$1 pattern=$2
  shift 2
  "$@" >"$work/out" 2>&1
  local rc=$?
  if [ $rc -eq 1 ] && grep -qiE "$pattern" "$work/out"; then ok "$name"; else
    bad "$name (exit $rc, output: $(head -c 300 "$work/out"))"; fi
}

m=$src/models/mlp
expect_ok "import mlp (2 segments)" "$veil" import "$m/mlp.onnx" -c "$m/calibration.npy" -o "$work/mlp.veil" --segments 2
expect_ok "commit" "$veil" commit "$work/mlp.veil" -o "$work/mlp.commit" --threads 2
expect_ok "secret is private" sh -c "[ \"\$(stat -c %a '$work/mlp.commit.secret')\" = 600 ]"
/usr/bin/python3 - "$work" <<'PY'
import numpy as np, sys
np.save(f"{sys.argv[1]}/x.npy", np.random.default_rng(3).standard_normal((2, 1, 28, 28)).astype(np.float32))
PY
expect_ok "prove segment 0" "$veil" prove "$work/mlp.veil" --commitment "$work/mlp.commit" --segment 0 --input "$work/x.npy" -o "$work/s0"
expect_ok "prove segment 1" "$veil" prove "$work/mlp.veil" --commitment "$work/mlp.commit" --segment 1 --opening "$work/s0.opening" -o "$work/s1"
expect_ok "verify chain and opening" "$veil" verify "$work/mlp.commit" "$work/s0" "$work/s1" --opening "$work/s1.opening"
expect_ok "proven output equals veil run" sh -c "'$veil' verify '$work/mlp.commit' '$work/s0' '$work/s1' --opening '$work/s1.opening' | grep 'opens to' | tr -s ' ' '\n' | tail -n 20 > '$work/proven' && '$veil' run '$work/mlp.veil' --input '$work/x.npy' --output '$work/y.npy' --raw >/dev/null && /usr/bin/python3 -c \"import numpy as np; a=np.load('$work/y.npy').reshape(-1).tolist(); b=[int(x) for x in open('$work/proven').read().split()]; assert a==b, (a,b)\""
expect_ok "verify one segment" "$veil" verify "$work/mlp.commit" "$work/s1"

expect_fail "swapped segments" "segment" "$veil" verify "$work/mlp.commit" "$work/s1" "$work/s0"
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
b = bytearray(open(f"{w}/s0", "rb").read())
for i, pos in enumerate([60, len(b) // 3, len(b) // 2, len(b) - 40]):
    c = bytearray(b); c[pos] ^= 1
    open(f"{w}/flip{i}", "wb").write(c)
open(f"{w}/trunc", "wb").write(b[: len(b) // 2])
PY
for i in 0 1 2 3; do
  expect_fail "flipped byte $i rejected" "segment 0|corrupt|rejected" "$veil" verify "$work/mlp.commit" "$work/flip$i" "$work/s1"
done
expect_fail "truncated proof" "truncated|corrupt" "$veil" verify "$work/mlp.commit" "$work/trunc"
expect_ok "second commitment (other seed)" "$veil" commit "$work/mlp.veil" -o "$work/other.commit"
expect_fail "wrong model commitment" "another model commitment|segment 0" "$veil" verify "$work/other.commit" "$work/s0"
expect_fail "secret of another commitment" "another model commitment" sh -c "cp '$work/other.commit.secret' '$work/mlp2.commit.secret' && cp '$work/mlp.commit' '$work/mlp2.commit' && '$veil' prove '$work/mlp.veil' --commitment '$work/mlp2.commit' --segment 0 --input '$work/x.npy' -o '$work/z'"
expect_ok "prove segment 1 with --threads 2, verify" sh -c "'$veil' prove '$work/mlp.veil' --commitment '$work/mlp.commit' --segment 1 --opening '$work/s0.opening' -o '$work/s1t' --threads 2 >/dev/null && '$veil' verify '$work/mlp.commit' '$work/s0' '$work/s1t'"
expect_fail "--threads 0 refused" "threads" "$veil" prove "$work/mlp.veil" --commitment "$work/mlp.commit" --segment 1 --opening "$work/s0.opening" -o "$work/z" --threads 0
expect_fail "segment 1 needs an opening" "opening" "$veil" prove "$work/mlp.veil" --commitment "$work/mlp.commit" --segment 1 --input "$work/x.npy" -o "$work/z"
expect_fail "opening of the wrong segment input" "shape|match" "$veil" prove "$work/mlp.veil" --commitment "$work/mlp.commit" --segment 1 --opening "$work/s1.opening" -o "$work/z"
head -c 100 "$work/mlp.commit" >"$work/trunc.commit"
expect_fail "truncated commitment" "truncated|corrupt" "$veil" verify "$work/trunc.commit" "$work/s0"

# The shipped CNN in three segments (Conv2d, MaxPool2d, residual Add, AvgPool2d, ReduceMean):
# segment 1 has two outputs (the residual skips node 4), segment 2 reads both.
c=$src/models/cnn
expect_ok "import cnn (3 segments)" "$veil" import "$c/cnn.onnx" -c "$c/calibration.npy" -o "$work/cnn.veil" --segments 3
expect_ok "commit cnn" "$veil" commit "$work/cnn.veil" -o "$work/cnn.commit"
expect_ok "cnn: prove segment 0" "$veil" prove "$work/cnn.veil" --commitment "$work/cnn.commit" --segment 0 --images 3:5 -o "$work/c0"
expect_ok "cnn: prove segment 1" "$veil" prove "$work/cnn.veil" --commitment "$work/cnn.commit" --segment 1 --opening "$work/c0.opening" -o "$work/c1"
expect_ok "cnn: prove segment 2 (two inputs from one opening file)" "$veil" prove "$work/cnn.veil" --commitment "$work/cnn.commit" --segment 2 --opening "$work/c1.opening" -o "$work/c2"
expect_ok "cnn: verify chain and opening" "$veil" verify "$work/cnn.commit" "$work/c0" "$work/c1" "$work/c2" --opening "$work/c2.opening"
expect_ok "cnn: proven logits equal veil run" sh -c "'$veil' verify '$work/cnn.commit' '$work/c0' '$work/c1' '$work/c2' --opening '$work/c2.opening' | grep 'opens to' | tr -s ' ' '\n' | tail -n 20 > '$work/cproven' && '$veil' run '$work/cnn.veil' --images 3:5 --output '$work/cy.npy' --raw >/dev/null && /usr/bin/python3 -c \"import numpy as np; a=np.load('$work/cy.npy').reshape(-1).tolist(); b=[int(x) for x in open('$work/cproven').read().split()]; assert a==b, (a,b)\""
expect_fail "cnn: segments out of order" "segment" "$veil" verify "$work/cnn.commit" "$work/c0" "$work/c2" "$work/c1"
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
b = bytearray(open(f"{w}/c2", "rb").read())
for i, pos in enumerate([80, len(b) // 5, len(b) // 2, len(b) - 40]):
    c = bytearray(b); c[pos] ^= 4
    open(f"{w}/cflip{i}", "wb").write(c)
open(f"{w}/ctrunc", "wb").write(b[: len(b) - 7])
PY
for i in 0 1 2 3; do
  expect_fail "cnn: flipped byte $i rejected" "segment 2|corrupt|rejected" "$veil" verify "$work/cnn.commit" "$work/c0" "$work/c1" "$work/cflip$i"
done
expect_fail "cnn: truncated proof" "truncated|corrupt" "$veil" verify "$work/cnn.commit" "$work/ctrunc"
expect_fail "cnn: segment 2 without its second input" "no --opening|input" "$veil" prove "$work/cnn.veil" --commitment "$work/cnn.commit" --segment 2 --opening "$work/c0.opening" -o "$work/z"

# The shipped ViT in three segments (Transpose, Add of the committed position embedding,
# LayerNorm, Linear over tokens, Attention, ReduceMean over tokens).
t=$src/models/vit
expect_ok "import vit (3 segments)" "$veil" import "$t/vit.onnx" -c "$t/calibration.npy" -o "$work/vit.veil" --segments 3
expect_ok "commit vit" "$veil" commit "$work/vit.veil" -o "$work/vit.commit" --threads 2
expect_ok "vit: prove segment 0" "$veil" prove "$work/vit.veil" --commitment "$work/vit.commit" --segment 0 --images 0:1 -o "$work/v0" --threads 2
expect_ok "vit: prove segment 1" "$veil" prove "$work/vit.veil" --commitment "$work/vit.commit" --segment 1 --opening "$work/v0.opening" -o "$work/v1" --threads 2
expect_ok "vit: prove segment 2" "$veil" prove "$work/vit.veil" --commitment "$work/vit.commit" --segment 2 --opening "$work/v1.opening" -o "$work/v2" --threads 2
expect_ok "vit: proven logits equal veil run" sh -c "'$veil' verify '$work/vit.commit' '$work/v0' '$work/v1' '$work/v2' --opening '$work/v2.opening' | grep 'opens to' | tr -s ' ' '\n' | tail -n 10 > '$work/vproven' && '$veil' run '$work/vit.veil' --images 0:1 --output '$work/vy.npy' --raw >/dev/null && /usr/bin/python3 -c \"import numpy as np; a=np.load('$work/vy.npy').reshape(-1).tolist(); b=[int(x) for x in open('$work/vproven').read().split()]; assert a==b, (a,b)\""
expect_fail "vit: segments out of order" "segment" "$veil" verify "$work/vit.commit" "$work/v0" "$work/v2" "$work/v1"
vsize=$(stat -c %s "$work/v1")
for i in 40 $((vsize / 3)) $((vsize - 20)); do
  /usr/bin/python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[2])]^=0x10; open(sys.argv[3],'wb').write(b)" "$work/v1" "$i" "$work/vflip$i"
  expect_fail "vit: flipped byte $i rejected" "segment 1|corrupt|rejected" "$veil" verify "$work/vit.commit" "$work/v0" "$work/vflip$i" "$work/v2"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
