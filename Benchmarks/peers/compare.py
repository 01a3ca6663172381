#!/usr/bin/env python3
"""Peers in the same run as Funnel's index benchmark: tantivy (BM25 top-k) and pyroaring (bitmap
set operations), on the corpus, queries and bitmaps that `funnel-bench-index --export DIR` wrote.

    Benchmarks/peers/run.sh [ITEMS] [USERS]        # builds, exports, runs both sides, prints ratios

Both sides time single-threaded calls; the Python side includes its binding's call overhead (a few
microseconds), which is part of what a Python user of these libraries pays.
"""
import json
import statistics
import sys
import tempfile
import time

import numpy as np
import pyroaring
import tantivy

try:
    import hnswlib
    import hnsw_sweep  # beside this file; needs hnswlib
except ImportError:  # optional peer
    hnswlib = None


def percentile(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * q))]


FLOOR = "zzzznomatch"


def tantivy_queries(directory, queries, rounds=1000):
    schema = tantivy.SchemaBuilder().add_text_field("body", stored=False).add_integer_field("doc", stored=True, fast=True).build()
    index = tantivy.Index(schema, path=tempfile.mkdtemp(prefix="funnel-peer-tantivy-"))
    writer = index.writer(heap_size=500_000_000, num_threads=1)
    start = time.perf_counter()
    with open(f"{directory}/items.jsonl", encoding="utf-8") as f:
        for doc, line in enumerate(f):
            item = json.loads(line)
            body = " ".join([item["title"], item["brand"], item["category"].replace("/", " ")] + item["tags"])
            writer.add_document(tantivy.Document(body=body, doc=doc))
    writer.commit()
    writer.wait_merging_threads()
    build_seconds = time.perf_counter() - start
    index.reload()
    searcher = index.searcher()
    results = {}
    # count=False: only the top k, so tantivy may prune with block-max WAND (counting every match
    # would make it score them all). The "floor" is a term matching nothing: the Python binding's
    # own cost per call, included in every tantivy figure.
    for q in queries + [FLOOR]:
        query = index.parse_query(q, ["body"])
        for k in (10, 100):
            samples = []
            hits = 0
            for _ in range(rounds):
                t = time.perf_counter()
                hits = len(searcher.search(query, k, count=False).hits)
                samples.append((time.perf_counter() - t) * 1e6)
            results[(q, k)] = {"hits": hits, "p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99)}
    return build_seconds, results


def roaring_operations(directory, count=8, rounds=20):
    bitmaps = []
    for i in range(count):
        with open(f"{directory}/bitmap-{i}.roaring", "rb") as f:
            bitmaps.append(pyroaring.BitMap.deserialize(f.read()))
    samples = []
    checksum = 0
    for _ in range(rounds):
        for a in range(count):
            for b in range(count):
                if a == b:
                    continue
                t = time.perf_counter()
                checksum += len(bitmaps[a] & bitmaps[b])
                checksum += len(bitmaps[a] | bitmaps[b])
                checksum += len(bitmaps[a] - bitmaps[b])
                samples.append((time.perf_counter() - t) * 1e6)
    return {"p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99), "checksum": checksum & (2**63 - 1)}


def hnsw_peer(directory, dimension=32, rounds=200):
    """hnswlib with Funnel's parameters (M 16, ef_construction 100, ef 200, k 100), one thread, on the
    same unit vectors and the same kind of queries (Benchmarks/peers/hnsw_sweep.py)."""
    build, [(_, recall, qps)] = hnsw_sweep.sweep(f"{directory}/vectors.f32", dimension, [200], rounds)
    return build, recall, qps


def main():
    directory, funnel_json = sys.argv[1], sys.argv[2]
    funnel = [json.loads(line) for line in open(funnel_json) if line.startswith("{")]
    queries = [q for q in open(f"{directory}/queries.txt").read().split("\n") if q]
    ours_text = {(r["text_query"], r["k"]): r for r in funnel if "text_query" in r}
    ours_bitmaps = next(r for r in funnel if r.get("channel") == "bitmap_and_or_andnot")

    roaring = roaring_operations(directory)
    print(f"bitmap and+or+andnot, 8 keyword bitmaps, every pair: funnel p50 {ours_bitmaps['p50_us']:.1f} µs, "
          f"pyroaring p50 {roaring['p50_us']:.1f} µs, ratio pyroaring/funnel {roaring['p50_us'] / ours_bitmaps['p50_us']:.2f}; "
          f"same results: {roaring['checksum'] == ours_bitmaps['checksum'] & (2**63 - 1)}")

    ours_hnsw = next((r for r in funnel if r.get("channel") == "hnsw_search"), None)
    if hnswlib is not None and ours_hnsw is not None:
        build, recall, qps = hnsw_peer(directory)
        print(f"ANN k=100 ef=200: funnel recall@100 {ours_hnsw['recall_at_100']:.3f} at {ours_hnsw['qps']} queries/s; "
              f"hnswlib recall@100 {recall:.3f} at {qps:.0f} queries/s (build {build:.1f} s); "
              f"funnel/hnswlib throughput ratio {ours_hnsw['qps'] / qps:.2f}")

    build_seconds, theirs = tantivy_queries(directory, queries)
    print(f"tantivy index build: {build_seconds:.1f} s (1 thread, from JSON lines)")
    # Funnel's text recall is block-max pruning (`pruned_*`); the exhaustive loop is its reference.
    for k in (10, 100):
        ratios, ratios99, pruning = [], [], []
        print(f"\nBM25 top-{k} (tantivy through its Python binding, whose floor per call is "
              f"p50 {theirs[(FLOOR, k)]['p50_us']:.1f} µs / p99 {theirs[(FLOOR, k)]['p99_us']:.1f} µs)")
        print(f"{'query':32} {'funnel p50':>11} {'tantivy p50':>12} {'ratio':>6}  {'funnel p99':>11} {'tantivy p99':>12} {'ratio':>6}"
              f"  {'exhaustive p50':>15} {'pruning':>8}")
        for q in queries:
            o, t = ours_text[(q, k)], theirs[(q, k)]
            ratios.append(t["p50_us"] / o["pruned_p50_us"])
            ratios99.append(t["p99_us"] / o["pruned_p99_us"])
            pruning.append(o["p50_us"] / o["pruned_p50_us"])
            print(f"{q:32} {o['pruned_p50_us']:>8.1f} µs {t['p50_us']:>9.1f} µs {ratios[-1]:>6.2f}  {o['pruned_p99_us']:>8.1f} µs "
                  f"{t['p99_us']:>9.1f} µs {ratios99[-1]:>6.2f}  {o['p50_us']:>12.1f} µs {pruning[-1]:>7.2f}x")
        print(f"top-{k}: tantivy/funnel p50 ratio: geometric mean {statistics.geometric_mean(ratios):.2f}, lowest {min(ratios):.2f}; "
              f"p99: geometric mean {statistics.geometric_mean(ratios99):.2f}, lowest {min(ratios99):.2f} (above 1: funnel faster)")
        print(f"top-{k}: pruning against the exhaustive loop, p50 speed-up: geometric mean {statistics.geometric_mean(pruning):.2f}, "
              f"lowest {min(pruning):.2f}; same top {k} on every query: {all(ours_text[(q, k)]['same_top'] for q in queries)}")


if __name__ == "__main__":
    main()
