#!/usr/bin/env python3
"""Exports a ranking MLP with PyTorch and times ONNX Runtime's single-threaded inference on the same
1000 x 64 batch that Funnel scores (Benchmarks/ranking/run.sh runs both sides).

    onnx_compare.py prepare DIR            # mlp.onnx + mlp_batch.csv into DIR
    onnx_compare.py peers DIR FUNNEL_MLP.json
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch

from timing import timed

FEATURES, ROWS = 64, 1000


def prepare(directory):
    torch.manual_seed(5)
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1), torch.nn.Sigmoid()).eval()
    names = [f"f{i}" for i in range(FEATURES)]
    path = f"{directory}/mlp.onnx"
    torch.onnx.export(model, (torch.randn(8, FEATURES),), path, input_names=["features"], output_names=["score"],
                      dynamic_axes={"features": {0: "batch"}, "score": {0: "batch"}}, opset_version=17, dynamo=False)
    m = onnx.load(path)
    m.metadata_props.add(key="funnel.features", value=",".join(names))
    onnx.save(m, path)
    batch = np.random.default_rng(3).normal(size=(ROWS, FEATURES)).astype(np.float32)
    np.save(f"{directory}/mlp_batch.npy", batch)
    with open(f"{directory}/mlp_batch.csv", "w") as f:
        f.write(",".join(names) + "\n")
        for row in batch:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def peers(directory, funnel_mlp):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(f"{directory}/mlp.onnx", options, providers=["CPUExecutionProvider"])
    batch = np.load(f"{directory}/mlp_batch.npy")
    ort_us = timed(lambda: session.run(None, {"features": batch}), repeats=200, warmup=10)
    ours = json.load(open(funnel_mlp))["median_us"]
    print(f"MLP 64-256(BN)-128-1, 1000 x 64: onnxruntime {ort_us:.0f} µs, funnel {ours:.0f} µs, "
          f"funnel is {ort_us / ours:.2f}x as fast")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        peers(*sys.argv[2:4])
