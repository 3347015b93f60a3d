#!/usr/bin/env python3
"""One bounded TCP stream for the wire tests: deterministic bytes in, the same bytes out.

  wire_stream.py serve ADDR PORT RESULT.json [--timeout S]
      accepts one connection, reads to EOF, writes {"bytes": N, "sha256": H}
  wire_stream.py send ADDR PORT RESULT.json --max-bytes N [--max-seconds S] [--stop-file F]
                 [--chunk B] [--pace-us U]
      sends pseudo-random bytes (fixed seed) in writes of B bytes, one write every U
      microseconds at most, until N bytes are sent, S seconds have passed or F exists; writes
      {"bytes": N, "sha256": H}

Every loop is bounded in bytes and in time."""
import argparse
import hashlib
import json
import os
import random
import socket
import sys
import time


def serve(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.addr, a.port))
    srv.listen(1)
    srv.settimeout(a.timeout)
    conn, _ = srv.accept()
    conn.settimeout(a.timeout)
    h, n = hashlib.sha256(), 0
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        b = conn.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    conn.close()
    json.dump({"bytes": n, "sha256": h.hexdigest()}, open(a.result, "w"))


def send(a):
    rnd = random.Random(20261130)
    block = bytes(rnd.getrandbits(8) for _ in range(1 << 16))
    s = socket.create_connection((a.addr, a.port), timeout=10)
    h, n, i = hashlib.sha256(), 0, 0
    deadline = time.monotonic() + a.max_seconds
    while n < a.max_bytes and time.monotonic() < deadline:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        off = (i * 7919) % (len(block) - a.chunk)
        chunk = block[off:off + min(a.chunk, a.max_bytes - n)]
        s.sendall(chunk)
        h.update(chunk)
        n += len(chunk)
        i += 1
        if a.pace_us:
            time.sleep(a.pace_us / 1e6)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    while s.recv(4096):  # until the server closes: everything was read
        pass
    s.close()
    json.dump({"bytes": n, "sha256": h.hexdigest()}, open(a.result, "w"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "send"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("result")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--max-bytes", type=int, default=1 << 20)
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--stop-file")
    p.add_argument("--chunk", type=int, default=16384)
    p.add_argument("--pace-us", type=int, default=0)
    a = p.parse_args()
    if a.chunk <= 0 or a.chunk >= (1 << 16):
        sys.exit("--chunk must be 1..65535")
    serve(a) if a.mode == "serve" else send(a)


if __name__ == "__main__":
    main()
