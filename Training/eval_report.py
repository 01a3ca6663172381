#!/usr/bin/env python3
"""Turns the JSON of `funnel eval` into a report: report.md (the table, per-segment NDCG, what won)
and plots (ndcg.png / recall.png: the metric at every cut-off per method; segments.png: NDCG at the
middle cut-off for new, light and heavy users; coverage_novelty.png). Called by `funnel eval --report DIR`.

    .venv-training/bin/python Training/eval_report.py --json DIR/eval.json --out DIR
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ENGINE = "engine: recall + ranking"


def is_engine(name):
    return name.startswith(ENGINE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    report, name = data["report"], data["dataSet"]
    ks, rows = report["cutoffs"], report["rows"]
    os.makedirs(args.out, exist_ok=True)

    for metric, title in (("ndcg", "NDCG@K"), ("recall", "Recall@K")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for row in rows:
            ax.plot(ks, row["metrics"][metric], marker="o", label=row["name"],
                    linewidth=2.5 if is_engine(row["name"]) else 1.2)
        ax.set_xlabel("K")
        ax.set_ylabel(title)
        ax.set_title(f"{name}: {title} ({report['protocolName']} split, {report['users']} users)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(f"{args.out}/{metric}.png", dpi=110)
        plt.close(fig)

    middle = ks.index(20) if 20 in ks else len(ks) // 2
    segments = ["new", "light", "heavy"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        values = [next((s["metrics"]["ndcg"][middle] for s in row.get("segments", []) if s["name"] == seg), 0) for seg in segments]
        ax.bar([x + i * width for x in range(3)], values, width, label=row["name"])
    counts = {s["name"]: s["metrics"]["users"] for s in rows[0].get("segments", [])} if rows else {}
    ax.set_xticks([x + 0.4 - width / 2 for x in range(3)], [f"{s} ({counts.get(s, 0)} users)" for s in segments])
    ax.set_ylabel(f"NDCG@{ks[middle]}")
    ax.set_title(f"{name}: by user segment")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(f"{args.out}/segments.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for row in rows:
        ax.scatter(row["metrics"]["coverage"], row["metrics"]["novelty"], s=80 if is_engine(row["name"]) else 30)
        ax.annotate(row["name"], (row["metrics"]["coverage"], row["metrics"]["novelty"]), fontsize=7)
    ax.set_xlabel(f"catalog coverage within top {ks[-1]}")
    ax.set_ylabel("novelty (bits)")
    ax.set_title(f"{name}: coverage and novelty")
    fig.tight_layout()
    fig.savefig(f"{args.out}/coverage_novelty.png", dpi=110)
    plt.close(fig)

    k = ks[middle]
    baselines = [r for r in rows if not r["name"].startswith("engine")]
    best = max(baselines, key=lambda r: r["metrics"]["ndcg"][middle])
    engine = next((r for r in rows if is_engine(r["name"])), None)
    lines = [f"# {name}: evaluation", "",
             f"Protocol: {report['protocolName']} split; {report['users']} users with a history evaluated "
             f"({report['coldUsersSkipped']} without one skipped overall; {report.get('newUsers', 0)} of them in the `new` segment); "
             f"catalog {report['catalogSize']} items; scene `{report.get('scene', '')}`; factors served: {data.get('servedFactors') or 'none'}.", "",
             "| recommender | " + " | ".join(f"NDCG@{c}" for c in ks) + " | " + " | ".join(f"Recall@{c}" for c in ks)
             + " | MRR | coverage | novelty |",
             "|" + " --- |" * (2 * len(ks) + 4)]
    for r in rows:
        m = r["metrics"]
        lines.append(f"| {r['name']} | " + " | ".join(f"{v:.4f}" for v in m["ndcg"]) + " | "
                     + " | ".join(f"{v:.4f}" for v in m["recall"]) + f" | {m['mrr']:.4f} | {m['coverage']:.4f} | {m['novelty']:.2f} |")
    lines += ["", f"NDCG@{k} by segment (new: no history; light: fewer than 10 distinct items; heavy: the rest):", "",
              "| recommender | new | light | heavy |", "| --- | --- | --- | --- |"]
    for r in rows:
        seg = {s["name"]: s["metrics"] for s in r.get("segments", [])}
        lines.append(f"| {r['name']} | " + " | ".join(
            f"{seg[s]['ndcg'][middle]:.4f} ({seg[s]['users']})" if s in seg else "-" for s in segments) + " |")
    if engine:
        e, b = engine["metrics"]["ndcg"][middle], best["metrics"]["ndcg"][middle]
        verdict = "above" if e > b else "below"
        lines += ["", f"Engine NDCG@{k} {e:.4f} against the best baseline ({best['name']}) {b:.4f}: "
                  f"{e / b if b > 0 else float('inf'):.2f}x, {verdict}."]
    lines += ["", "![NDCG@K](ndcg.png)", "", "![Recall@K](recall.png)", "", "![segments](segments.png)", "",
              "![coverage and novelty](coverage_novelty.png)", ""]
    with open(f"{args.out}/report.md", "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
