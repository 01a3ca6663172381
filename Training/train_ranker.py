#!/usr/bin/env python3
"""Trains a LambdaMART ranker (LightGBM lambdarank) on the rows of `funnel export replay` (or of
`funnel pipeline retrain`: served lists with their ranks, trained position-debiased) and writes
it into a model registry version directory, ready for `funnel serve --models` and `funnel eval --model`.

    python3 -m venv .venv-training && .venv-training/bin/pip install -r Training/requirements.txt
    funnel export replay --data DIR --until 2011-11-01 --days 30 --out rows.csv
    .venv-training/bin/python Training/train_ranker.py --rows rows.csv --out DIR/models/ranker/1

The rows hold the features exactly as the serving pipeline computed them (one definition for both);
the model keeps their names, and the ranker fills the same names at serving time. Customers are
query groups; 20% of them (fixed seed) are held out for early stopping and the reported NDCG.
Deterministic: fixed seeds, one thread. Also writes `purchase.txt`, a binary purchase model
(LightGBM binary) on the same rows, and `training.json` with the settings and held-out metrics.
"""
import argparse
import csv
import json
import os
import sys

import lightgbm as lgb
import numpy as np


def read_rows(path):
    """(feature names, queries, labels, values, positions or None). A fourth column `position` (the
    served rank, 0-based) is read as such, not as a feature."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["query", "label", "item_id"]:
            sys.exit(f"{path}: header must start with query,label,item_id (got {header[:3]})")
        first = 4 if header[3:4] == ["position"] else 3
        names = header[first:]
        queries, labels, values, positions = [], [], [], []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                sys.exit(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            queries.append(row[0])
            labels.append(int(row[1]))
            if first == 4:
                positions.append(int(row[3]))
            values.append([float(v) if v != "" else np.nan for v in row[first:]])
    return (names, np.array(queries), np.array(labels, dtype=np.int32), np.array(values, dtype=np.float64),
            np.array(positions, dtype=np.int32) if first == 4 else None)


def groups(queries):
    """Sizes of consecutive runs of one query (rows are written customer by customer)."""
    sizes, current, count = [], None, 0
    for q in queries:
        if q != current and count:
            sizes.append(count)
            count = 0
        current = q
        count += 1
    if count:
        sizes.append(count)
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", required=True, help="CSV from `funnel export replay`")
    parser.add_argument("--out", required=True, help="model registry version directory to create")
    parser.add_argument("--trees", type=int, default=400)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--leaves", type=int, default=31)
    parser.add_argument("--min-trees", type=int, default=1,
                        help="above 1: keep the best round at or after this many trees instead of early stopping (see below)")
    args = parser.parse_args()

    names, queries, labels, x, positions = read_rows(args.rows)
    distinct = list(dict.fromkeys(queries))
    rng = np.random.default_rng(7)
    held_out = set(rng.choice(distinct, size=max(1, len(distinct) // 5), replace=False))
    test = np.array([q in held_out for q in queries])
    train = ~test

    params = dict(objective="lambdarank", learning_rate=args.learning_rate, num_leaves=args.leaves,
                  min_data_in_leaf=50, feature_fraction=0.9, bagging_fraction=0.8, bagging_freq=1,
                  lambdarank_truncation_level=30, eval_at=[10, 20], metric="ndcg", seed=7,
                  deterministic=True, num_threads=1, verbosity=-1)
    # Rows logged from served lists carry their rank: clicks there are biased towards the top, and
    # LightGBM's position-debiased lambdarank (Unbiased LambdaMART) learns the bias per rank instead
    # of learning to copy the served order.
    train_set = lgb.Dataset(x[train], labels[train], group=groups(queries[train]), feature_name=names,
                            position=None if positions is None else positions[train])
    test_set = lgb.Dataset(x[test], labels[test], group=groups(queries[test]), feature_name=names, reference=train_set,
                           position=None if positions is None else positions[test])
    if args.min_trees <= 1:
        ranker = lgb.train(params, train_set, num_boost_round=args.trees, valid_sets=[test_set],
                           callbacks=[lgb.early_stopping(50, verbose=False)])
    else:
        # With few held-out customers their NDCG is noisy from tree to tree: early stopping on it can
        # stop at the first tree, whose few distinct scores leave most candidates tied. Every round
        # is recorded and the best at or after --min-trees is kept instead.
        evaluation = {}
        ranker = lgb.train(params, train_set, num_boost_round=args.trees, valid_sets=[test_set],
                           callbacks=[lgb.record_evaluation(evaluation)])
        curve = evaluation["valid_0"][f"ndcg@{max(params['eval_at'])}"]
        floor = min(args.min_trees, len(curve)) - 1
        best_round = floor + int(np.argmax(curve[floor:]))
        ranker.best_iteration = best_round + 1
        ranker.best_score = {"valid_0": {k: v[best_round] for k, v in evaluation["valid_0"].items()}}

    binary = dict(objective="binary", learning_rate=args.learning_rate, num_leaves=args.leaves, min_data_in_leaf=50,
                  seed=7, deterministic=True, num_threads=1, verbosity=-1, metric="auc")
    purchase = lgb.train(binary, lgb.Dataset(x[train], labels[train], feature_name=names), num_boost_round=args.trees,
                         valid_sets=[lgb.Dataset(x[test], labels[test], feature_name=names)],
                         callbacks=[lgb.early_stopping(50, verbose=False)])

    os.makedirs(args.out, exist_ok=True)
    ranker.save_model(os.path.join(args.out, "model.txt"), num_iteration=ranker.best_iteration)
    purchase.save_model(os.path.join(args.out, "purchase.txt"))
    importance = dict(zip(names, ranker.feature_importance("gain").round(1).tolist()))
    report = {
        "rows": int(len(labels)), "customers": len(distinct), "held_out_customers": len(held_out),
        "positives": int(labels.sum()), "features": names, "lightgbm": lgb.__version__,
        "ranker": {"trees": ranker.best_iteration, "held_out_ndcg": {k: round(v, 4) for k, v in ranker.best_score["valid_0"].items()},
                   "gain_by_feature": dict(sorted(importance.items(), key=lambda kv: -kv[1]))},
        "purchase": {"trees": purchase.best_iteration, "held_out_auc": round(purchase.best_score["valid_0"]["auc"], 4)},
    }
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps({k: report[k] for k in ("rows", "customers", "positives")} | {"ranker": report["ranker"]["held_out_ndcg"],
                      "trees": report["ranker"]["trees"], "purchase_auc": report["purchase"]["held_out_auc"]}))


if __name__ == "__main__":
    main()
