#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# End to end through a data plane (issue 4 "Tests", issue 5 "Tests"): real SMTP from the rig's
# senders through sluice-dp or the XDP programs to Postfix's smtp-sink, with the sample
# reputation and policy of scripts/demo-data (docs/test-rig.md lists who is what).
#
#   shaper_e2e_test.sh --dataplane-cmd CMD --sluicectl BIN [--dataplane-stop-cmd CMD]
#                      [--table FILE] [--policy FILE]
#
# CMD runs (bash -c) in the bump namespace with RIG_*, SLUICE_TABLE and SLUICE_POLICY in its
# environment; it may keep running (stopped at the end) or return once attached.
#
# Asserts behaviour only (timings are printed as information; speed belongs in bench/):
#   clean and allowlisted senders deliver every message (their median delivery time and the
#     reference lane's, a Linux bridge beside the data plane, are printed);
#   the blocked sender delivers nothing: every attempt refused (RST) or unanswered (dropped SYN);
#   the tarpitted sender connects but delivers nothing (stalled after the greeting);
#   over IPv6 the clean sender delivers and the blocked one does not;
#   the throttled sender's connection carries the policy's clamps (its MSS <= mss_clamp, the
#     window the MTA advertises to it non-zero and <= window_clamp) while the clean sender's
#     does not (its peer window above window_clamp); the achieved rates and window / delay are
#     printed;
#   a throttled message still arrives, and every message the MTA received is intact.
# Bounded: well under two minutes. Exit 0 pass, 77 skip (not root; a failure under CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"

dp_cmd="" dp_stop="" sluicectl="" table="" policy=$E2E_ROOT/scripts/demo-data/policy.ini
while [[ $# -gt 0 ]]; do
  case $1 in
    --dataplane-cmd) dp_cmd=$2; shift 2 ;;
    --dataplane-stop-cmd) dp_stop=$2; shift 2 ;;
    --sluicectl) sluicectl=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --policy) policy=$2; shift 2 ;;
    *) echo "shaper_e2e_test: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
e2e_require_privileged
if [[ -z $dp_cmd || (-z $table && -z $sluicectl) ]]; then
  echo "shaper_e2e_test: needs --dataplane-cmd and --sluicectl (or --table)" >&2
  exit 2
fi

e2e_begin shaper x
cleanup() {
  e2e_stop_dataplane
  rig_down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $table ]]; then
  table=$work/demo.table
  "$sluicectl" table build --sources "$E2E_ROOT/scripts/demo-data/sources.ini" \
    --output "$table" >/dev/null || {
    echo "FAIL: sluicectl table build" >&2
    exit 1
  }
fi
export SLUICE_TABLE=$table SLUICE_POLICY=$policy

# policy_value KEY: a key of [level.1] (the throttle level), 0 when absent.
policy_value() {
  "$E2E_PYTHON" -c '
import configparser, sys
cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
cp.read(sys.argv[1])
print(cp["level.1"].get(sys.argv[2], "0"))' "$policy" "$1"
}
window_clamp=$(policy_value window_clamp)
mss_clamp=$(policy_value mss_clamp)
delay_ms=$(policy_value delay_ms)
[[ $delay_ms == 0 ]] && delay_ms=$(($(policy_value delay_us) / 1000))

measure() { # ROLE NAME smtp_measure args...
  local role=$1 name=$2
  shift 2
  # Defaults first: a --server/--address in the arguments overrides them (IPv6 checks).
  rig_exec "$role" "$E2E_PYTHON" "$E2E_ROOT/bench/smtp/smtp_measure.py" --server "$RIG_SERVER4" \
    --address "${RIG_ADDR4[$role]}" --json "$out/$name.json" --quiet "$@"
}
# py_check NAME EXPR: EXPR (Python, over the result r of NAME) holds.
py_check() {
  "$E2E_PYTHON" -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$out/$1.json"
}

echo "== rig $RIG_ID, data plane: $dp_cmd"
e2e_start_dataplane --dump

# Unshaped senders: every message through the data plane is paired with one through the rig's
# reference lane (a Linux bridge beside the bump), so both see the same machine load.
for role in clean allowed; do
  measure "$role" "$role" send --tag "$role" --reference "$RIG_REF4" --count 10 --warmup 1 \
    --timeout 10 --deadline 30
  e2e_expect_eq "$role delivered" 10 "$(e2e_json "$out/$role.json" delivered)"
  e2e_info "$role median $(e2e_json "$out/$role.json" median_s) s, reference lane's $(e2e_json "$out/$role.json" reference.median_s) s"
