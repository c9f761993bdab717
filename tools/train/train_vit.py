#!/usr/bin/python3
"""Fashion-MNIST tiny ViT.

Conv2d(1,64,k7,s7) patch embedding -> flatten(2).transpose(1,2) [B,16,64] -> + pos_embed ->
2 pre-LN encoder blocks (x += Attn(LN(x)); x += MLP(LN(x))), hand-written 4-head attention
(head dim 16, separate q/k/v Linear(64,64), scores / sqrt(16), softmax, @v, out-proj),
MLP Linear(64,128) -> GELU(erf) -> Linear(128,64) -> final LayerNorm -> mean over tokens ->
Linear(64,10).

Writes models/vit/{vit.onnx, meta.json, calibration.npy}. ONNX opset 17 (LayerNormalization).
"""
import argparse
import math
import time

import torch
import torch.nn as nn

import common

DIM, HEADS, HEAD_DIM, TOKENS, MLP_DIM = 64, 4, 16, 16, 128


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(DIM, DIM)
        self.k = nn.Linear(DIM, DIM)
        self.v = nn.Linear(DIM, DIM)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, x):
        B, T = x.shape[0], x.shape[1]
        q = self.q(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v(x).reshape(B, T, HEADS, HEAD_DIM).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(HEAD_DIM)
        attn = scores.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, T, DIM)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(DIM)
        self.attn = Attention()
        self.ln2 = nn.LayerNorm(DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, MLP_DIM), nn.GELU(), nn.Linear(MLP_DIM, DIM))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        x = x + self.mlp(self.ln2(x))
        return x


class ViT(nn.Module):
    def __init__(self, depth=2):
        super().__init__()
        self.patch = nn.Conv2d(1, DIM, kernel_size=7, stride=7)
        self.pos_embed = nn.Parameter(torch.randn(1, TOKENS, DIM) * 0.02)
        self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)  # [B,16,64]
        x = x + self.pos_embed
        x = self.blocks(x)
        x = self.norm(x)
        return self.head(x.mean(dim=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-flip", action="store_true", help="disable random horizontal flips")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 10k images")
    args = ap.parse_args()
    if args.quick:
        args.epochs = 1
    common.setup(args.seed)
    t0 = time.time()
    xtr, ytr, xte, yte = common.load_tensors(args.quick)
    model = ViT()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != "pos_embed"]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n != "pos_embed")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps = args.epochs * ((xtr.shape[0] + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.1)
    augment = None if args.no_flip else common.hflip_half
    history, train_s = common.train_classifier(
        model, opt, xtr, ytr, xte, yte, args.epochs, args.batch_size, args.seed,
        sched=sched, sched_per_step=True, augment=augment)
    acc, _ = common.evaluate(model, xte, yte)
    common.log(f"final float test accuracy {acc:.4f}")
    common.export_image_model("vit", model, 17, xte, yte, acc, {
        "architecture": "Conv2d(1,64,k7,s7) patches -> [B,16,64] + pos_embed[1,16,64] -> "
                        "2 x pre-LN block {x += Attn(LN(x)); x += MLP(LN(x))}; Attn: separate "
                        "q/k/v Linear(64,64), 4 heads x 16, softmax(q k^T / 4) v, out Linear(64,64);"
                        " MLP: Linear(64,128) -> GELU(erf) -> Linear(128,64) -> LayerNorm(64) -> "
                        "mean over tokens -> Linear(64,10)",
        "training": {
            "command": common.command_line(), "quick": args.quick, "seed": args.seed,
            "epochs": args.epochs, "batch_size": args.batch_size,
            "optimizer": f"AdamW(lr={args.lr}, weight_decay=0.05 on matrices), OneCycleLR per step",
            "augmentation": "none" if args.no_flip else "random horizontal flip (p=0.5)",
            "train_images": int(xtr.shape[0]),
            "train_seconds": round(train_s, 1), "wall_seconds": round(time.time() - t0, 1),
            "threads": 1, "history": history,
        },
    })


if __name__ == "__main__":
    main()
