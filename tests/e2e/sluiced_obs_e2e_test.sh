#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# sluiced's metrics and decision log end to end (issue 12, "Metrics and logs an operator can
# use"): a real data plane in the rig's bump namespace, sluiced beside it with [metrics] on
# 127.0.0.1:9477 of that namespace and the decision log to a file.
#
#   sluiced_obs_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC
#                           --dataplane-cmd CMD [--dataplane-stop-cmd CMD] [--policy FILE]
#
# (the same conventions as sluiced_e2e_test.sh: @WORK@ and @RIG_ID@ in SPEC and CMD.)
#
# Asserts behaviour:
#   GET /metrics answers 200 with the data plane up, sluiced's table and the push histogram
#     (the start-up full load counted); another path answers 404;
#   a throttled SMTP connection moves the throttle level's SYN and flow counters, and the
#     decision log writes its SHAPE line (sender, server, level, score, the contributing source);
#   a tarpitted connection gets its TARPIT line; a blocked sender's refused attempts a BLOCK line.
# Waits are bounded polls (no timed assertions). Exit 0 pass, 77 skip (not root; a failure under
# CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

e2e_sluiced_args sluiced_obs_e2e_test "$@"
command -v curl >/dev/null || { echo "SKIP: needs curl" >&2; exit 77; }

e2e_begin sluiced_obs o
e2e_dataplane_specs
trap e2e_sluiced_cleanup EXIT
trap 'exit 130' INT TERM

export SLUICE_TABLE=$work/demo.table SLUICE_POLICY=$policy
"$sluicectl" table build --sources "$E2E_ROOT/scripts/demo-data/sources.ini" \
  --output "$SLUICE_TABLE" >/dev/null || { echo "FAIL: sluicectl table build" >&2; exit 1; }

sock=$work/sluiced.sock
decisions=$work/decisions.log
cat >"$work/sluiced.ini" <<EOF
[sluiced]
state_dir = $work/state
socket = $sock
socket_mode = 0600
sources = $E2E_ROOT/scripts/demo-data/sources.ini
check_interval = 300ms
dataplane = $spec
dataplane_timeout = 2s
policy = $policy

[metrics]
listen = 127.0.0.1:9477
stats_interval = 200ms

[decision_log]
sink = file:$decisions
poll_interval = 200ms
EOF

ctl() { "$sluicectl" --daemon "$sock" "$@"; }
status_value() {
  ctl status --json 2>/dev/null | "$E2E_PYTHON" -c "import json, sys; s = json.load(sys.stdin); print($1)" 2>/dev/null
}
in_sync() { [[ $(status_value 's["dataplanes"][0]["in_sync"]') == True ]]; }
scrape() { rig_exec bump curl -sf --max-time 5 http://127.0.0.1:9477/metrics; }
# metric NAME LABEL_SUBSTRING: the value of the first sample of NAME whose labels contain the
# substring ("" when absent), from a fresh scrape.
metric() {
  scrape | "$E2E_PYTHON" -c '
import sys
name, sub = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    if line.startswith(name + "{") or line.startswith(name + " "):
        labels, _, value = line.rstrip("\n").rpartition(" ")
        if sub in labels:
            print(value)
            break' "$1" "$2"
}
level_syns() { metric sluice_dataplane_level_syns_total "level_name=\"$1\""; }
level_flows() { metric sluice_dataplane_level_flows_total "level_name=\"$1\""; }
logged() { grep -qE "$1" "$decisions" 2>/dev/null; }
# hold ROLE FLAG: opens an SMTP connection from ROLE and keeps it open (at most 20 s) until FLAG
# exists, then closes it; in the background.
hold() {
  rig_exec "$1" timeout 25 "$E2E_PYTHON" -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=5)
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
s.close()' "$RIG_SERVER4" "$2" &
}
sluiced_log() { tail -n 15 "$RIG_STATE/sluiced.log" >&2; }

echo "== rig $RIG_ID, data plane $spec: $dp_cmd"
e2e_start_dataplane

rig_bg bump sluiced "$sluiced" --config "$work/sluiced.ini"
e2e_check "sluiced starts and brings the data plane to its table" wait_for 20 in_sync || sluiced_log
scrapes() { scrape >/dev/null; }
e2e_check "GET /metrics answers" wait_for 10 scrapes
scrape >"$out/metrics-before.txt"
e2e_expect_eq "the data plane is up" 1 "$(metric sluice_dataplane_up "dataplane=\"$spec\"")"
e2e_expect_eq "sluiced's table version is the data plane's" \
  "$(metric sluiced_table_version "")" "$(metric sluice_dataplane_table_version "dataplane=\"$spec\"")"
e2e_check "the start-up push is in the latency histogram" \
  test "$(metric sluiced_push_latency_seconds_count "dataplane=\"$spec\"")" -ge 1
e2e_expect_eq "another path" 404 \
  "$(rig_exec bump curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9477/)"

# A throttled connection: the level's counters move and the decision log names it.
syns0=$(level_syns throttle) flows0=$(level_flows throttle)
hold throttled "$work/release-throttled"
throttled=${RIG_ADDR4[throttled]}
e2e_check "decision log: SHAPE line for the throttled sender" wait_for 15 logged \
  "SHAPE \[${throttled//./\\.}\]:[0-9]+ to \[${RIG_SERVER4//./\\.}\]:25: level throttle, score 3 \(dnsbl \+3\), data plane "
touch "$work/release-throttled"
syns_moved() { test "$(level_syns throttle)" -gt "$syns0"; }
flows_moved() { test "$(level_flows throttle)" -gt "$flows0"; }
e2e_check "throttle level SYNs counted ($syns0 before)" wait_for 5 syns_moved
e2e_check "throttle level flows counted ($flows0 before)" wait_for 5 flows_moved

# A tarpitted connection and a blocked sender.
hold tarpitted "$work/release-tarpitted"
e2e_check "decision log: TARPIT line for the tarpitted sender" wait_for 15 logged \
  "TARPIT \[${RIG_ADDR4[tarpitted]//./\\.}\]:[0-9]+ to .*: level tarpit, score 5 "
touch "$work/release-tarpitted"
refused() { ! rig_probe "$1"; }
e2e_check "the blocked sender is refused" refused blocked
e2e_check "decision log: BLOCK line for the refused attempts" wait_for 15 logged \
  "BLOCK [0-9]+ connection attempts at level block: "
scrape >"$out/metrics-after.txt"
cp "$decisions" "$out/decisions.log" 2>/dev/null
e2e_check "the decision log lines are counted" test "$(metric sluiced_decision_log_lines_total "")" -ge 3

if ((E2E_FAILS > 0)); then
  sluiced_log
  cat "$decisions" >&2 2>/dev/null
fi
rig_bg_stop sluiced
if [[ -n $dp_stop ]]; then
  rig_exec bump bash -c "$dp_stop" >/dev/null 2>&1
  dp_stop=""
fi
rig_bg_stop dataplane
e2e_end
