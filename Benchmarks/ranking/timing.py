"""The timing loop shared by compare.py (XGBoost, LightGBM) and onnx_compare.py (ONNX Runtime), so
every peer is measured the same way: warm-up calls, then the median of `repeats` timed calls, in µs."""
import time


def timed(fn, repeats=50, warmup=5):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    samples.sort()
    return samples[len(samples) // 2]
