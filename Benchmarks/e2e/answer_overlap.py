#!/usr/bin/env python3
"""How much a ranking shortcut changes answers: the same requests against two running servers
(e.g. one with every candidate ranked by the model and one with search's first phase,
FUNNEL_SERVING_SEARCH_RANK_COUNT, or the model cascade, FUNNEL_SERVING_FIRST_PHASE_TREES),
compared item by item.

    Benchmarks/e2e/answer_overlap.py FUNNEL TARGET_A TARGET_B [USERS=40] [COUNT=20] [SCENE=search]

FUNNEL is the funnel binary (its `funnel query search|recommend --json`); users are U-1..U-USERS,
with the load scenario's default queries for SCENE=search, or one Recommend each for a
recommendation scene that needs no anchor item (home, email). Prints, over every
request: the mean share of B's top 10 and top COUNT that A also has in its top 10 / top COUNT, and
how often the top 10 is identical in order. Answers must not change between the two calls: run it
against servers with no events flowing.
"""
import json
import subprocess
import sys

QUERIES = ["mug", "ceramic mug", "lamp", "yoga mat", "notebook", "espresso", "linen cushion", "oak"]


def answer(funnel, target, user, scene, query, count):
    verb = ["search", "--query", query] if scene == "search" else ["recommend", "--scene", scene]
    out = subprocess.run([funnel, "query", *verb, "--target", target, "--user", user, "--count", str(count), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return [item["item_id"] for item in json.loads(out).get("items", [])]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    funnel, a, b = sys.argv[1:4]
    users = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    scene = sys.argv[6] if len(sys.argv) > 6 else "search"
    top10, topn, same10, pairs = 0.0, 0.0, 0, 0
    for u in range(1, users + 1):
        for query in QUERIES if scene == "search" else [""]:
            left = answer(funnel, a, f"U-{u}", scene, query, count)
            right = answer(funnel, b, f"U-{u}", scene, query, count)
            if not left:
                continue
            pairs += 1
            top10 += len(set(left[:10]) & set(right[:10])) / max(1, min(10, len(left)))
            topn += len(set(left) & set(right)) / len(left)
            same10 += left[:10] == right[:10]
    print(json.dumps({"scene": scene, "pairs": pairs, "overlap_at_10": round(top10 / pairs, 4),
                      f"overlap_at_{count}": round(topn / pairs, 4), "identical_top_10": round(same10 / pairs, 4)}))


if __name__ == "__main__":
    main()
