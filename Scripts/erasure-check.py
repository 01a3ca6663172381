#!/usr/bin/env python3
"""ForgetUser across two replicas sharing Redis, checked from outside (grpcio, Redis read directly, the files written).

Starts two `funnel serve --redis URL` replicas on one Redis database of their own, sends a user's
events through both, asks both for recommendations (so exposures are logged and the user's history is
read), exports the training rows, then calls ForgetUser on one replica's admin listener and checks:

  - the receipt names what was removed where (events and stream entries, exposures), both replicas
    as having cleared their caches, and the tombstone;
  - no Redis key, and no value of any key (strings, lists, sets, sorted sets, hashes, streams), holds
    the user id: every key of the database is read with SCAN;
  - a training export written before the erasure held the user; one written after does not, and
    `--encrypt-key` seals it (no plaintext in the file; `funnel decrypt` opens it);
  - the other replica no longer answers with the user's history.

Prints 'N passed, N failed'; exit 0 when all pass.

    python3 Scripts/erasure-check.py .build/debug/funnel redis://127.0.0.1:6379
Needs grpcio and grpcio-tools (Scripts/requirements.txt).
"""
import datetime
import json
import importlib
import os
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
api_check = importlib.import_module("api-check")
security_check = importlib.import_module("security-check")

DATABASE = 9  # a Redis database of this check's own, emptied first
USER = "erasure-check-user-7f3a"


class Redis:
    """A minimal RESP client (pipelined): enough to read every key of a database quickly."""

    def __init__(self, url):
        rest = url.split("://", 1)[1]
        address, _, db = rest.partition("/")
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.buf = b""
        if db:
            self.call("SELECT", db)

    def send(self, commands):
        out = b""
        for args in commands:
            args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            out += b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        self.sock.sendall(out)
        return [self.reply() for _ in commands]

    def call(self, *args):
        return self.send([args])[0]

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return rest
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        n = int(rest)
        return None if n < 0 else [self.reply() for _ in range(n)]


def flat(reply):
    if isinstance(reply, list):
        return b"\x00".join(flat(x) for x in reply)
    return reply or b""


def every_key(url):
    """(key, every byte of its value) for each key of the database (SCAN, then pipelined reads)."""
    client, cursor, keys = Redis(url), b"0", []
    while True:
        cursor, page = client.call("SCAN", cursor, "COUNT", "1000")
        keys += page
        if cursor == b"0":
            break
    for start in range(0, len(keys), 500):
        batch = keys[start:start + 500]
        kinds = client.send([["TYPE", k] for k in batch])
        reads = {b"string": lambda k: ["GET", k], b"list": lambda k: ["LRANGE", k, "0", "-1"], b"set": lambda k: ["SMEMBERS", k],
                 b"zset": lambda k: ["ZRANGE", k, "0", "-1", "WITHSCORES"], b"hash": lambda k: ["HGETALL", k],
                 b"stream": lambda k: ["XRANGE", k, "-", "+"]}
        values = client.send([reads.get(kind, lambda k: ["EXISTS", k])(key) for key, kind in zip(batch, kinds)])
        for key, value in zip(batch, values):
            yield key, flat(value)


def redis(url, *args):
    return Redis(url).call(*args)


