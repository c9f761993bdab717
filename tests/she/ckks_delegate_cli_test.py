"""The CLI of SHE's non-interactive mode and of the delegate key holder:
1. `veil infer --mode she-ckks` through two `veil node --ckks-model ... --ckks-layers`
   processes prints the classes of the plain polymlp model (8 test images);
2. `veil infer --mode she --key-holder` through a `veil keyholder` process and two node
   processes gives the output digest of `veil run` (shipped MLP, 3 segments)."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
from nodes import NodeProcess, run  # noqa: E402


class Proc:
    """`veil ARGS --insecure --listen 127.0.0.1:0`, stopped by its own pid."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args + ["--insecure", "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("did not start: %r %s" % (line, self.proc.stderr.read()))
        self.address = m.group(1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


veil, src = sys.argv[1], sys.argv[2]
onnx = os.path.join(src, "models", "polymlp", "polymlp.onnx")

# 1. Non-interactive CKKS mode.
a = Proc([veil, "node", "--ckks-model", onnx, "--ckks-layers", "0:2"])
b = Proc([veil, "node", "--ckks-model", onnx, "--ckks-layers", "2:3"])
try:
    route = "0:2=%s,2:3=%s" % (a.address, b.address)
    ckks = json.loads(run([veil, "infer", "--mode", "she-ckks", "--ckks-model", onnx, "--route",
                           route, "--insecure", "--images", "0:8", "--json"]))
    text = run([veil, "infer", "--mode", "she-ckks", "--ckks-model", onnx, "--route", route,
                "--insecure", "--images", "0:2"])
    # A route that does not cover the model, and a missing --insecure, are refused.
    bad = subprocess.run([veil, "infer", "--mode", "she-ckks", "--ckks-model", onnx, "--route",
                          "0:2=%s" % a.address, "--insecure", "--images", "0:1"],
                         capture_output=True, text=True)
    plain_route = subprocess.run([veil, "infer", "--mode", "she-ckks", "--ckks-model", onnx,
                                  "--route", route, "--images", "0:1"], capture_output=True, text=True)
finally:
    logs = [a.stop(), b.stop()]
assert ckks["mode"] == "she-ckks" and ckks["batch"] == 8 and ckks["ciphertexts"] == 2, ckks
assert ckks["predictions"] == ckks["plain_predictions"], ckks
assert ckks["agreement"] == 8 and ckks["max_logit_error"] < 2 ** -16, ckks
assert [h["served_by"] for h in ckks["hops"]] == [a.address, b.address], ckks
assert "Ankle boot" in text and "same class as the plain model: 2/2" in text, text
assert bad.returncode != 0 and "stops at layer 2 of 3" in bad.stderr, bad.stderr
assert plain_route.returncode != 0 and "--insecure" in plain_route.stderr, plain_route.stderr
for log in logs:
    assert "event=she_keys" in log and "scheme=ckks" in log and "event=she_ckks_eval" in log, log
    assert "status=ERROR" not in log, log
print("she-ckks cli: 8/8 classes as the plain model, max |logit error| %.3g, %.0f ms, upload %d B"
      % (ckks["max_logit_error"], ckks["ms"], ckks["input_bytes"]))

# 2. Delegate key holder.
with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "mlp.veil")
    run([veil, "import", os.path.join(src, "models", "mlp", "mlp.onnx"), "-o", model,
         "--segments", "3", "--calibration", os.path.join(src, "models", "mlp", "calibration.npy")])
    key = os.path.join(tmp, "delegate.key")
    nodes = [NodeProcess(veil, model, "0,1"), NodeProcess(veil, model, "2")]
    holder = Proc([veil, "keyholder", "--model", model, "--secret-key", key])
    try:
        assert oct(os.stat(key).st_mode & 0o777) == "0o600", oct(os.stat(key).st_mode)
        route = "seg0=%s,seg1=%s,seg2=%s" % (nodes[0].address, nodes[0].address, nodes[1].address)
        she = json.loads(run([veil, "infer", model, "--mode", "she", "--route", route, "--insecure",
                              "--images", "0:5", "--json", "--key-holder", holder.address]))
        local = json.loads(run([veil, "run", model, "--images", "0:5", "--json"]))
    finally:
        holder_log = holder.stop()
        logs = [n.stop()[1] for n in nodes]
    # A key file readable by others is refused.
    os.chmod(key, 0o644)
    loose = subprocess.run([veil, "keyholder", "--model", model, "--secret-key", key, "--insecure"],
                           capture_output=True, text=True, timeout=60)
assert she["output_digest"] == local["output_digest"], (she, local)
assert she["key_holder"] == holder.address and she["round_trips"] == 3, she
assert {s["served_by"] for s in she["steps"]} == {n.address for n in nodes}, she
assert "event=keyholder_run" in holder_log and "status=OK" in holder_log, holder_log
for log in logs:
    assert "event=she_keys" in log and "event=she_eval" in log and "status=ERROR" not in log, log
assert loose.returncode != 0 and "chmod 600" in loose.stderr, loose.stderr
print("she delegate cli: digest %s = veil run, %d round trips by the delegate, client upload %d B"
      % (she["output_digest"][:16], she["round_trips"], she["input_bytes"]))
