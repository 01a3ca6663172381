#!/usr/bin/env python3
"""Compares two google/swift-benchmark JSON runs: the median time per benchmark in each and the change.

    python3 compare.py BASELINE.json NEW.json [--fail-over PERCENT]

Exits 1 when a benchmark present in both is slower than PERCENT (and by at least 250 ns) (a regression shows up as a diff
and a failing exit status); benchmarks only in one run are listed as new or gone.
"""
import argparse
import json
import sys


def load(path):
    """name -> median ns (the run's `median` column; `time` in runs without it)."""
    with open(path) as f:
        return {b["name"]: float(b.get("median", b.get("time"))) for b in json.load(f)["benchmarks"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("baseline")
    parser.add_argument("new")
    parser.add_argument("--fail-over", type=float, default=30.0)
    args = parser.parse_args()
    base, new = load(args.baseline), load(args.new)
    width = max(len(n) for n in list(base) + list(new))
    print(f"{'benchmark (median)':{width}}  {'baseline':>12}  {'now':>12}  change")
    worst = 0.0
    for name in sorted(set(base) | set(new)):
        if name not in new:
            print(f"{name:{width}}  {base[name]:>10.0f}ns  {'-':>12}  gone")
            continue
        if name not in base:
            print(f"{name:{width}}  {'-':>12}  {new[name]:>10.0f}ns  new")
            continue
        b, n = base[name], new[name]
        change = (n - b) / b * 100
        # Sub-microsecond kernels jitter by tens of nanoseconds: a regression must also cost 250 ns.
        slower = change > args.fail_over and n - b > 250
        if slower:
            worst = max(worst, change)
        flag = "  SLOWER" if slower else ""
        print(f"{name:{width}}  {b:>10.0f}ns  {n:>10.0f}ns  {change:+6.1f}%{flag}")
    if worst > args.fail_over:
        print(f"regression: slowest change {worst:+.1f}% is over {args.fail_over:.0f}%")
        sys.exit(1)


if __name__ == "__main__":
    main()
