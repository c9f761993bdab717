"""Proofs through real processes (issue 5 item 4): `veil up --nodes 3` with the shipped MLP
(the owner commits to it and publishes the commitment; hosting nodes get the seed), then:
  - `veil models` shows the published commitment; `veil models --json` carries its
    owner-signed record;
  - `veil infer --mode proof --receipt R` is bit-identical to `veil run` and split mode, and
    every middle segment is proven by a node and verified by the client;
  - `veil verify-receipt R --keys SNAPSHOT` (offline) and `--registry` (live) accept it and
    say what is and is not proven;
  - a receipt with a flipped byte, a truncated one, and a snapshot lacking the commitment
    (or with a commitment record whose signature was tampered with) are refused with the
    reason."""
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


def refused(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode != 0, p.stderr.strip()


with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "mlp.veil")
    run([veil, "import", os.path.join(src, "models", "mlp", "mlp.onnx"), "-o", model,
         "--calibration", os.path.join(src, "models", "mlp", "calibration.npy")])
    home = os.path.join(tmp, "net")
    up = subprocess.Popen([veil, "up", "--nodes", "3", "--data-dir", home, "--ttl", "3",
                           "--model", model], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    deadline = time.time() + 90
    up_lines = []
    while time.time() < deadline:
        line = up.stdout.readline()
        if not line:
            raise RuntimeError("veil up exited: " + up.stderr.read())
        up_lines.append(line)
        if line.startswith("network up"):
            break
    env = ["--data-dir", home]
    try:
        check(any(l.startswith("committed mlp") for l in up_lines),
              "veil up committed the model and published the commitment")
        secret = os.path.join(home, "secrets", "mlp.commit.secret")
        check(os.path.exists(secret) and (os.stat(secret).st_mode & 0o077) == 0,
              "the commitment secret is private (mode 0600)")
        listing = run([veil, "models"] + env)
        check("zk commitment" in listing, "veil models shows the commitment")
        snapshot = os.path.join(tmp, "snapshot.json")
        with open(snapshot, "w") as f:
            f.write(run([veil, "models", "--json"] + env))
        snap = json.load(open(snapshot))
        check("signed_record" in snap["models"][0].get("commitment", {}),
              "the snapshot carries the owner-signed commitment record")

        store = json.load(open(os.path.join(home, "network.json")))["store"]
        receipt = os.path.join(tmp, "mlp.receipt")
        p = subprocess.run([veil, "infer", "--model", "mlp", "--images", "0:8", "--mode", "proof",
                            "--receipt", receipt, "--json"] + env, capture_output=True, text=True)
        check(p.returncode == 0, "proof mode runs: " + p.stderr.strip()[-300:])
        got = json.loads(p.stdout) if p.returncode == 0 else {"route": [], "output_digest": ""}
        want = json.loads(run([veil, "run", os.path.join(store, "mlp.veil"), "--images", "0:8",
                               "--json"]))
        split = json.loads(run([veil, "infer", "--model", "mlp", "--images", "0:8", "--json"] + env))
        check(got["output_digest"] == want["output_digest"] == split["output_digest"],
              "proof mode is bit-identical to veil run and split mode")
        middle = [r for r in got["route"] if r["served_by"] != "local"]
        check(len(middle) == 2 and all("proof verified" in r["served_by"] for r in middle),
              "both middle segments were proven and verified: %s" % got["route"])

        report = json.loads(run([veil, "verify-receipt", receipt, "--keys", snapshot, "--json"]))
        check(report["valid"] and report["mode"] == "proof" and report["proofs"] == 2,
              "verify-receipt accepts the proof receipt offline")
        check(any("segments 1..2 of 4" in l for l in report["proves"]) and
              any("privacy" in l for l in report["does_not_prove"]),
              "it says what is proven and what is not")
        report = json.loads(run([veil, "verify-receipt", receipt, "--json"] + env))
        check(report["valid"], "the receipt verifies against the live registry")

        data = open(receipt, "rb").read()
        bad = os.path.join(tmp, "bad.receipt")
        for what, mutated in [("flipped byte", data[:len(data) // 2] +
                               bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]),
                              ("truncated", data[: len(data) - 1000])]:
            open(bad, "wb").write(mutated)
            no, err = refused([veil, "verify-receipt", bad, "--keys", snapshot])
            check(no and "receipt does not verify" in err, "%s receipt refused: %s" % (what, err))
        lacking = dict(snap)
        lacking["models"] = [{k: v for k, v in m.items() if k != "commitment"}
                             for m in snap["models"]]
        partial = os.path.join(tmp, "nocommit.json")
        json.dump(lacking, open(partial, "w"))
        no, err = refused([veil, "verify-receipt", receipt, "--keys", partial])
        check(no and "no published model commitment" in err,
              "a snapshot lacking the commitment is refused: %s" % err)
        forged = json.loads(json.dumps(snap))
        rec = forged["models"][0]["commitment"]["signed_record"]
        i = len(rec) // 2
        forged["models"][0]["commitment"]["signed_record"] = (
            rec[:i] + ("0" if rec[i] != "0" else "1") + rec[i + 1:])
        json.dump(forged, open(partial, "w"))
        no, err = refused([veil, "verify-receipt", receipt, "--keys", partial])
        check(no and "signed" in err, "a tampered commitment record is refused: %s" % err)
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=30)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
