"""Shared by the scripts that run servers (fleet-check, chaos-check, ...): ports for them, stopping
what they started, and showing the tails of their logs when a check fails."""
import os
import random
import socket
import subprocess
import sys

_given = set()


def free_port():
    """A loopback TCP port nothing listens on, not given before by this process, and outside the
    kernel's ephemeral range: a port picked by binding to 0 is in that range, so an outgoing
    connection of another server (to Redis, say) could take it before the server it was picked for
    binds it (seen as "Address already in use")."""
    try:
        low, high = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    except OSError:
        low, high = 32768, 60999
    candidates = list(range(10000, low)) if low > 11000 else list(range(high + 1, 65536))
    for port in random.sample(candidates, min(len(candidates), 500)):
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise SystemExit("free_port: no free port outside the ephemeral range")


def stop(processes, timeout=10):
    """SIGTERM to each, then SIGKILL to any still running after `timeout` seconds."""
    for p in processes:
        if p.poll() is None:
            p.terminate()
    for p in processes:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def show_logs(directory, names, tail=2000):
    """Writes the last `tail` characters of each existing log under `directory` to stderr."""
    for name in names:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            sys.stderr.write(f"--- {name} (tail)\n" + open(path, errors="replace").read()[-tail:] + "\n")
