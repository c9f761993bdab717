"""Consensus through real processes (issue 4): `veil up --nodes 3 --replicas 3` with the
shipped MLP and CNN (mutual TLS, embedded registry), then:
  - `veil infer --mode consensus --receipt R` is bit-identical to `veil run` and names a
    committee of 3 for every middle segment; new nodes pass their trial tasks first;
  - a second request reads the client's reputation book back from the registry (no trials);
  - `veil verify-receipt R --keys SNAPSHOT` accepts the receipt and says what it proves;
    a receipt with a flipped byte, a truncated one, and a snapshot lacking a committee
    member's key are refused with the reason;
  - `veil infer --mode audit --audit-probability 1` is bit-identical too and its receipt
    verifies against the live registry."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodes import run  # noqa: E402

veil, src = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def import_model(tmp, name):
    out = os.path.join(tmp, name + ".veil")
    run([veil, "import", os.path.join(src, "models", name, name + ".onnx"), "-o", out,
         "--calibration", os.path.join(src, "models", name, "calibration.npy")])
    return out


def refused(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode != 0, p.stderr.strip()


with tempfile.TemporaryDirectory() as tmp:
    models = [import_model(tmp, "mlp"), import_model(tmp, "cnn")]
    home = os.path.join(tmp, "net")
    cmd = [veil, "up", "--nodes", "3", "--replicas", "3", "--data-dir", home, "--ttl", "3"]
    for m in models:
        cmd += ["--model", m]
    up = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        line = up.stdout.readline()
        if not line:
            raise RuntimeError("veil up exited: " + up.stderr.read())
        if line.startswith("network up"):
            break
    env = ["--data-dir", home]
    try:
        store = json.load(open(os.path.join(home, "network.json")))["store"]
        receipt = os.path.join(tmp, "cnn.receipt")
        first = subprocess.run([veil, "infer", "--model", "cnn", "--images", "0:16", "--mode",
                                "consensus", "--receipt", receipt, "--json"] + env,
                               capture_output=True, text=True, check=True)
        got = json.loads(first.stdout)
        want = json.loads(run([veil, "run", os.path.join(store, "cnn.veil"), "--images", "0:16",
                               "--json"]))
        check(got["output_digest"] == want["output_digest"],
              "cnn with consensus is bit-identical to veil run")
        check(all(r["served_by"].startswith("consensus committee") and
                  len(r["served_by"].split()) == 5 for r in got["route"]),
              "every middle segment ran on a committee of 3: %s" % [r["served_by"] for r in got["route"]])
        check("event=trial" in first.stderr and "matched=yes" in first.stderr,
              "new nodes passed trial tasks before voting")
        second = subprocess.run([veil, "infer", "--model", "mlp", "--images", "16:24", "--mode",
                                 "consensus", "--json"] + env, capture_output=True, text=True,
                                check=True)
        check("event=trial" not in second.stderr,
              "the reputation book came back from the registry (no new trials)")
        want = json.loads(run([veil, "run", os.path.join(store, "mlp.veil"), "--images", "16:24",
                               "--json"]))
        check(json.loads(second.stdout)["output_digest"] == want["output_digest"],
              "mlp with consensus is bit-identical to veil run")

        snapshot = os.path.join(tmp, "snapshot.json")
        with open(snapshot, "w") as f:
            f.write(run([veil, "models", "--json"] + env))
        report = json.loads(run([veil, "verify-receipt", receipt, "--keys", snapshot, "--json"]))
        check(report["valid"] and report["mode"] == "consensus" and len(report["proves"]) >= 2,
              "verify-receipt accepts the receipt and lists what it proves")
        data = open(receipt, "rb").read()
        bad = os.path.join(tmp, "bad.receipt")
        for what, mutated in [("flipped byte", data[:100] + bytes([data[100] ^ 1]) + data[101:]),
                              ("truncated", data[: len(data) // 2])]:
            open(bad, "wb").write(mutated)
            no, err = refused([veil, "verify-receipt", bad, "--keys", snapshot])
            check(no and "receipt does not verify" in err, "%s receipt refused: %s" % (what, err))
        snap = json.load(open(snapshot))
        dropped = report["segments"][0]["quorum_members"][0]
        snap["nodes"] = [n for n in snap["nodes"] if n["node"] != dropped]
        partial = os.path.join(tmp, "partial.json")
        json.dump(snap, open(partial, "w"))
        no, err = refused([veil, "verify-receipt", receipt, "--keys", partial])
        check(no and dropped in err, "a committee member missing from the snapshot is named: %s" % err)

        audit_receipt = os.path.join(tmp, "audit.receipt")
        got = json.loads(run([veil, "infer", "--model", "cnn", "--images", "0:16", "--mode", "audit",
                              "--audit-probability", "1", "--receipt", audit_receipt, "--json"] + env))
        want = json.loads(run([veil, "run", os.path.join(store, "cnn.veil"), "--images", "0:16",
                               "--json"]))
        check(got["output_digest"] == want["output_digest"], "cnn in audit mode is bit-identical")
        report = json.loads(run([veil, "verify-receipt", audit_receipt, "--json"] + env))
        check(report["valid"] and report["mode"] == "audit",
              "the audit receipt verifies against the live registry")
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=30)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
