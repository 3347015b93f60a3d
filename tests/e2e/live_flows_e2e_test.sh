#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# Live flows follow the table (issue 12 item 4; docs/packet-core.md, "Live flows follow the
# table"), end to end with real Linux TCP through a data plane on the rig, with the demo table and
# policy (scripts/demo-data):
#   release: the tarpitted sender connects and is held (its EHLO unanswered, the window it sees
#     0); the sender is allowlisted with a delta (`sluicectl ... dataplane table delta`); the
#     data plane sends the server's held ACK on (tarpit_released), and the same connection then
#     gets its EHLO answered and delivers its message;
#   cut: the throttled sender starts a large upload; the sender is escalated to the block level
#     (a DROP-list entry, `sluicectl ... dataplane table load`); the same connection is reset.
#
#   live_flows_e2e_test.sh --dataplane-cmd CMD --dataplane SPEC --sluicectl BIN
#                          [--dataplane-stop-cmd CMD] [--policy FILE]
#
# CMD runs (bash -c) in the bump namespace with RIG_*, SLUICE_TABLE, SLUICE_POLICY and
# SLUICE_CONTROL (a socket path for sluice-dp's --control) in its environment. SPEC is the
# --dataplane value for sluicectl, expanded by bash in the same environment (dpdk:$SLUICE_CONTROL,
# xdp:sl$RIG_ID). Bounded: every wait has a deadline; no timing is asserted.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

e2e_dataplane_args live_flows_e2e_test "$@"
e2e_require_privileged

e2e_begin live_flows l
cleanup() {
  e2e_stop_dataplane
  [[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
  rig_down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The demo sources in a scratch copy, so the test can list and allowlist senders.
cp -r "$E2E_ROOT/scripts/demo-data" "$work/src"
build_table() { # OUT
  "$sluicectl" table build --sources "$work/src/sources.ini" --output "$1" >/dev/null
}
if ! build_table "$work/t0.table"; then
  echo "FAIL: sluicectl table build" >&2
  exit 1
fi
export SLUICE_TABLE=$work/t0.table SLUICE_POLICY=$policy SLUICE_CONTROL=$work/dp.sock
spec=$(eval "echo \"$dp_spec\"")
ctl() { rig_exec bump "$sluicectl" --dataplane "$spec" dataplane "$@"; }
echo "== rig $RIG_ID, data plane: $dp_cmd ($spec)"
e2e_start_dataplane --dump
e2e_check "the data plane has its table and policy" e2e_wait_policy ctl

# client ROLE MODE NAME [args]: live_flow_client.py in the background; waits (bounded) for its
# ready file. Sets client_pid.
client() {
  local role=$1 mode=$2 name=$3
  shift 3
  rm -f "$work/$name.ready"
  rig_exec "$role" timeout 150 "$E2E_PYTHON" "$E2E_ROOT/tests/e2e/live_flow_client.py" "$mode" \
    --server "$RIG_SERVER4" --ready "$work/$name.ready" --json "$out/$name.json" --tag "$name" \
    "$@" &
  client_pid=$!
  for ((i = 0; i < 600; i++)); do
    [[ -e $work/$name.ready ]] && return 0
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -e $work/$name.ready ]]
}
client_done() { # bounded by the client's own timeout
  wait "$client_pid"
  client_pid=""
}
py_check() { # NAME EXPR: EXPR (Python, over the result r of NAME) holds.
  py_check_file "$out/$1.json" "$2"
}
py_check_file() { # FILE EXPR
  "$E2E_PYTHON" -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$1"
}

# ---- release: the tarpitted sender is allowlisted in the middle of its connection -------------
e2e_check "tarpitted client connected" client tarpitted release release --deadline 90
e2e_check "tarpit holds the connection (EHLO unanswered, window 0)" \
  py_check_file "$work/release.ready" "r.get('held')"
echo "${RIG_ADDR4[tarpitted]},0,allowlisted by the live-flows test" >>"$work/src/allow.list"
build_table "$work/t1.table" &&
  "$sluicectl" table diff "$work/t0.table" "$work/t1.table" --output "$work/t1.delta" >/dev/null
e2e_check "allowlisting delta applied" ctl table delta "$work/t1.delta"
client_done
e2e_check "released connection's EHLO answered" py_check release "r['released']"
e2e_check "released connection delivered its message" py_check release "r['delivered']"
e2e_info "released $(e2e_json "$out/release.json" released_after_s) s after the delta"
stat() { ctl stats --json | "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
e2e_check "the data plane re-looked the flow up" test "$(stat level_changes)" -ge 1
# The release came from the data plane: it held the server's answer to a zero-window probe and
# sent it on after the delta (not only at the client's next probe, which backs off to minutes).
e2e_check "the data plane held the tarpitted connection's ACK" test "$(stat tarpit_held)" -ge 1
e2e_check "the data plane sent the held ACK on after the delta" test "$(stat tarpit_released)" -ge 1

# ---- cut: the throttled sender is escalated to block in the middle of an upload ---------------
e2e_check "throttled client uploading" client throttled cut cut --deadline 120
echo "${RIG_ADDR4[throttled]}/32 ; escalated by the live-flows test" >>"$work/src/drop.txt"
build_table "$work/t2.table"
e2e_check "escalating table loaded" ctl table load "$work/t2.table"
client_done
e2e_check "throttled connection cut: $(e2e_json "$out/cut.json" error)" py_check cut \
  "r.get('error') == 'reset' and not r['delivered']"

e2e_end_dataplane
e2e_check_mail 1 --exclude-tag cut
e2e_end
