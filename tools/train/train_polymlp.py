#!/usr/bin/python3
"""Fashion-MNIST MLP with a polynomial activation, for veil's non-interactive CKKS mode:
Flatten -> Linear(784,128) -> a*x^2 + b*x -> Linear(128,10).

a and b are learned scalars (one pair for the hidden layer). The activation costs one
ct x ct multiplication on CKKS ciphertexts, so the whole network has multiplicative depth 3
(Linear, square, Linear): exactly the 3 rescalings of CkksParamSet::kN8192 (docs/he.md).

Writes models/polymlp/{polymlp.onnx, meta.json, calibration.npy}. ONNX opset 13; the
activation exports as Mul(h, h), Mul(a, .), Mul(b, h), Add.
"""
import argparse
import time

import torch
import torch.nn as nn

import common


class PolyAct(nn.Module):
    """a*x^2 + b*x with learned scalars a, b."""

    def __init__(self, a=0.05, b=0.5):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(float(a)))
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x):
        return self.a * (x * x) + self.b * x


class PolyMLP(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, hidden), PolyAct(),
            nn.Linear(hidden, 10))

    def forward(self, x):
        return self.net(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--hidden", type=int, default=128)
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
    model = PolyMLP(args.hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((xtr.shape[0] + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.15)
    history, train_s = common.train_classifier(
        model, opt, xtr, ytr, xte, yte, args.epochs, args.batch_size, args.seed,
        sched=sched, sched_per_step=True)
    acc, _ = common.evaluate(model, xte, yte)
    act = model.net[2]
    common.log(f"final float test accuracy {acc:.4f}; activation a={act.a.item():.6f} "
               f"b={act.b.item():.6f}")
    # Largest |pre-activation| and |logit| on the test set: the CKKS evaluation needs them
    # below the levels' headroom (docs/he.md, "CKKS network").
    with torch.no_grad():
        h = model.net[1](model.net[0](xte))
        logits = model(xte)
    common.export_image_model("polymlp", model, 13, xte, yte, acc, {
        "architecture": f"Flatten -> Linear(784,{args.hidden}) -> a*x^2 + b*x -> "
                        f"Linear({args.hidden},10)",
        "activation": {"form": "a*x^2 + b*x", "a": act.a.item(), "b": act.b.item()},
        "ckks": {
            "multiplicative_depth": 3,
            "parameter_set": "CkksParamSet::kN8192 (3 rescalings)",
            "test_max_abs_preactivation": round(h.abs().max().item(), 4),
            "test_max_abs_logit": round(logits.abs().max().item(), 4),
        },
        "training": {
            "command": common.command_line(), "quick": args.quick, "seed": args.seed,
            "epochs": args.epochs, "batch_size": args.batch_size, "hidden": args.hidden,
            "optimizer": f"AdamW(lr={args.lr}, weight_decay=1e-4), OneCycleLR per step",
            "augmentation": "none", "train_images": int(xtr.shape[0]),
            "train_seconds": round(train_s, 1), "wall_seconds": round(time.time() - t0, 1),
            "threads": 1, "history": history,
        },
    })


if __name__ == "__main__":
    main()
