#!/usr/bin/env python3
"""Hostile clients against a running `funnel serve` (loopback only, bounded in count and time).

Each case attacks for --seconds while a well-behaved bystander (grpcio, a process of its own) calls
Health.Check and Recommend every 50 ms with a 2 s deadline; then the attacker leaves and the script measures how
long until Health answers again. The server's resident memory is sampled from /proc/PID/status.

Cases:
  parked       30 connections park unfinished 4 MiB messages on as many streams as they may open
  zero-window  30 connections with an initial window of 0 that never read, asking for large answers
  flood        one client keeps 8,000 heavy Recommend calls in flight on two connections (grpcio aio;
               FLOOD_COUNT sets the items asked for per call, 1,000 by default)
  rapid-reset  streams opened with a whole request and reset at once, as fast as one client can

Prints one JSON line per case: peak RSS (MB), bystander calls, failures, p50/p99 (ms), recovery (ms).
"""
import argparse
import asyncio
import importlib
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTOS = os.path.join(ROOT, "Sources", "FunnelGRPC", "Protos")
RECOMMEND = "/funnel.v1.Recommender/Recommend"


def load_stubs():
    out = tempfile.mkdtemp(prefix="funnel-hostile-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(PROTOS, "funnel")) for f in fs if f.endswith(".proto")]
    if protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"] + files):
        sys.exit("hostile: protoc failed")
    sys.path.insert(0, out)
    return importlib.import_module("funnel.v1.recommender_pb2"), importlib.import_module("funnel.v1.recommender_pb2_grpc")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The server's peak RSS while running."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.05)


def bystander(target, stop, results):
    """A well-behaved client in a process of its own (so the attackers' threads and GIL do not slow
    it): Health.Check and Recommend in turn every 50 ms with a 2 s deadline, until `stop`."""
    pb, pb_grpc = load_stubs()
    channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    health = health_pb2_grpc.HealthStub(channel)
    rec = pb_grpc.RecommenderStub(channel)
    request = pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=10)
    latencies, failures, i = [], [], 0
    begin, slow = time.perf_counter(), []
    while not stop.is_set():
        start = time.perf_counter()
        try:
            if i % 2 == 0:
                health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            else:
                rec.Recommend(request, timeout=2)
            latencies.append((time.perf_counter() - start) * 1000)
            if latencies[-1] > 100:
                slow.append((round(start - begin, 2), "health" if i % 2 == 0 else "recommend", round(latencies[-1])))
        except grpc.RpcError as e:
            failures.append(str(e.code()))
        i += 1
        time.sleep(max(0.0, 0.05 - (time.perf_counter() - start)))
    channel.close()
    if slow:
        print(f"bystander: calls over 100 ms (seconds after it started, call, ms): {slow}", file=sys.stderr, flush=True)
    results.put((latencies, failures))


