#!/usr/bin/env python3
"""How much search's first phase changes answers: the same searches against two running servers
(e.g. one with FUNNEL_SERVING_SEARCH_RANK_COUNT=0, every match ranked by the model, and one with
the default), compared item by item.

    Benchmarks/e2e/search_overlap.py FUNNEL TARGET_A TARGET_B [USERS=40] [COUNT=20]

FUNNEL is the funnel binary (its `funnel query search --json`); users are U-1..U-USERS with the
load scenario's default queries. Prints, over every (user, query): the mean share of B's top 10
and top COUNT that A also has in its top 10 / top COUNT, and how often the top 10 is identical in
order. Answers must not change between the two calls: run it against servers with no events
flowing.
"""
import json
import subprocess
import sys

QUERIES = ["mug", "ceramic mug", "lamp", "yoga mat", "notebook", "espresso", "linen cushion", "oak"]


def search(funnel, target, user, query, count):
    out = subprocess.run([funnel, "query", "search", "--target", target, "--user", user, "--query", query,
                          "--count", str(count), "--json"], check=True, capture_output=True, text=True).stdout
    return [item["item_id"] for item in json.loads(out).get("items", [])]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    funnel, a, b = sys.argv[1:4]
    users = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    top10, topn, same10, pairs = 0.0, 0.0, 0, 0
    for u in range(1, users + 1):
        for query in QUERIES:
            left = search(funnel, a, f"U-{u}", query, count)
            right = search(funnel, b, f"U-{u}", query, count)
            if not left:
                continue
            pairs += 1
            top10 += len(set(left[:10]) & set(right[:10])) / max(1, min(10, len(left)))
            topn += len(set(left) & set(right)) / len(left)
            same10 += left[:10] == right[:10]
    print(json.dumps({"pairs": pairs, "overlap_at_10": round(top10 / pairs, 4),
                      f"overlap_at_{count}": round(topn / pairs, 4), "identical_top_10": round(same10 / pairs, 4)}))


if __name__ == "__main__":
    main()
