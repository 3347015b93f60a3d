"""Test messages whose body carries its own checksum, so a dumped copy can be verified.

A message is RFC 5322 text: headers (including X-Sluice-Body-Sha256 and X-Sluice-Body-Bytes),
a blank line, then body lines drawn from a seeded generator and a fixed end marker line. The
checksum covers the body lines, each terminated by LF (the form smtp-sink writes to its dump
files), so it is independent of the CRLF line ends used on the wire.
"""

import base64
import hashlib
import random

END_MARKER = "sluice-end-of-body"
LINE_CHARS = 76  # a conventional mail line length; no line starts with "." (no dot-stuffing)


def body_lines(size, seed):
    """Lines totalling about `size` bytes on the wire (each line plus CRLF), end marker last.
    Each line is base64 of seeded random bytes: 76 characters, never starting with "."."""
    rng = random.Random(seed)
    lines = []
    remaining = max(size - (len(END_MARKER) + 2), 0)
    while remaining > 0:
        n = min(LINE_CHARS, max(remaining - 2, 1))
        lines.append(base64.b64encode(rng.randbytes(57)).decode("ascii")[:n])
        remaining -= n + 2
    lines.append(END_MARKER)
    return lines


def body_digest(lines):
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("ascii") + b"\n")
    return h.hexdigest()


def make_message(seq, size, sender, recipient, tag):
    """The message text with LF line ends (callers convert to CRLF for the wire)."""
    lines = body_lines(size, seed=f"{tag}/{seq}/{size}")
    headers = [
        f"From: <{sender}>",
        f"To: <{recipient}>",
        f"Subject: sluice rig message {seq} from {tag}",
        f"Message-ID: <{tag}.{seq}@sluice.test>",
        f"X-Sluice-Tag: {tag}",
        f"X-Sluice-Seq: {seq}",
        f"X-Sluice-Body-Sha256: {body_digest(lines)}",
        f"X-Sluice-Body-Bytes: {sum(len(x) + 2 for x in lines)}",
    ]
    return "\n".join(headers) + "\n\n" + "\n".join(lines) + "\n"
