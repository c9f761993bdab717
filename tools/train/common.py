"""Shared helpers for veil's training scripts: Fashion-MNIST IDX loading, seeding,
training/evaluation loops, ONNX export + inspection, meta.json and calibration files.

Runs with Debian's python3-torch (1.13) / python3-onnx (1.12) / python3-numpy, i.e.
/usr/bin/python3 (a pyenv python3 earlier on PATH will not see these packages).
"""
import collections
import gzip
import json
import os
import random
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# VEIL_MODELS_DIR redirects the outputs (train_all.sh --quick uses it to spare models/).
MODELS_DIR = os.environ.get("VEIL_MODELS_DIR", os.path.join(REPO_ROOT, "models"))
FMNIST_DIR = os.environ.get("VEIL_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Preprocessing shared with the C++ side: x = (pixel / 255 - MEAN) / STD.
INPUT_MEAN = 0.2860
INPUT_STD = 0.3530
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CALIBRATION_SEED = 20240601
CALIBRATION_COUNT = 256


def setup(seed):
    """Single thread + seeded RNGs + deterministic kernels."""
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def log(*args):
    print(time.strftime("[%H:%M:%S]"), *args, flush=True)


# ---------------------------------------------------------------------------- data
def read_idx(path):
    """Reads a (gzipped) IDX file into a numpy array (big-endian header, uint8 data)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: unsupported IDX header (dtype 0x{dtype_code:02x})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} values, found {arr.size}")
    return arr.reshape(dims)


def load_fashion_mnist(split):
    """Returns (images uint8 [N,28,28], labels int64 [N]) for split 'train' or 'test'."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FMNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], (x/255 - mean) / std."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(INPUT_MEAN)) / np.float32(INPUT_STD)
    return x[:, None, :, :].astype(np.float32)


def load_tensors(quick=False):
    """Normalized train/test tensors. --quick keeps 10k training images (test set is full)."""
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    if quick:
        xtr, ytr = xtr[:10000], ytr[:10000]
    return (torch.from_numpy(normalize(xtr)), torch.from_numpy(ytr),
            torch.from_numpy(normalize(xte)), torch.from_numpy(yte))


def calibration_batch():
    """256 normalized training images chosen with a fixed seed (independent of --quick)."""
    images, _ = load_fashion_mnist("train")
    rng = np.random.default_rng(CALIBRATION_SEED)
    idx = rng.choice(images.shape[0], CALIBRATION_COUNT, replace=False)
    return normalize(images[idx]), idx


# ---------------------------------------------------------------------------- training
@torch.no_grad()
def evaluate(model, x, y, batch_size=1000):
    model.eval()
    correct = 0
    loss = 0.0
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i:i + batch_size])
        loss += F.cross_entropy(logits, y[i:i + batch_size], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / x.shape[0], loss / x.shape[0]


def hflip_half(xb, gen):
    """Horizontally flips a random half of the batch (label-preserving for Fashion-MNIST)."""
    flip = torch.rand(xb.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], xb.flip(3), xb)


def train_classifier(model, opt, xtr, ytr, xte, yte, epochs, batch_size, seed,
                     sched=None, sched_per_step=False, augment=None, label_smoothing=0.0):
    gen = torch.Generator().manual_seed(seed)
    n = xtr.shape[0]
    history = []
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        tot, correct, seen = 0.0, 0, 0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = xtr[idx], ytr[idx]
            if augment is not None:
                xb = augment(xb, gen)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None and sched_per_step:
                sched.step()
            tot += loss.item() * xb.shape[0]
            correct += (logits.argmax(1) == yb).sum().item()
            seen += xb.shape[0]
        if sched is not None and not sched_per_step:
            sched.step()
        acc, test_loss = evaluate(model, xte, yte)
        history.append({"epoch": epoch + 1, "train_loss": round(tot / seen, 4),
                        "train_acc": round(correct / seen, 4),
                        "test_loss": round(test_loss, 4), "test_acc": round(acc, 4)})
        log(f"epoch {epoch + 1}/{epochs} train_loss {tot / seen:.4f} train_acc {correct / seen:.4f}"
            f" test_loss {test_loss:.4f} test_acc {acc:.4f} ({time.time() - t0:.0f}s)")
    return history, time.time() - t0


# ---------------------------------------------------------------------------- ONNX
def op_histogram(onnx_path):
    import onnx
    m = onnx.load(onnx_path)
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def io_signature(onnx_path):
    import onnx
    m = onnx.load(onnx_path)
    init = {i.name for i in m.graph.initializer}

    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        return {"name": v.name, "dtype": onnx.TensorProto.DataType.Name(t.elem_type).lower(),
                "shape": dims}
    return ([desc(v) for v in m.graph.input if v.name not in init],
            [desc(v) for v in m.graph.output])


def check_onnx(onnx_path):
    """onnx.checker with full shape inference; returns the op histogram."""
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    hist = op_histogram(onnx_path)
    n_params = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
    log(f"{onnx_path}: {os.path.getsize(onnx_path)} bytes, "
        f"opset {m.opset_import[0].version}, {len(m.graph.node)} nodes, "
        f"{n_params} initializer values, checker OK")
    log("op histogram:", json.dumps(hist))
    return hist


