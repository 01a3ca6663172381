#!/usr/bin/env python3
"""Event freshness under a steady event load: how long from an event being accepted (Track returned)
to the user's next Recommend reflecting it.

Background: EVENTS_PER_S behaviour events of random users on random items, sent with Track in
batches every 20 ms. Probes: every PROBE_INTERVAL a new user (no history) clicks one item; the probe
then calls Recommend for that user every POLL_MS until an item comes from the "similar" channel
(only the click can put it there). Freshness = time of the first reflecting answer's arrival minus
the time Track returned; the poll interval bounds its resolution. Prints p50/p90/p99/max and JSON.

    python3 Benchmarks/freshness/freshness.py --target HOST:PORT [--events-per-s 1000] [--duration 30]
"""
import argparse
import importlib
import json
import os
import random
import sys
import tempfile
import threading
import time

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Scripts"))
api_check = importlib.import_module("api-check")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--events-per-s", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--probe-interval", type=float, default=0.1)
    ap.add_argument("--poll-ms", type=float, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    api_check.compile_protos(tempfile.mkdtemp(prefix="funnel-freshness-"))
    pb = importlib.import_module("funnel.v1.recommender_pb2")
    pb_grpc = importlib.import_module("funnel.v1.recommender_pb2_grpc")
    ev = importlib.import_module("funnel.v1.events_pb2")
    ev_grpc = importlib.import_module("funnel.v1.events_pb2_grpc")
    channel = grpc.insecure_channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    rec, track = pb_grpc.RecommenderStub(channel), ev_grpc.EventCollectorStub(channel)
    items = [i.item_id for i in rec.Recommend(pb.RecommendRequest(user_id="fresh-seed", scene=pb.SCENE_HOME, count=200),
                                              timeout=5).items]
    run = f"{int(time.time())}"
    stop = time.monotonic() + args.duration
    sent = [0]

    def background():
        rng, k = random.Random(1), 0
        per_batch = max(1, args.events_per_s // 50)
        next_at = time.monotonic()
        while time.monotonic() < stop:
            now = int(time.time() * 1000)
            batch = [ev.Event(event_id=f"bg-{run}-{k + j}", user_id=f"bg-user-{rng.randrange(50_000)}",
                              item_id=rng.choice(items), type=rng.choice([ev.EVENT_TYPE_VIEW, ev.EVENT_TYPE_CLICK]),
                              timestamp_ms=now) for j in range(per_batch)]
            k += per_batch
            track.Track(ev.TrackRequest(events=batch), timeout=5)
            sent[0] += per_batch
            next_at += 0.02
            time.sleep(max(0, next_at - time.monotonic()))

    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    rng, latencies, misses, n = random.Random(2), [], 0, 0
    while time.monotonic() < stop:
        started = time.monotonic()
        user = f"probe-{run}-{n}"
        n += 1
        click = ev.Event(event_id=f"probe-{run}-{n}", user_id=user, item_id=rng.choice(items), type=ev.EVENT_TYPE_CLICK,
                         timestamp_ms=int(time.time() * 1000))
        track.Track(ev.TrackRequest(events=[click]), timeout=5)
        accepted = time.monotonic()
        while True:
            answer = rec.Recommend(pb.RecommendRequest(user_id=user, scene=pb.SCENE_HOME, count=20), timeout=5)
            if any("similar" in i.channels for i in answer.items):
                latencies.append((time.monotonic() - accepted) * 1000)
                break
            if time.monotonic() - accepted > 10:
                misses += 1
                break
            time.sleep(args.poll_ms / 1000)
        time.sleep(max(0, args.probe_interval - (time.monotonic() - started)))
    thread.join()
    latencies.sort()

    def q(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    report = {"probes": len(latencies), "missed_10s": misses, "background_events": sent[0],
              "background_events_per_s": round(sent[0] / args.duration), "poll_ms": args.poll_ms,
              "p50_ms": round(q(0.5), 2), "p90_ms": round(q(0.9), 2), "p99_ms": round(q(0.99), 2),
              "max_ms": round(latencies[-1], 2) if latencies else None}
    print(f"freshness over {args.duration:.0f} s with {report['background_events_per_s']} background events/s: "
          f"{len(latencies)} probes, p50 {report['p50_ms']} ms, p90 {report['p90_ms']} ms, p99 {report['p99_ms']} ms, "
          f"max {report['max_ms']} ms, missed {misses} (poll every {args.poll_ms} ms)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0 if misses == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