done

measure blocked blocked send --tag blocked --count 2 --timeout 10 --deadline 20
e2e_expect_eq "blocked delivered" 0 "$(e2e_json "$out/blocked.json" delivered)"
e2e_check "blocked: every attempt refused or unanswered" py_check blocked \
  "set(r['failures']) <= {'refused', 'connect-timeout'} and r['failed'] == 2"

measure tarpitted tarpitted send --tag tarpitted --count 1 --timeout 5 --deadline 10
e2e_expect_eq "tarpitted delivered" 0 "$(e2e_json "$out/tarpitted.json" delivered)"
e2e_check "tarpitted: connected, then stalled" py_check tarpitted "r['failures'] == {'timeout': 1}"

# IPv6: the same reputation (dnsbl.ip6trie, the DROP list's IPv6 entry, the allowlist).
measure clean clean6 send --tag clean6 --server "$RIG_SERVER6" --address "${RIG_ADDR6[clean]}" \
  --count 3 --timeout 10 --deadline 20
e2e_expect_eq "clean over IPv6 delivered" 3 "$(e2e_json "$out/clean6.json" delivered)"
measure blocked blocked6 send --tag blocked6 --server "$RIG_SERVER6" \
  --address "${RIG_ADDR6[blocked]}" --count 2 --timeout 10 --deadline 20
e2e_expect_eq "blocked over IPv6 delivered" 0 "$(e2e_json "$out/blocked6.json" delivered)"

# Postfix's own SMTP client as well: smtp-source delivers from the clean and allowlisted senders.
for role in clean allowed; do
  measure "$role" "$role-smtp-source" send --tag "$role-ss" --client smtp-source --count 3 \
    --timeout 10 --deadline 20
  e2e_expect_eq "$role via smtp-source delivered" 3 "$(e2e_json "$out/$role-smtp-source.json" delivered)"
done

measure clean clean-rate rate --tag clean-rate --window 2 --size 5000000
measure throttled throttled-rate rate --tag throttled-rate --window 4 --size 200000
e2e_check "throttled: rate probe ran" py_check throttled-rate "r['ok']"
e2e_check "clean: rate probe ran" py_check clean-rate "r['ok']"
clean_rate=$(e2e_json "$out/clean-rate.json" bytes_per_s)
e2e_info "rates: throttled $(e2e_json "$out/throttled-rate.json" bytes_per_s) B/s, clean $clean_rate B/s"
if [[ $mss_clamp != 0 ]]; then
  e2e_check "throttled: MSS $(e2e_json "$out/throttled-rate.json" tcp_info.snd_mss) <= $mss_clamp" \
    py_check throttled-rate "0 < r['tcp_info']['snd_mss'] <= $mss_clamp"
fi
if [[ $window_clamp != 0 ]]; then
  e2e_check "throttled: peer window $(e2e_json "$out/throttled-rate.json" tcp_info.snd_wnd) in 1..$window_clamp" \
    py_check throttled-rate "0 < r['tcp_info'].get('snd_wnd', 0) <= $window_clamp"
  # The clamp is the data plane's doing: the clean sender, on the same rig, sees a larger window.
  e2e_check "clean: peer window $(e2e_json "$out/clean-rate.json" tcp_info.snd_wnd) above $window_clamp" \
    py_check clean-rate "r['tcp_info'].get('snd_wnd', 0) > $window_clamp"
fi
if [[ $window_clamp != 0 && $delay_ms != 0 ]]; then
  e2e_info "window/delay = $((window_clamp * 1000 / delay_ms)) B/s"
fi
measure throttled throttled send --tag throttled --client smtp-source --count 1 --timeout 40 \
  --deadline 45
e2e_expect_eq "throttled: a 10 KB message still arrives" 1 "$(e2e_json "$out/throttled.json" delivered)"

e2e_end_dataplane

delivered=$(($(e2e_json "$out/clean.json" reference.delivered) + \
  $(e2e_json "$out/allowed.json" reference.delivered)))
for f in clean allowed blocked throttled clean6 blocked6; do
  delivered=$((delivered + $(e2e_json "$out/$f.json" delivered)))
done
e2e_check_mail "$delivered" --exclude-tag throttled-rate --exclude-tag clean-rate \
  --exclude-tag tarpitted
e2e_end
