#!/usr/bin/python3
"""Fashion-MNIST MLP: Flatten -> Linear(784,256) -> ReLU -> Linear(256,128) -> ReLU -> Linear(128,10).

Writes models/mlp/{mlp.onnx, meta.json, calibration.npy}. ONNX opset 13.
"""
import argparse
import time

import torch
import torch.nn as nn

import common


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 10k images")
    args = ap.parse_args()
    if args.quick:
        args.epochs = 1
    common.setup(args.seed)
    t0 = time.time()
    xtr, ytr, xte, yte = common.load_tensors(args.quick)
    model = MLP()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((xtr.shape[0] + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.15)
    history, train_s = common.train_classifier(
        model, opt, xtr, ytr, xte, yte, args.epochs, args.batch_size, args.seed,
        sched=sched, sched_per_step=True)
    acc, _ = common.evaluate(model, xte, yte)
    common.log(f"final float test accuracy {acc:.4f}")
    common.export_image_model("mlp", model, 13, xte, yte, acc, {
        "architecture": "Flatten -> Linear(784,256) -> ReLU -> Linear(256,128) -> ReLU -> "
                        "Linear(128,10)",
        "training": {
            "command": common.command_line(), "quick": args.quick, "seed": args.seed,
            "epochs": args.epochs, "batch_size": args.batch_size,
            "optimizer": f"AdamW(lr={args.lr}, weight_decay=1e-4), OneCycleLR per step",
            "augmentation": "none", "train_images": int(xtr.shape[0]),
            "train_seconds": round(train_s, 1), "wall_seconds": round(time.time() - t0, 1),
            "threads": 1, "history": history,
        },
    })


if __name__ == "__main__":
    main()
