#!/usr/bin/env bash
# Learned scores survive a kill -9 of sluiced: the real sluiced and sluicectl, no data plane, no
# [feed].
#   sluiced_learning_kill9_test.sh SLUICED SLUICECTL
# reports complaints with sluicectl (counted by the local score model without the feed), waits
# until the state file holds them (save_interval), kills sluiced with SIGKILL, restarts it on the
# same state directory and checks `learn explain` and `table explain` show them again; then a
# corrupt state file is set aside at start with a log line naming its line, and sluiced runs.
# Waits are bounded polls.
set -uo pipefail
sluiced=$1 ctl=$2
work=$(mktemp -d /tmp/sluice-learn-kill9.XXXXXX)
pid=""
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/log ]] && tail -20 "$work/log" >&2; exit 1; }

# No metrics listener: the default 127.0.0.1:9477 belongs to the host's own sluiced, if any.
printf '[sluiced]\nstate_dir = %s/state\nsocket = %s/s.sock\nsocket_mode = 0600\n[metrics]\nenabled = false\n[learning]\nsave_interval = 200ms\n' \
  "$work" "$work" >"$work/sluiced.ini"
start() {
  "$sluiced" --config "$work/sluiced.ini" >>"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    "$ctl" --daemon "$work/s.sock" status >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "sluiced exited"
    sleep 0.05
  done
  fail "sluiced did not answer"
}
c() { "$ctl" --daemon "$work/s.sock" "$@"; }

start
out=$(c report 198.19.7.7 --kind complaint --evidence ticket-1) || fail "report: $out"
[[ $out == *"as this site only"* ]] || fail "report said: $out"
c report 198.19.7.7 --kind complaint --evidence ticket-2 >/dev/null || fail "report 2"
c report 2001:2::7 --kind trap_hit >/dev/null || fail "report v6"
before=$(c learn explain 198.19.7.7) || fail "learn explain"
[[ $before == *"complaint: 2.0 events"*"ticket-2), +8, halves every 6h"* ]] || fail "learn explain: $before"
# The complaint record with both reports folded in (its 6th field, observations, is 2).
saved='^198\.19\.7\.7 complaint [0-9.e+-]* [0-9]* [0-9]* 2 '
for _ in $(seq 200); do
  grep -q "^2001:2::7 trap_hit " "$work/state/learning.state" 2>/dev/null &&
    grep -q "$saved" "$work/state/learning.state" && break
  sleep 0.05
done
grep -q "$saved" "$work/state/learning.state" || fail "not saved: $(cat "$work/state/learning.state")"
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=""
start
after=$(c learn explain 198.19.7.7) || fail "learn explain after"
[[ $after == *"complaint: 2.0 events"*"ticket-2), +8, halves every 6h"* ]] || fail "after kill -9: $after"
c learn explain 2001:2::7 | grep -q "^trap_hit: 1.0 events .*, +12, halves every 1d" || fail "v6 after kill -9"
c table explain 198.19.7.7 | grep -q "local:complaint .* from sluicectl (ticket-2), halves every 6h" ||
  fail "table explain: $(c table explain 198.19.7.7)"
grep -q "learning: 2 records for 2 addresses from $work/state/learning.state" "$work/log" ||
  fail "no log line about the records read"
kill -TERM "$pid"
wait "$pid"
pid=""

# A corrupt state file: refused with its line, set aside, sluiced starts with nothing learned.
printf 'sluice-learning 1\n198.19.7.7 complaint 2 1 1 1 arf -\n198.19.7.7 nonsense 2 1 1 1 arf -\n' \
  >"$work/state/learning.state"
start
grep -q "learning: $work/state/learning.state:3: unknown kind; starting with nothing learned (the file is set aside as $work/state/learning.state.bad)" "$work/log" ||
  fail "no log line about the corrupt file"
[[ -f $work/state/learning.state.bad ]] || fail "the corrupt file was not set aside"
[[ $(c learn explain 198.19.7.7) == "198.19.7.7: nothing learned locally" ]] || fail "learned after a corrupt file"
echo "sluiced kill -9: learned scores kept; corrupt state file refused and set aside"
