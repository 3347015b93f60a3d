#!/usr/bin/env bash
# sluice-dp@.service's command line does what docs/packaging.md says, run as systemd would run
# it (without systemd as PID 1): ExecStart with %i = NAME and $SLUICE_DP_EAL / $SLUICE_DP_ARGS
# split into words, the variables read from the example conf file (its EAL ports replaced by
# net_ring devices); then sluice-dp
#   - listens on /run/sluice/sluice-dp-NAME.sock and serves sluicectl there, with the example
#     policy loaded;
#   - keeps DPDK's run-time files in /run/dpdk/sluice-dp-NAME;
#   - removes its socket on SIGTERM (the unit's KillSignal).
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
"${cmd[@]}" >"$log" 2>&1 &
pid=$!
trap 'kill -KILL $pid 2>/dev/null || true; rm -f "$log"' EXIT
sock=/run/sluice/sluice-dp-$name.sock
for _ in $(seq 300); do
  [[ -S $sock ]] && "$ctl" --dataplane "dpdk:$sock" dataplane stats >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || fail "sluice-dp exited: $(cat "$log")"
  sleep 0.1
done
"$ctl" --dataplane "dpdk:$sock" dataplane stats --json >"$log.json" || fail "not served on $sock"
python3 - "$log.json" <<'PY' || fail "the example policy is not the running one: $(cat "$log.json")"
import json, sys
s = json.load(open(sys.argv[1]))
names = [l.get("name") for l in s["levels"]]
assert "throttle" in names and "block" in names, names
PY
rm -f "$log.json"
echo "ok: served on $sock with the example policy"
[[ -d /run/dpdk/sluice-dp-$name ]] || fail "no /run/dpdk/sluice-dp-$name: $(ls /run/dpdk)"
echo "ok: DPDK's files in /run/dpdk/sluice-dp-$name"
kill -TERM $pid
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
wait $pid || fail "exit $? after SIGTERM: $(cat "$log")"
[[ ! -e $sock ]] || fail "$sock left after SIGTERM"
echo "ok: SIGTERM: exit 0, socket removed"
echo PASS
