#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# sluiced end to end on the rig (issue 12, "Push" and "Fail-static and resync"), with a real data
# plane (sluice-dp or the XDP programs) in the bump namespace and sluiced beside it:
#
#   sluiced_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC
#                       --dataplane-cmd CMD [--dataplane-stop-cmd CMD]
#                       [--dataplane-restart-cmd CMD] [--policy FILE]
#
# CMD starts the data plane (bash -c, in the bump namespace, with RIG_*, SLUICE_TABLE and
# SLUICE_POLICY in its environment) with the demo table, built by sluicectl, as a stand-in for
# "a table loaded by hand"; SPEC is how sluiced reaches it. The restart command (default CMD)
# starts it again after the stop command.
#
# Asserts behaviour:
#   sluiced brings the data plane to its table (the data plane's version is sluiced's), which
#     shapes: the blocked sender cannot connect, the clean one can;
#   a list change (the clean sender added to a list) reaches the data plane: the clean sender's
#     connections are refused;
#   kill -9 of sluiced: the data plane keeps its table (same version, same refusals, still
#     forwarding the allowlisted sender); a restarted sluiced reconciles and pushes nothing
#     (status: no push, no full load; the data plane's update counter unchanged);
#   an empty download of a list is refused, the table stays (same version, same refusals);
#   the data plane restarts under the running sluiced: it gets one full load at the next check
#     (and its policy again), and refuses the listed clean sender;
#   SIGTERM stops sluiced with exit 0 and removes its socket.
# Waits are bounded polls (no timed assertions). Exit 0 pass, 77 skip (not root; a failure under
# CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

e2e_sluiced_args sluiced_e2e_test "$@"

e2e_begin sluiced d
# The data plane's spec may name the rig's id ($RIG_ID): expand it now that there is one.
# @RIG_ID@ and @WORK@ in the spec and the commands stand for the rig's id and the scratch folder.
e2e_dataplane_specs
dp_restart=${dp_restart:-$dp_cmd}
trap e2e_sluiced_cleanup EXIT
trap 'exit 130' INT TERM

# The demo's lists plus one of our own, which the test changes.
lists=$work/lists
mkdir -p "$lists"
cp "$E2E_ROOT"/scripts/demo-data/{sources.ini,dnsbl.ip4set,dnsbl.ip6trie,drop.txt,allow.list} "$lists/"
printf '\n[e2e]\ntype = list\npath = e2e.list\nweight = 20\n' >>"$lists/sources.ini"
printf '198.18.99.1\n198.18.99.2\n' >"$lists/e2e.list"
# write_list TEXT: replaces e2e.list the way a downloader does (temporary file, rename).
write_list() { printf '%b' "$1" >"$lists/e2e.list.part" && mv "$lists/e2e.list.part" "$lists/e2e.list"; }

export SLUICE_TABLE=$work/demo.table SLUICE_POLICY=$policy
"$sluicectl" table build --sources "$E2E_ROOT/scripts/demo-data/sources.ini" \
  --output "$SLUICE_TABLE" >/dev/null || { echo "FAIL: sluicectl table build" >&2; exit 1; }

sock=$work/sluiced.sock
cat >"$work/sluiced.ini" <<EOF
[sluiced]
state_dir = $work/state
socket = $sock
socket_mode = 0600
sources = $lists/sources.ini
refresh_interval = 10s
check_interval = 300ms
dataplane = $spec
dataplane_timeout = 2s
policy = $policy
EOF

ctl() { "$sluicectl" --daemon "$sock" "$@"; }
# status_value PYTHON_EXPR: over the `status --json` reply s ("" when sluiced does not answer).
status_value() {
  ctl status --json 2>/dev/null | "$E2E_PYTHON" -c "import json, sys; s = json.load(sys.stdin); print($1)" 2>/dev/null
}
# dp_value KEY.KEY: from the data plane's own stats (sluicectl --dataplane, not sluiced).
dp_value() {
  rig_exec bump "$sluicectl" --dataplane "$spec" dataplane stats --json 2>/dev/null |
    "$E2E_PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else ("%016x" % v if sys.argv[1] == "table.version" else v))' "$1"
}
in_sync() { [[ $(status_value 's["dataplanes"][0]["in_sync"]') == True && $(dp_value table.version) == "$(status_value 's["table"]["version"]')" ]]; }
refused() { ! rig_probe "$1"; }
start_sluiced() {
  rig_bg bump sluiced "$sluiced" --config "$work/sluiced.ini"
  wait_for 20 in_sync
}
sluiced_log() { tail -n 15 "$RIG_STATE/sluiced.log" >&2; }

