#!/usr/bin/env python3
"""Report at site A -> entry effective in site B's data plane, N times (run by
bench/feed/run_feed_e2e_bench.sh, which starts the feed, both sites and the data plane).

  feed_e2e_latency.py --site-a SOCKET --dataplane dpdk:SOCKET|xdp:NAME [--runs N] [--json OUT]
  feed_e2e_latency.py --watch READY_FILE --dataplane SPEC [--deadline S]

Each run reports a new address (198.18.100.1, .2, ...) as a complaint on site A's sluiced
socket (the request `sluicectl report` sends) and polls site B's data plane's own counters
(`stats`: the table version, a checksum of the table it runs) until the version changes: the
entry is in the table the data plane looks senders up in. sluice-dp's control socket is asked
directly. The XDP data plane has no socket: its maps are written by sluiced B itself through the
loader, which then saves the table it installed ($SLUICE_XDP_STATE_DIR, default /run/sluice/xdp,
NAME/; its NAME/table.head, rewritten on every save, is where `dataplane stats` reads the version
from); the poll watches that file change (a stat), so the figure includes that save. Prints median, p90, p99 (nearest rank), max
and the run count.
A run whose entry does not arrive within --deadline seconds is counted as lost, not timed.

--watch (tests/e2e/feed_e2e_test.sh, whose report is `sluicectl report`): reads the data
plane's version, creates READY_FILE, polls until the version changes and prints the wall-clock
time of the change in nanoseconds (exit 0), or exits 1 at --deadline.
"""
import argparse
import json
import math
import os
import socket
import struct
import sys
import time


def call(path, request, timeout=5.0):
    """One request on a sluice control socket (sluiced's or sluice-dp's): 4-byte big-endian
    length, then JSON; one reply in the same framing."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        body = json.dumps(request).encode()
        s.sendall(struct.pack(">I", len(body)) + body)
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                raise ConnectionError(f"{path}: closed")
            head += chunk
        (n,) = struct.unpack(">I", head)
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"{path}: closed")
            data += chunk
        return json.loads(data)


def version_reader(spec):
    if spec.startswith("dpdk:"):
        path = spec[5:]
        return lambda: call(path, {"cmd": "stats"})["table"]["version"]
    kept = os.path.join(os.environ.get("SLUICE_XDP_STATE_DIR") or "/run/sluice/xdp", spec[4:],
                        "table.head")

    def saved():
        try:
            st = os.stat(kept)
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return None
    return saved


def percentile(sorted_values, q):
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def watch(version, ready, deadline):
    before = version()
    with open(ready, "w", encoding="utf-8"):
        pass
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if version() != before:
            print(time.time_ns())
            return 0
        time.sleep(0.0002)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site-a", help="site A's sluiced socket")
    ap.add_argument("--watch", metavar="READY_FILE", help="only watch for one change")
    ap.add_argument("--dataplane", required=True, help="site B's data plane: dpdk:SOCKET or xdp:NAME")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--deadline", type=float, default=10.0, help="seconds per run at most")
    ap.add_argument("--gap", type=float, default=0.05, help="seconds between runs")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    if args.watch:
        return watch(version_reader(args.dataplane), args.watch, args.deadline)
    if not args.site_a:
        raise SystemExit("feed_e2e_latency: --site-a is required")
    if not 1 <= args.runs <= 2000:
        raise SystemExit("feed_e2e_latency: --runs 1..2000")
    version = version_reader(args.dataplane)
    entries0 = None
    if args.dataplane.startswith("dpdk:"):
        entries0 = call(args.dataplane[5:], {"cmd": "stats"})["table"]["entries"]
    ms, lost, polls, poll_s = [], 0, 0, 0.0
    for i in range(args.runs):
        addr = f"198.18.{100 + i // 250}.{i % 250 + 1}"
        before = version()
        t0 = time.perf_counter()
        r = call(args.site_a, {"cmd": "report", "addr": addr, "kind": "complaint", "count": 1,
                               "window": 60, "ttl": 3600, "evidence": f"bench-{i}"})
        if not r.get("queued"):
            raise SystemExit(f"feed_e2e_latency: site A refused the report: {r}")
        end = t0 + args.deadline
        seen = False
        while time.perf_counter() < end:
            p0 = time.perf_counter()
            now = version()
            poll_s += time.perf_counter() - p0
            polls += 1
            if now != before:
                seen = True
                break
            time.sleep(0.0002)
        if seen:
            ms.append((time.perf_counter() - t0) * 1000.0)
        else:
            lost += 1
        time.sleep(args.gap)
    result = {"label": args.label, "dataplane": args.dataplane.split(":")[0], "runs": args.runs,
              "timed": len(ms), "lost": lost,
              "poll_ms": round(poll_s * 1000.0 / max(polls, 1), 3)}
    if entries0 is not None:
        result["entries_added"] = call(args.dataplane[5:], {"cmd": "stats"})["table"]["entries"] - entries0
    if ms:
        s = sorted(ms)
        result.update({"median_ms": round(percentile(s, 0.5), 2), "p90_ms": round(percentile(s, 0.9), 2),
                       "p99_ms": round(percentile(s, 0.99), 2),
                       "max_ms": round(s[-1], 2), "min_ms": round(s[0], 2)})
    print(f"{args.label or 'feed'}: report at A -> B's {result['dataplane']} data plane, "
          f"{len(ms)} of {args.runs} runs timed ({lost} lost): "
          + (f"median {result['median_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
             f"max {result['max_ms']} ms, "
             f"min {result['min_ms']} ms" if ms else "no figure")
          + f"; a poll takes {result['poll_ms']} ms"
          + (f"; entries added {result['entries_added']}" if "entries_added" in result else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0 if ms and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
