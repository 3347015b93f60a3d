#!/usr/bin/env bash
# shellcheck disable=SC2015 # ok() never fails: "A && ok || bad" is an if-else here
# Functions called through traps look unreachable to shellcheck (demo_finish exits):
# shellcheck disable=SC2317
# Ctrl-C stops scripts/demo while its senders are still waiting on sluice, and the demo removes
# everything it made: a SIGINT to the demo's process group, sent while the tarpitted and throttled
# senders are stuck (each may wait up to 40 s), ends it with status 130 (bounded wait: 15 s), and
# afterwards none of its namespaces, rig state, DPDK runtime folder, temporary folder or
# processes is left.
#   demo_interrupt_test.sh SLUICE_DP SLUICECTL
# Exit 0 pass, 77 skip (not root), 1 fail.
set -uo pipefail
dp=${1:?sluice-dp path}
ctl=${2:?sluicectl path}
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=demo_lib.sh
. "$root/tests/setup/demo_lib.sh"
[[ $(id -u) -eq 0 ]] || demo_cannot_run "not root" "needs root"

out=$(mktemp /tmp/sluice_demo_int.XXXXXX)
log=$(mktemp /tmp/sluice_demo_int_log.XXXXXX)
before=$(demo_tmp_folders)
# setsid: the demo leads its own process group, as it would in a terminal. Started as a background
# job of this script, it inherits SIGINT ignored (as from any script, CI job or `cmd &`): it must
# still stop on SIGINT.
SLUICE_DP=$dp SLUICECTL=$ctl SLUICE_DEMO_LOG=$log setsid "$root/scripts/demo" --skip-deps \
  --skip-build --messages 50 >"$out" 2>&1 </dev/null &
demo=$!
id=d$demo
cleanup() {
  kill -KILL -- "-$demo" 2>/dev/null
  "$root/scripts/rig/down" "$id" >/dev/null 2>&1
  rm -f "$out" "$log"
}
trap cleanup EXIT

# Wait (bounded) until the shaped senders run: the clean and allowed senders are done, so the
# throttled, blocked and tarpitted ones are sending side by side, the tarpitted one stuck.
started=0
for ((i = 0; i < 1200; i++)); do
  kill -0 "$demo" 2>/dev/null || break
  if grep -q '^ *allowed: ' "$out"; then
    started=1
    break
  fi
  sleep 0.1
done
if [[ $started == 0 ]]; then
  bad "the demo never reached its shaped senders; its output:"
  cat "$out" >&2
  exit 1
fi
sleep 3 # into the shaped senders' run
kill -0 "$demo" 2>/dev/null && ok "the demo still runs 3 s into the shaped senders" ||
  bad "the demo ended before the interrupt"
t0=$SECONDS
if demo_interrupt 150; then
  ok "the demo ended after SIGINT (within $((SECONDS - t0 + 1)) s)"
else
  bad "the demo still runs 15 s after SIGINT"
fi
wait "$demo"
rc=$?
[[ $rc == 130 ]] && ok "exit status 130" || bad "exit status $rc, not 130"
grep -q "interrupted" "$out" && ok "it says it was interrupted" || bad "no 'interrupted' message"

demo_check_rig "$id"
[[ ! -e /var/run/dpdk/sl$id ]] && ok "no DPDK runtime folder left" || bad "/var/run/dpdk/sl$id left"
demo_check_tmp "$before"
# Live processes of the demo's group. A zombie is left out: it has exited and holds nothing;
# reparented to PID 1, it is reaped when init next runs (seen once, 1 s old, in CI). Those still
# exiting get a bounded moment.
live_procs() {
  ps -e -o pid=,pgid=,stat= | awk -v g="$demo" '$2 == g && $3 !~ /^Z/ {p = p (p ? "," : "") $1} END {print p}'
}
procs=$(demo_settled live_procs)
[[ -z $procs ]] || ps -o pid,ppid,pgid,stat,etime,args -p "$procs" >&2
[[ -z $procs ]] && ok "no process of the demo's group left" || bad "processes left: $procs"

demo_finish "$out"
