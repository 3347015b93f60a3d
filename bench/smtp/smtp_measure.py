#!/usr/bin/env python3
"""Send SMTP mail and measure it: per-message delivery time, or a sender's achieved rate.

Run it inside a sender's network namespace (scripts/rig/measure does that). Every run is bounded:
each message by --timeout, the whole run by --deadline.

  smtp_measure.py send --server ADDR [--count M] [--size BYTES] [--client python|smtp-source]
      Sends M messages of about BYTES body bytes, one SMTP session each, one after the other.
      Delivery time = from the start of connect() to the server's 250 after the final ".".
      --gap S pauses S seconds between messages (a sender that mails now and then, rather
      than one that holds on to a server process by reconnecting at once).
      Failures are counted by kind: refused (RST to the SYN), connect-timeout (SYN unanswered),
      timeout (a per-message deadline hit mid-session), reset, disconnected, smtp-error, error.
      --reference ADDR pairs every message with one to ADDR, in alternating order, and reports
      those separately ("reference"): a side-by-side "without shaper" measurement.
  smtp_measure.py rate --server ADDR [--window SECONDS] [--size BYTES]
      Opens one session, starts DATA and streams the body for at most --window seconds, then
      reports the payload bytes the server acknowledged (TCP_INFO tcpi_bytes_acked) per second:
      the achieved rate, without waiting for a slowed sender's whole message.

Messages come from smtp_body.py: each carries the SHA-256 of its body, so smtp_verify.py can
check smtp-sink's dump. Output: a human summary on stderr, JSON on stdout (or --json FILE).
Exit status 0 when the run completed (failures are data, not errors), 2 on bad usage.
"""

import argparse
import json
import os
import select
import signal
import smtplib
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_body import make_message  # noqa: E402


class Deadline(Exception):
    """A per-message or per-run time bound expired."""


def _on_alarm(signum, frame):
    raise Deadline()


# struct tcp_info (linux/tcp.h) offsets of the fields reported.
_TCPI = {
    "snd_mss": (16, "I"),
    "rtt_us": (68, "I"),
    "snd_cwnd": (80, "I"),
    "total_retrans": (100, "I"),
    "bytes_acked": (120, "Q"),
    "rwnd_limited_us": (176, "Q"),
    "snd_wnd": (228, "I"),
}


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    out = {}
    for name, (off, fmt) in _TCPI.items():
        if off + struct.calcsize(fmt) <= len(raw):
            out[name] = struct.unpack_from(fmt, raw, off)[0]
    return out


def abort_socket(sock):
    """Close with RST: a slowed connection must not linger after the measurement."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def classify_error(exc, connected):
    if isinstance(exc, Deadline):
        return "timeout" if connected else "connect-timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout" if connected else "connect-timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "disconnected"
    if isinstance(exc, smtplib.SMTPException):
        return "smtp-error"
    return "error"


def addresses(args):
    return f"sender@{args.tag}.sluice.test", "sink@server.sluice.test"


def send_python(args, seq, server, tag):
    """One message through Python's smtplib; returns a record."""
    sender, rcpt = addresses(args)
    msg = make_message(seq, args.size, sender, rcpt, tag).encode("ascii")
    rec = {"seq": seq, "ok": False}
    smtp = None
    connected = False
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    try:
        smtp = smtplib.SMTP(timeout=args.connect_timeout, local_hostname=args.helo)
        smtp.connect(server, args.port)  # TCP handshake and the 220 greeting
        connected = True
        rec["greeting_s"] = time.monotonic() - t0
        smtp.sock.settimeout(args.timeout)
        smtp.ehlo()
        smtp.sendmail(sender, [rcpt], msg)
        rec["time_s"] = time.monotonic() - t0
        rec["ok"] = True
        info = tcp_info(smtp.sock)
        rec["snd_mss"] = info.get("snd_mss")
        smtp.quit()
    except Exception as exc:  # noqa: BLE001 -- every failure is a counted outcome
        if not rec["ok"]:
            rec["error"] = classify_error(exc, connected)
            rec["detail"] = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if smtp is not None and smtp.sock is not None:
            abort_socket(smtp.sock)
    rec["elapsed_s"] = time.monotonic() - t0
    return rec


