#!/usr/bin/env bash
# sluice-dp@.service's command line does what docs/packaging.md says, run as systemd would run
# it (without systemd as PID 1): ExecStart with %i = NAME and $SLUICE_DP_EAL / $SLUICE_DP_ARGS
# split into words, the variables read from the example conf file (its EAL ports replaced by
# net_ring devices); then sluice-dp
#   - listens on /run/sluice/sluice-dp-NAME.sock and serves sluicectl there, with the example
#     policy loaded;
#   - keeps DPDK's run-time files in /run/dpdk/sluice-dp-NAME;
#   - removes its socket on SIGTERM (the unit's KillSignal);
#   - with the example's --table-if-present (sluiced's table.snap, here in a scratch folder):
#     starts with an empty table when the file is missing, with its table when it is there, and
#     with an empty table and a warning when it is garbage (fail-static: the wire comes back).
# In a private mount namespace whose /run is an empty tmpfs; the machine's /run is untouched.
# Usage: dp_unit_command_test.sh SOURCE_DIR SLUICE_DP SLUICECTL. Root only; exit 77 = skipped.
set -euo pipefail
src=$1
dp=$2
ctl=$3
fail() { echo "FAIL: $*"; exit 1; }
[[ $(id -u) == 0 ]] || { echo "skip: needs root"; exit 77; }
[[ ${4:-} == --in-namespace ]] || exec unshare --mount --propagation private "$0" "$@" --in-namespace

mount -t tmpfs -o mode=0755 sluice-test-run /run
name=u$$ # short: net_ring device names are length-limited
unit=$src/scripts/packaging/systemd/sluice-dp@.service
# The conf file as the unit reads it; the example's PCI ports become net_ring devices.
# shellcheck disable=SC1091 # the example conf, VAR="..." lines
. "$src/scripts/packaging/etc/sluice-dp-example.conf"
[[ -n ${SLUICE_DP_EAL:-} && -n ${SLUICE_DP_ARGS:-} ]] || fail "the example conf sets no SLUICE_DP_EAL/ARGS"
SLUICE_DP_EAL="--no-huge --no-pci -m 128 -l 0 --vdev net_ring_${name}o --vdev net_ring_${name}i --log-level=3"
SLUICE_DP_ARGS=${SLUICE_DP_ARGS//\/etc\/sluice\//$src\/scripts\/packaging\/etc\/}
[[ $SLUICE_DP_ARGS == *"--table-if-present /var/lib/sluice/table.snap"* ]] ||
  fail "the example conf does not load sluiced's table.snap: $SLUICE_DP_ARGS"
state=$(mktemp -d /tmp/sluice_dpunit_state.XXXXXX) # stands in for /var/lib/sluice
SLUICE_DP_ARGS=${SLUICE_DP_ARGS//\/var\/lib\/sluice\//$state\/}
SLUICE_DP_ARGS="$SLUICE_DP_ARGS --idle-sleep-us 1000 --flow-table-size 1024 --pacer-size 256"
SLUICE_DP_ARGS=${SLUICE_DP_ARGS/--outside 0 --inside 1/--outside net_ring_${name}o --inside net_ring_${name}i}

line=$(sed -n 's/^ExecStart=//p' "$unit")
line=${line//%i/$name}
cmd=()
read -ra words <<<"$line"
for w in "${words[@]}"; do
  case $w in
    \$SLUICE_DP_EAL) read -ra more <<<"$SLUICE_DP_EAL" && cmd+=("${more[@]}") ;;
    \$SLUICE_DP_ARGS) read -ra more <<<"$SLUICE_DP_ARGS" && cmd+=("${more[@]}") ;;
    /usr/sbin/sluice-dp) cmd+=("$dp") ;;
    *) cmd+=("$w") ;;
  esac
done
echo "ExecStart: ${cmd[*]}"
mkdir -p /run/sluice # the unit's RuntimeDirectory
log=$(mktemp /tmp/sluice_dpunit.XXXXXX)
pid=""
trap '[[ -n $pid ]] && kill -KILL $pid 2>/dev/null; rm -rf "$log" "$log.json" "$state"' EXIT
sock=/run/sluice/sluice-dp-$name.sock

# start: runs ExecStart, waits until sluicectl is served, leaves the stats in $log.json.
start() {
  "${cmd[@]}" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [[ -S $sock ]] && "$ctl" --dataplane "dpdk:$sock" dataplane stats >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || fail "sluice-dp exited: $(cat "$log")"
    sleep 0.1
  done
  "$ctl" --dataplane "dpdk:$sock" dataplane stats --json >"$log.json" || fail "not served on $sock"
}
# stop: SIGTERM (the unit's KillSignal); exit 0 and the socket removed.
stop() {
  kill -TERM $pid
  for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  wait $pid || fail "exit $? after SIGTERM: $(cat "$log")"
  pid=""
  [[ ! -e $sock ]] || fail "$sock left after SIGTERM"
}
table_entries() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["table"]["entries"])' "$log.json"; }

start
python3 - "$log.json" <<'PY' || fail "the example policy is not the running one: $(cat "$log.json")"
import json, sys
s = json.load(open(sys.argv[1]))
names = [l.get("name") for l in s["levels"]]
assert "throttle" in names and "block" in names, names
PY
echo "ok: served on $sock with the example policy"
[[ -d /run/dpdk/sluice-dp-$name ]] || fail "no /run/dpdk/sluice-dp-$name: $(ls /run/dpdk)"
echo "ok: DPDK's files in /run/dpdk/sluice-dp-$name"
[[ $(table_entries) == 0 ]] || fail "no table.snap, yet $(table_entries) entries"
grep -q "no $state/table.snap yet: starting with an empty table" "$log" ||
  fail "no word of the missing table.snap: $(cat "$log")"
echo "ok: no table.snap: started with an empty table, and said so"
stop
echo "ok: SIGTERM: exit 0, socket removed"

# The table sluiced would have saved: the example sources, compiled.
"$ctl" table build --sources "$src/scripts/packaging/etc/sources.ini" --output "$state/table.snap" \
  >/dev/null || fail "sluicectl table build of the example sources failed"
want=$("$ctl" table stats --table "$state/table.snap" --json | python3 -c 'import json,sys
t = json.load(sys.stdin)
print(t["hosts_v4"] + t["hosts_v6"] + t["prefixes_v4"] + t["prefixes_v6"])') ||
  fail "sluicectl table stats of table.snap failed"
[[ $want -gt 0 ]] || fail "the example sources compile to an empty table"
start
got=$(table_entries)
[[ $got == "$want" ]] || fail "table.snap has $want entries, sluice-dp runs $got: $(cat "$log")"
echo "ok: table.snap present: started with its $got entries"
stop

head -c 4096 /dev/urandom >"$state/table.snap"
start
[[ $(table_entries) == 0 ]] || fail "a garbage table.snap gave $(table_entries) entries"
grep -q "warning: --table-if-present: .*starting with an empty table" "$log" ||
  fail "no warning for a garbage table.snap: $(cat "$log")"
echo "ok: garbage table.snap: started anyway, empty table, warned: $(grep warning "$log")"
stop
echo PASS
