#!/usr/bin/env bash
# The rig's path-delay emulator (bench/delayline) on the veth wire of wire_lib.sh, in the bump
# namespace between out0 and in0:
#   - a bad command line is refused with a reason (exit 2), a missing interface too (exit 1);
#   - with 20 ms each way, every ping of 5 comes back and none in less than 40 ms (the line
#     never releases a frame early);
#   - 2 MiB of TCP through the line arrive byte for byte (nothing reordered or altered);
#   - SIGTERM ends it with exit 0 and its counts (--stats): frames sent both ways, none dropped;
#   - a line of 2 slots under a burst of 20 pings drops frames and counts them (line full);
#   - a frame larger than --slot-bytes is dropped and counted; a small one still passes.
#   delayline_e2e_test.sh SLUICE_DELAYLINE
set -euo pipefail
bin=${1:?path of sluice-delayline}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../e2e/wire_lib.sh
. "$here/../e2e/wire_lib.sh"
work=$(mktemp -d /tmp/sluice_delayline.XXXXXX)
line_pid=
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}" $line_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [[ -n ${WIRE_ID:-} ]] && wire_down
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -5 "$work/line.log" 2>/dev/null
  exit 1
}
ok() { echo "  ok: $*"; }

# refused BAD_ARGS... : exit 2 and a message naming the problem (no root needed).
refused() {
  local want=$1 rc=0
  shift
  "$bin" "$@" >"$work/out" 2>&1 || rc=$?
  [[ $rc -eq 2 ]] || fail "sluice-delayline $* exited $rc, expected 2"
  grep -q -- "$want" "$work/out" || fail "sluice-delayline $*: no '$want' in: $(head -2 "$work/out")"
}
refused "same interface" --a x0 --b x0 --delay-us 10
refused "above 10000000" --a x0 --b x1 --delay-us 10000001
refused "slot-bytes must be" --a x0 --b x1 --delay-us 10 --slot-bytes 20
refused "slots must be" --a x0 --b x1 --delay-us 10 --slots 0
refused "unknown option '--delay'" --a x0 --b x1 --delay 10
refused "'--delay-us' is required" --a x0 --b x1
"$bin" --help | grep -q -- "--delay-us" || fail "--help does not list --delay-us"
rc=0
"$bin" --a sl-no-such0 --b sl-no-such1 --delay-us 10 >"$work/out" 2>&1 || rc=$?
if [[ $rc -ne 1 ]] || ! grep -q "interface 'sl-no-such0'" "$work/out"; then
  fail "a missing interface: exit $rc, $(head -1 "$work/out")"
fi
ok "bad command lines and a missing interface are refused with a reason"

wire_require_root
wire_init "$$"
wire_up 1500 || fail "cannot build the wire"

# line_start ARGS...: the line between out0 and in0, started once it says it is ready.
line_start() {
  : >"$work/line.log"
  nsenter --net="/run/netns/$WIRE_NS_B" -- "$bin" --a out0 --b in0 "$@" >"$work/line.log" 2>&1 &
  line_pid=$!
  for _ in $(seq 100); do
    grep -q "ready" "$work/line.log" && return 0
    kill -0 "$line_pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "sluice-delayline did not start"
}
# line_stop: SIGTERM, exit 0 expected.
line_stop() {
  local rc=0
  kill -TERM "$line_pid"
  wait "$line_pid" || rc=$?
  line_pid=
  [[ $rc -eq 0 ]] || fail "sluice-delayline exited $rc on SIGTERM"
}
client() { ip netns exec "$WIRE_NS_C" "$@"; }
# stat DIRECTION FIELD from the --stats file (0: out0 -> in0, 1: in0 -> out0).
stat() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directions"][int(sys.argv[2])][sys.argv[3]])' "$work/stats.json" "$1" "$2"; }

line_start --delay-us 20000 --stats "$work/stats.json"
client ping -c 5 -i 0.2 -W 3 "$WIRE_S4" >"$work/ping" 2>&1 || fail "ping through the line: $(tail -2 "$work/ping")"
grep -q "5 received" "$work/ping" || fail "not every ping came back: $(grep received "$work/ping")"
min=$(sed -n 's#^rtt min/avg/max/mdev = \([0-9.]*\)/.*#\1#p' "$work/ping")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 40.0 else 1)' "$min" ||
  fail "a round trip of $min ms through a 2 x 20 ms line: a frame left early"
ok "5 of 5 pings back, the fastest in $min ms (>= 40 ms: no frame left early)"

ip netns exec "$WIRE_NS_S" python3 "$here/../e2e/wire_stream.py" serve "$WIRE_S4" 8025 "$work/recv" --timeout 60 &
pids+=($!)
sleep 0.5
client python3 "$here/../e2e/wire_stream.py" send "$WIRE_S4" 8025 "$work/sent" --max-bytes 2097152 \
  --max-seconds 60 || fail "sending 2 MiB through the line failed"
wait "${pids[0]}" || fail "the receiver failed"
pids=()
cmp -s "$work/sent" "$work/recv" || fail "sent $(cat "$work/sent"), received $(cat "$work/recv")"
ok "2 MiB of TCP through the line arrived byte for byte"

line_stop
for d in 0 1; do
  [[ $(stat $d sent) -gt 5 ]] || fail "direction $d sent $(stat $d sent) frames"
  [[ $(stat $d dropped_full) -eq 0 && $(stat $d dropped_large) -eq 0 && $(stat $d tx_errors) -eq 0 ]] ||
    fail "direction $d dropped frames on an idle wire: $(cat "$work/stats.json")"
done
grep -q "late p50" "$work/line.log" || fail "no exit summary on SIGTERM"
ok "SIGTERM: exit 0; $(stat 0 sent) and $(stat 1 sent) frames sent, none dropped"

# Two slots held 50 ms each: a burst of 20 pings 2 ms apart cannot fit.
line_start --delay-us 50000 --slots 2 --stats "$work/stats.json"
client ping -c 20 -i 0.002 -W 2 "$WIRE_S4" >"$work/ping" 2>&1 || true
line_stop
[[ $(stat 0 dropped_full) -gt 0 ]] || fail "a full line dropped nothing: $(cat "$work/stats.json")"
grep -q " 0% packet loss" "$work/ping" && fail "every ping of the burst came back through 2 slots"
ok "a full line drops and counts ($(stat 0 dropped_full) frames)"

line_start --delay-us 1000 --slot-bytes 600 --stats "$work/stats.json"
client ping -c 1 -W 2 -s 1000 "$WIRE_S4" >/dev/null 2>&1 && fail "a 1042-byte frame crossed 600-byte slots"
client ping -c 1 -W 2 -s 100 "$WIRE_S4" >/dev/null 2>&1 || fail "a small ping did not cross"
line_stop
[[ $(stat 0 dropped_large) -ge 1 ]] || fail "the large frame was not counted: $(cat "$work/stats.json")"
ok "a frame larger than a slot is dropped and counted; small ones pass"
echo "PASS: sluice-delayline"
