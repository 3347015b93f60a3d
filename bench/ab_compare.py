#!/usr/bin/env python3
"""Paired A/B of one Google Benchmark program in two builds (e.g. an older revision and now).

  bench/ab_compare.py --pairs N [--filter REGEX] [--min-time S] BUILD_A BUILD_B PROGRAM

PROGRAM is the benchmark's path inside a build (e.g. bench/core/bench_packet_core). Each pair
runs A's program then B's, or B's then A's on odd pairs (so a load change on a shared machine
hits both alike), each once over the benchmarks REGEX selects. For every benchmark both builds
ran, it prints A's and B's median time per iteration with their range, and the median of the
per-pair ratios B / A with that median's distribution-free 95% interval (rate_stats.py's, which
needs 6 pairs or more). Above 1 means B is slower. Times are Google Benchmark's real_time
(manual time where a benchmark sets it), in its own unit.

Only the benchmark programs run: nothing is built, and both builds must hold PROGRAM."""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "dataplane"))
from rate_stats import median_ci  # noqa: E402


def run_once(program, regex, min_time):
    cmd = [program, "--benchmark_format=json", f"--benchmark_filter={regex}"]
    if min_time:
        cmd.append(f"--benchmark_min_time={min_time}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    times = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        times[b["name"]] = (b["real_time"], b["time_unit"])
    return times


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=6, help="A/B pairs to run (default 6)")
    ap.add_argument("--filter", default=".", help="benchmark regex (default: all)")
    ap.add_argument("--min-time", help="passed as --benchmark_min_time")
    ap.add_argument("build_a")
    ap.add_argument("build_b")
    ap.add_argument("program")
    args = ap.parse_args(argv)
    if args.pairs < 1:
        ap.error("--pairs must be 1 or more")
    progs = [os.path.join(args.build_a, args.program), os.path.join(args.build_b, args.program)]
    for p in progs:
        if not os.access(p, os.X_OK):
            ap.error(f"{p}: not an executable")

    runs = {0: [], 1: []}
    for i in range(args.pairs):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for side in order:
            runs[side].append(run_once(progs[side], args.filter, args.min_time))
        print(f"pair {i + 1} of {args.pairs} done ({'AB' if order[0] == 0 else 'BA'})",
              file=sys.stderr)

    names = [n for n in runs[0][0] if all(n in r for r in runs[0] + runs[1])]
    print(f"A: {args.build_a}\nB: {args.build_b}\nprogram: {args.program}, {args.pairs} pairs, "
          "alternating order")
    for name in names:
        unit = runs[0][0][name][1]
        a = [r[name][0] for r in runs[0]]
        b = [r[name][0] for r in runs[1]]
        ratios = [y / x for x, y in zip(a, b) if x > 0]
        med, lo, hi = median_ci(ratios)
        interval = f"95% CI {lo:.3f}-{hi:.3f}" if lo is not None else "no 95% CI under 6 pairs"
        print(f"{name}: A {statistics.median(a):.2f} {unit} ({min(a):.2f}-{max(a):.2f}), "
              f"B {statistics.median(b):.2f} {unit} ({min(b):.2f}-{max(b):.2f}); "
              f"B/A {med:.3f} ({interval}; pairs {min(ratios):.3f}-{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