def ort_run(onnx_path, feeds):
    """Runs the model with ONNX Runtime (the Node binding in third_party/node, if present).

    feeds: {name: numpy array (float32 or int64)}. Returns the first output as numpy,
    or None when Node/onnxruntime-node is unavailable."""
    node_modules = os.path.join(REPO_ROOT, "third_party", "node", "node_modules")
    script = os.path.join(REPO_ROOT, "tools", "ort", "ort_run.js")
    if not os.path.isdir(os.path.join(node_modules, "onnxruntime-node")):
        log("onnxruntime-node not installed; skipping runtime check")
        return None
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"model": os.path.abspath(onnx_path), "out": os.path.join(tmp, "out.bin"),
                "inputs": []}
        for name, arr in feeds.items():
            arr = np.ascontiguousarray(arr)
            path = os.path.join(tmp, name + ".bin")
            arr.tofile(path)
            spec["inputs"].append({"name": name, "dtype": str(arr.dtype),
                                   "shape": list(arr.shape), "file": path})
        spec_path = os.path.join(tmp, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ, NODE_PATH=node_modules, OMP_NUM_THREADS="1")
        try:
            res = subprocess.run(["node", script, spec_path], env=env, capture_output=True,
                                 text=True, timeout=300)
        except FileNotFoundError:
            log("node not found; skipping runtime check")
            return None
        if res.returncode != 0:
            raise RuntimeError("onnxruntime run failed:\n" + res.stderr)
        info = json.loads(res.stdout.strip().splitlines()[-1])
        return np.fromfile(spec["out"], dtype=np.float32).reshape(info["dims"])


def compare_with_ort(onnx_path, torch_out, feeds, tol=1e-3):
    ort_out = ort_run(onnx_path, feeds)
    if ort_out is None:
        return None
    diff = float(np.max(np.abs(ort_out - torch_out)))
    log(f"onnxruntime vs torch: max |diff| = {diff:.3e} on shape {list(ort_out.shape)}")
    if not diff < tol:
        raise RuntimeError(f"ONNX export mismatch: max diff {diff}")
    return diff


# ---------------------------------------------------------------------------- outputs
def blas_library():
    """Which libblas.so.3 Debian's torch resolves to (reference netlib vs OpenBLAS)."""
    return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")


def model_dir(name):
    d = os.path.join(MODELS_DIR, name)
    os.makedirs(d, exist_ok=True)
    return d


def command_line():
    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)
    return " ".join(["/usr/bin/python3", script] + sys.argv[1:])


def write_meta(name, meta):
    path = os.path.join(model_dir(name), "meta.json")
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    log("wrote", path)


def image_meta_common():
    return {
        "preprocessing": {
            "source": "Fashion-MNIST IDX uint8 pixels, [28,28] per image",
            "formula": "x = (pixel / 255 - input_mean) / input_std",
            "layout": "NCHW float32 [batch,1,28,28]",
        },
        "input_mean": INPUT_MEAN,
        "input_std": INPUT_STD,
        "class_names": CLASS_NAMES,
        "calibration": {
            "file": "calibration.npy",
            "shape": [CALIBRATION_COUNT, 1, 28, 28],
            "dtype": "float32",
            "normalized": True,
            "source": "training set, numpy.random.default_rng(%d).choice(60000, %d, replace=False)"
                      % (CALIBRATION_SEED, CALIBRATION_COUNT),
        },
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "blas": blas_library()},
    }


def export_image_model(name, model, opset, xte, yte, test_acc, extra_meta, export_kwargs=None):
    """Exports, checks (onnx.checker + onnxruntime vs torch), writes calibration + meta.json."""
    import onnx
    d = model_dir(name)
    path = os.path.join(d, name + ".onnx")
    model.eval()
    example = xte[:2].clone()
    kwargs = dict(input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                  opset_version=opset, do_constant_folding=True)
    kwargs.update(export_kwargs or {})
    torch.onnx.export(model, example, path, **kwargs)
    hist = check_onnx(path)

    calib, calib_idx = calibration_batch()
    np.save(os.path.join(d, "calibration.npy"), calib)
    log(f"wrote calibration.npy {calib.shape} {calib.dtype}")

    # Runtime check on the first 64 test images + the calibration batch.
    with torch.no_grad():
        probe = torch.cat([xte[:64], torch.from_numpy(calib)])
        ref = model(probe).numpy()
    diff = compare_with_ort(path, ref, {"input": probe.numpy()})
    inputs, outputs = io_signature(path)
    m = onnx.load(path)
    with torch.no_grad():
        first = model(xte[:16])
    meta = {
        "name": name,
        "file": name + ".onnx",
        "file_bytes": os.path.getsize(path),
        "opset": m.opset_import[0].version,
        "inputs": inputs,
        "outputs": outputs,
        "op_histogram": hist,
        "parameters": sum(p.numel() for p in model.parameters()),
        "float_test_accuracy": round(test_acc, 4),
        "test_set": "Fashion-MNIST t10k, all 10000 images",
        "onnxruntime_max_abs_diff_vs_torch": diff,
        "reference": {
            "description": "float model on the first 16 test images",
            "labels": yte[:16].tolist(),
            "predictions": first.argmax(1).tolist(),
            "logits_image0": [round(v, 5) for v in first[0].tolist()],
        },
    }
    meta.update(image_meta_common())
    meta.update(extra_meta)
    write_meta(name, meta)
    return path
