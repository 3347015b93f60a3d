#!/usr/bin/env python3
"""A sender that opens more SMTP connections than its level allows, for
tests/e2e/aggregate_caps_e2e_test.sh.

Opens CONNECTIONS connections to SERVER:PORT one after the other and keeps every one that
connects open, reading its greeting. Then closes the first one that connected (a FIN), waits
--settle seconds for the FIN to pass, and tries one more connection. Writes JSON (--json):
  connected    connections whose handshake completed (of the first CONNECTIONS)
  greeted      of those, connections on which the MTA's greeting line arrived
  refused      connections answered with RST (ECONNREFUSED)
  other        connections that failed otherwise (timeout, ...), by error
  after_close  'connected', 'refused' or the error of the connection tried after the close
Every wait is bounded (--timeout per connect and per greeting); nothing about timing is
reported or asserted."""

import argparse
import json
import socket
import sys
import time


def attempt(server, port, timeout):
    """('connected', socket) or (error, None)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((server, port))
        return "connected", s
    except ConnectionRefusedError:
        s.close()
        return "refused", None
    except OSError as e:
        s.close()
        return type(e).__name__, None


def greeting(s, timeout):
    """Whether a whole line arrives within `timeout` seconds."""
    s.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in data and time.monotonic() < deadline:
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return b"\n" in data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--connections", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    if not 1 <= a.connections <= 100:
        ap.error("--connections: 1..100")

    result = {"connected": 0, "greeted": 0, "refused": 0, "other": {}, "after_close": None}
    held = []
    for _ in range(a.connections):
        outcome, s = attempt(a.server, a.port, a.timeout)
        if outcome == "connected":
            result["connected"] += 1
            result["greeted"] += 1 if greeting(s, a.timeout) else 0
            held.append(s)
        elif outcome == "refused":
            result["refused"] += 1
        else:
            result["other"][outcome] = result["other"].get(outcome, 0) + 1
    if held:
        held.pop(0).close()
        time.sleep(a.settle)
    outcome, s = attempt(a.server, a.port, a.timeout)
    result["after_close"] = outcome
    if s is not None:
        s.close()
    for s in held:
        s.close()
    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
