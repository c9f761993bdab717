#!/usr/bin/python3
"""Byte-level causal transformer trained on the King James Bible (Debian bible-kjv).

tokens int64 [B,T] (bytes 0..255), positions int64 [B,T] (0..127) -> logits float32 [B,T,256].
tok_emb Embedding(256,128) + pos_emb Embedding(128,128) -> 3 pre-norm blocks
{x += Attn(RMSNorm(x)); x += MLP(RMSNorm(x))} -> RMSNorm -> Linear(128,256).
RMSNorm is hand-written (Pow, ReduceMean, Add, Sqrt, Div, Mul); attention has 4 heads of 32,
separate q/k/v Linear(128,128), causal mask from a registered tril buffer via masked_fill
(exports Where); MLP Linear(128,512) -> GELU(erf) -> Linear(512,128).

The text is regenerated from the Debian package (`bible -f Gen1:1-Rev22:21`, verse
references stripped, one verse per line); the last 5% is held out for validation.
Writes models/textgen/{textgen.onnx, meta.json, calibration_tokens.npy,
calibration_positions.npy}. ONNX opset 17, dynamic batch and seq axes.
"""
import argparse
import hashlib
import math
import re
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common

VOCAB, DIM, HEADS, HEAD_DIM, CTX, MLP_DIM, DEPTH = 256, 128, 4, 32, 128, 512, 3
PROMPT = "In the beginning"


def kjv_text():
    """The whole KJV as ASCII bytes, one verse per line, without the verse references."""
    try:
        raw = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True,
                             capture_output=True).stdout
    except FileNotFoundError:
        raise SystemExit("the `bible` command is missing: apt-get install bible-kjv")
    lines = raw.decode("ascii").splitlines()
    ref = re.compile(r"^\S+?\d+:\d+ ")
    verses = []
    for line in lines:
        m = ref.match(line)
        if not m:
            raise ValueError(f"unexpected line from bible: {line[:60]!r}")
        verses.append(line[m.end():].strip())
    return ("\n".join(verses) + "\n").encode("ascii")


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class CausalAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(DIM, DIM)
        self.k = nn.Linear(DIM, DIM)
        self.v = nn.Linear(DIM, DIM)
        self.proj = nn.Linear(DIM, DIM)
        self.register_buffer("mask", torch.tril(torch.ones(CTX, CTX)).bool(), persistent=False)

    def forward(self, x):
        B, T = x.shape[0], x.shape[1]
        q = self.q(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(HEAD_DIM)
        scores = scores.masked_fill(~self.mask[:T, :T], float("-inf"))
        attn = scores.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, T, DIM)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = RMSNorm(DIM)
        self.attn = CausalAttention()
        self.norm2 = RMSNorm(DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, MLP_DIM), nn.GELU(), nn.Linear(MLP_DIM, DIM))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class TextGen(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, DIM)
        self.pos_emb = nn.Embedding(CTX, DIM)
        self.blocks = nn.Sequential(*[Block() for _ in range(DEPTH)])
        self.norm = RMSNorm(DIM)
        self.head = nn.Linear(DIM, VOCAB)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2 style scaled residual projections
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * DEPTH))

    @staticmethod
    def _init(mod):
        if isinstance(mod, (nn.Linear, nn.Embedding)):
            nn.init.normal_(mod.weight, std=0.02)
        if isinstance(mod, nn.Linear) and mod.bias is not None:
            nn.init.zeros_(mod.bias)

    def forward(self, tokens, positions):
        x = self.tok_emb(tokens) + self.pos_emb(positions)
        x = self.blocks(x)
        return self.head(self.norm(x))


