#!/usr/bin/env python3
"""One SMTP session for tests/e2e/live_flows_e2e_test.sh: a connection that is shaped when the
table changes under it.

  live_flow_client.py release --server ADDR --ready FILE --json OUT [--deadline S]
      Connects, reads the greeting, sends EHLO and checks the session is held: no reply within
      --hold-check seconds and the peer's window (TCP_INFO snd_wnd) 0, the tarpit's doing. Then
      writes FILE (the result so far, "held" among it: the test changes the table now) and
      waits, up to --deadline seconds, for the EHLO reply, then sends one message (a body that
      carries its checksum, bench/smtp/smtp_body.py) and QUIT. Result: held, released,
      delivered.

  live_flow_client.py cut --server ADDR --ready FILE --json OUT [--deadline S] [--size BYTES]
      Connects, sends EHLO, MAIL, RCPT, DATA and starts the body (a slow, throttled upload);
      creates FILE once the server has taken the first bytes, and goes on sending until the
      body is out, the connection fails, or --deadline passes. Result: how it ended ("reset"
      when the connection was reset, "deadline", "delivered", or another error).

Every wait is bounded; the exit status is 0 whenever a result was written (failures are data).
"""
import argparse
import errno
import json
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                                "smtp"))
from smtp_body import make_message  # noqa: E402

SND_WND = 228  # struct tcp_info: tcpi_snd_wnd (Linux >= 6.2), as bench/smtp/smtp_measure.py


def snd_wnd(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", raw, SND_WND)[0] if len(raw) >= SND_WND + 4 else None


def reply(sock, deadline):
    """One SMTP reply (the last line of a multi-line one decides), or None at the deadline."""
    buf = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            raise ConnectionError("closed by the server")
        buf += chunk
        lines = buf.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return line.decode(errors="replace")
    return None


def command(sock, text, deadline):
    sock.sendall(text.encode() + b"\r\n")
    r = reply(sock, deadline)
    if r is None:
        raise TimeoutError(f"no reply to {text.split()[0]}")
    return r


def touch(path, res):
    """The ready file: the result so far (the test reads the hold check from it while the
    session goes on)."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(res, f)
    os.rename(path + ".tmp", path)


def connect(args):
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((args.server, 25))
    return s


def release(args, res):
    s = connect(args)
    res["connected"] = True
    greeting = reply(s, time.monotonic() + 10)
    res["greeted"] = bool(greeting and greeting.startswith("220"))
    s.sendall(b"EHLO live-flow.test\r\n")
    early = reply(s, time.monotonic() + args.hold_check)
    res["snd_wnd_held"] = snd_wnd(s)
    res["held"] = early is None and res["snd_wnd_held"] == 0
    touch(args.ready, res)
    end = time.monotonic() + args.deadline
    ehlo = early or reply(s, end)
    res["released"] = bool(ehlo and ehlo.startswith("250"))
    if not res["released"]:
        res["error"] = "deadline"
        return
    res["released_after_s"] = round(args.deadline - (end - time.monotonic()), 3)
    command(s, "MAIL FROM:<live@flow.test>", end)
    command(s, "RCPT TO:<sink@mx.test>", end)
    command(s, "DATA", end)
    text = make_message(1, 2000, "live@flow.test", "sink@mx.test", args.tag)
    r = command(s, text.replace("\n", "\r\n") + ".", end)
    res["delivered"] = r.startswith("250")
    command(s, "QUIT", end)
    s.close()


def cut(args, res):
    s = connect(args)
    res["connected"] = True
    end = time.monotonic() + args.deadline
    if not (reply(s, end) or "").startswith("220"):
        raise ConnectionError("no greeting")
    command(s, "EHLO live-flow.test", end)
    command(s, "MAIL FROM:<live@flow.test>", end)
    command(s, "RCPT TO:<sink@mx.test>", end)
    if not command(s, "DATA", end).startswith("354"):
        raise ConnectionError("DATA refused")
    body = (f"Subject: live flow {args.tag}\r\nX-Sluice-Tag: {args.tag}\r\n\r\n"
            + ("x" * 76 + "\r\n") * (args.size // 78)).encode()
    sent, ready = 0, False
    s.setblocking(False)
    while sent < len(body) and time.monotonic() < end:
        try:
            sent += s.send(body[sent:sent + 4096])
        except BlockingIOError:
            time.sleep(0.02)
        except OSError as e:
            res["error"] = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else str(e)
            res["sent"] = sent
            return
        if not ready and sent > 0:
            touch(args.ready, res)
            ready = True
        try:  # an RST shows on the receive side too
            if s.recv(4096) == b"":
                res["error"] = "closed"
                return
        except BlockingIOError:
            pass
        except OSError as e:
            res["error"] = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else str(e)
            res["sent"] = sent
            return
    res["sent"] = sent
    if sent < len(body):
        res["error"] = "deadline"
        return
    s.setblocking(True)
    res["delivered"] = (command(s, ".", end) or "").startswith("250")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["release", "cut"])
    p.add_argument("--server", required=True)
    p.add_argument("--ready", required=True, help="created when the table may change")
    p.add_argument("--json", required=True)
    p.add_argument("--deadline", type=float, default=60.0, help="s, after the ready file")
    p.add_argument("--hold-check", type=float, default=2.0, help="release: s without a reply")
    p.add_argument("--size", type=int, default=4_000_000, help="cut: body bytes")
    p.add_argument("--tag", default="live-flow")
    args = p.parse_args()
    res = {"mode": args.mode, "connected": False, "delivered": False}
    try:
        (release if args.mode == "release" else cut)(args, res)
    except (OSError, ConnectionError, TimeoutError) as e:
        res.setdefault("error", "reset" if getattr(e, "errno", None) == errno.ECONNRESET else str(e))
    if not os.path.exists(args.ready):
        touch(args.ready, res)  # never leave the test waiting
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
