"""Search latency at scale, Funnel against tantivy in the same run on the same catalog and queries.

The catalog is `funnel generate demo` (realistic titles over a small vocabulary, brands, a
three-level category tree, prices). Queries are seeded: 1-2 words of a random title ("search"),
the same with one edit in the longest word of 5+ letters ("fuzzy"), and the first 1-4 letters of
a title word ("suggest").

- search with facets: Funnel POST /v1/search {query, count 20, facets [brand, category, price]}
  (every word required, facets over every match, price bands from the matches); tantivy 0.27 (its
  Python package) parses the query with `en_stem` and conjunction by default, takes the top 20 and
  aggregates terms of brand and of each category level and price ranges at fixed edges.
- fuzzy search: Funnel the same without facets (typo tolerance is always on); tantivy a fuzzy term
  query per word on an unstemmed field (distance 1 for 4-7 letters, 2 from 8, transposition one
  edit, all words required), top 20.
- suggest: Funnel POST /v1/suggest {prefix, count 8}; tantivy `terms_with_prefix` on the title
  field, top 8 by document count (its nearest equivalent: catalog terms, not phrases or queries).

Funnel's figures are the engine's own time per answer (the `total` stage of `debug`) and the HTTP
round trip from this client; tantivy's are the time of its Python call (in process, no network).
A warm-up round (facet columns are built on first use) is followed by `ROUNDS` rounds, each with
queries of its own, so no search is answered from the engine's query cache.

Usage: latency.py FUNNEL_BINARY GENERATIONS_DIR CATALOG_JSONL [QUERIES=200] [ROUNDS=3]
"""
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.request

import tantivy

from known_item import free_port, typo  # the same seeded typo generator as the known-item benchmark

WORD = re.compile(r"[a-z]+")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def queries(items, n, rng):
    search, fuzzy, suggest = [], [], []
    while len(search) < n:
        words = [w for w in WORD.findall(rng.choice(items)["title"].lower()) if len(w) > 2]
        if len(words) < 2:
            continue
        q = rng.sample(words, rng.choice([1, 2]))
        search.append(" ".join(q))
        longest = max(q, key=len)
        if len(longest) >= 5:
            fuzzy.append(" ".join(typo(w, rng) if w == longest else w for w in q))
        suggest.append(rng.choice(words)[:rng.choice([1, 2, 3, 4])])
    return search, fuzzy, suggest


def post(connection, path, body):
    """POST on one kept-alive connection (as a storefront backend's client pool would)."""
    start = time.perf_counter()
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    return answer, (time.perf_counter() - start) * 1e6


def engine_micros(answer, stages=("total",)):
    return sum(t["micros"] for t in answer["debug"]["timings"] if t["stage"] in stages)


# The stages that find and count the matches (recall holds the search stage: words, matches, facets;
# what tantivy's call does); the rest is the user's
# context, the model's ranking and the answer.
RETRIEVAL = ("recall", "filter")


def funnel_run(binary, gens, search, fuzzy, suggest, rounds):
    port, http_port = free_port(), free_port()
    log = open(os.path.join(tempfile.gettempdir(), "funnel-search-latency.log"), "w")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--http-port", str(http_port), "--admin-port=-1",
                               "--dashboard-port=-1", "--index", gens], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=1)
                break
            except Exception:  # noqa: BLE001 - starting
                time.sleep(0.1)
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        out = {"search": ([], [], []), "fuzzy": ([], [], []), "suggest": ([], [], [])}
        totals = []
        for r in range(rounds + 1):
            for q in search[r]:
                answer, rtt = post(connection, "/v1/search", {"query": q, "count": 20, "facets": ["brand", "category", "price"],
                                                              "debug": True})
                if r:
                    out["search"][0].append(engine_micros(answer))
                    out["search"][1].append(engine_micros(answer, RETRIEVAL))
                    out["search"][2].append(rtt)
                    totals.append(answer["total_matches"])
            for q in fuzzy[r]:
                answer, rtt = post(connection, "/v1/search", {"query": q, "count": 20, "debug": True})
                if r:
                    out["fuzzy"][0].append(engine_micros(answer))
                    out["fuzzy"][1].append(engine_micros(answer, RETRIEVAL))
                    out["fuzzy"][2].append(rtt)
            for q in suggest[r]:
                _, rtt = post(connection, "/v1/suggest", {"prefix": q, "count": 8})
                if r:
                    out["suggest"][2].append(rtt)
        # Suggest answers carry no timings: its engine time is the server's histogram (mean, and the
        # bucket holding the 99th percentile).
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10).read().decode()
        buckets = [(float(line.split('le="')[1].split('"')[0]), float(line.split()[-1]))
                   for line in metrics.splitlines() if line.startswith("funnel_suggest_duration_seconds_bucket")]
        value = lambda name: next(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name + " "))
        count = value("funnel_suggest_duration_seconds_count")
        p99_bound = next(le for le, n in sorted(buckets) if n >= 0.99 * count)
        out["suggest_engine"] = (value("funnel_suggest_duration_seconds_sum") / count * 1e6, p99_bound * 1e6)
        return out, statistics.median(totals)
    finally:
        server.terminate()
        server.wait(timeout=30)


