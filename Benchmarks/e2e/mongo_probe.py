"""Times the ways of reading user profiles by _id from a MongoDB server (the README's probe of the
wire stand-in): find_one, find with limit 1, find without a limit, and $in of 1, 10, 100 ids with
and without limit. Milliseconds per query, mean of N.

    .venv-funnel/bin/python Benchmarks/e2e/mongo_probe.py MONGO_URI [DATABASE=funnel] [COLLECTION=users]
e.g. against the e2e data: start Scripts/mongo-wire-server.py --db WORKDIR/mongo.sqlite (a copy), then
run this with its URI.
"""
import random
import sys
import time

import pymongo

uri = sys.argv[1]
coll = pymongo.MongoClient(uri)[sys.argv[2] if len(sys.argv) > 2 else "funnel"][sys.argv[3] if len(sys.argv) > 3 else "users"]
ids = [d["_id"] for d in coll.find({}, {"_id": 1}).limit(2000)]
if len(ids) < 100:
    sys.exit(f"need at least 100 documents, found {len(ids)}")
rng = random.Random(7)


def timed(name, query, n):
    start = time.perf_counter()
    for _ in range(n):
        query()
    print(f"{name:24s} {(time.perf_counter() - start) / n * 1000:8.2f} ms")


timed("find_one", lambda: coll.find_one({"_id": rng.choice(ids)}), 20)
timed("find limit 1", lambda: list(coll.find({"_id": rng.choice(ids)}).limit(1)), 20)
timed("find, no limit", lambda: list(coll.find({"_id": rng.choice(ids)})), 5)
for k in (1, 10, 100):
    timed(f"$in {k}", lambda: list(coll.find({"_id": {"$in": rng.sample(ids, k)}})), 3)
    timed(f"$in {k}, limit {k}", lambda: list(coll.find({"_id": {"$in": rng.sample(ids, k)}}).limit(k)), 3)
