#!/usr/bin/env python3
"""A `funnel load` scenario whose searches draw from many distinct queries (the default scenario
has eight, so after eight misses every search is a query-cache hit): one or two consecutive title
words of the catalog's first items, 70% pairs, de-duplicated, shuffled with a fixed seed.

    Benchmarks/e2e/longtail_scenario.py WORKDIR OUT.json [QUERIES=2000] [MIX=default|search]

WORKDIR is the e2e benchmark's (its data/items.jsonl); MIX=search writes a search-only scenario.
The README's long-tail runs used `... 2000` and `... 2000 search`.
"""
import json
import random
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    work, out = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    mix = sys.argv[4] if len(sys.argv) > 4 else "default"
    rng = random.Random(7)
    queries, seen = [], set()
    with open(f"{work}/data/items.jsonl") as items:
        for i, line in enumerate(items):
            if i >= 20000:
                break
            words = json.loads(line)["title"].lower().split()
            if len(words) < 2:
                continue
            j = rng.randrange(len(words) - 1)
            query = " ".join(words[j:j + 2]) if rng.random() < 0.7 else words[j]
            if query not in seen:
                seen.add(query)
                queries.append(query)
    rng.shuffle(queries)
    scenario = {"users": 20000, "itemCount": 1000000, "queries": queries[:count]}
    if mix == "search":
        scenario["mix"] = {"search": 1}
    with open(out, "w") as f:
        json.dump(scenario, f)
    print(f"{out}: {len(scenario['queries'])} queries")


if __name__ == "__main__":
    main()