def tantivy_run(items, search, fuzzy, suggest, rounds):
    b = tantivy.SchemaBuilder()
    b.add_text_field("stem", stored=False, tokenizer_name="en_stem")
    b.add_text_field("raw", stored=False, tokenizer_name="default")
    b.add_text_field("title", stored=False, tokenizer_name="default")
    for f in ("brand", "c1", "c2", "c3"):
        b.add_text_field(f, stored=False, tokenizer_name="raw", fast=True)
    b.add_float_field("price", stored=False, fast=True, indexed=True)
    schema = b.build()
    index = tantivy.Index(schema, path=tempfile.mkdtemp(prefix="funnel-search-tantivy-"))
    writer = index.writer(heap_size=500_000_000, num_threads=1)
    start = time.perf_counter()
    for d in items:
        path = d["category"].split("/")
        text = " ".join([d["title"], d["brand"], " ".join(path), " ".join(d.get("tags", []))])
        writer.add_document(tantivy.Document(stem=text, raw=text, title=d["title"], brand=d["brand"], c1=path[0],
                                             c2="/".join(path[:2]), c3="/".join(path), price=float(d["price"])))
    writer.commit()
    writer.wait_merging_threads()
    build = time.perf_counter() - start
    index.reload()
    searcher = index.searcher()
    aggs = {"brand": {"terms": {"field": "brand", "size": 10}}, "c1": {"terms": {"field": "c1", "size": 10}},
            "c2": {"terms": {"field": "c2", "size": 10}}, "c3": {"terms": {"field": "c3", "size": 10}},
            "price": {"range": {"field": "price", "ranges": [{"to": 5}, {"from": 5, "to": 10}, {"from": 10, "to": 20},
                                                             {"from": 20, "to": 50}, {"from": 50}]}}}
    out = {"search": [], "fuzzy": [], "suggest": []}
    totals = []
    for r in range(rounds + 1):
        for q in search[r]:
            t = time.perf_counter()
            query = index.parse_query(q, ["stem"], conjunction_by_default=True)
            result = searcher.search(query, 20, count=True)
            searcher.aggregate(query, aggs)
            if r:
                out["search"].append((time.perf_counter() - t) * 1e6)
                totals.append(result.count)
        for q in fuzzy[r]:
            t = time.perf_counter()
            words = q.split()
            clauses = [(tantivy.Occur.Must, tantivy.Query.fuzzy_term_query(schema, "raw", w, distance=2 if len(w) >= 8 else 1 if len(w) >= 4 else 0,
                                                                           transposition_cost_one=True)) for w in words]
            searcher.search(tantivy.Query.boolean_query(clauses), 20, count=True)
            if r:
                out["fuzzy"].append((time.perf_counter() - t) * 1e6)
        for q in suggest[r]:
            t = time.perf_counter()
            searcher.terms_with_prefix("title", q, limit=8)
            if r:
                out["suggest"].append((time.perf_counter() - t) * 1e6)
    return out, build, statistics.median(totals)


def main():
    binary, gens, catalog = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    items = [json.loads(line) for line in open(catalog)]
    rng = random.Random(30)
    # A fresh set of queries each round (round 0 warms up), so no answer comes from a query cache.
    sets = [queries(items, n, rng) for _ in range(rounds + 1)]
    search, fuzzy, suggest = ([s[k] for s in sets] for k in range(3))
    print(f"{len(items)} items; {n} search, {sum(map(len, fuzzy[1:]))} fuzzy, {n} suggest queries per round, {rounds} rounds "
          "after a warm-up, each round's queries new", flush=True)
    funnel, funnel_total = funnel_run(binary, gens, search, fuzzy, suggest, rounds)
    theirs, build, tantivy_total = tantivy_run(items, search, fuzzy, suggest, rounds)
    print(f"median matches per search: Funnel {funnel_total:.0f}, tantivy {tantivy_total:.0f}; tantivy index build {build:.0f} s")
    print("| workload | Funnel retrieval p50 / p99 (µs) | Funnel engine p50 / p99 (µs) | Funnel HTTP p50 / p99 (µs) "
          "| tantivy p50 / p99 (µs) | tantivy / Funnel retrieval, p50 / p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    mean, bound = funnel["suggest_engine"]
    print(f"Funnel Suggest engine time (server histogram, warm-up included): mean {mean:.0f} µs, p99 <= {bound:.0f} µs")
    for name in ("search", "fuzzy", "suggest"):
        engine, retrieval, rtt = funnel[name]
        t = theirs[name]
        show = lambda xs: f"{pct(xs, 50):.0f} / {pct(xs, 99):.0f}" if xs else "-"
        base = retrieval or rtt
        ratio = f"{pct(t, 50) / pct(base, 50):.2f} / {pct(t, 99) / pct(base, 99):.2f}" + ("" if retrieval else " (Funnel over HTTP)")
        print(f"| {name} | {show(retrieval)} | {show(engine)} | {show(rtt)} | {show(t)} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
