#!/usr/bin/python3
"""Fashion-MNIST CNN with BatchNorm and one residual block.

conv(1->16)+BN+ReLU -> MaxPool2 -> conv(16->32)+BN+ReLU -> MaxPool2 ->
residual[conv(32->32)+BN+ReLU, conv(32->32)+BN, +skip, ReLU] -> AvgPool2 (7x7 -> 3x3, floor) ->
conv(32->64)+BN+ReLU -> GlobalAveragePool -> Flatten -> Linear(64,10). All convs 3x3, pad 1.

Writes models/cnn/{cnn.onnx, meta.json, calibration.npy}. ONNX opset 13. The export keeps
BatchNormalization nodes (inference form, 1 output) unfused: the C++ importer folds BN itself.
"""
import argparse
import time

import torch
import torch.nn as nn

import common


def conv_bn(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)]


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c, c)
        self.conv2, self.bn2 = conv_bn(c, c)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 16), nn.ReLU(), nn.MaxPool2d(2),
            *conv_bn(16, 32), nn.ReLU(), nn.MaxPool2d(2),
            ResidualBlock(32),
            nn.AvgPool2d(kernel_size=2, stride=2, count_include_pad=False),  # no padding: same math, no Pad node
            *conv_bn(32, 64), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten())
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.features(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-flip", action="store_true", help="disable random horizontal flips")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 10k images")
    args = ap.parse_args()
    if args.quick:
        args.epochs = 1
    common.setup(args.seed)
    t0 = time.time()
    xtr, ytr, xte, yte = common.load_tensors(args.quick)
    model = CNN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * ((xtr.shape[0] + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.2)
    augment = None if args.no_flip else common.hflip_half
    history, train_s = common.train_classifier(
        model, opt, xtr, ytr, xte, yte, args.epochs, args.batch_size, args.seed,
        sched=sched, sched_per_step=True, augment=augment)
    acc, _ = common.evaluate(model, xte, yte)
    common.log(f"final float test accuracy {acc:.4f}")
    # Eval-mode export normally folds BN into the preceding Conv. TrainingMode.PRESERVE with
    # the module in eval() keeps BatchNormalization nodes in their inference form
    # (training_mode=0, a single output); verified below.
    path = common.export_image_model("cnn", model, 13, xte, yte, acc, {
        "architecture": "Conv(1,16,3,p1)+BN+ReLU -> MaxPool2 -> Conv(16,32,3,p1)+BN+ReLU -> "
                        "MaxPool2 -> Residual[Conv(32,32,3,p1)+BN+ReLU, Conv(32,32,3,p1)+BN, "
                        "+skip, ReLU] -> AvgPool(k2,s2) 7x7->3x3 -> Conv(32,64,3,p1)+BN+ReLU -> "
                        "GlobalAveragePool -> Flatten -> Linear(64,10)",
        "batchnorm": "exported as unfused BatchNormalization (epsilon 1e-5, inference form)",
        "training": {
            "command": common.command_line(), "quick": args.quick, "seed": args.seed,
            "epochs": args.epochs, "batch_size": args.batch_size,
            "optimizer": f"AdamW(lr={args.lr}, weight_decay=5e-4), OneCycleLR per step",
            "augmentation": "none" if args.no_flip else "random horizontal flip (p=0.5)",
            "train_images": int(xtr.shape[0]),
            "train_seconds": round(train_s, 1),
            "wall_seconds": round(time.time() - t0, 1), "threads": 1, "history": history,
        },
    }, export_kwargs={"training": torch.onnx.TrainingMode.PRESERVE,
                     "do_constant_folding": False})
    import onnx
    m = onnx.load(path)
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    if len(bns) != 5:
        raise RuntimeError(f"expected 5 BatchNormalization nodes, found {len(bns)}")
    for n in bns:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if len(n.output) != 1 or attrs.get("training_mode", 0) != 0:
            raise RuntimeError(f"BatchNormalization not in inference form: {n}")
    common.log("BatchNormalization nodes preserved:", len(bns))


if __name__ == "__main__":
    main()
