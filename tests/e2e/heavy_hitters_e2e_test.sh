#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# A new abusive source is shaped by itself (issue 14, goal "a new abusive source ... is shaped
# with no list or operator involved"): a real data plane in the rig's bump namespace counting SYN
# heavy hitters, sluiced beside it with [heavy_hitters] and [learning] at their defaults.
#
#   heavy_hitters_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC
#                             --dataplane-cmd CMD [--dataplane-stop-cmd CMD] [--policy FILE]
#
# (the conventions of sluiced_e2e_test.sh: @WORK@ and @RIG_ID@ in SPEC and CMD.)
#
# Asserts behaviour:
#   an address no list names (198.18.7.77, added to the clean sender's namespace) scores 0 and
#     connects unshaped;
#   it opens connections at about 10 a second (40 at most, within 10 s): the data plane reports
#     it as a heavy sender, sluiced observes it (learn explain: conn_rate from dp) and its table
#     scores it at a shaping level (>= the policy's first threshold, 3), and the data plane runs
#     that table (its version is sluiced's);
#   its next connection is shaped: it counts at a level above 0 in the data plane's counters;
#   the clean sender, which connected once, is not scored.
# Waits are bounded polls (no timed assertions). Exit 0 pass, 77 skip (not root; a failure under
# CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
# shellcheck source-path=SCRIPTDIR source=learn_lib.sh
. "$(dirname "$0")/learn_lib.sh"

e2e_sluiced_args heavy_hitters_e2e_test "$@"
e2e_begin heavy_hitters h
trap e2e_sluiced_cleanup EXIT
trap 'exit 130' INT TERM

# The new source: an address of the rig's subnet that no demo list names.
src=198.18.7.77

# connect_from COUNT RATE: COUNT connections from $src to the server at RATE a second (bounded by
# count and by 10 s), each closed at once; prints how many connected.
connect_from() {
  rig_exec clean timeout 15 "$E2E_PYTHON" -c '
import socket, sys, time
src, dst, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ok, start = 0, time.monotonic()
for i in range(count):
    if time.monotonic() - start > 10:
        break
    s = socket.socket()
    s.settimeout(1)
    try:
        s.bind((src, 0))
        s.connect((dst, 25))
        ok += 1
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
print(ok)' "$src" "$RIG_SERVER4" "$1" "$2"
}
learn_start
rig_exec clean ip addr add "$src/$RIG_PLEN4" dev eth0 || { echo "FAIL: address $src" >&2; exit 1; }
e2e_expect_eq "$src is unlisted: its score in the table" 0 "$(learn_value "$src" 'x["table_score"]')"
e2e_expect_eq "$src connects before it is heavy" 1 "$(connect_from 1 1)"
e2e_check "the clean sender connects" rig_probe clean

shaped0=$(shaped_syns)
echo "  $src opens connections at about 10 a second"
sent=$(connect_from 40 10)
e2e_info "$sent of 40 connections from $src completed"
e2e_check "sluiced scores $src at a shaping level by itself" wait_for 15 learn_scored "$src" || sluiced_log
e2e_expect_eq "what scored it: conn_rate from the data plane" "conn_rate dp" \
  "$(learn_value "$src" '" ".join(k["kind"] + " " + k["origin"] for k in x["kinds"] if k["kind"] == "conn_rate") or "none"')"
e2e_info "learn explain: $(ctl learn explain "$src" 2>/dev/null | head -n 1)"
e2e_check "the data plane runs that table" wait_for 10 in_sync

# Its next connection is shaped: the data plane counts it at a level above 0.
shaped1=$(shaped_syns)
connect_from 1 1 >/dev/null
more_shaped() { [[ $(shaped_syns) -gt $shaped1 ]]; }
e2e_check "its next connection is shaped (SYNs at levels above 0: $shaped1 before, $shaped0 at the start)" \
  wait_for 5 more_shaped
e2e_expect_eq "the clean sender is not scored" 0 \
  "$(ctl learn explain "${RIG_ADDR4[clean]}" --json 2>/dev/null | "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["total"])')"
e2e_check "sluiced logged the heavy sender" grep -q "heavy hitters: $src " "$RIG_STATE/sluiced.log"
learn_stop
e2e_end