def send_smtp_source(args, seq, server, tag, workdir):
    """One message through Postfix's smtp-source (-F: a pre-formatted message file)."""
    sender, rcpt = addresses(args)
    path = os.path.join(workdir, f"msg{seq}.eml")
    with open(path, "w", encoding="ascii") as f:
        f.write(make_message(seq, args.size, sender, rcpt, tag))
    host = f"[{server}]" if ":" in server else server
    cmd = [args.smtp_source, "-m", "1", "-F", path, "-f", sender, "-t", rcpt, "-M", args.helo]
    cmd.append(f"{host}:{args.port}")
    rec = {"seq": seq, "ok": False}
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
        rec["time_s"] = time.monotonic() - t0
        if p.returncode == 0:
            rec["ok"] = True
        else:
            err = p.stderr.strip()
            rec["error"] = "refused" if "refused" in err.lower() else "smtp-error"
            rec["detail"] = err[-200:]
    except subprocess.TimeoutExpired:
        rec["error"] = "timeout"
    finally:
        os.unlink(path)
    if not rec["ok"]:
        rec.pop("time_s", None)
    rec["elapsed_s"] = time.monotonic() - t0
    return rec


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summarize(records, args, elapsed):
    times = [r["time_s"] for r in records if r["ok"]]
    failures = {}
    for r in records:
        if not r["ok"]:
            failures[r["error"]] = failures.get(r["error"], 0) + 1
    return {
        "size": args.size,
        "requested": args.count,
        "attempted": len(records),
        "delivered": len(times),
        "failed": len(records) - len(times),
        "failures": failures,
        "timeout_s": args.timeout,
        "elapsed_s": elapsed,
        "median_s": statistics.median(times) if times else None,
        "p90_s": percentile(times, 0.9),
        "min_s": min(times) if times else None,
        "max_s": max(times) if times else None,
        "msgs_per_s": len(times) / elapsed if elapsed > 0 else None,
        "bytes_per_s": len(times) * args.size / elapsed if elapsed > 0 else None,
        "messages": records,
    }


def run_send(args):
    """Messages one after the other. With --reference, every message to --server is paired with
    one to the reference address (the order alternating), so both are measured under the same
    machine load: the reference lane is the "without shaper" column, measured side by side."""
    records, ref_records = [], []
    stopped_by_deadline = False
    timeout = args.timeout

    def send(seq, server, tag):
        if args.client == "smtp-source":
            return send_smtp_source(args, seq, server, tag, workdir)
        return send_python(args, seq, server, tag)

    with tempfile.TemporaryDirectory(prefix="smtp-measure.") as workdir:
        # Warm-up messages (not recorded): ARP/ND and a freshly started data plane settle first.
        for seq in range(args.warmup):
            send(-1 - seq, args.server, args.tag)
            if args.reference:
                send(-1 - seq, args.reference, args.tag + "-ref")
        start = time.monotonic()
        for seq in range(args.count):
            if seq > 0 and args.gap > 0:
                left = args.deadline - (time.monotonic() - start)
                if left <= args.gap:
                    stopped_by_deadline = True
                    break
                time.sleep(args.gap)
            legs = [(args.server, args.tag, records)]
            if args.reference:
                ref_leg = (args.reference, args.tag + "-ref", ref_records)
                legs = legs + [ref_leg] if seq % 2 else [ref_leg] + legs
            for server, tag, out in legs:
                left = args.deadline - (time.monotonic() - start)
                if left <= 0:
                    stopped_by_deadline = True
                    break
                args.timeout = min(timeout, left)
                rec = send(seq, server, tag)
                cut = args.timeout < timeout
                args.timeout = timeout
                if cut and not rec["ok"] and rec["error"] in ("timeout", "connect-timeout"):
                    # Cut short by the run's deadline, not by its own timeout: not a result.
                    stopped_by_deadline = True
                    break
                out.append(rec)
            if stopped_by_deadline:
                break
            if args.stop_after_failures and sum(not r["ok"] for r in records) >= args.stop_after_failures:
                break
    elapsed = time.monotonic() - start
    result = {
        "mode": "send",
        "tag": args.tag,
        "address": args.address,
        "server": args.server,
        "client": args.client,
        "stopped_by_deadline": stopped_by_deadline,
    }
    result.update(summarize(records, args, elapsed))
    if args.reference:
        result["reference"] = dict(summarize(ref_records, args, elapsed), server=args.reference)
    return result


