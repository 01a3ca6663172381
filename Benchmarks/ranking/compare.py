#!/usr/bin/env python3
"""Trains the benchmark models with the real libraries and times their own single-threaded predict
on the same 1000 x 64 batch that Funnel scores (Benchmarks/ranking/run.sh runs both sides).

    compare.py prepare DIR                 # models + batch.csv into DIR
    compare.py peers DIR FUNNEL_XGB.json FUNNEL_LGB.json
"""
import json
import sys

import lightgbm as lgb
import numpy as np
import xgboost as xgb

from timing import timed

ROWS, FEATURES, TREES = 20_000, 64, 500


def prepare(directory):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(ROWS, FEATURES))
    x[rng.random(x.shape) < 0.05] = np.nan
    y = np.nan_to_num(x[:, :8]).sum(axis=1) + np.sin(np.nan_to_num(x[:, 8:16])).sum(axis=1) + rng.normal(size=ROWS)
    names = [f"f{i}" for i in range(FEATURES)]
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 6, "eta": 0.05, "nthread": 2, "tree_method": "hist",
                         "seed": 1}, xgb.DMatrix(x, label=y, feature_names=names), num_boost_round=TREES)
    booster.save_model(f"{directory}/xgb_500_depth6.json")
    gbm = lgb.train({"objective": "regression", "num_leaves": 63, "learning_rate": 0.05, "num_threads": 2, "verbose": -1,
                     "seed": 1, "min_data_in_leaf": 20}, lgb.Dataset(x, label=y, feature_name=names), num_boost_round=TREES)
    gbm.save_model(f"{directory}/lgb_500_63leaves.txt")
    batch = rng.normal(size=(1000, FEATURES))
    batch[rng.random(batch.shape) < 0.05] = np.nan
    with open(f"{directory}/batch.csv", "w") as f:
        f.write(",".join(names) + "\n")
        for row in batch:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    np.save(f"{directory}/batch.npy", batch)


def peers(directory, funnel_xgb, funnel_lgb):
    batch = np.load(f"{directory}/batch.npy")
    booster = xgb.Booster({"nthread": 1}, model_file=f"{directory}/xgb_500_depth6.json")
    booster.set_param({"nthread": 1})
    xgb_us = timed(lambda: booster.inplace_predict(batch))
    gbm = lgb.Booster(model_file=f"{directory}/lgb_500_63leaves.txt")
    lgb_us = timed(lambda: gbm.predict(batch, num_threads=1))
    ours_xgb = json.load(open(funnel_xgb))["median_us"]
    ours_lgb = json.load(open(funnel_lgb))["median_us"]
    print(f"XGBoost 500 trees depth 6, 1000 x 64: xgboost inplace_predict {xgb_us:.0f} µs, funnel {ours_xgb:.0f} µs, "
          f"funnel is {xgb_us / ours_xgb:.2f}x as fast ({ours_xgb * 1000 / (1000 * 500):.2f} ns per row x tree)")
    print(f"LightGBM 500 trees 63 leaves, 1000 x 64: lightgbm predict {lgb_us:.0f} µs, funnel {ours_lgb:.0f} µs, "
          f"funnel is {lgb_us / ours_lgb:.2f}x as fast ({ours_lgb * 1000 / (1000 * 500):.2f} ns per row x tree)")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        peers(*sys.argv[2:5])
