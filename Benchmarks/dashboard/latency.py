#!/usr/bin/env python3
"""Dashboard latency and cost against a running `funnel serve` (see run.sh).

latency: background behaviour events at RATE per second (batches of 50 over POST /v1/events, on
  several keep-alive connections) while a marker order (paid, amount 1) is posted every 100-400 ms (random gaps); a
  server-sent-event client on /v1/dashboard/stream times each marker from its POST to the first
  `tick` whose today's GMV includes it. Prints p50/p99/max.
viewers: server CPU with no page open, then with N pages open (raw SSE readers), over the same
  time: CPU per viewer (% of a core) and per push (microseconds per message per viewer).
"""
import argparse, http.client, json, os, random, socket, statistics, sys, threading, time


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stream:
    """A raw SSE reader on the dashboard listener; calls on_tick(dict) for each tick."""

    def __init__(self, host, port, on_tick=None):
        self.sock = socket.create_connection((host, port))
        self.sock.sendall(f"GET /v1/dashboard/stream HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.on_tick = on_tick
        self.messages = 0
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        buffer = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.on_tick is None:
                self.messages += data.count(b"\n\n")
                continue
            buffer += data
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                self.messages += 1
                if b"event: tick" in block:
                    for line in block.split(b"\n"):
                        if line.startswith(b"data: "):
                            self.on_tick(json.loads(line[6:]), time.monotonic())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def post(connection, path, body):
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status} {data[:200]}")
    return json.loads(data)


def background(http_port, rate, stop, items, counter):
    """Events at `rate` per second in batches of 50 on one keep-alive connection per thread."""
    threads = max(1, min(8, int(rate // 500) + 1))
    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        per_thread = rate / threads
        interval = 50 / per_thread
        next_at = time.monotonic()
        n = 0
        while not stop.is_set():
            now = time.monotonic()
            if now < next_at:
                time.sleep(min(0.05, next_at - now))
                continue
            next_at += interval
            events = [{"event_id": f"bg-{index}-{n}-{i}-{time.time_ns()}", "user_id": f"U-{(n * 50 + i) % 3000}",
                       "item_id": items[(n + i) % len(items)], "type": "view"} for i in range(50)]
            post(connection, "/v1/events", {"events": events})
            counter[index] = counter.get(index, 0) + 50
            n += 1
    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    return pool


def latency(args):
    connection = http.client.HTTPConnection("127.0.0.1", args.http, timeout=30)
    items = [i["item_id"] for i in post(connection, "/v1/recommend", {"user_id": "U-1", "scene": "home", "count": 50})["items"]]
    seen = {"gmv": None}
    lock = threading.Condition()
    def on_tick(tick, at):
        with lock:
            seen["gmv"] = tick["tiles"]["today"]["gmv"]
            seen["at"] = at
            lock.notify_all()
    stream = Stream("127.0.0.1", args.dashboard, on_tick)
    with lock:
        lock.wait_for(lambda: seen["gmv"] is not None, timeout=10)
    stop, counter = threading.Event(), {}
    background(args.http, args.rate, stop, items, counter)
    time.sleep(3)
    delays = []
    started = time.monotonic()
    events_before = sum(counter.values())
    for k in range(args.markers):
        with lock:
            base = seen["gmv"]
        order = {"order_id": f"marker-{time.time_ns()}", "state": "paid", "customer_id": "marker", "amount": 1, "currency": "GBP",
                 "lines": [{"item_id": items[0], "quantity": 1, "unit_price": 1}]}
        sent = time.monotonic()
        post(connection, "/v1/orders", {"orders": [order]})
        with lock:
            if not lock.wait_for(lambda: seen["gmv"] >= base + 1 - 1e-9, timeout=5):
                raise SystemExit(f"marker {k} never reached the stream")
            delays.append(seen["at"] - sent)
        # A random gap, so the markers do not lock onto the server's push cadence.
        time.sleep(0.1 + random.random() * 0.3)
    achieved = (sum(counter.values()) - events_before) / (time.monotonic() - started)
    stop.set()
    stream.close()
    delays.sort()
    p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))] * 1000
    print(json.dumps({"target_events_per_second": args.rate, "events_per_second": round(achieved), "markers": len(delays),
                      "p50_ms": round(p(0.5), 1), "p99_ms": round(p(0.99), 1), "max_ms": round(delays[-1] * 1000, 1)}))


def viewers(args):
    pid = args.pid
    def measure(seconds):
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    idle = measure(args.seconds)
    streams = [Stream("127.0.0.1", args.dashboard) for _ in range(args.viewers)]
    time.sleep(2)
    before = sum(s.messages for s in streams)
    busy = measure(args.seconds)
    messages = sum(s.messages for s in streams) - before
    for s in streams:
        s.close()
    per_viewer = (busy - idle) / args.viewers
    pushes = messages / args.seconds  # messages delivered per second over all viewers
    print(json.dumps({"viewers": args.viewers, "idle_cpu_percent": round(idle * 100, 2), "cpu_percent": round(busy * 100, 2),
                      "cpu_percent_per_viewer": round(per_viewer * 100, 3),
                      "messages_per_second": round(pushes), "cpu_us_per_message": round((busy - idle) / max(1, pushes) * 1e6, 1)}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["latency", "viewers"])
    parser.add_argument("--http", type=int, required=True)
    parser.add_argument("--dashboard", type=int, required=True)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--markers", type=int, default=200)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    (latency if args.mode == "latency" else viewers)(args)


if __name__ == "__main__":
    main()
