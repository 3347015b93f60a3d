#!/usr/bin/env bash
# nats-server and rbldnsd, which the feed and rbldnsd tests run, come from their Debian packages
# unpacked into $SLUICE_TOOLS_DIR (scripts/lib/debian-tools.sh), not installed:
#   - each is at its conventional path, runs (prints its version) and finds its libraries;
#   - dt_find answers the copy, and in an empty SLUICE_TOOLS_DIR fails naming install-deps.
# Needs no root (install-deps, run as root, made the copy). Exit 0 pass, 77 skip (no copy and not
# under CI=true), 1 fail.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/debian-tools.sh
. "$root/scripts/lib/debian-tools.sh"

fails=0
ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}

if ! dt_present nats-server || ! dt_present rbldnsd; then
  [[ ${CI:-} == true ]] && { echo "FAIL: no unpacked nats-server/rbldnsd (scripts/install-deps)"; exit 1; }
  echo "SKIP: no unpacked nats-server/rbldnsd (scripts/install-deps)"
  exit 77
fi
copy=$(realpath "$SLUICE_TOOLS_DIR")

nats=$SLUICE_TOOLS_DIR/nats-server/usr/bin/nats-server
rbl=$SLUICE_TOOLS_DIR/rbldnsd/usr/sbin/rbldnsd
for prog in "$nats" "$rbl"; do
  if [[ -x $prog && $(realpath "$prog") == "$copy"/* ]]; then
    ok "$prog is in the copy"
  else
    bad "$prog missing or outside $copy"
  fi
done

out=$("$nats" --version 2>&1)
if [[ $out =~ ^nats-server:\ v[0-9]+\.[0-9]+ ]]; then ok "nats-server --version: $out"; else bad "nats-server --version said: $out"; fi
# rbldnsd has no --version; -h prints its version line and exits non-zero.
out=$("$rbl" -h 2>&1 | head -n 1)
if [[ $out == "rbldnsd: rbl dns daemon version "* ]]; then ok "rbldnsd -h: $out"; else bad "rbldnsd -h said: $out"; fi
if missing=$(env -u LD_LIBRARY_PATH ldd "$rbl" 2>&1 | grep 'not found'); then
  bad "rbldnsd misses libraries: $missing"
else
  ok "rbldnsd finds its libraries"
fi

got=$(dt_find nats-server 2>/dev/null)
if [[ $got == "$copy"/nats-server-* ]]; then ok "dt_find nats-server: $got"; else bad "dt_find nats-server said '$got'"; fi
empty=$(mktemp -d /tmp/sluice_dt.XXXXXX)
trap 'rm -rf "$empty"' EXIT
if msg=$(SLUICE_TOOLS_DIR=$empty dt_find rbldnsd 2>&1); then
  bad "dt_find in an empty folder succeeded: $msg"
elif [[ $msg == *"scripts/install-deps"* ]]; then
  ok "dt_find in an empty folder fails naming install-deps"
else
  bad "dt_find in an empty folder said: $msg"
fi

[[ $fails -eq 0 ]] && { echo PASS; exit 0; }
echo "FAIL: $fails"
exit 1
