#!/usr/bin/env bash
# End to end on the rig's Linux-bridge baseline (no data plane): proves the rig itself works
# before any data plane is blamed for a failure.
#
# Asserts: the clean sender delivers N messages over IPv4 (Python client) and IPv6, and through
# Postfix's smtp-source; the reference lane delivers and carries its own traffic only (not the
# bump's); every sender role reaches the server; every dumped message body is
# intact (and the verifier does flag a corrupted copy); per-message timings are recorded;
# the live rig survives `down --all-stale`, a rig whose owner died is removed by it; a rig_up
# that fails part-way leaves nothing; teardown leaves no namespace, process or state behind.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_require_privileged

# Own prefix and state root: `down --all-stale` below must never touch anyone else's rig.
export RIG_NS_PREFIX=slt RIG_STATE_ROOT=/run/sluice-rig-test
N=${E2E_MESSAGES:-20}
out=${SLUICE_E2E_OUT:-$PWD/e2e-results}/rig_baseline
mkdir -p "$out"
rig_init "b$$"
main_id=$RIG_ID
stale_id="s$$"
broken_id="f$$"
cleanup() {
  rig_down "$stale_id" >/dev/null 2>&1
  rig_down "$broken_id" >/dev/null 2>&1
  rig_down "$main_id" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== rig $main_id up (baseline)"
e2e_check "rig_up --baseline" rig_up --baseline || e2e_finish
e2e_check "smtp-sink started with dumps" rig_sink_start --dump || e2e_finish
e2e_check "clean sender reaches the server" rig_wait_reach clean || e2e_finish
sink_pid=$(<"$RIG_STATE/smtp-sink.pid")

echo "== clean sender, $N messages of 10 KB over IPv4"
measure() { # ROLE OUTFILE smtp_measure args...
  local role=$1 file=$2
  shift 2
  rig_exec "$role" "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_measure.py" --tag "$role" \
    --json "$file" "$@"
}
measure clean "$out/clean4.json" send --server "$RIG_SERVER4" --count "$N" --size 10240 \
  --timeout 10 --deadline 60
e2e_expect_eq "clean IPv4 delivered" "$N" "$(e2e_json "$out/clean4.json" delivered)"
e2e_expect_eq "clean IPv4 failures" 0 "$(e2e_json "$out/clean4.json" failed)"
timed=$("$E2E_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(sum(1 for m in r["messages"] if m["ok"] and m["time_s"] > 0))' "$out/clean4.json")
e2e_expect_eq "every delivered message has a delivery time" "$N" "$timed"
echo "     median $(e2e_json "$out/clean4.json" median_s) s, p90 $(e2e_json "$out/clean4.json" p90_s) s"

echo "== reference lane (server's second address, beside the bump), paired with the bump lane"
measure clean "$out/paired.json" send --server "$RIG_SERVER4" --reference "$RIG_REF4" --count 5 \
  --timeout 10 --deadline 30
e2e_expect_eq "paired: bump lane delivered" 5 "$(e2e_json "$out/paired.json" delivered)"
e2e_expect_eq "paired: reference lane delivered" 5 "$(e2e_json "$out/paired.json" reference.delivered)"
ref_rx() { ip -n "$RIG_NS_REF" -s link show out0 | awk '/RX:/ { getline; print $2 }'; }
bump_rx() { ip -n "$RIG_NS_BUMP" -s link show "$RIG_OUT_IF" | awk '/RX:/ { getline; print $2 }'; }
before_ref=$(ref_rx) before_bump=$(bump_rx)
measure clean "$out/ref-only.json" send --server "$RIG_REF4" --count 5 --timeout 10 --deadline 30
e2e_check "reference-lane mail avoids the bump (bump out0 rx $before_bump -> $(bump_rx), ref rx $before_ref -> $(ref_rx))" \
  test $(($(bump_rx) - before_bump)) -lt 20 -a $(($(ref_rx) - before_ref)) -gt 50

echo "== clean sender over IPv6, and through Postfix's smtp-source"
measure clean "$out/clean6.json" send --server "$RIG_SERVER6" --count 5 --timeout 10 --deadline 30
e2e_expect_eq "clean IPv6 delivered" 5 "$(e2e_json "$out/clean6.json" delivered)"
rig_exec clean "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_measure.py" --tag clean-smtp-source \
  --json "$out/clean-ss.json" send --client smtp-source --server "$RIG_SERVER4" --count 3 \
  --timeout 10 --deadline 30
e2e_expect_eq "smtp-source delivered" 3 "$(e2e_json "$out/clean-ss.json" delivered)"

echo "== every sender reaches the server through the baseline bridge"
for role in "${RIG_SENDERS[@]}"; do
  [[ $role == clean ]] && continue
  measure "$role" "$out/$role.json" send --server "$RIG_SERVER4" --count 2 --timeout 10 --deadline 30
  e2e_expect_eq "$role delivered" 2 "$(e2e_json "$out/$role.json" delivered)"
done

echo "== message integrity (smtp-sink dumps)"
total=$((N + 5 + 10 + 5 + 3 + 2 * (${#RIG_SENDERS[@]} - 1)))
"$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_verify.py" --json "$RIG_DUMP_DIR" >"$out/verify.json"
e2e_expect_eq "dumped messages intact" "$total" "$(e2e_json "$out/verify.json" ok)"
e2e_expect_eq "dumped messages corrupt or truncated" 0 \
  "$(($(e2e_json "$out/verify.json" corrupt) + $(e2e_json "$out/verify.json" truncated)))"
# The verifier must be able to fail: flip one body byte in a copy and expect it to be flagged.
bad=$(mktemp -d)
first=$(find "$RIG_DUMP_DIR" -type f | head -n 1)
"$E2E_PYTHON" -c '
import sys
data = bytearray(open(sys.argv[1], "rb").read())
i = data.index(b"\n\n") + 10  # a byte inside the first body line
data[i] = ord("A") if data[i] != ord("A") else ord("B")
open(sys.argv[2], "wb").write(data)' "$first" "$bad/msg"
if "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_verify.py" "$bad" >/dev/null; then
  e2e_fail "verifier accepted a corrupted body"
else
  e2e_pass "verifier flags a corrupted body"
fi
rm -rf "$bad"

echo "== stale-rig removal and failure clean-up"
sleep 0 &
dead_owner=$!
wait "$dead_owner"
e2e_check "up a rig owned by an exited process" \
  "$E2E_ROOT/scripts/rig/up" --id "$stale_id" --owner "$dead_owner" >/dev/null
"$E2E_ROOT/scripts/rig/down" --all-stale
e2e_expect_eq "down --all-stale removed the stale rig" "" "$(rig_leftovers "$stale_id")"
e2e_expect_eq "down --all-stale kept the live rig" "$(rig_namespaces | wc -w)" \
  "$(rig_leftovers "$main_id" | wc -l)"
# A namespace in the way makes rig_up fail part-way: it must remove what it created.
ip netns add "${RIG_NS_PREFIX}${broken_id}-tarpitted"
(
  rig_init "$broken_id"
  rig_up --baseline 2>/dev/null
) && e2e_fail "rig_up succeeded over an existing namespace"
e2e_expect_eq "failed rig_up left nothing" "" "$(rig_leftovers "$broken_id")"
rig_init "$main_id"

echo "== teardown"
e2e_check "rig_down" rig_down
e2e_expect_eq "namespaces left" "" "$(rig_leftovers "$main_id")"
if kill -0 "$sink_pid" 2>/dev/null; then e2e_fail "smtp-sink $sink_pid still runs"; else
  e2e_pass "smtp-sink stopped"
fi
e2e_check "state removed" test ! -e "$RIG_STATE_ROOT/$main_id"
trap - EXIT
cleanup
e2e_finish
