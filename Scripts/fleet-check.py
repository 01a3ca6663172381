#!/usr/bin/env python3
"""A fleet under load: three replicas behind the balancers of Deploy/ (nginx and HAProxy, the files
as shipped with only their server, listen and bind lines pointed at local ports), sharing a Redis
Cluster and the MongoDB wire server. While `funnel load` calls through each balancer (and straight
at the three replicas, spread) at a fixed rate:

1. every replica is restarted in turn (SIGTERM: unready for server.shutdownDelayMs, then GOAWAY and
   drain; started again; ready before the next one goes);
2. a new index generation is published (`funnel index publish --wait`): every replica serves it;
3. a new model version lands in the shared registry: every replica serves it.

Passes when every load run saw zero failed calls and each new version reached every replica within
10 s. Prints the figures (calls, latency, convergence times).

Usage: fleet-check.py FUNNEL_BINARY   (REDIS_CLUSTER_URL and MONGO_URI in the environment;
Scripts/test starts both).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import processes as processes_module  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = float(os.environ.get("FLEET_RATE", "25"))  # calls/s per load run (three runs; debug builds share two cores)


free_port = processes_module.free_port


def ready(http_port):
    """(status, body) of the replica's GET /readyz, or (None, error)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {}
    except Exception as e:  # noqa: BLE001 - refused while restarting
        return None, str(e)


def wait_until(what, condition, seconds):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(0.1)
    raise SystemExit(f"fleet-check: {what} not within {seconds} s")


