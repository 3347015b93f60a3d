#!/usr/bin/env bash
# sluice-dp's default control socket, /run/sluice/sluice-dp.sock (docs/packaging.md, "Run-time
# paths"), on the real binary with net_ring ports:
#   - --help names it as --control's default; --control with --no-control, or an empty
#     --control, is a usage error (exit 2, before EAL);
#   - started without --control where /run/sluice does not exist, sluice-dp makes /run/sluice,
#     listens on /run/sluice/sluice-dp.sock and serves sluicectl there; SIGTERM removes the
#     socket;
#   - with --no-control it opens no socket.
# The runs happen in a private mount namespace whose /run is an empty tmpfs, so the machine's
# /run (and any sluice-dp using the default there) is never touched.
# Usage: default_socket_test.sh SLUICE_DP SLUICECTL. Root only; exit 77 = skipped.
set -euo pipefail
dp=$1
ctl=$2
fail() { echo "FAIL: $*"; exit 1; }

if [[ ${3:-} != --in-namespace ]]; then
  help=$("$dp" --help)
  grep -q -- '--control arg (=/run/sluice/sluice-dp.sock)' <<<"$help" ||
    fail "--help does not name the default socket: $(grep -- --control <<<"$help")"
  rc=0
  "$dp" -- --outside 0 --inside 1 --control /tmp/x.sock --no-control >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "--control with --no-control: exit $rc, not 2"
  rc=0
  "$dp" -- --outside 0 --inside 1 --control "" >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "--control '': exit $rc, not 2"
  echo "ok: --help, --control/--no-control usage errors"
  [[ $(id -u) == 0 ]] || { echo "skip: needs root"; exit 77; }
  exec unshare --mount --propagation private "$0" "$dp" "$ctl" --in-namespace
fi

mount -t tmpfs -o mode=0755 sluice-test-run /run
[[ ! -e /run/sluice ]] || fail "/run/sluice exists in the fresh tmpfs"
work=$(mktemp -d /tmp/sluice_defsock.XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start_dp() { # NAME [OPTIONS...] -> pid
  local name=$1
  shift
  "$dp" --no-huge --no-pci -m 128 -l 0 --vdev "net_ring_${name}o" --vdev "net_ring_${name}i" \
    --file-prefix "defsock$$_$name" --log-level=3 -- --outside "net_ring_${name}o" \
    --inside "net_ring_${name}i" --idle-sleep-us 1000 --flow-table-size 1024 --pacer-size 256 \
    "$@" >"$work/$name.log" 2>&1 &
  pid=$!
}
wait_exit() { # PID -> its exit status; fails after 60 s
  for _ in $(seq 600); do
    kill -0 "$1" 2>/dev/null || { wait "$1" && return 0 || return $?; }
    sleep 0.1
  done
  fail "pid $1 did not exit"
}
sock=/run/sluice/sluice-dp.sock

start_dp a
for _ in $(seq 300); do
  [[ -S $sock ]] && "$ctl" --dataplane "dpdk:$sock" dataplane stats >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "sluice-dp exited: $(cat "$work/a.log")"
  sleep 0.1
done
"$ctl" --dataplane "dpdk:$sock" dataplane stats >/dev/null || fail "not served on $sock"
[[ $(stat -c %a /run/sluice) == 755 ]] || fail "/run/sluice mode $(stat -c %a /run/sluice)"
echo "ok: no --control: /run/sluice made, sluicectl served on $sock"
kill -TERM "$pid"
rc=0
wait_exit "$pid" || rc=$?
pid=
[[ $rc == 0 ]] || fail "exit $rc after SIGTERM: $(cat "$work/a.log")"
[[ ! -e $sock ]] || fail "$sock left behind"
echo "ok: SIGTERM removed $sock"

rm -rf /run/sluice
start_dp b --no-control
for _ in $(seq 300); do
  grep -q "^sluice-dp: forwarding" "$work/b.log" && break
  kill -0 "$pid" 2>/dev/null || fail "sluice-dp --no-control exited: $(cat "$work/b.log")"
  sleep 0.1
done
grep -q "^sluice-dp: forwarding" "$work/b.log" || fail "--no-control: never forwarding"
[[ ! -e /run/sluice ]] || fail "--no-control made $(find /run/sluice)"
kill -TERM "$pid"
wait_exit "$pid" || true
pid=
echo "ok: --no-control opens no socket"
echo PASS
