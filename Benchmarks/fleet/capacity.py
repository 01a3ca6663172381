#!/usr/bin/env python3
"""Measures what the capacity model in docs/operations.md rests on, against a running replica and
its Redis: USERS users each send EVENTS views over POST /v1/events; once the updater has applied
them all, every key in Redis is classed by what it is and weighed (MEMORY USAGE on a sample of each
class, times the class's count), and the replica's own counters give the store reads per answer.

Usage: capacity.py HTTP_PORT GRPC_PORT REDIS_URL FUNNEL_BINARY [USERS] [EVENTS]
"""
import hashlib
import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

spec = importlib.util.spec_from_file_location(
    "erasure_check", os.path.join(os.path.dirname(__file__), "..", "..", "Scripts", "erasure-check.py"))
erasure_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(erasure_check)

CLASSES = [  # (name, pattern on the key)
    ("user histories", re.compile(rb"^funnel:\{[0-9a-f]{64}\}:u$")),
    ("applied event ids", re.compile(rb"^funnel:\{[0-9a-f]{64}\}:e:")),
    ("ingested event ids", re.compile(rb"^funnel:in:\{\d+\}:")),
    ("users' stream entry lists", re.compile(rb"^funnel:ue:\{\d+\}:")),
    ("event stream", re.compile(rb"^funnel:events:\{\d+\}$")),
    ("item counters", re.compile(rb"^funnel:i:")),
    ("answer origins", re.compile(rb"^funnel:dash:ans:")),
    ("dashboard rollups", re.compile(rb"^funnel:\{dash\}:")),
    ("exposure log", re.compile(rb"^funnel:exposures:\{x\d+\}$")),
]


def metric(port, name):
    text = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    text.request("GET", "/metrics")
    body = text.getresponse().read().decode()
    pattern = rf"^{re.escape(name)} (\S+)$" if "{" in name else rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$"
    return sum(float(m.group(1)) for m in re.finditer(pattern, body, re.M))


