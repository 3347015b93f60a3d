#!/usr/bin/env python3
"""UDP probe for bench/dataplane/restart_gap.sh (CLOCK_MONOTONIC is one clock for every
network namespace of the machine, so times taken in different namespaces compare).

  restart_probe.py recv ADDR PORT OUT.txt --seconds S     one arrival time (ns) per line
  restart_probe.py send ADDR PORT --rate HZ --seconds S   bounded: HZ*S datagrams at most
  restart_probe.py kill PIDFILE                           kill -9 the pid in PIDFILE; prints the time (ns)
  restart_probe.py gaps ARRIVALS.txt KILLS.txt            per kill: ms from the kill to the next arrival
"""
import os
import signal
import socket
import statistics
import sys
import time


def recv(addr, port, out, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(0.5)
    end = time.monotonic() + float(seconds)
    with open(out, "w", buffering=1) as f:  # a line per arrival, visible at once
        while time.monotonic() < end:
            try:
                s.recv(64)
            except socket.timeout:
                continue
            f.write("%d\n" % time.monotonic_ns())


def send(addr, port, rate, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    period = 1.0 / float(rate)
    n = int(float(rate) * float(seconds))
    t = time.monotonic()
    for i in range(n):
        try:
            s.sendto(b"%d" % i, (addr, int(port)))
        except OSError:
            pass  # no neighbour entry yet, or the link is down: the probe keeps its pace
        t += period
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)


def kill(pidfile):
    pid = int(open(pidfile).read().strip())
    t = time.monotonic_ns()
    os.kill(pid, signal.SIGKILL)
    print(t)


def gaps(arrivals, kills):
    arr = [int(x) for x in open(arrivals)]
    out = []
    for k in (int(x) for x in open(kills)):
        after = [a for a in arr if a > k]
        if after:
            out.append((after[0] - k) / 1e6)
    for g in out:
        print("gap_ms %.1f" % g)
    if out:
        print("kills %d median_ms %.1f min_ms %.1f max_ms %.1f" %
              (len(out), statistics.median(out), min(out), max(out)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "recv":
        recv(args[0], args[1], args[2], args[4] if args[3] == "--seconds" else 10)
    elif cmd == "send":
        send(args[0], args[1], args[3], args[5])
    elif cmd == "kill":
        kill(args[0])
    elif cmd == "gaps":
        gaps(args[0], args[1])
    else:
        sys.exit(__doc__)
