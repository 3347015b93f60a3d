#!/usr/bin/env bash
# scripts/feed/create-stream against bad input: a credentials file it must refuse (FILE:LINE),
# a peer that is not a NATS server, a wrong password, a participant without the right to create
# the stream; and against a real nats-server -js as the administrator: created, then present
# (idempotent), with the feed's subjects. Exit 0 pass, 77 skip (no nats-server).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$root/scripts/feed/feed-lib.sh"
cs=$root/scripts/feed/create-stream
feed_find_nats_server >/dev/null || { echo "SKIP: no nats-server" >&2; exit 77; }

work=$(mktemp -d)
fake_pid=""
cleanup() {
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
  feed_nats_down "$work/nats"
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
# expect DESCRIPTION RC PATTERN CMD...: CMD exits RC and its stderr+stdout matches PATTERN.
expect() {
  local what=$1 want=$2 pattern=$3 out rc
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc == "$want" && $out =~ $pattern ]]; then
    echo "  ok: $what"
  else
    echo "  FAIL: $what: exit $rc, output: $out" >&2
    fails=$((fails + 1))
  fi
}

printf 'user = admin\n' >"$work/no-password.creds"
printf 'user = admin\npasword = x\n' >"$work/typo.creds"
printf 'user = admin\nuser = admin\npassword = x\n' >"$work/twice.creds"
expect "a credentials file without password" 2 "no-password.creds: needs" \
  "$cs" --server nats://127.0.0.1:1 --credentials "$work/no-password.creds" --timeout 1
expect "an unknown key, with its line" 2 "typo.creds:2: " \
  "$cs" --server nats://127.0.0.1:1 --credentials "$work/typo.creds" --timeout 1
expect "a key given twice, with its line" 2 "twice.creds:2: " \
  "$cs" --server nats://127.0.0.1:1 --credentials "$work/twice.creds" --timeout 1
expect "a server that is not nats://HOST:PORT" 2 "is not nats://HOST:PORT" \
  "$cs" --server nats://localhost --credentials "$work/twice.creds" --timeout 1

# A peer that answers something else than NATS.
port=$(feed_free_ports 1)
"$FEED_PYTHON" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(30)
try:
    while True:
        c, _ = s.accept()
        c.sendall(b"220 smtp.example ESMTP\r\n")
        c.close()
except OSError:
    pass' "$port" &
fake_pid=$!
printf 'user = admin\npassword = x\n' >"$work/admin-guess.creds"
for _ in $(seq 50); do
  # shellcheck disable=SC2016 # expanded by the inner shell
  bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$port" 2>/dev/null && break
  sleep 0.1
done
expect "a peer that is not a NATS server" 1 "not a NATS server" \
  "$cs" --server "nats://127.0.0.1:$port" --credentials "$work/admin-guess.creds" --timeout 5
kill "$fake_pid" 2>/dev/null
fake_pid=""

# A real server: refusals, then the administrator.
if ! feed_nats_up "$work/nats" 1 isp-a 2>"$work/up.log"; then
  cat "$work/up.log" >&2
  echo "FAIL: nats-server" >&2
  exit 1
fi
url=$(<"$work/nats/urls")
expect "a wrong password is refused by the server" 1 "Authorization Violation" \
  "$cs" --server "$url" --credentials "$work/admin-guess.creds" --timeout 5
expect "a participant may not create the stream" 1 "Permissions Violation" \
  "$cs" --server "$url" --credentials "$work/nats/isp-a.creds" --timeout 5
expect "the administrator: present again (idempotent)" 0 "SLUICE_OBS ready" \
  "$cs" --server "$url" --credentials "$work/nats/admin.creds" --timeout 10

if ((fails > 0)); then
  echo "FAILED: $fails check(s)" >&2
  exit 1
fi
echo PASS
