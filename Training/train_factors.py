#!/usr/bin/env python3
"""Trains implicit-feedback matrix factorisation (ALS and BPR, with the `implicit` package) for
`funnel eval --train` and `funnel index build --factors`, tuned on a validation slice, never on the test.

    .venv-training/bin/python Training/train_factors.py --train inner.csv --validation truth.csv \
        --full history.csv --out DIR [--exclude-seen]

Inputs are CSV `user,item,weight` (interactions; repeated pairs add up) and `user,item` (what each
validation user went on to buy). For each model a small grid (factors x regularisation x
iterations) is trained on `--train` and scored by NDCG@20 against `--validation` (with
`--exclude-seen`, items the user already has are not recommended, as in a discovery scene); the best
settings are then trained on `--train` again (DIR/MODEL/inner: the factors a ranker's training
replay may see) and on `--full` (DIR/MODEL/full: the factors served and evaluated). With
`--params-from DIR/tuning.json`, the settings found there are fitted on `--full` alone (the factors
of an earlier replay window). Each factors
directory holds items.tsv and users.tsv (`id<TAB>v1 v2 ...`) and factors.json. DIR/tuning.json
lists every setting tried with its validation NDCG@20 and the best model.
Deterministic: fixed seeds, one thread.
"""
import argparse
import csv
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from implicit.als import AlternatingLeastSquares  # noqa: E402
from implicit.bpr import BayesianPersonalizedRanking  # noqa: E402

K = 20
GRIDS = {
    "als": [dict(factors=f, regularization=r, iterations=i, alpha=a)
            for f in (32, 64) for r in (0.01, 0.1, 1.0) for i in (15,) for a in (1.0, 10.0)],
    "bpr": [dict(factors=f, regularization=r, iterations=i, learning_rate=lr)
            for f in (32, 64) for r in (0.001, 0.01) for i in (100, 300) for lr in (0.01, 0.05)],
}
# One setting each: for smoke tests (the test command), not for figures.
QUICK = {"als": [dict(factors=32, regularization=0.1, iterations=10, alpha=10.0)],
         "bpr": [dict(factors=32, regularization=0.01, iterations=50, learning_rate=0.05)]}


def read_interactions(path, users, items, grow):
    rows, cols, vals = [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["user", "item", "weight"]:
            sys.exit(f"{path}: header must be user,item,weight (got {header})")
        for line, (user, item, weight) in enumerate(reader, start=2):
            if grow:
                users.setdefault(user, len(users))
                items.setdefault(item, len(items))
            if user not in users or item not in items:
                continue
            try:
                w = float(weight)
            except ValueError:
                sys.exit(f"{path}:{line}: weight '{weight}' is not a number")
            rows.append(users[user])
            cols.append(items[item])
            vals.append(w)
    m = sp.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(len(users), len(items)))
    m.sum_duplicates()
    return m


def read_truth(path, users, items):
    truth = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for user, item in reader:
            if user in users:
                truth.setdefault(users[user], set()).add(items.get(item, -1))
    return truth


def make(name, params, seed=7):
    if name == "als":
        p = {k: v for k, v in params.items() if k != "alpha"}
        return AlternatingLeastSquares(**p, random_state=seed, num_threads=1, calculate_training_loss=False)
    return BayesianPersonalizedRanking(**params, random_state=seed, num_threads=1)


def fit(name, params, matrix):
    model = make(name, params)
    data = matrix * params["alpha"] if name == "als" else (matrix > 0).astype(np.float32)
    model.fit(data.tocsr(), show_progress=False)
    return model


def ndcg(model, matrix, truth, exclude_seen):
    users = np.array(sorted(truth), dtype=np.int32)
    if len(users) == 0:
        return 0.0
    ids, _ = model.recommend(users, matrix[users], N=K, filter_already_liked_items=exclude_seen)
    discounts = 1 / np.log2(np.arange(2, K + 2))
    total = 0.0
    for u, ranked in zip(users, ids):
        relevant = truth[u]
        gains = np.array([1.0 if i in relevant else 0.0 for i in ranked])
        ideal = discounts[: min(len(relevant), K)].sum()
        total += float((gains * discounts[: len(gains)]).sum() / ideal) if ideal > 0 else 0.0
    return total / len(users)


def write(model, users, items, out, name, params, validation):
    os.makedirs(out, exist_ok=True)
    uf = np.asarray(model.user_factors, dtype=np.float32)
    itf = np.asarray(model.item_factors, dtype=np.float32)
    for path, ids, vectors in ((f"{out}/users.tsv", users, uf), (f"{out}/items.tsv", items, itf)):
        with open(path, "w") as f:
            for key, row in ids.items():
                if "\t" in key or "\n" in key:
                    sys.exit(f"id {key!r} holds a tab or a line break")
                f.write(key + "\t" + " ".join(f"{x:.6g}" for x in vectors[row]) + "\n")
    with open(f"{out}/factors.json", "w") as f:
        json.dump(dict(model=name, dimension=int(itf.shape[1]), params=params, validation_ndcg20=validation), f, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train")
    parser.add_argument("--validation")
    parser.add_argument("--full", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--exclude-seen", action="store_true")
    parser.add_argument("--models", default="als,bpr")
    parser.add_argument("--grid", choices=("full", "quick"), default="full", help="quick: one setting per model (smoke tests)")
    parser.add_argument("--params-from", help="a tuning.json of an earlier run: fit its best settings on --full only (no tuning)")
    args = parser.parse_args()

    if args.params_from:
        with open(args.params_from) as f:
            tuned = json.load(f)
        full_users, full_items = {}, {}
        full = read_interactions(args.full, full_users, full_items, grow=True)
        for name in args.models.split(","):
            best = tuned["models"][name]["best"]
            write(fit(name, best["params"], full), full_users, full_items, f"{args.out}/{name}/full", name, best["params"],
                  best["validation_ndcg20"])
        return
    if not args.train or not args.validation:
        sys.exit("--train and --validation are needed (or --params-from)")

    users, items = {}, {}
    inner = read_interactions(args.train, users, items, grow=True)
    truth = read_truth(args.validation, users, items)
    full_users, full_items = {}, {}
    full = read_interactions(args.full, full_users, full_items, grow=True)
    report = {"validation_users": len(truth), "models": {}}
    for name in args.models.split(","):
        tried = []
        for params in (GRIDS if args.grid == "full" else QUICK)[name]:
            score = ndcg(fit(name, params, inner), inner, truth, args.exclude_seen)
            tried.append(dict(params=params, validation_ndcg20=round(score, 5)))
            print(f"{name} {params}: validation NDCG@{K} {score:.4f}", flush=True)
        best = max(tried, key=lambda t: t["validation_ndcg20"])
        report["models"][name] = dict(best=best, tried=tried)
        write(fit(name, best["params"], inner), users, items, f"{args.out}/{name}/inner", name, best["params"], best["validation_ndcg20"])
        write(fit(name, best["params"], full), full_users, full_items, f"{args.out}/{name}/full", name, best["params"],
              best["validation_ndcg20"])
    report["best"] = max(report["models"], key=lambda n: report["models"][n]["best"]["validation_ndcg20"])
    with open(f"{args.out}/tuning.json", "w") as f:
        json.dump(report, f, indent=2)
    print(f"best: {report['best']}")


if __name__ == "__main__":
    main()
