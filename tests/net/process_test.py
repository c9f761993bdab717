"""Split inference through real `veil node` processes on loopback: `veil infer` gives
the same outputs as `veil run` on one machine for every shipped model (one node process
per middle segment: 3 for cnn/vit/textgen, 2 for the 4-node MLP; the client keeps the
first and last). textgen: one forward pass over a prompt, against `veil infer --local`, and generation with
per-node KV-cache sessions, against `veil generate` in one process. Standalone nodes are
plaintext (--insecure); tests/net/network_test.py covers the authenticated network."""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nodes import NodeProcess, run  # noqa: E402

veil, src = sys.argv[1], sys.argv[2]
models = os.path.join(src, "models")
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for name, segments in [("mlp", 4), ("cnn", 5), ("vit", 5), ("textgen", 5)]:
        model = os.path.join(tmp, name + ".veil")
        cmd = [veil, "import", os.path.join(models, name, name + ".onnx"), "-o", model, "--segments", str(segments)]
        if name == "textgen":
            cmd += ["--calibration", os.path.join(models, name, "calibration_tokens.npy"),
                    "--calibration", os.path.join(models, name, "calibration_positions.npy")]
        else:
            cmd += ["--calibration", os.path.join(models, name, "calibration.npy")]
        run(cmd)
        middle = list(range(1, segments - 1))
        # Three processes (or as many as there are middle segments), one segment each.
        nodes = [NodeProcess(veil, model, str(s)) for s in middle]
        try:
            route = ",".join("seg%d=%s" % (s, n.address) for s, n in zip(middle, nodes))
            if name == "textgen":
                # One forward pass over a prompt, against the whole model in one process
                # (`veil run` takes one input); generation is checked below.
                src_args = ["--prompt", "In the beginning God created"]
                reference = [veil, "infer", model, "--local", "--json"] + src_args
            else:
                src_args = ["--images", "0:16"]
                reference = [veil, "run", model, "--json"] + src_args
            infer = json.loads(run([veil, "infer", model, "--route", route, "--insecure", "--json"] + src_args))
            local = json.loads(run(reference))
            ok = infer["output_digest"] == local["output_digest"]
            served = [r["served_by"] for r in infer["route"]]
            print("%-8s %s  route %s" % (name, "identical" if ok else "DIFFERENT", served))
            assert served[0] == "local" and served[-1] == "local"
            assert served[1:-1] == [n.address for n in nodes]
            if not ok:
                failures += 1
            if name == "textgen":
                prompt = ["--prompt", "In the beginning God created", "-n", "40", "--json"]
                split = json.loads(run([veil, "generate", model, "--route", route, "--insecure"] + prompt))
                alone = json.loads(run([veil, "generate", model] + prompt))
                same = split["text"] == alone["text"]
                print("textgen  generation across nodes %s: %r" % ("identical" if same else "DIFFERENT", split["text"]))
                if not same:
                    failures += 1
        finally:
            for i, n in enumerate(nodes):
                code, log = n.stop(signal.SIGINT if i % 2 else signal.SIGTERM)
                requests = [l for l in log.splitlines() if "request_id=" in l]
                print("  node %s exit %d, %d request log line(s)" % (n.address, code, len(requests)))
                if code != 0:
                    failures += 1

    # Bad command lines fail cleanly with a message, without serving.
    for segs in ["0,9", "x", "1,1"]:
        r = subprocess.run([veil, "node", "--model", os.path.join(tmp, "mlp.veil"), "--segments", segs,
                            "--insecure"],
                           capture_output=True, text=True, timeout=60)
        print("veil node --segments %-4s -> exit %d: %s" % (segs, r.returncode, r.stderr.strip()))
        if r.returncode != 1 or "veil: error:" not in r.stderr:
            failures += 1
    r = subprocess.run([veil, "infer", os.path.join(tmp, "mlp.veil"), "--route", "seg0=127.0.0.1:1",
                        "--insecure", "--images", "0:2"], capture_output=True, text=True, timeout=60)
    print("veil infer --route seg0=... -> exit %d: %s" % (r.returncode, r.stderr.strip()))
    if r.returncode != 1:
        failures += 1
sys.exit(1 if failures else 0)
