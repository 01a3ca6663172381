#!/usr/bin/env python3
"""Trains small models with the real XGBoost and LightGBM and writes them, their inputs and the
libraries' own predictions as fixtures for Tests/RankingTests (exactness tests).

    python3 -m venv .venv-training && .venv-training/bin/pip install -r Training/requirements.txt
    .venv-training/bin/python Training/make_ranking_fixtures.py Tests/RankingTests/Fixtures

Inputs contain missing values (NaN), exact zeros (for LightGBM's zero-as-missing) and a categorical
feature, so every branch of the split logic is exercised. Deterministic (fixed seeds, one thread).
"""
import csv
import json
import os
import sys

import lightgbm as lgb
import numpy as np
import xgboost as xgb

ROWS, TEST_ROWS, FEATURES = 600, 200, 8
NAMES = [f"f{i}" for i in range(FEATURES)]


def data(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS + TEST_ROWS, FEATURES))
    x[:, 3] = rng.integers(0, 12, size=ROWS + TEST_ROWS)  # categorical for LightGBM
    x[rng.random(x.shape) < 0.12] = np.nan                  # missing values everywhere
    x[:, 5][rng.random(ROWS + TEST_ROWS) < 0.2] = 0.0       # exact zeros
    signal = np.nan_to_num(x[:, 0]) * 1.5 - np.nan_to_num(x[:, 1]) + (np.nan_to_num(x[:, 3]) % 3 == 0) + np.nan_to_num(x[:, 5]) ** 2
    return x, signal, rng


def write_rows(path, x, predictions):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(NAMES + ["prediction"])
        for row, p in zip(x, predictions):
            w.writerow(["" if np.isnan(v) else repr(float(v)) for v in row] + [repr(float(p))])


def main(out):
    os.makedirs(out, exist_ok=True)
    x, signal, rng = data(7)
    train, test = x[:ROWS], x[ROWS:]
    binary = (signal + rng.normal(scale=0.5, size=len(signal)) > 0.5).astype(int)
    groups = [20] * (ROWS // 20)
    relevance = np.clip(np.round(signal[:ROWS] + 1), 0, 4).astype(int)

    xgb_cases = {
        "xgb_binary": ({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, binary[:ROWS], None),
        "xgb_regression": ({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2}, signal[:ROWS], None),
        "xgb_ndcg": ({"objective": "rank:ndcg", "max_depth": 4, "eta": 0.2}, relevance, groups),
    }
    for name, (params, label, group) in xgb_cases.items():
        d = xgb.DMatrix(train, label=label, feature_names=NAMES, missing=np.nan)
        if group:
            d.set_group(group)
        params = dict(params, nthread=1, seed=1, tree_method="hist")
        booster = xgb.train(params, d, num_boost_round=30)
        booster.save_model(f"{out}/{name}.json")
        predictions = booster.predict(xgb.DMatrix(test, feature_names=NAMES, missing=np.nan))
        write_rows(f"{out}/{name}.csv", test, predictions)

    lgb_cases = {
        "lgb_binary": ({"objective": "binary"}, binary[:ROWS], None),
        "lgb_regression_zero_missing": ({"objective": "regression", "zero_as_missing": True}, signal[:ROWS], None),
        "lgb_lambdarank": ({"objective": "lambdarank"}, relevance, groups),
    }
    for name, (params, label, group) in lgb_cases.items():
        params = dict(params, num_leaves=15, learning_rate=0.2, min_data_in_leaf=5, num_threads=1, seed=1,
                      deterministic=True, verbose=-1, max_cat_to_onehot=4)
        d = lgb.Dataset(train, label=label, group=group, feature_name=NAMES, categorical_feature=[3])
        booster = lgb.train(params, d, num_boost_round=30)
        booster.save_model(f"{out}/{name}.txt")
        write_rows(f"{out}/{name}.csv", test, booster.predict(test))
    print(f"wrote fixtures to {out}: xgboost {xgb.__version__}, lightgbm {lgb.__version__}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/RankingTests/Fixtures")
