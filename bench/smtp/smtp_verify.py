#!/usr/bin/env python3
"""Verify the messages Postfix's smtp-sink dumped (-d DIR/...) against their own checksums.

    smtp_verify.py DUMP_DIR [--client ADDR] [--tag TAG] [--exclude-tag TAG]... [--json]

Each dump file holds smtp-sink's own headers (X-Client-Addr, ..., Received), the message headers,
a blank line and the body. A message made by smtp_body.py is intact when the SHA-256 of its body
lines up to the end marker equals its X-Sluice-Body-Sha256 header and nothing but blank lines
follows the marker. Exit status: 0 when every checked message is intact, 1 otherwise, 2 on usage.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_body import END_MARKER, body_digest  # noqa: E402


def check_file(path):
    """(client address, tag, status) with status 'ok', 'corrupt', 'truncated' or 'foreign'."""
    with open(path, "rb") as f:
        text = f.read().decode("ascii", errors="replace").replace("\r\n", "\n")
    head, sep, body = text.partition("\n\n")
    fields = {}
    for line in head.split("\n"):
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if colon and key not in fields:
            fields[key] = value.strip()
    client = fields.get("x-client-addr", "?")
    tag = fields.get("x-sluice-tag", "")
    want = fields.get("x-sluice-body-sha256")
    if not want:
        return client, tag, "foreign"  # not made by smtp_body.py (e.g. smtp-source -l)
    lines = body.split("\n") if sep else []
    if END_MARKER not in lines:
        return client, tag, "truncated"
    end = lines.index(END_MARKER) + 1
    if body_digest(lines[:end]) != want or any(x.strip() for x in lines[end:]):
        return client, tag, "corrupt"
    return client, tag, "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("dump_dir")
    ap.add_argument("--client", help="only messages from this client address")
    ap.add_argument("--tag", help="only messages with this X-Sluice-Tag")
    ap.add_argument("--exclude-tag", action="append", default=[],
                    help="skip messages with this X-Sluice-Tag (e.g. aborted rate probes)")
    ap.add_argument("--json", action="store_true", help="print a JSON summary")
    args = ap.parse_args()
    if not os.path.isdir(args.dump_dir):
        print(f"smtp_verify: {args.dump_dir}: not a directory", file=sys.stderr)
        return 2
    counts = {"ok": 0, "corrupt": 0, "truncated": 0, "foreign": 0}
    bad = []
    for root, _, files in os.walk(args.dump_dir):
        for name in sorted(files):
            path = os.path.join(root, name)
            client, tag, status = check_file(path)
            if args.client and client not in (args.client, "ipv6:" + args.client):
                continue
            if (args.tag and tag != args.tag) or tag in args.exclude_tag:
                continue
            counts[status] += 1
            if status in ("corrupt", "truncated"):
                bad.append(path)
    summary = dict(counts, checked=counts["ok"] + counts["corrupt"] + counts["truncated"], bad=bad)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['checked']} checked: {counts['ok']} intact, {counts['corrupt']} corrupt, "
            f"{counts['truncated']} truncated ({counts['foreign']} foreign skipped)"
        )
        for path in bad:
            print(f"  bad: {path}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
