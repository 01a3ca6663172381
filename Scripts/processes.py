"""Shared by the scripts that run servers (fleet-check, chaos-check): stopping what they started,
and showing the tails of their logs when a check fails."""
import os
import subprocess
import sys


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