echo "== rig $RIG_ID, data plane $spec: $dp_cmd"
e2e_start_dataplane
hand_version=$(dp_value table.version)

e2e_check "sluiced --check accepts the configuration" "$sluiced" --config "$work/sluiced.ini" --check
e2e_check "sluiced starts and brings the data plane to its table" start_sluiced || sluiced_log
e2e_check "the data plane no longer runs the table loaded by hand" \
  test "$(dp_value table.version)" != "$hand_version"
e2e_expect_eq "full loads at start" 1 "$(status_value 's["dataplanes"][0]["full_loads"]')"
e2e_check "shaping: the blocked sender is refused" refused blocked
e2e_check "forwarding: the clean sender connects" rig_probe clean

# A list change reaches the data plane as a delta.
write_list "198.18.99.1\n198.18.99.2\n${RIG_ADDR4[clean]}\n"
e2e_check "a list change reaches the data plane: the clean sender is refused" wait_for 10 refused clean
e2e_check "the data plane runs sluiced's new table" wait_for 5 in_sync
e2e_expect_eq "full loads after the change" 1 "$(status_value 's["dataplanes"][0]["full_loads"]')"

# kill -9: fail-static.
version=$(dp_value table.version)
updates=$(dp_value table.updates)
pid=$(<"$RIG_STATE/sluiced.pid")
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
e2e_check "after kill -9 sluiced does not answer" bash -c "! '$sluicectl' --daemon '$sock' status >/dev/null 2>&1"
e2e_expect_eq "after kill -9 the data plane keeps its table" "$version" "$(dp_value table.version)"
e2e_check "after kill -9 the blocked sender is still refused" refused blocked
e2e_check "after kill -9 the listed clean sender is still refused" refused clean
e2e_check "after kill -9 the allowlisted sender still connects" rig_probe allowed

e2e_check "restarted sluiced finds the data plane in sync" start_sluiced || sluiced_log
e2e_expect_eq "restart: pushes" 0 "$(status_value 's["dataplanes"][0]["pushes"]')"
e2e_expect_eq "restart: full loads" 0 "$(status_value 's["dataplanes"][0]["full_loads"]')"
e2e_expect_eq "restart: the data plane's table updates" "$updates" "$(dp_value table.updates)"
e2e_expect_eq "restart: the data plane's version" "$version" "$(dp_value table.version)"

# An empty download is refused; the table stays.
write_list ""
e2e_check "an empty list is refused" wait_for 10 bash -c \
  "'$sluicectl' --daemon '$sock' sources list --json | '$E2E_PYTHON' -c 'import json,sys; s=[x for x in json.load(sys.stdin) if x[\"name\"]==\"e2e\"][0]; sys.exit(0 if s[\"state\"]==\"rejected\" and s[\"last_rejection\"]==\"lists no entry\" else 1)'"
e2e_expect_eq "after the refusal the data plane's version" "$version" "$(dp_value table.version)"
e2e_check "after the refusal the listed clean sender is still refused" refused clean
e2e_check "sluicectl status shows the refusal" bash -c "'$sluicectl' --daemon '$sock' status | grep -q 'e2e .*rejected'"

# The data plane restarts under the running sluiced (by the restart command: sluice-dp with the
# table loaded by hand again, the XDP programs bare).
if [[ -n $dp_stop ]]; then rig_exec bump bash -c "$dp_stop" >/dev/null 2>&1; fi
rig_bg_stop dataplane
rig_bg bump dataplane bash -c "$dp_restart"
e2e_check "a restarted data plane is reachable again" rig_wait_reach allowed
e2e_check "a restarted data plane gets a full load at the next check" wait_for 15 in_sync
e2e_expect_eq "full loads after the data plane's restart" 1 "$(status_value 's["dataplanes"][0]["full_loads"]')"
e2e_check "the restarted data plane refuses the listed clean sender" wait_for 5 refused clean

pid=$(<"$RIG_STATE/sluiced.pid")
kill -TERM "$pid"
rc=timeout
if wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"; then
  wait "$pid"
  rc=$?
fi
rm -f "$RIG_STATE/sluiced.pid"
e2e_expect_eq "SIGTERM stops sluiced with exit status" 0 "$rc"
e2e_check "sluiced removed its socket" test ! -e "$sock"
if ((E2E_FAILS > 0)); then sluiced_log; fi

if [[ -n $dp_stop ]]; then
  e2e_check "data plane stopped" rig_exec bump bash -c "$dp_stop"
  dp_stop=""
fi
rig_bg_stop dataplane
e2e_end
