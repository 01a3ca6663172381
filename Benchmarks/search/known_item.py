"""Known-item search on real catalogs, Funnel against tantivy on the same items and queries.

For each catalog (Online Retail as `funnel ingest` writes it; Amazon Magazine Subscriptions from
its metadata), a fixed, seeded generator picks items and writes three queries per item from words
of its title: exact (2-3 title words), plural (the last word's number flipped: +s / -s) and typo
(one edit in the longest word of 5+ letters: an adjacent swap, a deletion or a substitution).
Each engine is asked for its top 10; success@10 is the share of queries whose item is in it, MRR
the mean reciprocal rank (0 past 10).

Funnel: `funnel serve --index` over a generation of the catalog (English analysis: folding, stop
words, Snowball stemming; typo tolerance and prefix completion), asked over POST /v1/search.
tantivy (its Python package, pinned in Benchmarks/peers/requirements.txt), the same text (title,
brand, category path, tags), three setups: its default tokenizer; `en_stem`; and `en_stem` plus a
fuzzy term query per word on an unstemmed field (distance 1 for 4-7 letters, 2 from 8, a
transposition costing one) -- its stemming and fuzzy options.

Usage: known_item.py FUNNEL_BINARY WORKDIR ONLINE_RETAIL_CATALOG AMAZON_META [ITEMS_PER_CATALOG]
"""
import gzip
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import tantivy

