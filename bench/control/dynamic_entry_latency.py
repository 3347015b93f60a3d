#!/usr/bin/env python3
"""How soon one dynamic entry is effective in a data plane (issue 12, "Push": <= 10 ms after the
command returns).

Starts sluice-dp (DPDK, --no-huge, two net_null ports, its control socket) and sluiced with that
data plane, then RUNS times sets a new deny on a fresh address and measures:
  cli      sluicectl host set ADDR --deny: the whole command, process start to exit
  socket   the same request sent straight to sluiced's socket: request to reply
  after    from the reply to the data plane answering with the new table (its stats' table
           version equal to sluiced's; polled over sluice-dp's control socket)
Prints median, p10, p90, min, max per measure (milliseconds) and the run count.

usage: dynamic_entry_latency.py --sluiced BIN --sluicectl BIN --sluice-dp BIN [--runs N]
Needs root (DPDK). Addresses from 198.19.0.0/16.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time


def call(path, req, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    data = json.dumps(req).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            raise RuntimeError(f"{path}: closed")
        hdr += chunk
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            raise RuntimeError(f"{path}: closed")
        body += chunk
    s.close()
    return json.loads(body)


def wait_socket(path, proc, what, limit=30):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"{what}: no socket at {path}")


def summary(name, xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=10)
    return (f"{name:7s} median {statistics.median(xs):7.3f} ms  p10 {q[0]:7.3f}  p90 {q[-1]:7.3f}"
            f"  min {xs[0]:7.3f}  max {xs[-1]:7.3f}  (n={len(xs)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--sluicectl", required=True)
    ap.add_argument("--sluice-dp", required=True)
    ap.add_argument("--runs", type=int, default=200)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sluice-dyn-bench-")
    dp_sock, d_sock = f"{work}/dp.sock", f"{work}/sluiced.sock"
    prefix = f"sluice_dynbench_{os.getpid()}"
    procs = []
    try:
        dp = subprocess.Popen(
            [a.sluice_dp, "--no-huge", "--no-pci", "-m", "256", "-l", "0", "--log-level=1",
             "--file-prefix", prefix, "--vdev", "net_null0", "--vdev", "net_null1", "--",
             "--outside", "net_null0", "--inside", "net_null1", "--control", dp_sock],
            stdout=open(f"{work}/dp.log", "w"), stderr=subprocess.STDOUT)
        procs.append(dp)
        wait_socket(dp_sock, dp, "sluice-dp")
        with open(f"{work}/sluiced.ini", "w") as f:
            f.write(f"[sluiced]\nstate_dir = {work}/state\nsocket = {d_sock}\nsocket_mode = 0600\n"
                    f"dataplane = dpdk:{dp_sock}\ncheck_interval = 2s\n")
        d = subprocess.Popen([a.sluiced, "--config", f"{work}/sluiced.ini"],
                             stdout=open(f"{work}/sluiced.log", "w"), stderr=subprocess.STDOUT)
        procs.append(d)
        wait_socket(d_sock, d, "sluiced")
        cli, sock, after = [], [], []
        for i in range(a.runs):
            for mode in ("cli", "socket"):
                n = 2 * i + (mode == "socket")
                addr = f"198.19.{n >> 8}.{n & 255}"
                t0 = time.perf_counter()
                if mode == "cli":
                    r = subprocess.run([a.sluicectl, "--daemon", d_sock, "host", "set", addr,
                                        "--deny", "--reason", "bench"], capture_output=True)
                    if r.returncode != 0:
                        raise RuntimeError(r.stderr.decode())
                else:
                    rep = call(d_sock, {"cmd": "host set", "prefix": addr, "action": "deny",
                                        "reason": "bench"})
                    if not rep.get("ok", False):
                        raise RuntimeError(rep)
                t1 = time.perf_counter()
                # Until the data plane answers with sluiced's new table (bounded).
                want = None
                while True:
                    v = call(dp_sock, {"cmd": "stats"})["table"]["version"]
                    t2 = time.perf_counter()
                    if want is None:
                        want = int(call(d_sock, {"cmd": "status"})["table"]["version"], 16)
                    if v == want:
                        break
                    if t2 - t1 > 5:
                        raise RuntimeError(f"{addr}: data plane at {v:x}, sluiced at {want:x}")
                (cli if mode == "cli" else sock).append((t1 - t0) * 1000)
                after.append((t2 - t1) * 1000)
        print(f"dynamic entry latency, sluice-dp (net_null, --no-huge), {a.runs} runs per mode")
        print(summary("cli", cli))
        print(summary("socket", sock))
        print(summary("after", after))
        print(f"entries at the end: {len(call(d_sock, {'cmd': 'host list'})['entries'])}")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