def main():
    binary, base = sys.argv[1], sys.argv[2].rstrip("/")
    url = f"{base.rsplit('/', 1)[0] if base.count('/') > 2 else base}/{DATABASE}"
    directory = tempfile.mkdtemp(prefix="funnel-erasure-check-")
    os.makedirs(os.path.join(directory, "protos"))
    pb, pb_grpc, ev, ev_grpc, adm, adm_grpc = api_check.load_protos(os.path.join(directory, "protos"))
    r = api_check.Report()
    redis(url, "FLUSHDB")
    # A small demo shop: its history is loaded into Redis at start, and every key is read below.
    shop = ["--redis", url, "--demo-items", "500", "--demo-users", "100"]
    replicas = [security_check.Server(binary, directory, f"replica-{i}", shop) for i in (1, 2)]
    try:
        channels = [grpc.insecure_channel(f"127.0.0.1:{s.port}") for s in replicas]
        admins = [adm_grpc.AdminStub(grpc.insecure_channel(f"127.0.0.1:{s.admin}")) for s in replicas]
        for c in channels:
            grpc.channel_ready_future(c).result(timeout=30)
        recommenders = [pb_grpc.RecommenderStub(c) for c in channels]
        items = [i.item_id for i in recommenders[0].Recommend(pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=6),
                                                              timeout=10).items]
        now = int(time.time() * 1000)
        for n, (stub, chosen) in enumerate(zip(channels, (items[:3], items[3:5]))):
            events = [ev.Event(event_id=f"erasure-{now}-{n}-{k}", user_id=USER, item_id=item, type=ev.EVENT_TYPE_CLICK,
                               timestamp_ms=now) for k, item in enumerate(chosen)]
            answer = ev_grpc.EventCollectorStub(stub).Track(ev.TrackRequest(events=events), timeout=10)
            r.check(f"events through replica {n + 1}", answer.accepted == len(chosen), str(answer))
        time.sleep(1.5)  # the updaters apply the stream
        for n, stub in enumerate(recommenders):
            answer = stub.Recommend(pb.RecommendRequest(user_id=USER, scene=pb.SCENE_HOME, count=10), timeout=10)
            r.check(f"replica {n + 1} answers from the user's history", any("similar" in i.channels for i in answer.items),
                    str([list(i.channels) for i in answer.items]))
        time.sleep(1)  # exposures leave the buffers every 100 ms
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        before = os.path.join(directory, "before.jsonl")
        subprocess.run([binary, "export", "training", "--redis", url, "--since", today, "--out", before], check=True,
                       capture_output=True, timeout=120)
        r.check("an export before the erasure holds the user", USER.encode() in open(before, "rb").read())
        r.check("Redis holds the user before the erasure", any(USER.encode() in key + value for key, value in every_key(url)))

        receipt = admins[0].ForgetUser(adm.ForgetUserRequest(user_id=USER), timeout=30)
        parts = {(p.store, p.what): p.count for p in receipt.erased}
        r.check("the receipt lists what was removed where",
                parts.get(("redis", "events, interactions and queued stream entries"), 0) >= 5
                and parts.get(("redis", "exposures"), 0) >= 2 and receipt.events_removed == sum(parts.values()), str(receipt))
        r.check("the receipt names both replicas as cleared, and the tombstone",
                len(receipt.replicas_cleared) == 2 and receipt.tombstoned, str(receipt))

        holding = [key for key, value in every_key(url) if USER.encode() in key + value]
        r.check("no Redis key or value holds the user id (SCAN of every key)", not holding, str(holding[:10]))
        after = os.path.join(directory, "after.jsonl")
        subprocess.run([binary, "export", "training", "--redis", url, "--since", today, "--out", after], check=True,
                       capture_output=True, timeout=120)
        r.check("an export after the erasure holds no row of the user", USER.encode() not in open(after, "rb").read())
        key_file = os.path.join(directory, "export.key")
        with open(key_file, "w") as f:
            f.write(subprocess.run([binary, "auth", "new-encryption-key"], capture_output=True, text=True, check=True).stdout)
        sealed, opened = os.path.join(directory, "sealed.jsonl"), os.path.join(directory, "opened.jsonl")
        subprocess.run([binary, "export", "training", "--redis", url, "--since", today, "--out", sealed, "--encrypt-key", key_file],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([binary, "decrypt", "--key", key_file, sealed, opened], check=True, capture_output=True, timeout=60)
        plain, ciphertext = open(after, "rb").read(), open(sealed, "rb").read()
        r.check("a sealed export opens to the same rows, holds none in plaintext, and leaves no plaintext file",
                open(opened, "rb").read() == plain and len(plain) > 40 and plain[:40] not in ciphertext
                and not [n for n in os.listdir(directory) if ".plain-" in n], f"{len(plain)} bytes of rows")
        # Batch answers name users: sealed when asked, and they open to one line per user.
        users_file, recs = os.path.join(directory, "users.csv"), os.path.join(directory, "recs.jsonl")
        with open(users_file, "w") as f:
            f.write("".join(f"U-{i}\n" for i in range(1, 21)))
        subprocess.run([binary, "batch", "--target", f"127.0.0.1:{replicas[1].port}", "--users", users_file, "--out", recs,
                        "--encrypt-key", key_file], check=True, capture_output=True, timeout=300)
        subprocess.run([binary, "decrypt", "--key", key_file, recs, recs + ".opened"], check=True, capture_output=True, timeout=60)
        lines = open(recs + ".opened").read().splitlines()
        r.check("batch output sealed when asked, opening to a line per user", len(lines) == 20
                and b'"U-1"' not in open(recs, "rb").read(), f"{len(lines)} lines")
        # Event files written before the erasure: an index build told the tombstones leaves the user's events out.
        shop = os.path.join(directory, "shop")
        subprocess.run([binary, "generate", "demo", "--out", shop, "--items", "200", "--users", "20"], check=True,
                       capture_output=True, timeout=120)
        first = json.loads(open(os.path.join(shop, "events.jsonl")).readline())
        with open(os.path.join(shop, "events.jsonl"), "a") as f:
            for k in range(4):
                f.write(json.dumps({**first, "event_id": f"file-{k}", "user_id": USER, "session_id": "S-x"}) + "\n")
        counts = {}
        for told in (False, True):
            out = os.path.join(directory, f"generations-{told}")
            args = [binary, "index", "build", "--catalog", os.path.join(shop, "items.jsonl"), "--events",
                    os.path.join(shop, "events.jsonl"), "--out", out] + (["--tombstones", url] if told else [])
            printed = subprocess.run(args, check=True, capture_output=True, text=True, timeout=300).stdout
            counts[told] = int(printed.split(" events")[0].rsplit(" ", 1)[1])
        r.check("an index build told the tombstones leaves the forgotten user's 4 events out", counts[False] - counts[True] == 4,
                f"{counts}")
        for n, stub in enumerate(recommenders):
            answer = stub.Recommend(pb.RecommendRequest(user_id=USER, scene=pb.SCENE_HOME, count=10), timeout=10)
            r.check(f"replica {n + 1} no longer answers from the user's history",
                    not any("similar" in i.channels for i in answer.items), str([list(i.channels) for i in answer.items]))
    finally:
        for s in replicas:
            s.stop()
        redis(url, "FLUSHDB")
    print(f"{r.passed} passed, {r.failed} failed")
    sys.exit(0 if r.failed == 0 else 1)


if __name__ == "__main__":
    main()
