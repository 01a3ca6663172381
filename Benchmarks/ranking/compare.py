#!/usr/bin/env python3
"""Trains the benchmark models with the real libraries and times their own single-threaded predict
on the same 1000 x 64 batch that Funnel scores (Benchmarks/ranking/run.sh runs both sides), and the
model compilers: treelite + tl2cgen (XGBoost model -> C -> shared library, gcc -O3) and lleaves
(LightGBM model -> LLVM), each single-threaded, when installed (Benchmarks/ranking/requirements-compilers.txt).

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
    compilers(directory, batch, booster, gbm, ours_xgb, ours_lgb)


def compilers(directory, batch, booster, gbm, ours_xgb, ours_lgb):
    try:
        import tl2cgen
        import treelite
    except ImportError:
        print("treelite/tl2cgen not installed: compiled XGBoost comparison skipped")
    else:
        model = treelite.frontend.load_xgboost_model(f"{directory}/xgb_500_depth6.json")
        tl2cgen.export_lib(model, toolchain="gcc", libpath=f"{directory}/xgb_tl2cgen.so", params={"parallel_comp": 8},
                           nthread=2)
        predictor = tl2cgen.Predictor(f"{directory}/xgb_tl2cgen.so", nthread=1)
        dmat = tl2cgen.DMatrix(batch.astype(np.float32), dtype="float32")
        want = booster.inplace_predict(batch)
        got = predictor.predict(dmat).reshape(-1)
        assert np.allclose(got, want, rtol=1e-4, atol=1e-4), "tl2cgen disagrees with xgboost"
        tl_us = timed(lambda: predictor.predict(dmat))
        print(f"XGBoost model compiled by treelite {treelite.__version__} + tl2cgen {tl2cgen.__version__} (gcc), 1 thread: "
              f"{tl_us:.0f} µs, funnel {ours_xgb:.0f} µs, funnel is {tl_us / ours_xgb:.2f}x as fast")
    try:
        import lleaves
    except ImportError:
        print("lleaves not installed: compiled LightGBM comparison skipped")
    else:
        compiled = lleaves.Model(model_file=f"{directory}/lgb_500_63leaves.txt")
        compiled.compile(cache=f"{directory}/lgb_lleaves.o")
        want = gbm.predict(batch, num_threads=1)
        assert np.allclose(compiled.predict(batch, n_jobs=1), want, rtol=1e-9, atol=1e-9), "lleaves disagrees with lightgbm"
        ll_us = timed(lambda: compiled.predict(batch, n_jobs=1))
        print(f"LightGBM model compiled by lleaves {getattr(lleaves, '__version__', '1.3.0')} (LLVM), 1 thread: "
              f"{ll_us:.0f} µs, funnel {ours_lgb:.0f} µs, funnel is {ll_us / ours_lgb:.2f}x as fast")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        peers(*sys.argv[2:5])
