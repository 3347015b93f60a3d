#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# Aggregate caps (docs/policy.md, "Aggregate caps"), end to end with real Linux TCP through a
# data plane on the rig, with the demo table and the demo policy whose throttle level (level 1)
# gets `max_flows = 3` and `over_cap = rst`:
#   capped: the throttled sender opens 6 connections and holds them: 3 connect and are greeted
#     by the MTA, 3 are refused (RST); the data plane counted 3 SYNs over the cap (caps_flows);
#     once the sender closes one connection (its FIN passes the bump), a new one connects;
#   clean: a clean sender opens 6 connections the same way: all 6 connect.
#
#   aggregate_caps_e2e_test.sh --dataplane-cmd CMD --dataplane SPEC --sluicectl BIN
#                              [--dataplane-stop-cmd CMD] [--policy FILE]
#
# CMD, SPEC: as in live_flows_e2e_test.sh. FILE: the policy to add the caps to (default
# scripts/demo-data/policy.ini). Bounded: every wait has a deadline; no timing is asserted.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

e2e_dataplane_args aggregate_caps_e2e_test "$@"
e2e_require_privileged

e2e_begin aggregate_caps c
cleanup() {
  e2e_stop_dataplane
  rig_down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sed '/^\[level\.1\]/a max_flows = 3\nover_cap = rst' "$policy" >"$work/policy.ini"
if ! grep -q '^max_flows = 3' "$work/policy.ini"; then
  echo "FAIL: $policy has no [level.1] to cap" >&2
  exit 1
fi
if ! "$sluicectl" table build --sources "$E2E_ROOT/scripts/demo-data/sources.ini" \
  --output "$work/t0.table" >/dev/null; then
  echo "FAIL: sluicectl table build" >&2
  exit 1
fi
export SLUICE_TABLE=$work/t0.table SLUICE_POLICY=$work/policy.ini SLUICE_CONTROL=$work/dp.sock
spec=$(eval "echo \"$dp_spec\"")
ctl() { rig_exec bump "$sluicectl" --dataplane "$spec" dataplane "$@"; }
stat() { # KEY: one counter of the data plane's totals
  ctl stats --json | "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
client() { # ROLE NAME
  rig_exec "$1" timeout 120 "$E2E_PYTHON" "$E2E_ROOT/tests/e2e/caps_client.py" \
    --server "$RIG_SERVER4" --port "$RIG_SMTP_PORT" --connections 6 --json "$out/$2.json"
}
echo "== rig $RIG_ID, data plane: $dp_cmd ($spec)"
e2e_start_dataplane
e2e_check "the data plane has its table and policy" e2e_wait_policy ctl

# ---- capped: the throttled sender, 3 open connections at most -----------------------------------
e2e_check "throttled client ran" client throttled capped
r=$out/capped.json
e2e_expect_eq "throttled: connections that connected" 3 "$(e2e_json "$r" connected)"
e2e_expect_eq "throttled: connections greeted by the MTA" 3 "$(e2e_json "$r" greeted)"
e2e_expect_eq "throttled: connections refused (RST)" 3 "$(e2e_json "$r" refused)"
e2e_expect_eq "throttled: a connection after one closed" connected \
  "$(e2e_json "$r" after_close)"
e2e_expect_eq "SYNs over the cap the data plane counted" 3 "$(stat caps_flows)"
e2e_expect_eq "SYNs over the rate the data plane counted" 0 "$(stat caps_rate)"

# ---- clean: no caps at level 0 ------------------------------------------------------------------
e2e_check "clean client ran" client clean clean
e2e_expect_eq "clean: connections that connected" 6 "$(e2e_json "$out/clean.json" connected)"
e2e_expect_eq "clean: connections refused" 0 "$(e2e_json "$out/clean.json" refused)"
e2e_expect_eq "SYNs over the cap after the clean sender" 3 "$(stat caps_flows)"

e2e_end_dataplane
e2e_end
