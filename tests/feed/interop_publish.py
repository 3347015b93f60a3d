#!/usr/bin/env python3
"""A feed publisher written from docs/feed.md alone: not sluice's code, Python's standard library
for the NATS client protocol and the `openssl` command for Ed25519. Used by
tests/feed/interop_test.sh to show that another implementation can publish to sluiced.

  interop_publish.py --server nats://127.0.0.1:PORT --credentials FILE --participant NAME
                     --key-pem PEM --seq N [--subject SUBJECT] [--tamper] [--sent-at-ms MS]
                     [--msg-id ID] [--out FILE | --replay FILE]
                     OBSERVATION...

OBSERVATION is SUBJECT:KIND:COUNT (for example 198.18.7.7:complaint:2, 2001:2::7:trap_hit:1; the
kind may be one the schema does not know). The batch is signed as section 1 says, published with
the header Nats-Msg-Id (section 3) and the JetStream acknowledgement awaited. --subject publishes
on another subject than sluice.obs.NAME (the server must refuse it); --tamper changes the body
after signing; --out keeps the whole message, --replay publishes a kept message again as it is.

Prints "ack STREAM SEQ", or "refused: REASON" and exits 3 when the server refuses; 1 on other
errors.
"""
import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True


def read_credentials(path):
    creds = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep:
                creds[key.strip()] = value.strip()
    return creds["user"], creds["password"]


def sign(pem, data):
    """The 64-byte Ed25519 signature of data (openssl pkeyutl, the message given whole)."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", pem, "-rawin", "-in", f.name],
                             check=True, capture_output=True).stdout
    if len(out) != 64:
        raise RuntimeError(f"openssl gave a {len(out)}-byte signature")
    return out


def message(args):
    observations = []
    now = int(time.time() * 1000)
    for spec in args.observations:
        subject, kind, count = spec.rsplit(":", 2)
        observations.append({"subject": subject, "kind": kind, "count": int(count),
                             "window": 60, "ttl": 3600, "observed_at": now,
                             "evidence": "interop-" + str(args.seq)})
    body = json.dumps({"v": 1, "participant": args.participant, "seq": args.seq,
                       "sent_at": args.sent_at_ms or now, "observations": observations},
                      separators=(",", ":")).encode()
    signature = sign(args.key_pem, b"sluice-feed/1\x00" + body)
    if args.tamper:
        body = body.replace(b'"count":', b'"count":1', 1)
    header = f"SLUICE-FEED/1 {args.participant} {base64.b64encode(signature).decode()}\n"
    return header.encode() + body


class Refused(Exception):
    pass


class Nats:
    def __init__(self, url, user, password, timeout=10):
        host, port = url.removeprefix("nats://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""
        self.deadline = time.monotonic() + timeout
        if not self.line().startswith(b"INFO "):
            raise Refused("not a NATS server")
        connect = {"verbose": False, "pedantic": False, "user": user, "pass": password,
                   "headers": True, "lang": "python-stdlib", "version": "1", "protocol": 1}
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        self.until_pong()

    def fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer from the server")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def payload(self, n):
        while len(self.buf) < n + 2:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def until_pong(self):
        while True:
            line = self.line()
            if line == b"PONG":
                return
            if line.startswith(b"-ERR"):
                raise Refused(line[5:].decode(errors="replace").strip(" '"))
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")

    def publish(self, subject, msg_id, data):
        """JetStream publish with Nats-Msg-Id; returns the PubAck's JSON."""
        inbox = "_INBOX." + os.urandom(8).hex()
        headers = f"NATS/1.0\r\nNats-Msg-Id: {msg_id}\r\n\r\n".encode()
        self.sock.sendall(f"SUB {inbox} 1\r\n".encode() +
                          f"HPUB {subject} {inbox} {len(headers)} {len(headers) + len(data)}\r\n"
                          .encode() + headers + data + b"\r\n")
        # The acknowledgement, or a permissions violation (-ERR) when the server refuses.
        while True:
            line = self.line()
            if line.startswith(b"-ERR"):
                raise Refused(line[5:].decode(errors="replace").strip(" '"))
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG ") or line.startswith(b"HMSG "):
                parts = line.split()
                data = self.payload(int(parts[-1]))
                if line.startswith(b"HMSG "):
                    data = data[int(parts[-2]):]
                reply = json.loads(data)
                if "error" in reply:
                    raise Refused(reply["error"].get("description", str(reply["error"])))
                return reply


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--participant", required=True)
    p.add_argument("--key-pem", required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--subject")
    p.add_argument("--tamper", action="store_true")
    p.add_argument("--sent-at-ms", type=int)
    p.add_argument("--msg-id")
    p.add_argument("--out")
    p.add_argument("--replay")
    p.add_argument("observations", nargs="*")
    args = p.parse_args()
    try:
        if args.replay:
            with open(args.replay, "rb") as f:
                data = f.read()
        else:
            data = message(args)
        if args.out:
            with open(args.out, "wb") as f:
                f.write(data)
        user, password = read_credentials(args.credentials)
        nats = Nats(args.server, user, password)
        subject = args.subject or "sluice.obs." + args.participant
        ack = nats.publish(subject, args.msg_id or f"{args.participant}:{args.seq}", data)
        print(f"ack {ack.get('stream')} {ack.get('seq')}")
        return 0
    except Refused as e:
        print(f"refused: {e}")
        return 3
    except (OSError, RuntimeError, ValueError, KeyError, subprocess.CalledProcessError) as e:
        print(f"interop_publish: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
