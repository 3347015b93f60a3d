#!/usr/bin/env python3
"""Runs scripts/fail2ban/action.d/sluice.conf's actionban and actionunban as fail2ban would:
tags substituted (recursively, [Init] values and the ticket's), each command through /bin/sh -c.
A stand-in sluicectl records its arguments; the test checks what the real one would be asked.

usage: fail2ban_action_test.py ACTION_CONF
"""
import configparser
import json
import os
import re
import subprocess
import sys
import tempfile


def substitute(text, tags, depth=0):
    if depth > 10:
        raise RuntimeError("tag recursion too deep: " + text)
    out = re.sub(r"<([A-Za-z0-9_-]+)>", lambda m: str(tags.get(m.group(1), m.group(0))), text)
    return out if out == text else substitute(out, tags, depth + 1)


def run(conf, which, ticket, overrides, log):
    cp = configparser.RawConfigParser()
    cp.read(conf)
    tags = dict(cp["Init"])
    tags.update(overrides)
    tags.update(ticket)
    cmd = substitute(cp["Definition"][which], tags)
    open(log, "w").close()
    subprocess.run(["/bin/sh", "-c", cmd], check=True)
    with open(log) as f:
        return [json.loads(line) for line in f]


def main():
    conf = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        fake = os.path.join(tmp, "sluicectl")
        with open(fake, "w") as f:
            f.write("#!/usr/bin/env python3\nimport json, sys\n"
                    f"open({log!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
        os.chmod(fake, 0o755)
        base = {"sluicectl": fake, "name": "postfix-sasl"}
        ticket = {"ip": "198.18.0.7", "bantime": "3600", "failures": "5"}

        def check(what, got, want):
            if got != want:
                failures.append(f"{what}:\n  got  {got}\n  want {want}")

        check("a ban with a bantime", run(conf, "actionban", ticket, base, log),
              [["--daemon", "/run/sluice/sluiced.sock", "host", "set", "198.18.0.7", "--deny",
                "--ttl", "3600s", "--reason", "fail2ban postfix-sasl (5 failures)"]])
        check("a permanent ban",
              run(conf, "actionban", dict(ticket, bantime="-1"), base, log),
              [["--daemon", "/run/sluice/sluiced.sock", "host", "set", "198.18.0.7", "--deny",
                "--reason", "fail2ban postfix-sasl (5 failures)"]])
        check("an IPv6 ban with options",
              run(conf, "actionban", dict(ticket, ip="2001:2::9", bantime="600"),
                  dict(base, daemon="/tmp/s.sock", reason="sasl"), log),
              [["--daemon", "/tmp/s.sock", "host", "set", "2001:2::9", "--deny", "--ttl", "600s",
                "--reason", "sasl (5 failures)"]])
        check("an unban", run(conf, "actionunban", ticket, base, log),
              [["--daemon", "/run/sluice/sluiced.sock", "host", "unset", "198.18.0.7"]])
    for f in failures:
        print("FAIL " + f)
    print("fail2ban action: %d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
