#!/usr/bin/env python3
"""Inputs of the end-to-end benchmark (Benchmarks/e2e/run.sh), deterministic for a seed:

  items.jsonl    offline features of ITEMS demo items (SKU-100000...): ctr_7d, cvr_30d, sales_30d, margin
  users.jsonl    offline profiles of USERS users (U-1...): ltv, orders_365d, price_band
  history.json   recent behaviour of the first HISTORY users, as POST /v1/events bodies of 500 events,
                 timestamps within the last 3 days (for Redis, through the event stream)
  model.json     an XGBoost model, 500 trees of depth 6, over the features the serving pipeline
                 computes (recall scores, affinities, real-time counters rt.*, item.* and user.*),
                 trained on synthetic labels: its cost is what the benchmark measures

    python3 make_inputs.py OUT_DIR [ITEMS=1000000] [USERS=100000] [HISTORY=20000]
"""
import json
import os
import random
import sys
import time

import numpy as np
import xgboost as xgb

out = sys.argv[1]
items, users, history = (int(sys.argv[i]) if len(sys.argv) > i else d for i, d in ((2, 1_000_000), (3, 100_000), (4, 20_000)))
os.makedirs(out, exist_ok=True)
rng = random.Random(42)

with open(os.path.join(out, "items.jsonl"), "w") as f:
    for i in range(items):
        f.write(json.dumps({"id": f"SKU-{100000 + i}", "ctr_7d": round(rng.betavariate(2, 60), 5),
                            "cvr_30d": round(rng.betavariate(1, 120), 5), "sales_30d": int(rng.paretovariate(1.3)),
                            "margin": round(rng.uniform(0.05, 0.6), 3)}) + "\n")
with open(os.path.join(out, "users.jsonl"), "w") as f:
    for u in range(1, users + 1):
        f.write(json.dumps({"id": f"U-{u}", "ltv": round(rng.lognormvariate(4, 1), 2), "orders_365d": int(rng.expovariate(0.3)),
                            "price_band": rng.randrange(5)}) + "\n")

now = int(time.time() * 1000)
kinds = ["view"] * 12 + ["click"] * 5 + ["add_to_cart"] * 2 + ["purchase"]
batches, batch = [], []
for u in range(1, history + 1):
    for k in range(rng.randrange(5, 40)):
        item = f"SKU-{100000 + min(items - 1, int(rng.paretovariate(0.6)) * 7 % items)}"
        batch.append({"event_id": f"e2e-{u}-{k}", "user_id": f"U-{u}", "item_id": item, "type": rng.choice(kinds),
                      "timestamp_ms": now - rng.randrange(3 * 86_400_000), "price": 10})
        if len(batch) == 500:
            batches.append({"events": batch})
            batch = []
if batch:
    batches.append({"events": batch})
with open(os.path.join(out, "history.json"), "w") as f:
    json.dump(batches, f)

features = ["recall_popular", "recall_category", "recall_similar", "recall_trending", "recall_vector", "channel_count",
            "user_category_affinity", "abs_log_price_ratio", "recently_viewed", "seconds_since_last_seen",
            "item_popularity", "price", "in_stock", "user_item_purchases",
            "rt.views_1h", "rt.views_24h", "rt.clicks_1h", "rt.clicks_24h", "rt.carts_24h", "rt.purchases_24h",
            "item.ctr_7d", "item.cvr_30d", "item.sales_30d", "item.margin", "user.ltv", "user.orders_365d"]
gen = np.random.default_rng(7)
x = gen.random((20_000, len(features))).astype(np.float32)
y = (x[:, 2] * 2 + x[:, 6] + x[:, 20] * 3 - x[:, 7] + gen.normal(0, 0.5, len(x)) > 2).astype(np.float32)
booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.05, "tree_method": "hist", "nthread": 2},
                    xgb.DMatrix(x, label=y, feature_names=features), num_boost_round=500)
booster.save_model(os.path.join(out, "model.json"))
print(f"wrote {out}: {items} items, {users} users, {sum(len(b['events']) for b in batches)} history events "
      f"in {len(batches)} batches, model of {booster.num_boosted_rounds()} trees over {len(features)} features")