def grpc_headers(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "funnel"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


def framed(message):
    return bytes([0]) + len(message).to_bytes(4, "big") + message


class RawConnection:
    """An HTTP/2 client connection on a blocking socket, driven by hand (h2 does the framing)."""

    def __init__(self, host, port, settings=None):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.closed, self.ended = False, set()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, timeout=0.01):
        """Reads what arrived (window updates, resets, answers, GOAWAY) without blocking long."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, BlockingIOError):
            return
        except OSError:
            self.closed = True
            return
        if not data:
            self.closed = True
            return
        try:
            events = self.conn.receive_data(data)
        except Exception:
            self.closed = True
            return
        for event in events:
            if isinstance(event, (h2.events.StreamReset, h2.events.StreamEnded, h2.events.TrailersReceived)):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
        try:
            self.flush()
        except OSError:
            self.closed = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def reconnecting(host, port, stop):
    """Connections to the server, a new one whenever the last is closed or sent away, until `stop`."""
    while not stop.is_set():
        try:
            c = RawConnection(host, port)
        except OSError:
            time.sleep(0.05)
            continue
        yield c
        c.close()


def parked(host, port, stop, connections=30, streams=16, message=4 * 1024 * 1024 - 16):
    """Each connection parks `streams` unfinished messages of 4 MiB (all but the last bytes)."""
    def attacker():
        for c in reconnecting(host, port, stop):
            open_streams = []
            while not stop.is_set() and not c.closed:
                if len([s for s in open_streams if s[0] not in c.ended]) < streams and c.conn.outbound_flow_control_window >= 5:
                    try:
                        sid = c.conn.get_next_available_stream_id()
                        c.conn.send_headers(sid, grpc_headers(RECOMMEND))
                        c.conn.send_data(sid, bytes([0]) + (message + 16).to_bytes(4, "big"))
                        open_streams.append([sid, 0])
                    except Exception:
                        c.closed = True
                        break
                for s in open_streams:
                    sid, sent = s
                    if sid in c.ended or sent >= message:
                        continue
                    try:
                        window = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size, message - sent)
                    except Exception:
                        c.ended.add(sid)
                        continue
                    window = min(window, c.conn.outbound_flow_control_window)
                    if window > 0:
                        c.conn.send_data(sid, b"\x01" * window)
                        s[1] += window
                try:
                    c.flush()
                except OSError:
                    c.closed = True
                c.pump()
    return [threading.Thread(target=attacker, daemon=True) for _ in range(connections)]


def zero_window(host, port, stop, connections=30, calls=300, pb=None):
    """Each connection shuts its window, asks for `calls` answers of 1,000 items, and never reads."""
    request = framed(pb.RecommendRequest(user_id="U-7", scene=pb.SCENE_HOME, count=1000).SerializeToString())

    def attacker():
        try:
            c = RawConnection(host, port, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
            c.pump(0.2)  # the server's preface and SETTINGS, once
            for _ in range(calls):
                sid = c.conn.get_next_available_stream_id()
                c.conn.send_headers(sid, grpc_headers(RECOMMEND))
                c.conn.send_data(sid, request, end_stream=True)
            c.flush()
        except Exception:
            return
        stop.wait()  # never reads again
        c.close()
    return [threading.Thread(target=attacker, daemon=True) for _ in range(connections)]


def flood(target, stop, pb, pb_grpc, in_flight=8000, channels=2):
    """One client keeping `in_flight` heavy calls open on `channels` connections."""
    request = pb.RecommendRequest(user_id="U-3", scene=pb.SCENE_HOME, count=int(os.environ.get("FLOOD_COUNT", "1000")))

    async def main():
        chans = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(channels)]
        stubs = [pb_grpc.RecommenderStub(ch) for ch in chans]

        async def caller(stub):
            while not stop.is_set():
                try:
                    await stub.Recommend(request, timeout=10)
                except grpc.RpcError:
                    await asyncio.sleep(0.01)
        await asyncio.gather(*(caller(stubs[i % channels]) for i in range(in_flight)))
        for ch in chans:
            await ch.close(grace=None)
    return [threading.Thread(target=lambda: asyncio.run(main()), daemon=True)]


def rapid_reset(host, port, stop, pb):
    """Open a stream with a whole request and reset it at once; reconnect whenever sent away."""
    request = framed(pb.RecommendRequest(user_id="U-4", scene=pb.SCENE_HOME, count=100).SerializeToString())

    def attacker():
        for c in reconnecting(host, port, stop):
            while not stop.is_set() and not c.closed:
                try:
                    for _ in range(50):
                        sid = c.conn.get_next_available_stream_id()
                        c.conn.send_headers(sid, grpc_headers(RECOMMEND))
                        c.conn.send_data(sid, request, end_stream=True)
                        c.conn.reset_stream(sid)
                    c.flush()
                except Exception:
                    c.closed = True
                c.pump(0.0)
    return [threading.Thread(target=attacker, daemon=True) for _ in range(2)]


def recovery_ms(target, limit=10.0):
    """Milliseconds from now until Health.Check answers (100 ms deadline per try)."""
    channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    stub = health_pb2_grpc.HealthStub(channel)
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < limit:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=0.1)
                return round((time.perf_counter() - start) * 1000, 1)
            except grpc.RpcError:
                time.sleep(0.01)
        return None
    finally:
        channel.close()


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def run_case(name, args, pb, pb_grpc):
    host, port = args.target.rsplit(":", 1)
    port = int(port)
    stop = threading.Event()
    sampler = Sampler(args.pid)
    sampler.start()
    rss_before = rss_mb(args.pid)
    spawn = multiprocessing.get_context("spawn")  # grpc does not survive fork
    bystander_stop, results = spawn.Event(), spawn.Queue()
    watcher = spawn.Process(target=bystander, args=(args.target, bystander_stop, results), daemon=True)
    watcher.start()
    time.sleep(1.5)
    attackers = {
        "parked": lambda: parked(host, port, stop),
        "zero-window": lambda: zero_window(host, port, stop, pb=pb),
        "flood": lambda: flood(args.target, stop, pb, pb_grpc),
        "rapid-reset": lambda: rapid_reset(host, port, stop, pb),
    }[name]()
    for a in attackers:
        a.start()
    time.sleep(args.seconds)
    stop.set()
    for a in attackers:
        a.join(timeout=15)
    recovered = recovery_ms(args.target)
    bystander_stop.set()
    latencies, failures = results.get(timeout=30)
    watcher.join(timeout=5)
    time.sleep(1.0)
    sampler.stop.set()
    sampler.join()
    return {"case": name, "rss_before_mb": round(rss_before), "rss_peak_mb": round(sampler.peak),
            "rss_after_mb": round(rss_mb(args.pid)), "bystander_calls": len(latencies) + len(failures),
            "bystander_failed": len(failures), "bystander_failures": sorted(set(failures)),
            "bystander_p50_ms": percentile(latencies, 0.5), "bystander_p99_ms": percentile(latencies, 0.99),
            "bystander_worst_ms": [round(v, 1) for v in sorted(latencies)[-3:]],
            "health_after_ms": recovered}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="host:port of funnel serve's gRPC listener (loopback)")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id (for its RSS)")
    parser.add_argument("--seconds", type=float, default=10, help="attack time per case (at most 60)")
    parser.add_argument("cases", nargs="*", default=["parked", "zero-window", "flood", "rapid-reset"])
    args = parser.parse_args()
    host = args.target.rsplit(":", 1)[0]
    if not (host.startswith("127.") or host in ("localhost", "[::1]")):
        sys.exit("hostile: loopback targets only")
    args.seconds = min(args.seconds, 60)
    pb, pb_grpc = load_stubs()
    for name in args.cases:
        print(json.dumps(run_case(name, args, pb, pb_grpc)), flush=True)
        time.sleep(2)


if __name__ == "__main__":
    main()
