#!/usr/bin/env python3
"""hnswlib 0.8 on the vectors Funnel indexes (raw f32 from `funnel-bench-index --export DIR`), with Funnel's
build parameters (M 16, ef_construction 100), one thread: build seconds, then per ef recall@100 against
exact search and queries per second. The queries (an item's vector plus uniform noise of 0.1,
normalised) are written beside the vectors as queries.f32, so `funnel-bench-index --ann ... --query-file`
answers the same ones (Benchmarks/peers/ann.sh runs both, alternating).

    hnsw_sweep.py VECTORS.f32 DIMENSION [EFS=100,150,200,300] [QUERIES=1000]
"""
import os
import sys
import time

import hnswlib
import numpy as np


def sweep(path, dim, efs, count=1000):
    """Builds the index over the vectors at `path`; returns (build seconds, [(ef, recall@100, queries/s)])."""
    vectors = np.fromfile(path, dtype=np.float32).reshape(-1, dim)
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=len(vectors), M=16, ef_construction=100, random_seed=1)
    index.set_num_threads(1)
    start = time.perf_counter()
    index.add_items(vectors, num_threads=1)
    build = time.perf_counter() - start
    rng = np.random.default_rng(17)
    queries = vectors[rng.integers(0, len(vectors), count)] + rng.uniform(-0.1, 0.1, (count, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    queries.astype(np.float32).tofile(os.path.join(os.path.dirname(path), "queries.f32"))
    exact = [set(np.argpartition(-(vectors @ q), 100)[:100]) for q in queries]
    results = []
    for ef in efs:
        index.set_ef(ef)
        for q in queries[:50]:
            index.knn_query(q, k=100, num_threads=1)
        start = time.perf_counter()
        labels = [index.knn_query(q, k=100, num_threads=1)[0][0] for q in queries]
        qps = len(queries) / (time.perf_counter() - start)
        recall = sum(len(e.intersection(l)) for e, l in zip(exact, labels)) / (len(queries) * 100)
        results.append((ef, recall, qps))
    return build, results


def main():
    efs = [int(e) for e in (sys.argv[3] if len(sys.argv) > 3 else "100,150,200,300").split(",")]
    build, results = sweep(sys.argv[1], int(sys.argv[2]), efs, int(sys.argv[4]) if len(sys.argv) > 4 else 1000)
    print(f"hnswlib build {build:.2f} s")
    for ef, recall, qps in results:
        print(f"hnswlib ef {ef}: recall@100 {recall:.3f}, {qps:.0f} queries/s")


if __name__ == "__main__":
    main()