def batch_from(data, starts, length):
    idx = starts[:, None] + torch.arange(length + 1)[None, :]
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def eval_bpb(model, data, n_windows, seed, batch=32):
    """Mean next-byte cross-entropy in bits over n_windows fixed random 128-byte windows."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, data.numel() - CTX - 1, (n_windows,), generator=gen)
    pos = torch.arange(CTX)[None, :]
    tot = 0.0
    for i in range(0, n_windows, batch):
        x, y = batch_from(data, starts[i:i + batch], CTX)
        logits = model(x, pos.expand_as(x))
        tot += F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1), reduction="sum").item()
    model.train()
    return tot / (n_windows * CTX) / math.log(2)


@torch.no_grad()
def greedy(model, prompt, n_new):
    model.eval()
    toks = list(prompt.encode("ascii"))
    for _ in range(n_new):
        ctx = torch.tensor([toks[-CTX:]], dtype=torch.int64)
        pos = torch.arange(ctx.shape[1])[None, :]
        toks.append(int(model(ctx, pos)[0, -1].argmax()))
    return bytes(toks).decode("ascii", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-windows", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smoke run: 150 steps")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.warmup, args.eval_every, args.eval_windows = 150, 20, 75, 64
    common.setup(args.seed)
    t0 = time.time()

    text = kjv_text()
    data = torch.from_numpy(np.frombuffer(text, dtype=np.uint8).astype(np.int64))
    split = int(len(text) * 0.95)
    train, val = data[:split], data[split:]
    common.log(f"KJV text: {len(text)} bytes (sha256 {hashlib.sha256(text).hexdigest()[:16]}), "
               f"train {train.numel()}, val {val.numel()}")

    model = TextGen()
    n_params = sum(p.numel() for p in model.parameters())
    common.log(f"parameters: {n_params}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    def lr_at(step):
        if step < args.warmup:
            return (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

    gen = torch.Generator().manual_seed(args.seed)
    pos = torch.arange(CTX)[None, :].expand(args.batch_size, CTX)
    history = []
    model.train()
    t_train = time.time()
    running = 0.0
    for step in range(1, args.steps + 1):
        starts = torch.randint(0, train.numel() - CTX - 1, (args.batch_size,), generator=gen)
        x, y = batch_from(train, starts, CTX)
        loss = F.cross_entropy(model(x, pos).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running += loss.item()
        if step % 50 == 0:
            common.log(f"step {step}/{args.steps} loss {running / 50 / math.log(2):.3f} bpb "
                       f"lr {sched.get_last_lr()[0]:.2e} ({time.time() - t_train:.0f}s)")
            running = 0.0
        if step % args.eval_every == 0 or step == args.steps:
            tr = eval_bpb(model, train, args.eval_windows, 1001)
            va = eval_bpb(model, val, args.eval_windows, 1002)
            history.append({"step": step, "train_bpb": round(tr, 4), "val_bpb": round(va, 4),
                            "seconds": round(time.time() - t_train, 1)})
            common.log(f"eval step {step}: train {tr:.4f} bpb, val {va:.4f} bpb")
    train_s = time.time() - t_train
    model.eval()
    sample = greedy(model, PROMPT, 200)
    common.log("greedy sample:", repr(sample))

    # ---- export
    d = common.model_dir("textgen")
    path = f"{d}/textgen.onnx"
    ex_tok = train[:2 * 64].reshape(2, 64).clone()
    ex_pos = torch.arange(64)[None, :].expand(2, 64).clone()
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(model, (ex_tok, ex_pos), path, input_names=["tokens", "positions"],
                      output_names=["logits"], opset_version=17, do_constant_folding=True,
                      dynamic_axes={"tokens": axes, "positions": axes, "logits": axes})
    hist = common.check_onnx(path)

    rng = np.random.default_rng(common.CALIBRATION_SEED)
    starts = rng.integers(0, train.numel() - 64, size=32)
    calib_tok = np.stack([train[s:s + 64].numpy() for s in starts]).astype(np.int64)
    calib_pos = np.tile(np.arange(64, dtype=np.int64), (32, 1))
    np.save(f"{d}/calibration_tokens.npy", calib_tok)
    np.save(f"{d}/calibration_positions.npy", calib_pos)
    common.log(f"wrote calibration_tokens.npy {calib_tok.shape}, calibration_positions.npy")

    # Runtime checks at two sequence lengths (the exported graph has dynamic batch and seq).
    diffs = {}
    with torch.no_grad():
        for T in (64, 128, 7):
            tok = calib_tok[:4, :min(T, 64)] if T <= 64 else \
                np.stack([train[s:s + T].numpy() for s in starts[:4]]).astype(np.int64)
            p = np.tile(np.arange(tok.shape[1], dtype=np.int64), (tok.shape[0], 1))
            ref = model(torch.from_numpy(tok), torch.from_numpy(p)).numpy()
            diffs[str(tok.shape[1])] = common.compare_with_ort(
                path, ref, {"tokens": tok, "positions": p})
    inputs, outputs = common.io_signature(path)
    final = history[-1]
    with torch.no_grad():
        ref_logits = model(torch.from_numpy(calib_tok[:1]), torch.from_numpy(calib_pos[:1]))
    meta = {
        "name": "textgen",
        "file": "textgen.onnx",
        "file_bytes": __import__("os").path.getsize(path),
        "opset": 17,
        "inputs": inputs,
        "outputs": outputs,
        "op_histogram": hist,
        "parameters": n_params,
        "architecture": "tok_emb Embedding(256,128) + pos_emb Embedding(128,128)[positions] -> "
                        "3 x {x += Attn(RMSNorm(x)); x += MLP(RMSNorm(x))} -> RMSNorm -> "
                        "Linear(128,256). RMSNorm: x / sqrt(mean(x^2) + 1e-5) * w. Attn: 4 heads "
                        "x 32, separate q/k/v Linear(128,128), scores / sqrt(32), causal "
                        "masked_fill(-inf) from tril buffer, softmax, @v, out Linear(128,128). "
                        "MLP: Linear(128,512) -> GELU(erf) -> Linear(512,128).",
        "context": CTX,
        "vocab": "raw bytes 0..255 (text is ASCII)",
        "positions": "positions[b,t] indexes pos_emb; use 0..T-1 for a window of T<=128 bytes",
        "train_bpb": final["train_bpb"],
        "val_bpb": final["val_bpb"],
        "bpb_note": "mean next-byte cross-entropy in bits over %d fixed random 128-byte windows"
                    % args.eval_windows,
        "greedy_sample": {"prompt": PROMPT, "new_bytes": 200, "text": sample},
        "calibration": {
            "tokens": "calibration_tokens.npy", "positions": "calibration_positions.npy",
            "shape": [32, 64], "dtype": "int64",
            "source": "64-byte windows of the training text at "
                      "numpy.random.default_rng(%d).integers(0, len(train)-64, 32)"
                      % common.CALIBRATION_SEED,
        },
        "onnxruntime_max_abs_diff_vs_torch": diffs,
        "reference": {"description": "float logits for calibration row 0, last position, first 8",
                      "logits": [round(v, 5) for v in ref_logits[0, -1, :8].tolist()]},
        "data": {
            "source": "Debian bible-kjv: `bible -f Gen1:1-Rev22:21`, verse references stripped, "
                      "one verse per line",
            "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest(),
            "train_bytes": int(train.numel()), "val_bytes": int(val.numel()),
            "split": "first 95% train, last 5% validation",
        },
        "training": {
            "command": common.command_line(), "quick": args.quick, "seed": args.seed,
            "steps": args.steps, "batch_size": args.batch_size, "window": CTX,
            "tokens_seen": args.steps * args.batch_size * CTX,
            "optimizer": f"AdamW(lr={args.lr}, betas=(0.9,0.95), weight_decay=0.1 on matrices), "
                         f"linear warmup {args.warmup} steps then cosine to 10%, grad clip 1.0",
            "train_seconds": round(train_s, 1), "wall_seconds": round(time.time() - t0, 1),
            "threads": 1, "history": history,
        },
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "blas": common.blas_library()},
    }
    common.write_meta("textgen", meta)


if __name__ == "__main__":
    main()
