#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# A client that talks before the server's greeting is shaped by itself (issue 14, pregreet): a
# real data plane in the rig's bump namespace testing every SMTP connection for pregreet, the
# rig's MTA (Postfix smtp-sink) greeting one second after each connection, sluiced beside the
# data plane with [heavy_hitters] and [learning] at their defaults.
#
#   pregreet_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC --dataplane-cmd CMD
#                        [--dataplane-stop-cmd CMD] [--policy FILE]
#
# Asserts behaviour:
#   swaks from the clean sender (it waits for the greeting, as a mail client must) delivers its
#     EHLO, and the data plane counts no pregreet;
#   an address no list names (198.18.7.78) connects once and sends its EHLO before the greeting:
#     the data plane counts it (stats pregreet), lists it (`dataplane pregreet`), sluiced observes it
#     (learn explain: pregreet from dp) and its table scores it at a shaping level, and the data
#     plane runs that table;
#   its next connection is shaped: it counts at a level above 0 in the data plane's counters,
#     the data plane lists that SYN for its sender (`dataplane verdicts`), and sluiced observes it as
#     shaped without scoring it;
#   the clean sender is not scored.
# Waits are bounded polls (no timed assertions). Exit 0 pass, 77 skip (not root; a failure under
# CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
# shellcheck source-path=SCRIPTDIR source=learn_lib.sh
. "$(dirname "$0")/learn_lib.sh"

e2e_sluiced_args pregreet_e2e_test "$@"
e2e_begin pregreet p
trap e2e_sluiced_cleanup EXIT
trap 'exit 130' INT TERM

src=198.18.7.78

# client MODE: one connection from $src to the MTA (bounded: 10 s). MODE pregreet sends EHLO as
# soon as the connection is up, then reads the greeting and quits; MODE connect only connects.
# Prints what the server answered first ("220 ..."), or "connected", or the error.
client() {
  rig_exec clean timeout 15 "$E2E_PYTHON" -c '
import socket, sys
mode, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket()
s.settimeout(10)
try:
    s.bind((src, 0))
    s.connect((dst, 25))
    if mode == "connect":
        print("connected")
    else:
        s.sendall(b"EHLO pregreet.example\r\n")
        print(s.recv(512).decode(errors="replace").split("\r\n")[0])
        s.sendall(b"QUIT\r\n")
except OSError as e:
    print("error: %s" % e)
finally:
    s.close()' "$1" "$src" "$RIG_SERVER4"
}

learn_start --greet-delay 1
rig_exec clean ip addr add "$src/$RIG_PLEN4" dev eth0 || { echo "FAIL: address $src" >&2; exit 1; }
e2e_expect_eq "pregreet counted before any connection" 0 "$(dp_stat pregreet)"

e2e_check "swaks from the clean sender waits for the greeting and says EHLO" \
  rig_exec clean timeout 30 swaks --server "$RIG_SERVER4" --quit-after EHLO --timeout 10 --silent 2
e2e_expect_eq "pregreet counted after swaks" 0 "$(dp_stat pregreet)"

e2e_expect_eq "$src is unlisted: its score in the table" 0 "$(learn_value "$src" 'x["table_score"]')"
greeting=$(client pregreet)
e2e_expect_eq "$src talks first, then hears the greeting" "220" "${greeting:0:3}"
counted() { [[ $(dp_stat pregreet) -ge 1 ]] 2>/dev/null; }
e2e_check "the data plane counts the pregreet" wait_for 5 counted
e2e_expect_eq "the data plane lists $src as a pregreet client" "$src 1" \
  "$(rig_exec bump "$sluicectl" --dataplane "$spec" dataplane pregreet --json 2>/dev/null |
    "$E2E_PYTHON" -c 'import json, sys; print(" ".join("%s %d" % (p["address"], p["connections"]) for p in json.load(sys.stdin)))' 2>/dev/null)"
e2e_check "sluiced scores $src at a shaping level by itself" wait_for 15 learn_scored "$src" || sluiced_log
e2e_expect_eq "what scored it: pregreet from the data plane" "pregreet dp" "$(learn_kinds "$src")"
e2e_info "learn explain: $(ctl learn explain "$src" 2>/dev/null | head -n 1)"
e2e_check "the data plane runs that table" wait_for 10 in_sync

shaped1=$(shaped_syns)
e2e_expect_eq "its next connection" "connected" "$(client connect)"
more_shaped() { [[ $(shaped_syns) -gt $shaped1 ]]; }
e2e_check "its next connection is shaped (SYNs at levels above 0: $shaped1 before)" \
  wait_for 5 more_shaped
# The data plane counts that SYN for its sender (dataplane verdicts: address level shaped
# blocked); sluiced observes it, and by default gives it no weight (a verdict follows from a
# score, it is not evidence).
verdicts() {
  rig_exec bump "$sluicectl" --dataplane "$spec" dataplane verdicts --json 2>/dev/null |
    "$E2E_PYTHON" -c 'import json, sys; print(" ".join("%s %d %d %d" % (v["address"], v["level"], v["shaped"], v["blocked"]) for v in json.load(sys.stdin)))' 2>/dev/null
}
verdict_listed() { [[ $(verdicts) == "$src "[1-9]" "[1-9]*" 0" ]]; }
e2e_check "the data plane lists $src's shaped SYN (dataplane verdicts: $(verdicts))" \
  wait_for 5 verdict_listed
shaped_observed() { [[ $(status_value 's["modules"]["learning"]["observations"]["shaped"]') -ge 1 ]] 2>/dev/null; }
e2e_check "sluiced observes it as shaped" wait_for 10 shaped_observed
e2e_expect_eq "what scores $src: still pregreet alone" "pregreet dp" "$(learn_kinds "$src")"
e2e_expect_eq "the clean sender is not scored" 0 \
  "$(ctl learn explain "${RIG_ADDR4[clean]}" --json 2>/dev/null | "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["total"])')"
learn_stop
e2e_end
