"""`veil infer --mode she` through two `veil node` processes gives the output digest of
`veil run` on the shipped MLP (imported into 3 segments; segments 0, 1 on one node, 2 on another)."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
from nodes import NodeProcess, run  # noqa: E402

veil, src = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "mlp.veil")
    run([veil, "import", os.path.join(src, "models", "mlp", "mlp.onnx"), "-o", model,
         "--segments", "3", "--calibration", os.path.join(src, "models", "mlp", "calibration.npy")])
    nodes = [NodeProcess(veil, model, "0,1"), NodeProcess(veil, model, "2")]
    try:
        route = "seg0=%s,seg1=%s,seg2=%s" % (nodes[0].address, nodes[0].address, nodes[1].address)
        she = json.loads(run([veil, "infer", model, "--mode", "she", "--route", route,
                              "--insecure", "--images", "0:5", "--json"]))
        local = json.loads(run([veil, "run", model, "--images", "0:5", "--json"]))
        # Without --insecure a plaintext route is refused.
        r = __import__("subprocess").run([veil, "infer", model, "--mode", "she", "--route", route,
                                          "--images", "0:1"], capture_output=True, text=True)
    finally:
        logs = [n.stop()[1] for n in nodes]
    assert she["output_digest"] == local["output_digest"], (she, local)
    assert she["mode"] == "she" and she["round_trips"] == 3, she
    served = {s["served_by"] for s in she["steps"]}
    assert served == {n.address for n in nodes}, served
    assert she["max_request_bytes"] <= 2 << 20, she["max_request_bytes"]
    assert r.returncode != 0 and "--insecure" in r.stderr, r.stderr
    for log in logs:
        assert "event=she_keys" in log and "event=she_eval" in log, log
        assert "status=ERROR" not in log, log
    print("she cli: digest %s, %d round trips, upload %d B, %.0f ms" % (
        she["output_digest"][:16], she["round_trips"], she["upload_bytes"], she["ms"]))