def read_reply(f):
    """The code of one (possibly multi-line) SMTP reply."""
    while True:
        line = f.readline()
        if not line:
            raise smtplib.SMTPServerDisconnected("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def expect(f, sock, command, code):
    if command is not None:
        sock.sendall(command + b"\r\n")
    got = read_reply(f)
    if got != code:
        raise smtplib.SMTPResponseException(got, f"{command!r}: expected {code}")


def run_rate(args):
    sender, rcpt = addresses(args)
    body = make_message(0, args.size, sender, rcpt, args.tag).replace("\n", "\r\n").encode()
    out = {"mode": "rate", "tag": args.tag, "address": args.address, "server": args.server,
           "window_s": args.window}
    sock = None
    connected = False
    t0 = time.monotonic()
    # Bound: connect, then the SMTP dialogue up to DATA (slow under loss-based shaping, so it
    # gets the per-message timeout), then the measured window.
    signal.setitimer(signal.ITIMER_REAL, args.connect_timeout + args.timeout + args.window)
    try:
        sock = socket.create_connection((args.server, args.port), timeout=args.connect_timeout)
        connected = True
        sock.settimeout(args.timeout)
        f = sock.makefile("rb")
        expect(f, sock, None, 220)
        out["greeting_s"] = time.monotonic() - t0
        expect(f, sock, b"EHLO " + args.helo.encode(), 250)
        expect(f, sock, f"MAIL FROM:<{sender}>".encode(), 250)
        expect(f, sock, f"RCPT TO:<{rcpt}>".encode(), 250)
        expect(f, sock, b"DATA", 354)
        acked0 = tcp_info(sock).get("bytes_acked", 0)
        t_data = time.monotonic()
        end = t_data + args.window
        sock.setblocking(False)
        sent = 0
        while sent < len(body):
            now = time.monotonic()
            if now >= end:
                break
            _, writable, _ = select.select([], [sock], [], min(0.05, end - now))
            if writable:
                try:
                    sent += sock.send(body[sent : sent + 65536])
                except BlockingIOError:
                    pass
        # Everything written: wait (within the window) until the server has acknowledged it.
        while time.monotonic() < end and tcp_info(sock).get("bytes_acked", 0) - acked0 < sent:
            time.sleep(0.005)
        t_end = time.monotonic()
        info = tcp_info(sock)
        acked = info.get("bytes_acked", 0) - acked0
        out.update(
            {
                "ok": True,
                "payload_bytes": len(body),
                "written_bytes": sent,
                "acked_bytes": acked,
                "measured_s": t_end - t_data,
                "bytes_per_s": acked / (t_end - t_data) if t_end > t_data else None,
                "complete": acked >= len(body),
                "tcp_info": info,
            }
        )
    except Exception as exc:  # noqa: BLE001 -- a refused or stalled sender is a result
        out.update({"ok": False, "error": classify_error(exc, connected), "detail": str(exc)[:200]})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        abort_socket(sock)
    out["elapsed_s"] = time.monotonic() - t0
    return out


def human(result):
    def ms(v):
        return "-" if v is None else f"{v * 1000:.1f} ms"

    if result["mode"] == "send":
        fails = ", ".join(f"{k} {v}" for k, v in sorted(result["failures"].items())) or "none"
        text = (
            f"{result['tag']}: {result['delivered']}/{result['attempted']} delivered "
            f"({result['requested']} requested) in {result['elapsed_s']:.2f} s; median "
            f"{ms(result['median_s'])}, p90 {ms(result['p90_s'])}; failures: {fails}"
        )
        ref = result.get("reference")
        if ref:
            text += (f"; reference lane: {ref['delivered']}/{ref['attempted']} delivered, "
                     f"median {ms(ref['median_s'])}")
        return text
    if not result.get("ok"):
        return f"{result['tag']}: rate: failed ({result['error']}: {result.get('detail', '')})"
    return (
        f"{result['tag']}: rate {result['bytes_per_s']:.0f} B/s "
        f"({result['acked_bytes']} B acked in {result['measured_s']:.2f} s, "
        f"mss {result['tcp_info'].get('snd_mss')}, rtt {result['tcp_info'].get('rtt_us')} us)"
    )


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("mode", choices=["send", "rate"])
    ap.add_argument("--server", required=True, help="server address (IPv4 or IPv6)")
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--count", type=int, default=10, help="send: messages (default 10)")
    ap.add_argument("--size", type=int, default=10240, help="body bytes (default 10240)")
    ap.add_argument("--timeout", type=float, default=20.0, help="per message, s (default 20)")
    ap.add_argument("--connect-timeout", type=float, default=3.0, help="s (default 3)")
    ap.add_argument("--deadline", type=float, default=60.0, help="whole run, s (default 60)")
    ap.add_argument("--window", type=float, default=5.0, help="rate: seconds measured")
    ap.add_argument("--stop-after-failures", type=int, default=0, help="send: stop after N")
    ap.add_argument("--client", choices=["python", "smtp-source"], default="python")
    ap.add_argument("--smtp-source", default=os.environ.get("SLUICE_SMTP_SOURCE"),
                    help="smtp-source binary (default $SLUICE_SMTP_SOURCE: the unpacked Postfix"
                    " that scripts/lib/postfix-tools.sh finds; never the system's)")
    ap.add_argument("--tag", default="rig", help="names the sender in messages and output")
    ap.add_argument("--helo", default="sender.sluice.test")
    ap.add_argument("--address", help="the sender's address, recorded in the result")
    ap.add_argument("--warmup", type=int, default=0, help="send: unrecorded messages first")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="send: seconds between messages (default 0: back to back)")
    ap.add_argument("--reference", metavar="ADDR",
                    help="send: pair every message with one to ADDR (the rig's reference lane)")
    ap.add_argument("--json", help="write the JSON result here instead of stdout")
    ap.add_argument("--quiet", action="store_true", help="no human summary on stderr")
    args = ap.parse_args()
    if (args.count < 0 or args.size < 0 or min(args.timeout, args.deadline, args.window) <= 0
            or not 0 <= args.gap <= 3600):
        ap.error("counts and sizes must be >= 0, times > 0")
    if args.client == "smtp-source" and not args.smtp_source:
        ap.error("--client smtp-source needs --smtp-source BIN or $SLUICE_SMTP_SOURCE (source"
                 " scripts/lib/postfix-tools.sh and call pft_find)")
    signal.signal(signal.SIGALRM, _on_alarm)
    result = run_send(args) if args.mode == "send" else run_rate(args)
    if not args.quiet:
        print(human(result), file=sys.stderr)
    text = json.dumps(result, indent=1)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
