#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# The stateless tarpit (issue 15 item 2; docs/policy.md, "Stateless tarpit"), end to end with
# real Linux TCP through a data plane on the rig, with the demo table and the demo policy whose
# tarpit level is switched to `tarpit = stateless`:
#   held: the tarpitted sender opens 20 connections and sends EHLO on each at once; every
#     handshake completes (answered by the data plane: the MSS the sender got is 536, the
#     default without an MSS option, where the MTA's SYN-ACK would carry its own), no greeting
#     arrives, the EHLO stays unacknowledged, the connections stay established; the MTA's
#     kernel accepted no connection at all (TcpPassiveOpens unchanged in the server namespace);
#     the data plane answered the SYNs and the zero-window probes (tarpit_synacks,
#     tarpit_acks) and kept no flow for them;
#   released: the sender is allowlisted with a delta; the held connection's next probe goes on
#     to the MTA, which resets the connection it never had;
#   clean: a clean sender still delivers through the same data plane (smtp-source).
#
#   stateless_tarpit_e2e_test.sh --dataplane-cmd CMD --dataplane SPEC --sluicectl BIN
#                                [--dataplane-stop-cmd CMD] [--policy FILE]
#
# CMD, SPEC: as in live_flows_e2e_test.sh. FILE is the policy whose `tarpit = true` level
# becomes `tarpit = stateless` (default scripts/demo-data/policy.ini). Bounded: every wait has a
# deadline; no timing is asserted.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

e2e_dataplane_args stateless_tarpit_e2e_test "$@"
e2e_require_privileged

e2e_begin stateless_tarpit t
cleanup() {
  e2e_stop_dataplane
  [[ -n ${client_pid:-} ]] && kill "$client_pid" 2>/dev/null
  rig_down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -r "$E2E_ROOT/scripts/demo-data" "$work/src"
sed 's/^tarpit = true/tarpit = stateless/' "$policy" >"$work/policy.ini"
if ! grep -q '^tarpit = stateless' "$work/policy.ini"; then
  echo "FAIL: $policy has no 'tarpit = true' level to make stateless" >&2
  exit 1
fi
build_table() { # OUT
  "$sluicectl" table build --sources "$work/src/sources.ini" --output "$1" >/dev/null
}
if ! build_table "$work/t0.table"; then
  echo "FAIL: sluicectl table build" >&2
  exit 1
fi
export SLUICE_TABLE=$work/t0.table SLUICE_POLICY=$work/policy.ini SLUICE_CONTROL=$work/dp.sock
spec=$(eval "echo \"$dp_spec\"")
ctl() { rig_exec bump "$sluicectl" --dataplane "$spec" dataplane "$@"; }
stat() { # KEY: one counter of the data plane's totals
  ctl stats --json | "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
level_flows() { # LEVEL: flows created at that level
  ctl stats --json | "$E2E_PYTHON" -c \
    'import json, sys; print(json.load(sys.stdin)["levels"][int(sys.argv[1])]["flows"])' "$1"
}
passive_opens() { # connections the server namespace's kernel accepted (TcpPassiveOpens)
  # shellcheck disable=SC2016 # awk's own fields
  rig_exec server awk '/^Tcp:/ { if (h) { print $7; exit } h = 1 }' /proc/net/snmp
}
echo "== rig $RIG_ID, data plane: $dp_cmd ($spec)"
e2e_start_dataplane
e2e_check "the data plane has its table and policy" e2e_wait_policy ctl
# ---- held: 20 connections from the tarpitted sender ------------------------------------------
opens_before=$(passive_opens)
synacks_before=$(stat tarpit_synacks)
rm -f "$work/held.ready"
rig_exec tarpitted timeout 150 "$E2E_PYTHON" "$E2E_ROOT/tests/e2e/tarpit_client.py" \
  --server "$RIG_SERVER4" --connections 20 --hold 4 --release-wait 90 \
  --ready "$work/held.ready" --json "$out/held.json" &
client_pid=$!
for ((i = 0; i < 600; i++)); do
  [[ -e $work/held.ready ]] && break
  kill -0 "$client_pid" 2>/dev/null || break
  sleep 0.1
done
r=$work/held.ready
e2e_expect_eq "connections whose handshake completed" 20 "$(e2e_json "$r" connected)"
e2e_expect_eq "connections greeted by the MTA" 0 "$(e2e_json "$r" greeted)"
e2e_expect_eq "connections still established after 4 s" 20 "$(e2e_json "$r" established)"
e2e_expect_eq "connections whose EHLO is unacknowledged" 20 "$(e2e_json "$r" unacked)"
e2e_expect_eq "MSS the sender got (no MSS option: the data plane's SYN-ACK)" 536 \
  "$(e2e_json "$r" snd_mss)"
e2e_expect_eq "connections the MTA's kernel accepted" "$opens_before" "$(passive_opens)"
e2e_check "the data plane answered 20 SYNs ($(stat tarpit_synacks))" \
  test "$(($(stat tarpit_synacks) - synacks_before))" -ge 20
e2e_check "the data plane answered zero-window probes ($(stat tarpit_acks))" \
  test "$(stat tarpit_acks)" -ge 1
e2e_expect_eq "flows kept at the tarpit level" 0 "$(level_flows 2)"

# ---- released: the sender is allowlisted; its held connection is reset by the MTA -------------
echo "${RIG_ADDR4[tarpitted]},0,allowlisted by the stateless tarpit test" >>"$work/src/allow.list"
build_table "$work/t1.table" &&
  "$sluicectl" table diff "$work/t0.table" "$work/t1.table" --output "$work/t1.delta" >/dev/null
e2e_check "allowlisting delta applied" ctl table delta "$work/t1.delta"
wait "$client_pid"
client_pid=""
e2e_check "released connection reset by the MTA: $(e2e_json "$out/held.json" error)" \
  test "$(e2e_json "$out/held.json" error)" = reset
e2e_info "reset $(e2e_json "$out/held.json" ended_after_s) s after the hold ended"

# ---- clean: a clean sender delivers through the same data plane -------------------------------
pft_find
e2e_check "clean sender delivers a message (smtp-source)" rig_exec clean timeout 60 \
  "$PFT_SMTP_SOURCE" -m 1 -s 1 -l 2000 -f clean@clean.example -t postmaster@mx.example \
  "$RIG_SERVER4:$RIG_SMTP_PORT"

e2e_end_dataplane
e2e_end
