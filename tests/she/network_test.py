"""`veil infer --mode she --model mlp` through a local network (`veil up --nodes 2`:
embedded registry, identity-bound mutual TLS): the SHE service is found on the registered
nodes' Node port, and the output digest equals `veil run`'s."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
from nodes import run  # noqa: E402

veil, src = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "mlp.veil")
    run([veil, "import", os.path.join(src, "models", "mlp", "mlp.onnx"), "-o", model,
         "--calibration", os.path.join(src, "models", "mlp", "calibration.npy")])
    home = os.path.join(tmp, "net")
    up = subprocess.Popen([veil, "up", "--nodes", "2", "--replicas", "1", "--data-dir", home,
                           "--model", model], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, lines = time.time() + 90, []
        while time.time() < deadline:
            line = up.stdout.readline()
            if not line:
                raise RuntimeError("veil up exited: %s %s" % ("".join(lines), up.stderr.read()))
            lines.append(line)
            if line.startswith("network up"):
                break
        she = json.loads(run([veil, "infer", "--model", "mlp", "--mode", "she", "--images", "0:3",
                              "--json", "--data-dir", home]))
        local = json.loads(run([veil, "run", model, "--images", "0:3", "--json"]))
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=30)
    assert she["output_digest"] == local["output_digest"], (she, local)
    nodes = {s["served_by"] for s in she["steps"]}
    assert len(she["steps"]) >= 1 and len(nodes) >= 1, she
    print("she network: digest %s, %d encrypted layer(s) on %s" % (
        she["output_digest"][:16], len(she["steps"]), sorted(nodes)))
