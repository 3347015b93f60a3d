#!/usr/bin/env python3
"""An abusive SMTP load: many concurrent sessions, each sending one message after another.

Run it inside a sender's network namespace. Session i binds source address SOURCES[i % n], so a
few hundred sessions can come from a botnet's worth of addresses. Each session connects, reads
the greeting, sends EHLO, MAIL, RCPT, DATA and a body of --size bytes, reads the 250 and QUITs,
then starts the next one at once. Like a bot it waits long for a connection (--connect-timeout,
the kernel's own SYN back-off runs meanwhile) and for each reply (--io-timeout), and pauses a
second after a refusal so a block does not make it spin.

  smtp_flood.py --server ADDR --sources A[,B...] [--sessions N] [--size BYTES]
                [--duration SECONDS] [--json FILE]

Bounded: the whole run stops after --duration seconds (or on SIGTERM/SIGINT); sessions still
open are aborted (RST), so the server frees their processes at once. Output: counts of sessions
by outcome (completed, refused, connect-timeout, timeout, reset, smtp-error, error), as JSON on
stdout or in --json FILE, and a one-line summary on stderr. Exit 0 when the run completed, 2 on
bad usage.
"""

import argparse
import asyncio
import ipaddress
import json
import signal
import sys
import time

sys.dont_write_bytecode = True

OUTCOMES = ("completed", "refused", "connect-timeout", "timeout", "reset", "smtp-error", "error")


class SmtpError(Exception):
    """The server answered a command with an unexpected code."""


async def reply(reader, timeout):
    """Reads one (possibly multi-line) SMTP reply; returns its three-digit code."""
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ConnectionResetError("server closed the connection")
        if len(line) < 4 or not line[:3].isdigit():
            raise SmtpError("malformed reply %r" % line[:40])
        if line[3:4] != b"-":
            return int(line[:3])


async def command(reader, writer, text, want, timeout):
    writer.write(text)
    await asyncio.wait_for(writer.drain(), timeout)
    code = await reply(reader, timeout)
    if code // 100 != want:
        raise SmtpError("%r answered %d" % (text[:10], code))


async def one_session(args, source, body, open_writers):
    """One SMTP transaction from SOURCE; returns its outcome. Its writer is in OPEN_WRITERS
    while the connection is open."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.server, args.port, local_addr=(source, 0)),
            args.connect_timeout,
        )
    except ConnectionRefusedError:
        return "refused"
    except asyncio.TimeoutError:
        return "connect-timeout"
    except OSError:
        return "error"
    outcome = "completed"
    open_writers.add(writer)
    try:
        t = args.io_timeout
        if await reply(reader, t) // 100 != 2:
            raise SmtpError("greeting")
        await command(reader, writer, b"EHLO bot.invalid\r\n", 2, t)
        await command(reader, writer, b"MAIL FROM:<bot@bot.invalid>\r\n", 2, t)
        await command(reader, writer, b"RCPT TO:<user@mta.sluice.test>\r\n", 2, t)
        await command(reader, writer, b"DATA\r\n", 3, t)
        writer.write(body)
        await command(reader, writer, b".\r\n", 2, t)
        writer.write(b"QUIT\r\n")
        await asyncio.wait_for(writer.drain(), t)
    except asyncio.TimeoutError:
        outcome = "timeout"
    except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
        outcome = "reset"
    except SmtpError:
        outcome = "smtp-error"
    except OSError:
        outcome = "error"
    finally:
        open_writers.discard(writer)
        writer.transport.abort()
    return outcome


async def worker(args, source, body, counts, stop, open_writers):
    while not stop.is_set():
        outcome = await one_session(args, source, body, open_writers)
        if stop.is_set():
            break  # aborted by the end of the run: not an outcome
        counts[outcome] += 1
        if outcome != "completed" and not stop.is_set():
            # A refused or broken session: a bot retries, but not in a tight loop.
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass


async def flood(args, sources):
    counts = {k: 0 for k in OUTCOMES}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    line = b"X" * 74 + b"\r\n"
    body = b"Subject: flood\r\n\r\n" + line * max(1, args.size // len(line))
    open_writers = set()
    tasks = [
        asyncio.create_task(
            worker(args, sources[i % len(sources)], body, counts, stop, open_writers)
        )
        for i in range(args.sessions)
    ]
    start = time.monotonic()
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except asyncio.TimeoutError:
        pass
    stop.set()
    elapsed = time.monotonic() - start
    # Abort what is open first: a cancellation that lands as an awaited read completes can be
    # lost (asyncio.wait_for before Python 3.12), and that session would then wait out its
    # --io-timeout; with its connection gone, its next read fails at once.
    for writer in list(open_writers):
        writer.transport.abort()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=5)
    return counts, elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server", required=True, help="the MTA's address")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--sources", required=True, help="comma-separated source addresses to bind")
    p.add_argument("--sessions", type=int, default=100, help="concurrent sessions (1-2000)")
    p.add_argument("--size", type=int, default=20480, help="message body bytes (1-10000000)")
    p.add_argument("--duration", type=float, default=60, help="seconds (1-3600)")
    p.add_argument("--connect-timeout", type=float, default=30)
    p.add_argument("--io-timeout", type=float, default=60)
    p.add_argument("--json", help="write the result here instead of stdout")
    args = p.parse_args()
    try:
        sources = [str(ipaddress.ip_address(s.strip())) for s in args.sources.split(",") if s.strip()]
    except ValueError as e:
        p.error("--sources: %s" % e)
    if not sources:
        p.error("--sources: no address")
    if not 1 <= args.sessions <= 2000:
        p.error("--sessions must be 1-2000")
    if not 1 <= args.size <= 10_000_000:
        p.error("--size must be 1-10000000")
    if not 1 <= args.duration <= 3600:
        p.error("--duration must be 1-3600")
    if not (0 < args.connect_timeout <= 600 and 0 < args.io_timeout <= 600):
        p.error("timeouts must be in (0, 600]")
    counts, elapsed = asyncio.run(flood(args, sources))
    result = {
        "server": args.server,
        "sources": len(sources),
        "sessions": args.sessions,
        "size": args.size,
        "seconds": round(elapsed, 3),
        "outcomes": counts,
    }
    text = json.dumps(result, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    print(
        "smtp_flood: %d sessions from %d addresses for %.1f s: %s"
        % (args.sessions, len(sources), elapsed, ", ".join("%s %d" % kv for kv in counts.items())),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
