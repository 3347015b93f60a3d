#!/usr/bin/env bash
# Dynamic entries survive a kill -9 of sluiced: the real sluiced and sluicectl, no data plane.
#   sluiced_kill9_test.sh SLUICED SLUICECTL
# sets entries with sluicectl, kills sluiced with SIGKILL right after the commands return,
# restarts it on the same state directory and checks every entry is back (prefix, action, reason,
# expiry), that a second sluiced on the same state directory is refused while the first runs,
# and that a damaged database is moved aside at start and said so. Waits are bounded polls.
set -uo pipefail
sluiced=$1 ctl=$2
work=$(mktemp -d /tmp/sluice-kill9.XXXXXX)
pid=""
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/log ]] && tail -20 "$work/log" >&2; exit 1; }

# No metrics listener: the default 127.0.0.1:9477 belongs to the host's own sluiced, if any.
printf '[sluiced]\nstate_dir = %s/state\nsocket = %s/s.sock\nsocket_mode = 0600\n[metrics]\nenabled = false\n' \
  "$work" "$work" >"$work/sluiced.ini"
start() {
  "$sluiced" --config "$work/sluiced.ini" >>"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    "$ctl" --daemon "$work/s.sock" host list >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "sluiced exited"
    sleep 0.05
  done
  fail "sluiced did not answer"
}
c() { "$ctl" --daemon "$work/s.sock" "$@"; }
entries() { c host list --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["entries"], sort_keys=True))'; }

start
c host set 198.19.7.7 --deny --ttl 2h --reason "before the kill" >/dev/null || fail "host set"
c host set 2001:2::/48 --score 4 --reason v6 >/dev/null || fail "host set v6"
before=$(entries)
[[ $before == *"before the kill"* ]] || fail "host list: $before"
# A second daemon on the same state directory is refused while the first holds it.
if "$sluiced" --config "$work/sluiced.ini" >"$work/second" 2>&1; then fail "a second sluiced started"; fi
grep -q "in use by pid $pid" "$work/second" || { cat "$work/second" >&2; fail "second sluiced: no clear refusal"; }
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=""
start
after=$(entries)
[[ $before == "$after" ]] || fail "entries differ after kill -9: before $before after $after"
c table explain 198.19.7.7 | grep -q "before the kill" || fail "explain does not show the entry"
kill -TERM "$pid"
wait "$pid"
pid=""

# A damaged database: moved aside, said so, and sluiced starts with no entries.
head -c 4096 /dev/urandom >"$work/state/dynamic.db"
rm -f "$work/state/dynamic.db-wal" "$work/state/dynamic.db-shm"
start
ls "$work"/state/dynamic.db.corrupt-* >/dev/null 2>&1 || fail "the damaged file was not kept aside"
grep -q "damaged.*moved aside to $work/state/dynamic.db.corrupt-" "$work/log" ||
  fail "no log line about the damaged file"
[[ $(entries) == "[]" ]] || fail "entries after a damaged file: $(entries)"
echo "sluiced kill -9: entries kept, second daemon refused, damaged file set aside"