def main():
    http_port, grpc_port, url, binary = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    users = int(sys.argv[5]) if len(sys.argv) > 5 else 2_000
    per_user = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    redis = erasure_check.Redis(url)
    before = int(re.search(rb"used_memory:(\d+)", redis.call("INFO", "memory")).group(1))
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    now_ms = int(time.time() * 1000)
    sent = 0
    start = time.monotonic()
    for user in range(users):
        events = [{"event_id": f"cap-{user}-{k}", "user_id": f"CAP-USER-{user:07d}", "item_id": f"SKU-{100_000 + (user * 7 + k * 13) % 5000}",
                   "type": "view", "timestamp_ms": now_ms - (per_user - k) * 1000} for k in range(per_user)]
        for chunk in range(0, len(events), 500):
            connection.request("POST", "/v1/events", json.dumps({"events": events[chunk:chunk + 500]}),
                               {"content-type": "application/json"})
            answer = json.loads(connection.getresponse().read())
            sent += answer.get("accepted", 0)
    took = time.monotonic() - start
    while metric(http_port, "funnel_updater_applied_total") < sent:
        time.sleep(0.5)
    after = int(re.search(rb"used_memory:(\d+)", redis.call("INFO", "memory")).group(1))
    print(f"events: {sent} accepted in {took:.1f} s ({sent / took:.0f}/s over one HTTP connection), all applied")

    counts = {name: 0 for name, _ in CLASSES}
    samples = {name: [] for name, _ in CLASSES}
    cursor = b"0"
    while True:
        cursor, keys = redis.call("SCAN", cursor, "COUNT", "5000")
        for key in keys:
            for name, pattern in CLASSES:
                if pattern.search(key):
                    counts[name] += 1
                    if len(samples[name]) < 400:
                        samples[name].append(key)
                    break
        if cursor == b"0":
            break
    print(f"Redis used_memory grew {(after - before) / 1e6:.1f} MB for {users} users x {per_user} events")
    weights = {}
    for name, _ in CLASSES:
        if not counts[name]:
            continue
        sizes = redis.send([["MEMORY", "USAGE", key, "SAMPLES", "0"] for key in samples[name]])
        mean = sum(int(s or 0) for s in sizes) / len(sizes)
        weights[name] = mean * counts[name]
        print(f"  {name:<26} {counts[name]:>9} keys x {mean:>9.0f} B = {mean * counts[name] / 1e6:>8.1f} MB")
    # This run's users only (the demo shop's own users have shorter histories): their keys by digest.
    ours = [f"funnel:{{{hashlib.sha256(f'CAP-USER-{u:07d}'.encode()).hexdigest()}}}:u" for u in range(0, users, max(1, users // 200))]
    history = sum(int(x or 0) for x in redis.send([["MEMORY", "USAGE", k, "SAMPLES", "0"] for k in ours])) / len(ours)
    def per_entry(pattern):
        keys = [k for k in samples[pattern]]
        total = sum(int(redis.call("MEMORY", "USAGE", k, "SAMPLES", "0") or 0) for k in keys)
        entries = sum(int(redis.call("XLEN", k)) for k in keys)
        return total / max(1, entries)
    stream_entry = per_entry("event stream")
    ids = sum(weights.get(n, 0) / max(1, counts[n]) for n in ("applied event ids", "ingested event ids"))
    entry_list = weights.get("users' stream entry lists", 0) / max(1, sent)
    item = weights.get("item counters", 0) / max(1, counts["item counters"])
    print(f"per user: {history:.0f} B of history ({per_user} interactions); per event: {ids:.0f} B of remembered ids "
          f"(7 days) + {stream_entry:.0f} B in the stream + {entry_list:.0f} B in its user's entry list (6 days); "
          f"per item: {item:.0f} B of counters")
    # Store reads per answer: recommend with the load client, then the replica's counters.
    reads_before = {s: metric(http_port, f'funnel_store_reads_total{{stage="{s}"}}') for s in ("recent", "profile", "item_features")}
    answers_before = metric(http_port, "funnel_answers_total")
    subprocess.run([binary, "load", "--target", f"127.0.0.1:{grpc_port}", "--rate", "100", "--duration", "10s", "--quiet"],
                   check=True, capture_output=True)
    answers = metric(http_port, "funnel_answers_total") - answers_before
    reads = {s: metric(http_port, f'funnel_store_reads_total{{stage="{s}"}}') - v for s, v in reads_before.items()}
    time.sleep(1)  # the exposure writer flushes every 100 ms
    shards = [k for k in redis.call("KEYS", "funnel:exposures:{x*}")]
    exposures = sum(int(redis.call("XLEN", k)) for k in shards)
    exposure = sum(int(redis.call("MEMORY", "USAGE", k, "SAMPLES", "0") or 0) for k in shards) / max(1, exposures)
    cursor, origin_keys = b"0", []
    while len(origin_keys) < 200:
        cursor, page = redis.call("SCAN", cursor, "MATCH", "funnel:dash:ans:*", "COUNT", "1000")
        origin_keys += page
        if cursor == b"0":
            break
    origin = (sum(int(x or 0) for x in redis.send([["MEMORY", "USAGE", k, "SAMPLES", "0"] for k in origin_keys])) / len(origin_keys)
              if origin_keys else 0)
    print(f"per answer: {exposure:.0f} B in the exposure log ({exposures} entries), {origin:.0f} B of answer origin")
    print(f"store reads per answer over {answers:.0f} answers: "
          + ", ".join(f"{s} {v / answers:.2f}" for s, v in reads.items()))
    print(json.dumps({"bytes_per_user_history": history, "bytes_per_event_ids": ids, "bytes_per_stream_entry": stream_entry,
                      "bytes_per_item": item, "bytes_per_exposure": exposure, "bytes_per_answer_origin": origin,
                      "reads_per_answer": {s: v / answers for s, v in reads.items()}}))


if __name__ == "__main__":
    main()
