#!/usr/bin/env python3
"""A sender held by the stateless tarpit, for tests/e2e/stateless_tarpit_e2e_test.sh.

Opens CONNECTIONS connections to SERVER:PORT, sends an EHLO on each without waiting for the
greeting (as a bot would), and watches them for HOLD seconds. Then writes READY (JSON):
  connected         connections whose handshake completed
  greeted           connections on which any byte arrived (the MTA's greeting)
  established       connections still ESTABLISHED after HOLD s (TCP_INFO state)
  unacked           connections whose EHLO is still in the send queue, none of it acknowledged
                    (SIOCOUTQ: a zero window keeps it there, unsent)
  snd_mss           the MSS the first connection's handshake gave (536 without an MSS option:
                    the tarpit's SYN-ACK carries none, an MTA's does)
Then, with --release-wait S, keeps the first connection and waits up to S s for it to end (an
RST from the MTA once the sender is released), and writes JSON (--json):
  the fields above, plus ended (bool), error ('reset', 'closed', 'timeout'), ended_after_s.
Every wait is bounded; no timing is asserted here (the test asserts what happened)."""

import argparse
import fcntl
import json
import select
import socket
import struct
import sys
import termios
import time

TCP_ESTABLISHED = 1


EHLO = b"EHLO tarpit.example\r\n"


def tcp_info(sock):
    """(state, snd_mss, bytes of the send queue not acknowledged): TCP_INFO (struct tcp_info,
    linux/tcp.h) and SIOCOUTQ."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    state = raw[0]
    _rto, _ato, snd_mss = struct.unpack_from("=3I", raw, 8)
    outq = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    return state, snd_mss, outq


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--hold", type=float, default=3.0)
    ap.add_argument("--release-wait", type=float, default=0.0)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()

    socks = []
    for _ in range(a.connections):
        s = socket.socket(socket.AF_INET6 if ":" in a.server else socket.AF_INET)
        s.settimeout(5)
        try:
            s.connect((a.server, a.port))
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        try:
            s.send(EHLO)
        except BlockingIOError:
            pass  # a zero window: the kernel may keep it all queued
        socks.append(s)

    greeted = set()
    deadline = time.monotonic() + a.hold
    while socks and time.monotonic() < deadline:
        r, _, _ = select.select(socks, [], [], max(0.0, deadline - time.monotonic()))
        for s in r:
            try:
                if s.recv(4096):
                    greeted.add(s.fileno())
            except OSError:
                pass
    infos = [tcp_info(s) for s in socks]
    res = {
        "connected": len(socks),
        "greeted": len(greeted),
        "established": sum(1 for st, _, _ in infos if st == TCP_ESTABLISHED),
        "unacked": sum(1 for _, _, outq in infos if outq == len(EHLO)),
        "snd_mss": infos[0][1] if infos else 0,
    }
    with open(a.ready, "w") as f:
        json.dump(res, f)

    for s in socks[1:]:
        s.close()
    res.update(ended=False, error="timeout", ended_after_s=None)
    if socks and a.release_wait > 0:
        s = socks[0]
        t0 = time.monotonic()
        end = t0 + a.release_wait
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                continue
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                res.update(ended=True, error="reset")
                break
            except OSError as e:
                res.update(ended=True, error=f"error {e.errno}")
                break
            if not data:
                res.update(ended=True, error="closed")
                break
        if res["ended"]:
            res["ended_after_s"] = round(time.monotonic() - t0, 3)
    for s in socks[:1]:
        s.close()
    with open(a.json, "w") as f:
        json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