class Replica:
    def __init__(self, binary, directory, name, redis, mongo, shared, registry):
        self.binary, self.name = binary, name
        self.port, self.http = free_port(), free_port()
        self.local = os.path.join(directory, name)
        self.log = os.path.join(directory, name + ".log")
        self.args = [binary, "serve", "--port", str(self.port), "--http-port", str(self.http), "--admin-port=-1",
                     "--dashboard-port=-1", "--redis", redis, "--mongo", mongo, "--index", self.local,
                     "--index-source", shared, "--models", registry, "--model-name", "shop", "--index-poll-seconds", "1",
                     "--set", "server.shutdownDelayMs=1500", "--set", f"server.replicaName={name}",
                     "--set", "stores.redisStreamShards=3"]
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        def up():
            if self.process.poll() is not None:
                raise SystemExit(f"fleet-check: {self.name} exited with {self.process.returncode}")
            return ready(self.http)[0] == 200
        wait_until(f"{self.name} ready", up, 120)

    def stop(self):
        """SIGTERM, then wait for the drain to finish; returns how long it took."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return time.monotonic() - start

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()


def balancer_configs(directory, replicas):
    """nginx and HAProxy configurations from Deploy/, pointed at the replicas; their ports."""
    nginx_port, haproxy_port = free_port(), free_port()
    text = open(os.path.join(ROOT, "Deploy", "nginx-grpc.conf")).read()
    servers = "".join(f"    server 127.0.0.1:{r.port} max_fails=1 fail_timeout=2s;\n" for r in replicas)
    text = re.sub(r"(    server \S+ max_fails=\S+ fail_timeout=\S+;\n)+", servers, text)
    text = re.sub(r"listen \d+ http2;", f"listen 127.0.0.1:{nginx_port} http2;", text)
    nginx_dir = os.path.join(directory, "nginx")
    os.makedirs(nginx_dir)
    open(os.path.join(nginx_dir, "funnel.conf"), "w").write(text)
    open(os.path.join(nginx_dir, "nginx.conf"), "w").write(
        f"worker_processes 1;\npid {nginx_dir}/nginx.pid;\nerror_log {nginx_dir}/error.log warn;\n"
        f"events {{ worker_connections 4096; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {nginx_dir};\n  proxy_temp_path {nginx_dir};\n"
        f"  include {nginx_dir}/funnel.conf;\n}}\n")
    text = open(os.path.join(ROOT, "Deploy", "haproxy.cfg")).read()
    lines = []
    for line in text.splitlines():
        if re.match(r"\s+server r\d ", line):
            if line.strip().startswith("server r1 "):
                for i, r in enumerate(replicas, 1):
                    lines.append(f"    server r{i} 127.0.0.1:{r.port} proto h2 check port {r.http} check-proto h1 inter 300ms fall 2 rise 2")
            continue
        lines.append(re.sub(r"bind :\d+ proto h2", f"bind 127.0.0.1:{haproxy_port} proto h2", line))
    haproxy_cfg = os.path.join(directory, "haproxy.cfg")
    open(haproxy_cfg, "w").write("\n".join(lines) + "\n")
    return (nginx_dir, nginx_port), (haproxy_cfg, haproxy_port)


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"fleet-check: funnel {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def main():
    binary = os.path.abspath(sys.argv[1])
    redis, mongo = os.environ["REDIS_CLUSTER_URL"], os.environ["MONGO_URI"]
    directory = tempfile.mkdtemp(prefix="funnel-fleet-")
    processes, replicas = [], []
    try:
        data, build, shared, registry = (os.path.join(directory, d) for d in ("data", "build", "shared", "registry"))
        run(binary, "generate", "demo", "--out", data, "--items", "2000", "--users", "800")
        run(binary, "index", "build", "--catalog", f"{data}/items.jsonl", "--events", f"{data}/events.jsonl", "--out", build)
        print(run(binary, "index", "publish", "--from", build, "--to", shared, "--redis", redis).strip())
        first = sorted(os.listdir(shared))[-1]
        os.makedirs(f"{registry}/shop/1")
        model = {"format": "funnel-linear", "features": ["item_popularity", "recall_similar"], "weights": [1, 1], "bias": 0}
        json.dump(model, open(f"{registry}/shop/1/model.json", "w"))

        replicas = [Replica(binary, directory, f"r{i}", redis, mongo, shared, registry) for i in (1, 2, 3)]
        for r in replicas:
            r.start()
        (nginx_dir, nginx_port), (haproxy_cfg, haproxy_port) = balancer_configs(directory, replicas)
        processes.append(subprocess.Popen(["nginx", "-c", f"{nginx_dir}/nginx.conf", "-p", nginx_dir, "-g", "daemon off;"],
                                          stdout=subprocess.DEVNULL, stderr=open(f"{directory}/nginx.out", "w")))
        processes.append(subprocess.Popen(["haproxy", "-f", haproxy_cfg, "-db"],
                                          stdout=subprocess.DEVNULL, stderr=open(f"{directory}/haproxy.out", "w")))
        time.sleep(1.5)
        for p, name in zip(processes, ("nginx", "haproxy")):
            if p.poll() is not None:
                raise SystemExit(f"fleet-check: {name} exited: {open(f'{directory}/{name}.out').read()}")

        # The load: through each balancer, and straight at the three replicas (the client spreads);
        # item pages name items of the first catalog, which the second one keeps.
        seconds = 75
        scenario = os.path.join(directory, "scenario.json")
        json.dump({"itemCount": 2000, "users": 800}, open(scenario, "w"))
        direct = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
        loads = {}
        for name, target in (("nginx", f"127.0.0.1:{nginx_port}"), ("haproxy", f"127.0.0.1:{haproxy_port}"), ("direct", direct)):
            report = os.path.join(directory, f"load-{name}.json")
            loads[name] = (report, subprocess.Popen(
                [binary, "load", "--target", target, "--rate", str(RATE), "--duration", f"{seconds}s", "--connections", "3",
                 "--scenario", scenario, "--json", report, "--quiet"], stdout=open(f"{directory}/load-{name}.out", "w"), stderr=subprocess.STDOUT))
        started = time.monotonic()
        time.sleep(5)

        # 1. Rolling restart.
        for r in replicas:
            drained = r.stop()
            r.start()
            print(f"restarted {r.name}: drained in {drained:.1f} s, ready again")

        # 2. A new index generation (a different catalog size, so it is told apart).
        run(binary, "generate", "demo", "--out", data + "2", "--items", "2500", "--users", "800", "--seed", "7")
        run(binary, "index", "build", "--catalog", f"{data}2/items.jsonl", "--events", f"{data}2/events.jsonl", "--out", build)
        second = sorted(d for d in os.listdir(build) if not d.startswith("."))[-1]
        assert second != first, "the second build has a new name"
        published = time.monotonic()
        print(run(binary, "index", "publish", "--from", f"{build}/{second}", "--to", shared, "--redis", redis, "--wait", "10").strip())
        index_took = wait_until("every replica's /readyz names the new generation",
                                lambda: all(ready(r.http)[1].get("index") == second for r in replicas), 10)
        index_took = time.monotonic() - published

        # 3. A new model version in the shared registry (one replica's poll finds it, Redis tells the rest).
        os.makedirs(f"{registry}/shop/.tmp-2")
        model["weights"] = [2, 1]
        json.dump(model, open(f"{registry}/shop/.tmp-2/model.json", "w"))
        landed = time.monotonic()
        os.rename(f"{registry}/shop/.tmp-2", f"{registry}/shop/2")
        model_took = wait_until("every replica serves model shop/2",
                                lambda: all(ready(r.http)[1].get("model") == "shop/2" for r in replicas), 10)
        model_took = time.monotonic() - landed

        remaining = seconds + 15 - (time.monotonic() - started)
        failures = []
        for name, (report, process) in loads.items():
            process.wait(timeout=max(10, remaining))
            result = json.load(open(report))
            errors = sum(result["errors"].values())
            print(f"load via {name}: {result['calls']} calls at {result['achieved_rate']:.1f}/s, {errors} failed, "
                  f"p50 {result['latency_ms']['p50']:.1f} ms, p99 {result['latency_ms']['p99']:.1f} ms")
            if errors or result["calls"] == 0:
                failures.append(f"{name}: {result['errors']} failed calls of {result['calls']}: "
                                + open(f"{directory}/load-{name}.out").read()[-600:])
        print(f"new generation on every replica {index_took:.1f} s after publishing; new model {model_took:.1f} s after it landed")
        if failures:
            raise SystemExit("fleet-check: calls failed during the rollouts:\n" + "\n".join(failures))
        print("fleet-check: rolling restart, new generation and new model under load: zero failed calls")
    except BaseException:
        processes_module.show_logs(directory, ("nginx/error.log", "nginx.out", "haproxy.out", "r1.log", "r2.log", "r3.log"), tail=2000)
        raise
    finally:
        for r in replicas:
            r.kill()
        processes_module.stop(processes)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
