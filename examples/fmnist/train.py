#!/usr/bin/env python3
"""Train octet's demo model: a small CNN on Fashion-MNIST, exported to ONNX.

Development-time only (octet never runs Python). Needs Debian's python3-torch, python3-numpy and
dataset-fashion-mnist. Deterministic: fixed seed, single thread.

    /usr/bin/python3 examples/fmnist/train.py            # writes examples/fmnist/fmnist_small.onnx
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


class Net(nn.Module):
    """Conv-BN-ReLU x2 with pooling, then two Linear layers: the layer types static int8 must handle."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    xtr = torch.from_numpy(idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255)
    ytr = torch.from_numpy(idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255)
    yte = torch.from_numpy(idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    epochs = int(os.environ.get("EPOCHS", "3"))
    g = torch.Generator().manual_seed(0)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), 128):
            j = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xtr[j]), ytr[j])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {ep + 1}: test accuracy {acc:.4f}", flush=True)
    out = os.path.join(HERE, "fmnist_small.onnx")
    # Export keeps BatchNormalization as its own node (training=TrainingMode.PRESERVE is not needed in
    # eval; do_constant_folding=False keeps BN so octet's Conv+BN folding has work to do).
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.EVAL)
    print(f"wrote {out} (float test accuracy {acc:.4f})")


if __name__ == "__main__":
    sys.exit(main())