WORD = re.compile(r"[A-Za-z]+")
STOP = {"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def amazon_catalog(meta, out):
    """Amazon metadata to catalog JSON lines (titles that are HTML fragments left out)."""
    kept, seen = 0, set()
    with gzip.open(meta, "rt") as f, open(out, "w") as w:
        for line in f:
            d = json.loads(line)
            title = (d.get("title") or "").strip()
            if not title or title.startswith("<") or len(WORD.findall(title)) < 2 or d["asin"] in seen:
                continue
            seen.add(d["asin"])
            path = [c for c in d.get("category", []) if c][:4] or ["magazines"]
            w.write(json.dumps({"id": d["asin"], "title": title, "brand": d.get("brand", "") or "",
                                "category": "/".join(p.replace("/", " ") for p in path), "price": 0, "in_stock": True}) + "\n")
            kept += 1
    return kept


def read_catalog(path):
    items = []
    for line in open(path):
        d = json.loads(line)
        category = d.get("category", "")
        if isinstance(category, list):
            category = "/".join(category)
        items.append({"id": d["id"], "title": d["title"], "text": " ".join([d["title"], d.get("brand", "") or "",
                                                                            category.replace("/", " "), " ".join(d.get("tags", []))])})
    return items


def typo(word, rng):
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "delete", "substitute"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "delete":
        return word[:i] + word[i + 1:]
    letters = "abcdefghijklmnopqrstuvwxyz".replace(word[i], "")
    return word[:i] + rng.choice(letters) + word[i + 1:]


def queries(items, n, seed):
    """(item id, kind, query) for n items drawn with `seed`: exact, plural, typo."""
    rng = random.Random(seed)
    out = []
    candidates = [it for it in items if len([w for w in WORD.findall(it["title"].lower()) if w not in STOP and len(w) >= 3]) >= 2]
    for it in rng.sample(candidates, min(n, len(candidates))):
        words = [w for w in WORD.findall(it["title"].lower()) if w not in STOP and len(w) >= 3]
        k = min(len(words), rng.choice([2, 3]))
        start = rng.randrange(0, len(words) - k + 1)
        chosen = words[start:start + k]
        out.append((it["id"], "exact", " ".join(chosen)))
        last = chosen[-1]
        plural = last[:-1] if last.endswith("s") and len(last) > 3 else last + "s"
        out.append((it["id"], "plural", " ".join(chosen[:-1] + [plural])))
        longest = max(range(len(chosen)), key=lambda j: len(chosen[j]))
        if len(chosen[longest]) >= 5:
            out.append((it["id"], "typo", " ".join(chosen[:longest] + [typo(chosen[longest], rng)] + chosen[longest + 1:])))
    return out


def score(results):
    """{kind: (success@10, MRR, queries)} from (kind, rank or None)."""
    by = {}
    for kind, rank in results:
        by.setdefault(kind, []).append(rank)
    return {k: (sum(r is not None for r in v) / len(v), sum(1 / r for r in v if r) / len(v), len(v)) for k, v in by.items()}


def funnel_run(binary, catalog, work, qs):
    gens = os.path.join(work, "gens")
    subprocess.run([binary, "index", "build", "--catalog", catalog, "--out", gens], check=True, capture_output=True)
    port, http = free_port(), free_port()
    log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--http-port", str(http), "--admin-port=-1", "--dashboard-port=-1",
                               "--index", gens], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http}/readyz", timeout=1)
                break
            except Exception:  # noqa: BLE001 - starting
                time.sleep(0.1)
        results, times = [], []
        for item, kind, q in qs:
            body = json.dumps({"query": q, "count": 10}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{http}/v1/search", data=body,
                                             headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            try:
                answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
                ids = [i["item_id"] for i in answer.get("items", [])]
            except urllib.error.HTTPError:
                ids = []
            times.append(time.perf_counter() - start)
            results.append((kind, ids.index(item) + 1 if item in ids else None))
            if os.environ.get("SHOW_MISSES") and item not in ids:
                print(f"miss {kind}: '{q}' for {item}")
        return score(results), sorted(times)[len(times) // 2]
    finally:
        server.terminate()
        server.wait(timeout=20)


def tantivy_run(items, qs):
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("raw", stored=False, tokenizer_name="default")
    builder.add_text_field("stem", stored=False, tokenizer_name="en_stem")
    builder.add_integer_field("doc", stored=True, fast=True)
    schema = builder.build()
    index = tantivy.Index(schema, path=tempfile.mkdtemp(prefix="funnel-known-item-"))
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    for d, it in enumerate(items):
        writer.add_document(tantivy.Document(raw=it["text"], stem=it["text"], doc=d))
    writer.commit()
    index.reload()
    searcher = index.searcher()
    ids = [it["id"] for it in items]
    setups = {}
    for name in ("default", "en_stem", "en_stem + fuzzy"):
        results = []
        for item, kind, q in qs:
            words = WORD.findall(q.lower())
            if name == "default":
                query = index.parse_query(" ".join(words), ["raw"])
            elif name == "en_stem":
                query = index.parse_query(" ".join(words), ["stem"])
            else:
                parts = [(tantivy.Occur.Should, index.parse_query(" ".join(words), ["stem"]))]
                for w in words:
                    distance = 2 if len(w) >= 8 else 1 if len(w) >= 4 else 0
                    if distance:
                        parts.append((tantivy.Occur.Should, tantivy.Query.fuzzy_term_query(schema, "raw", w, distance, True, False)))
                query = tantivy.Query.boolean_query(parts)
            hits = searcher.search(query, 10).hits
            found = [ids[searcher.doc(address)["doc"][0]] for _, address in hits]
            results.append((kind, found.index(item) + 1 if item in found else None))
        setups[name] = score(results)
    return setups


def main():
    binary, work, retail, meta = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 500
    os.makedirs(work, exist_ok=True)
    amazon = os.path.join(work, "amazon-catalog.jsonl")
    print(f"amazon catalog: {amazon_catalog(meta, amazon)} items with a title")
    rows = []
    for name, catalog in (("Online Retail", retail), ("Amazon Magazine Subscriptions", amazon)):
        items = read_catalog(catalog)
        qs = queries(items, n, seed=30)
        mine, p50 = funnel_run(binary, catalog, os.path.join(work, name.split()[0].lower()), qs)
        theirs = tantivy_run(items, qs)
        print(f"\n{name}: {len(items)} items, {len(qs)} queries (Funnel p50 {p50 * 1000:.2f} ms per HTTP search)")
        print(f"| engine | exact success@10 | exact MRR | plural success@10 | plural MRR | typo success@10 | typo MRR |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for engine, s in [("Funnel", mine)] + [(f"tantivy {k}", v) for k, v in theirs.items()]:
            cells = " | ".join(f"{s[k][0]:.3f} | {s[k][1]:.3f}" for k in ("exact", "plural", "typo"))
            print(f"| {engine} | {cells} |")
        rows.append((name, mine, theirs))
    json.dump([{"catalog": c, "funnel": m, "tantivy": t} for c, m, t in rows], open(os.path.join(work, "known_item.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
