#!/usr/bin/env python3
"""Exports small PyTorch MLPs to ONNX and writes them, their inputs and ONNX Runtime's own
predictions as fixtures for Tests/RankingTests (exactness tests of the ONNX MLP scorer).

    ~/.pyenv/versions/3.11*/bin/python -m venv .venv-onnx
    .venv-onnx/bin/pip install -r Training/requirements-onnx.txt
    .venv-onnx/bin/python Training/make_onnx_fixtures.py Tests/RankingTests/Fixtures

torch 2.13.0+cpu ships as a cp311 wheel (the PyTorch CPU index; /opt/wheels on these machines), hence
Python 3.11 here. The feature names travel in the model's metadata (`funnel.features`, comma
separated), which is how Funnel pairs an ONNX model with its feature schema.

Fixtures:
- mlp_batchnorm.onnx: Linear -> BatchNorm1d -> ReLU -> Linear -> Tanh -> Linear -> Sigmoid, trained
  a few steps so the BatchNorm statistics are not the identity (exported as Gemm and
  BatchNormalization nodes).
- mlp_two_tower.onnx: two graph inputs (user and item features) concatenated, then an explicit
  `x @ W + b` (MatMul and Add nodes), ReLU, Gemm; a regression output.
- unsupported_op.onnx: a graph with an `Erf` node, which Funnel must refuse by name.
"""
import csv
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, TensorProto

ROWS = 200
torch.manual_seed(7)
np.random.seed(7)


class BatchNormMLP(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
            torch.nn.Linear(32, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1), torch.nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class TwoTower(torch.nn.Module):
    def __init__(self, users, items):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(users + items, 24) * 0.3)
        self.b = torch.nn.Parameter(torch.randn(24) * 0.1)
        self.out = torch.nn.Linear(24, 1)

    def forward(self, user, item):
        h = torch.matmul(torch.cat([user, item], dim=1), self.w) + self.b
        return self.out(torch.relu(h))


def export(model, inputs, names, path, features):
    model.eval()
    dynamic = {n: {0: "batch"} for n in names}
    dynamic["score"] = {0: "batch"}
    torch.onnx.export(model, tuple(inputs), path, input_names=names, output_names=["score"],
                      dynamic_axes=dynamic, opset_version=17, dynamo=False)
    m = onnx.load(path)
    m.metadata_props.add(key="funnel.features", value=",".join(features))
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def write_rows(path, x, features, predictions):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + ["prediction"])
        for row, p in zip(x, predictions):
            w.writerow([repr(float(v)) for v in row] + [repr(float(p))])


def main(out):
    os.makedirs(out, exist_ok=True)
    n = 12
    features = [f"f{i}" for i in range(n)]
    mlp = BatchNormMLP(n)
    opt = torch.optim.SGD(mlp.parameters(), lr=0.05)
    x = torch.randn(512, n) * 2 + 0.5
    y = ((x[:, 0] - x[:, 3] + x[:, 7] * x[:, 2]) > 0).float().unsqueeze(1)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy(mlp(x), y).backward()
        opt.step()
    test = (np.random.randn(ROWS, n) * 2 + 0.5).astype(np.float32)
    path = os.path.join(out, "mlp_batchnorm.onnx")
    export(mlp, [torch.from_numpy(test)], ["features"], path, features)
    pred = ort.InferenceSession(path).run(None, {"features": test})[0][:, 0]
    write_rows(os.path.join(out, "mlp_batchnorm.csv"), test, features, pred)

    users, items = 5, 7
    tower = TwoTower(users, items)
    names = [f"user_{i}" for i in range(users)] + [f"item_{i}" for i in range(items)]
    u = np.random.randn(ROWS, users).astype(np.float32)
    v = np.random.randn(ROWS, items).astype(np.float32)
    path = os.path.join(out, "mlp_two_tower.onnx")
    export(tower, [torch.from_numpy(u), torch.from_numpy(v)], ["user", "item"], path, names)
    pred = ort.InferenceSession(path).run(None, {"user": u, "item": v})[0][:, 0]
    write_rows(os.path.join(out, "mlp_two_tower.csv"), np.concatenate([u, v], axis=1), names, pred)

    node = helper.make_node("Erf", ["features"], ["score"])
    graph = helper.make_graph([node], "unsupported",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key="funnel.features", value="f0")
    onnx.save(model, os.path.join(out, "unsupported_op.onnx"))
    for name in sorted(os.listdir(out)):
        if name.endswith(".onnx"):
            ops = sorted({n.op_type for n in onnx.load(os.path.join(out, name)).graph.node})
            print(name, ops)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/RankingTests/Fixtures")
