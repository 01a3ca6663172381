"""The wheel turning without a hand on it, from outside: two replicas following a shared generation
location through Redis; events tracked and catalog changes posted over gRPC (grpcio) reach both;
`funnel pipeline run` archives the events, builds a generation with the changes folded in, validates,
publishes it and trims the feed once both replicas serve it; a run on a truncated catalog is refused
(exit 3) and the fleet keeps serving the good generation; `funnel archive verify` passes, then catches
a flipped byte; a user forgotten after archiving is rewritten out of it; drains killed with SIGKILL
mid-way archive every event exactly once.

Usage: pipeline-check.py FUNNEL_BINARY REDIS_URL
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402
import processes  # noqa: E402

api_check = __import__("api-check")


free_port = processes.free_port


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return json.loads(r.read())
    except Exception:  # noqa: BLE001 - not there (yet)
        return None


def wait_until(what, condition, seconds=20):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit(f"pipeline-check: {what} not within {seconds} s")


def main():
    binary, redis = sys.argv[1], sys.argv[2]
    redis = redis.rstrip("/") + "/7" if redis.startswith("redis://") and redis.count("/") == 2 else redis
    work = tempfile.mkdtemp(prefix="funnel-pipeline-check-")
    run = lambda *args, check=True: subprocess.run([binary, *args], capture_output=True, text=True, check=check)  # noqa: E731
    subprocess.run(["redis-cli", "-u", redis, "FLUSHDB"], check=True, capture_output=True)
    data, gens, shared, archive = (os.path.join(work, n) for n in ("data", "gens", "shared", "archive"))
    run("generate", "demo", "--out", data, "--items", "400", "--users", "150")
    print(run("index", "build", "--catalog", f"{data}/items.jsonl", "--events", f"{data}/events.jsonl", "--out", gens).stdout.strip())
    os.makedirs(shared)
    print(run("index", "publish", "--from", gens, "--to", shared, "--redis", redis).stdout.strip())
    replicas, started = [], []
    for name in ("p1", "p2"):
        port, http, admin = free_port(), free_port(), free_port()
        log = open(os.path.join(work, name + ".log"), "w")
        started.append(subprocess.Popen([binary, "serve", "--port", str(port), "--http-port", str(http), "--admin-port", str(admin),
                                         "--dashboard-port=-1", "--redis", redis, "--index", os.path.join(work, name),
                                         "--index-source", shared, "--set", f"server.replicaName={name}"],
                                        stdout=log, stderr=subprocess.STDOUT))
        replicas.append((port, http, admin))
    failed = False
    try:
        for _, http, _ in replicas:
            wait_until(f"replica on {http} ready", lambda: (get(http, "/readyz") or {}).get("ready") is True, 60)
        pb, pb_grpc, ev, ev_grpc, adm, adm_grpc = api_check.load_protos(tempfile.mkdtemp(dir=work))
        events = ev_grpc.EventCollectorStub(grpc.insecure_channel(f"127.0.0.1:{replicas[0][0]}"))
        admin = adm_grpc.AdminStub(grpc.insecure_channel(f"127.0.0.1:{replicas[1][2]}"))
        now = int(time.time() * 1000)
        tracked = [ev.Event(event_id=f"pc-{i}", user_id=f"pc-user-{i % 7}", item_id=f"SKU-{100000 + i % 40}",
                            type=ev.EVENT_TYPE_PURCHASE, timestamp_ms=now) for i in range(60)]
        accepted = events.Track(ev.TrackRequest(events=tracked), timeout=10).accepted
        admin.UpsertItems(adm.UpsertItemsRequest(items=[adm.CatalogItem(
            id="PC-NEW-1", title="vorpalite teapot", category="home/kitchen", brand="Check", price=12.5)]), timeout=5)
        admin.DeleteItems(adm.DeleteItemsRequest(item_ids=["SKU-100003"]), timeout=5)
        for _, http, _ in replicas:
            wait_until("the changes on every replica", lambda: get(http, "/v1/items/PC-NEW-1") and not get(http, "/v1/items/SKU-100003"), 10)
        print(f"tracked {accepted} events; a new item and a deletion served by both replicas")
        before = get(replicas[0][1], "/readyz")["index"]

        result = run("pipeline", "run", "--redis", redis, "--catalog", f"{data}/items.jsonl", "--events", f"{data}/events.jsonl",
                     "--archive", archive, "--out", gens, "--to", shared, "--wait", "30", check=False)
        print(result.stdout.strip())
        assert result.returncode == 0, f"pipeline run exited {result.returncode}: {result.stderr}"
        assert "archive: 60 events" in result.stdout, "every tracked event archived"
        assert "folded 2 catalog changes" in result.stdout and "trimmed 2 changes" in result.stdout
        after = get(replicas[0][1], "/readyz")["index"]
        assert after != before and all(get(h, "/readyz")["index"] == after for _, h, _ in replicas), "both serve the new generation"
        for _, http, _ in replicas:
            assert get(http, "/v1/items/PC-NEW-1") and not get(http, "/v1/items/SKU-100003"), "the changes are in the generation"
        assert run("catalog", "ls", "--redis", redis).stdout.strip().endswith("0 changes")

        # A user forgotten after their events were archived: the next run rewrites them out of it.
        admin.ForgetUser(adm.ForgetUserRequest(user_id="pc-user-3"), timeout=10)
        truncated = os.path.join(work, "truncated.jsonl")
        with open(f"{data}/items.jsonl") as full, open(truncated, "w") as out:
            out.writelines(full.readlines()[:100])
        refused = run("pipeline", "run", "--redis", redis, "--catalog", truncated, "--archive", archive, "--out", gens,
                      "--to", shared, check=False)
        print(refused.stdout.strip().splitlines()[-1])
        assert "without 9 events of forgotten users" in refused.stdout, refused.stdout
        erased = os.path.join(work, "erased.jsonl")
        assert run("archive", "export", "--dir", archive, "--out", erased, check=False).returncode == 0
        users = [json.loads(line)["user_id"] for line in open(erased)]
        assert len(users) == 51 and "pc-user-3" not in users, f"{len(users)} events left, pc-user-3 among them: {'pc-user-3' in users}"
        assert refused.returncode == 3 and "refused" in refused.stdout, f"exit {refused.returncode}: {refused.stdout}"
        time.sleep(1.5)
        assert all(get(h, "/readyz")["index"] == after for _, h, _ in replicas), "the fleet keeps the good generation"

        verified = run("archive", "verify", "--dir", archive, check=False)
        assert verified.returncode == 0, verified.stdout
        segment = next(os.path.join(d, f) for d, _, fs in os.walk(archive) for f in fs if f.endswith(".jsonl.gz"))
        with open(segment, "r+b") as f:
            f.seek(os.path.getsize(segment) // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0x01]))
        flipped = run("archive", "verify", "--dir", archive, check=False)
        assert flipped.returncode == 1 and "CRC-32C" in flipped.stdout, flipped.stdout

        # Drains killed with SIGKILL at growing moments (small segments, so kills land mid-drain),
        # until one finishes: every event in the stream is archived once, none lost, none twice.
        spread = [ev.Event(event_id=f"kill-{i}", user_id=f"kill-user-{i % 97}", item_id=f"SKU-{100010 + i % 300}",
                           type=ev.EVENT_TYPE_VIEW, timestamp_ms=now - (i % 30) * 3_600_000 - i) for i in range(4_000)]
        for chunk in range(0, len(spread), 500):
            reply = events.Track(ev.TrackRequest(events=spread[chunk:chunk + 500]), timeout=20)
            assert reply.accepted == 500, f"{reply.accepted} of 500 accepted: {reply.rejected[:3]}"
        killed_dir = os.path.join(work, "killed-archive")
        segments = lambda: sum(f.endswith(".jsonl.gz") for _, _, fs in os.walk(killed_dir) for f in fs)  # noqa: E731
        kills, delay, after_kills = 0, 0.05, []
        while True:
            drain = subprocess.Popen([binary, "archive", "drain", "--redis", redis, "--dir", killed_dir, "--batch", "40"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                drain.wait(timeout=delay)
                break
            except subprocess.TimeoutExpired:
                drain.kill()
                drain.wait()
                kills += 1
                after_kills.append(segments())
                delay *= 1.5
        assert drain.returncode == 0, drain.stdout.read()
        exported = os.path.join(work, "killed.jsonl")
        assert run("archive", "export", "--dir", killed_dir, "--out", exported, check=False).returncode == 0
        archived = [json.loads(line)["event_id"] for line in open(exported)]
        expected = {f"kill-{i}" for i in range(4_000)} | {e.event_id for e in tracked if e.user_id != "pc-user-3"}
        total = segments()
        assert any(0 < n < total for n in after_kills), f"no drain was killed mid-way: segments after each kill {after_kills} of {total}"
        assert len(archived) == len(expected) and set(archived) == expected, \
            f"{len(archived)} archived ({len(set(archived))} distinct), {len(expected)} in the stream"
        assert run("archive", "verify", "--dir", killed_dir, check=False).returncode == 0
        print(f"pipeline-check: {kills} drains killed (SIGKILL), segments written by then {after_kills} of {total}; "
              f"{len(archived)} events archived, each once")
        print("pipeline-check: passed (archive, fold, validate, publish, trim; a truncated catalog refused; a flipped byte caught; killed drains)")
    except (AssertionError, SystemExit) as e:
        failed = True
        print(f"pipeline-check: FAILED: {e}")
    finally:
        processes.stop(started)
        if failed:
            processes.show_logs(work, ["p1.log", "p2.log"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
