#!/usr/bin/env bash
# sluice-dp's control socket as a careless operator and a hostile local user meet it, on the
# real binary (net_ring ports, no traffic needed):
#   - --control naming a regular file: refused at start, the file left intact;
#   - a second sluice-dp on the same --control: refused, the first keeps its socket;
#   - the socket is 0600 at umask 000; a non-root user is refused (setpriv, uid nobody);
#   - a client stalled on half a header does not stall sluicectl, and SIGTERM still ends
#     sluice-dp (and removes its socket) with that client connected;
#   - the lcore answers a flow request within its 1 s deadline although it sleeps 100 ms
#     whenever idle (the control work runs by time, not only every 1024 iterations);
#   - sluicectl --timeout gives up on a socket that never answers.
# Usage: control_socket_test.sh SLUICE_DP SLUICECTL. Root only; exit 77 = skipped.
set -euo pipefail
dp=$1
ctl=$2
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "skip: needs python3"; exit 77; }
work=$(mktemp -d /tmp/sluice_ctlsock.XXXXXX)
chmod 755 "$work"
tag=ctlsock$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work" "/var/run/dpdk/${tag}"*
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/dp1.log" ] && tail -5 "$work/dp1.log"; exit 1; }

start_dp() {  # start_dp NAME SOCKET -> pid in $dp_pid
  "$dp" --no-huge --no-pci -m 128 -l 0 --vdev "net_ring_${1}o" --vdev "net_ring_${1}i" \
    --file-prefix "${tag}_$1" --log-level=3 -- --outside "net_ring_${1}o" \
    --inside "net_ring_${1}i" --control "$2" --idle-sleep-us 100000 --flow-table-size 1024 \
    --pacer-size 256 > "$work/$1.log" 2>&1 &
  dp_pid=$!
  pids+=("$dp_pid")
}
wait_exit() {  # wait_exit PID: its exit status (fails the test after 60 s: a hang guard)
  for _ in $(seq 600); do
    kill -0 "$1" 2>/dev/null || { wait "$1" && return 0 || return $?; }
    sleep 0.1
  done
  fail "pid $1 did not exit"
}

# 1. --control naming a regular file.
echo precious > "$work/file"
start_dp dp0 "$work/file"
rc=0; wait_exit "$dp_pid" || rc=$?
[ "$rc" = 1 ] || fail "sluice-dp with --control on a regular file: exit $rc"
grep -q "not a socket" "$work/dp0.log" || fail "no reason given: $(cat "$work/dp0.log")"
[ "$(cat "$work/file")" = precious ] || fail "the regular file was changed"

# 2. The first instance, at umask 000.
sock=$work/dp.sock
old_umask=$(umask)
umask 000
start_dp dp1 "$sock"
umask "$old_umask"
dp1=$dp_pid
for _ in $(seq 300); do [ -S "$sock" ] && "$ctl" --dataplane "dpdk:$sock" dataplane stats \
  >/dev/null 2>&1 && break; sleep 0.1; done
"$ctl" --dataplane "dpdk:$sock" dataplane stats > /dev/null || fail "first sluice-dp not answering"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock") at umask 000"

# 3. A second instance on the same socket.
start_dp dp2 "$sock"
rc=0; wait_exit "$dp_pid" || rc=$?
[ "$rc" = 1 ] || fail "second sluice-dp: exit $rc"
grep -q "another process is listening" "$work/dp2.log" || fail "second: $(cat "$work/dp2.log")"
[ -S "$sock" ] || fail "the second instance removed the first one's socket"
"$ctl" --dataplane "dpdk:$sock" dataplane stats > /dev/null || fail "first lost its socket"

# 4. A non-root user, even with the file opened up.
chmod 666 "$sock"
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$ctl" --dataplane "dpdk:$sock" \
  dataplane stats 2>&1) && fail "nobody was served: $out"
echo "$out" | grep -q "permission denied" || fail "nobody: $out"
chmod 600 "$sock"
"$ctl" --dataplane "dpdk:$sock" dataplane stats --json |
  python3 -c 'import json,sys; assert json.load(sys.stdin)["outside"]["rx"] == 0' ||
  fail "stats after the refusal"

# 5. A client stalled on half a header; sluicectl is served meanwhile; SIGTERM still exits.
python3 - "$sock" "$work/stalled.ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.send(b"\x00\x00")
open(sys.argv[2], "w").close()
time.sleep(120)
PY
stalled=$!
pids+=("$stalled")
for _ in $(seq 100); do [ -f "$work/stalled.ready" ] && break; sleep 0.1; done
"$ctl" --timeout 30 --dataplane "dpdk:$sock" dataplane flows > /dev/null ||
  fail "sluicectl not served while another client stalls"
kill -TERM "$dp1"
rc=0; wait_exit "$dp1" || rc=$?
[ "$rc" = 0 ] || fail "sluice-dp exit $rc after SIGTERM"
[ ! -e "$sock" ] || fail "socket left behind"
kill "$stalled" 2>/dev/null || true

# 6. sluicectl against a socket that accepts and never answers.
python3 - "$work/mute.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
c, _ = s.accept()
time.sleep(120)
PY
mute=$!
pids+=("$mute")
for _ in $(seq 100); do [ -S "$work/mute.sock" ] && break; sleep 0.1; done
rc=0
out=$("$ctl" --timeout 0.5 --dataplane "dpdk:$work/mute.sock" dataplane stats 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "sluicectl against a mute socket: exit $rc ($out)"
echo "$out" | grep -q "no reply within" || fail "sluicectl timeout message: $out"
echo "control socket: all checks passed"
