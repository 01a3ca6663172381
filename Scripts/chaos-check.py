#!/usr/bin/env python3
"""Chaos on a simulated network: the stores (a Redis Cluster of three primaries with replicas, the
MongoDB wire server) and three Funnel replicas each in a Linux network namespace of their own,
joined by veth links through the root namespace (a router). Each replica is driven by its own
`funnel load` inside its namespace, at a fixed rate, through four phases:

1. baseline;
2. replica r1's link congested: a token-bucket qdisc (tc tbf) at a rate below what its store
   reads need, so its packets queue (delay) and overflow (loss);
3. r1 partitioned from the stores: its link down, packets vanish (reads time out);
4. healed.

Passes when every call of every replica in every phase succeeds, r1 answers within its deadline
(p99 under the load client's 5 s call deadline, and far less in fact) with degraded answers while
impaired and without them once healed, and r2 and r3 keep their baseline latency. Prints a table.

`tc netem` (delay and loss by distribution) is what one would use; these machines' kernel has no
sch_netem module (nor fq_codel, prio), so delay and loss come from a congested token bucket, and the
partition from a link taken down. Needs root (network namespaces); run by hand without it, it says
so and exits 0; under CI (CI=true) that is a failure.

Usage: chaos-check.py FUNNEL_BINARY
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import processes as processes_module  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = f"fc{os.getpid() % 10000}"  # names unique per run: namespaces and links are global
STORES_IP = "10.77.0.2"
PHASE_SECONDS = int(os.environ.get("CHAOS_PHASE_SECONDS", "10"))
RATE = os.environ.get("CHAOS_RATE", "20")


def sh(*args, check=True, ns=None, **kw):
    command = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    result = subprocess.run(command, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        raise SystemExit(f"chaos-check: {' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


class Network:
    """The namespaces and links, torn down in reverse."""

    def __init__(self):
        self.namespaces, self.links = [], []
        self.forwarding = open("/proc/sys/net/ipv4/ip_forward").read().strip()

    def add(self, index):
        """Namespace PREFIX-index joined to the root by a veth link: root 10.77.i.1, inside 10.77.i.2."""
        ns, outer = f"{PREFIX}-{index}", f"{PREFIX}v{index}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self.links.append(outer)
        sh("ip", "addr", "add", f"10.77.{index}.1/24", "dev", outer)
        sh("ip", "link", "set", outer, "up")
        sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "addr", "add", f"10.77.{index}.2/24", "dev", "eth0", ns=ns)
        sh("ip", "link", "set", "eth0", "up", ns=ns)
        sh("ip", "route", "add", "default", "via", f"10.77.{index}.1", ns=ns)
        return ns, outer

    def teardown(self):
        for link in self.links:
            sh("ip", "link", "del", link, check=False)
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)
        open("/proc/sys/net/ipv4/ip_forward", "w").write(self.forwarding)


def ready(ns, http_port):
    out = sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{http_port}/readyz", ns=ns, check=False)
    return out.strip() == "200"


def degraded_answers(ns, http_port):
    text = sh("curl", "-s", f"http://127.0.0.1:{http_port}/metrics", ns=ns, check=False)
    return sum(float(m.group(1)) for m in re.finditer(r'^funnel_degraded_answers_total\{[^}]*\} (\S+)$', text, re.M))


def wait(what, condition, seconds):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"chaos-check: {what} not within {seconds} s")


def main():
    binary = os.path.abspath(sys.argv[1])
    probe = subprocess.run(["ip", "netns", "add", f"{PREFIX}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:
        message = f"chaos-check: cannot make network namespaces here ({probe.stderr.strip()}): needs root"
        if os.environ.get("CI") == "true":
            raise SystemExit(message)
        print(message + "; skipped (run by hand)")
        return
    sh("ip", "netns", "del", f"{PREFIX}-probe")
    directory = tempfile.mkdtemp(prefix="funnel-chaos-")
    network = Network()
    processes = []
    try:
        open("/proc/sys/net/ipv4/ip_forward", "w").write("1")
        stores, _ = network.add(0)
        # The Redis Cluster, on the stores' address (bus ports fixed: the namespace is ours).
        ports = [7001 + i for i in range(6)]
        for port in ports:
            node = os.path.join(directory, f"redis-{port}")
            os.makedirs(node)
            processes.append(subprocess.Popen(
                ["ip", "netns", "exec", stores, "redis-server", "--port", str(port), "--bind", STORES_IP,
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                 "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", node], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in ports:
            wait(f"redis {port}", lambda p=port: "PONG" in sh("redis-cli", "-h", STORES_IP, "-p", str(p), "ping", ns=stores, check=False), 20)
        sh("redis-cli", "--cluster", "create", *[f"{STORES_IP}:{p}" for p in ports], "--cluster-replicas", "1", "--cluster-yes", ns=stores)
        wait("cluster ok", lambda: all("cluster_state:ok" in sh("redis-cli", "-h", STORES_IP, "-p", str(p), "cluster", "info",
                                                                 ns=stores, check=False) for p in ports), 30)
        python = os.path.join(ROOT, ".venv-funnel", "bin", "python")
        mongo_log = open(os.path.join(directory, "mongo.log"), "w")
        processes.append(subprocess.Popen(["ip", "netns", "exec", stores, python, os.path.join(ROOT, "Scripts", "mongo-wire-server.py"),
                                           "--host", STORES_IP, "--port", "27017"], stdout=mongo_log, stderr=subprocess.STDOUT))
        wait("mongo wire server", lambda: "READY" in open(os.path.join(directory, "mongo.log")).read(), 60)
        redis_url = "redis-cluster://" + ",".join(f"{STORES_IP}:{p}" for p in ports[:3])

        replicas = []
        for i in (1, 2, 3):
            ns, outer = network.add(i)
            log = os.path.join(directory, f"r{i}.log")
            processes.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, binary, "serve", "--port", "50051", "--http-port", "8080", "--admin-port=-1",
                 "--dashboard-port=-1", "--redis", redis_url, "--mongo", f"mongodb://{STORES_IP}:27017/?directConnection=true",
                 "--demo-items", "2000", "--demo-users", "800", "--set", f"server.replicaName=r{i}"],
                stdout=open(log, "w"), stderr=subprocess.STDOUT))
            replicas.append((f"r{i}", ns, outer))
        for name, ns, _ in replicas:
            wait(f"{name} ready", lambda ns=ns: ready(ns, 8080), 120)
        scenario = os.path.join(directory, "scenario.json")
        json.dump({"itemCount": 2000, "users": 800}, open(scenario, "w"))

        phases = [("baseline", None), ("r1 congested (tbf)", "congest"), ("r1 partitioned", "partition"), ("healed", "heal")]
        results = []
        victim = replicas[0]
        for phase, action in phases:
            if action == "congest":
                # 512 kbit/s with a 50 ms queue, both ways: r1's store reads (histories, candidates'
                # counters) queue past their budget, then overflow and wait for retransmission.
                for dev, ns in ((victim[2], None), ("eth0", victim[1])):
                    sh("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "512kbit", "burst", "4kb", "latency", "50ms", ns=ns)
            elif action == "partition":
                for dev, ns in ((victim[2], None), ("eth0", victim[1])):
                    sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)
                sh("ip", "link", "set", victim[2], "down")
            elif action == "heal":
                sh("ip", "link", "set", victim[2], "up")
                wait("r1's store reads back", lambda: "PONG" in sh("redis-cli", "-h", STORES_IP, "-p", "7001", "ping",
                                                                  ns=victim[1], check=False), 20)
                time.sleep(2)  # the client's back-off ends; the circuit's trial call closes it
            before = {name: degraded_answers(ns, 8080) for name, ns, _ in replicas}
            loads = {}
            for name, ns, _ in replicas:
                report = os.path.join(directory, f"{name}-{len(results)}.json")
                loads[name] = (report, subprocess.Popen(
                    ["ip", "netns", "exec", ns, binary, "load", "--target", "127.0.0.1:50051", "--rate", RATE,
                     "--duration", f"{PHASE_SECONDS}s", "--scenario", scenario, "--json", report, "--quiet"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
            for name, (report, process) in loads.items():
                process.wait(timeout=PHASE_SECONDS + 60)
            row = {"phase": phase}
            for name, ns, _ in replicas:
                report = json.load(open(loads[name][0]))
                row[name] = {"calls": report["calls"], "failed": sum(report["errors"].values()),
                             "p50": report["latency_ms"]["p50"], "p99": report["latency_ms"]["p99"],
                             "degraded": degraded_answers(ns, 8080) - before[name]}
            results.append(row)

        print(f"{'phase':<22}" + "".join(f"{name:>42}" for name, _, _ in replicas))
        print(f"{'':<22}" + "".join(f"{'calls failed degraded  p50 ms  p99 ms':>42}" for _ in replicas))
        for row in results:
            cells = "".join(f"      {row[n]['calls']:>5} {row[n]['failed']:>6} {row[n]['degraded']:>8.0f} {row[n]['p50']:>7.1f} {row[n]['p99']:>7.1f}"
                            for n, _, _ in replicas)
            print(f"{row['phase']:<22}{cells}")
        problems = []
        for row in results:
            for name, _, _ in replicas:
                cell = row[name]
                if cell["failed"] or cell["calls"] == 0:
                    problems.append(f"{row['phase']}: {name} failed {cell['failed']} of {cell['calls']} calls")
                if cell["p99"] >= 5_000:
                    problems.append(f"{row['phase']}: {name} p99 {cell['p99']:.0f} ms, past the 5 s deadline")
        base, congested, partitioned, healed = results
        if partitioned["r1"]["degraded"] < partitioned["r1"]["calls"] * 0.5:
            problems.append(f"partitioned r1 answered {partitioned['r1']['degraded']:.0f} of {partitioned['r1']['calls']} degraded")
        if healed["r1"]["degraded"] > healed["r1"]["calls"] * 0.05:
            problems.append(f"healed r1 still degraded {healed['r1']['degraded']:.0f} of {healed['r1']['calls']}")
        for name in ("r2", "r3"):
            for row in (congested, partitioned):
                if row[name]["degraded"] > row[name]["calls"] * 0.05:
                    problems.append(f"{row['phase']}: {name} (not impaired) degraded {row[name]['degraded']:.0f} answers")
                # Latency is shared CPU too (five processes per core): only a gross change counts.
                if row[name]["p99"] > max(4 * base[name]["p99"], base[name]["p99"] + 100):
                    problems.append(f"{row['phase']}: {name} (not impaired) p99 {row[name]['p99']:.1f} ms, "
                                    f"baseline {base[name]['p99']:.1f} ms")
        if problems:
            raise SystemExit("chaos-check:\n  " + "\n  ".join(problems))
        print("chaos-check: r1 answered every call through congestion and a partition (degraded, within its deadline) "
              "and recovered when healed; r2 and r3 unaffected")
    except BaseException:
        processes_module.show_logs(directory, ("r1.log", "r2.log", "r3.log", "mongo.log"), tail=1500)
        raise
    finally:
        processes_module.stop(processes)
        # Children of `ip netns exec` were signalled through it; anything left in a namespace goes with it.
        for ns in network.namespaces:
            for pid in sh("ip", "netns", "pids", ns, check=False).split():
                subprocess.run(["kill", "-9", pid], capture_output=True)
        network.teardown()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
