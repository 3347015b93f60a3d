#!/usr/bin/env bash
# Functions called through traps and e2e_check look unreachable to shellcheck:
# shellcheck disable=SC2317
# Outbound abuse control (issue 14: "an infected subscriber on the rig, fan-out to 50 destination
# MTAs a minute, is shaped outbound ...; a normal subscriber sending 3 mails is untouched"): a
# real data plane in the rig's bump namespace under the test's policy with an [outbound] level,
# sluiced beside it with [heavy_hitters] and [learning] at their defaults (fan_out: a point per
# remote MTA new to a subscriber).
#
#   outbound_e2e_test.sh --sluiced BIN --sluicectl BIN --dataplane-spec SPEC
#                        --dataplane-cmd CMD [--dataplane-stop-cmd CMD] [--policy FILE]
#
# (the conventions of sluiced_e2e_test.sh: @WORK@ and @RIG_ID@ in SPEC and CMD.)
#
# The subscribers are two addresses added to the MTA's namespace (inside); 50 remote MTAs are
# addresses added to the clean sender's namespace (outside), where a second smtp-sink listens.
# The policy is the one given, with [outbound] and one outbound level appended (threshold 10:
# window 2048, MSS 536).
#
# Asserts behaviour:
#   a normal subscriber delivers 3 mails to 3 remote MTAs with swaks, unshaped; sluiced scores
#     its fan-out 3 (below the threshold), and a later connection of it is still unshaped;
#   an infected subscriber opens a connection to a new remote MTA every 1.2 s (50 a minute),
#     and to an MTA it already reached every 0.1 s between them (no fan-out: they only sample
#     when shaping starts): its connections become shaped (the remote MTA's SYN-ACK reaches it
#     with its MSS clamped to 536), sluiced observed its fan-out (learn explain: fan_out from
#     dp), the data plane counts its SYNs at the outbound level and lists its fan-out;
#   inbound mail from the clean sender is still unshaped.
# How long shaping took after the subscriber's 10th remote MTA (the threshold) is printed and
# written to the results, not asserted. Waits are bounded polls. Exit 0 pass, 77 skip (not
# root; a failure under CI=true).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
# shellcheck source-path=SCRIPTDIR source=learn_lib.sh
. "$(dirname "$0")/learn_lib.sh"

e2e_sluiced_args outbound_e2e_test "$@"
e2e_begin outbound o
trap 'e2e_sluiced_cleanup' EXIT
trap 'exit 130' INT TERM

infected=198.18.7.201
normal=198.18.7.202
mta() { echo "198.18.8.$1"; } # remote MTA N, 1..50
threshold=10
base_policy=$policy
policy=$work/outbound-policy.ini
{
  cat "$base_policy"
  cat <<EOF

[outbound]
ports = 25

[outbound.level.1]
name = out-throttle
threshold = $threshold
window_clamp = 2048
mss_clamp = 536
EOF
} >"$policy"
# The outbound level's number: after the inbound ones.
out_level=$(($(grep -c '^\[level\.' "$base_policy") + 1))

learn_start
PFT_SMTP_SINK=${PFT_SMTP_SINK:?}
for a in "$infected" "$normal"; do
  rig_exec server ip addr add "$a/32" dev eth0 || e2e_fail "subscriber address $a"
done
for n in $(seq 1 50); do
  rig_exec clean ip addr add "$(mta "$n")/32" dev eth0 || e2e_fail "remote MTA address $(mta "$n")"
done
rig_bg clean remote-mtas "$PFT_SMTP_SINK" -u nobody -m 1000 -t 60 ":25" 1000
e2e_check "the remote MTAs listen" rig_wait_listen clean 25

# mss_from SUBSCRIBER MTA: the MSS the subscriber's TCP uses on a connection to MTA (536 less its
# options when the data plane clamped the MTA's SYN-ACK; the link's, over 1000, otherwise), or
# "refused".
mss_from() {
  rig_exec server timeout 5 "$E2E_PYTHON" -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.bind((sys.argv[1], 0))
    s.connect((sys.argv[2], 25))
    print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))
except OSError:
    print("refused")
finally:
    s.close()' "$1" "$2"
}
out_syns() {
  dp_stats | "$E2E_PYTHON" -c "
import json, sys
print(sum(l.get('syns', 0) for l in json.load(sys.stdin).get('levels', []) if l.get('level') == $out_level))" 2>/dev/null
}
explain_total() {
  ctl learn explain "$1" --json 2>/dev/null |
    "$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["total"])' 2>/dev/null
}
fanout_of() {
  rig_exec bump "$sluicectl" --dataplane "$spec" dataplane fanout --json 2>/dev/null |
    "$E2E_PYTHON" -c "
import json, sys
print(sum(e['destinations'] for e in json.load(sys.stdin) if e['address'] == '$1'))" 2>/dev/null
}

# "unshaped" for an MSS the clamp did not touch, else what mss_from said.
shaping_of() {
  local m
  m=$(mss_from "$1" "$2")
  [[ $m =~ ^[0-9]+$ ]] && ((m >= 1000)) && m=unshaped
  echo "$m"
}
e2e_expect_eq "a subscriber's connection before anything is unshaped" unshaped \
  "$(shaping_of "$normal" "$(mta 41)")"

echo "  the normal subscriber sends 3 mails to 3 remote MTAs"
for n in 41 42 43; do
  e2e_check "mail from $normal to $(mta "$n") delivered" rig_exec server timeout 30 swaks \
    --server "$(mta "$n")" --local-interface "$normal" --from "user@subscriber.example" \
    --to "friend@remote$n.example" --timeout 10 --silent 2
done
normal_counted() { [[ $(fanout_of "$normal") -ge 3 ]] 2>/dev/null; }
e2e_check "the data plane counts the normal subscriber's fan-out" wait_for 10 normal_counted

echo "  the infected subscriber reaches a new remote MTA every 1.2 s (50 a minute)"
out0=$(out_syns)
# One line per connection: seconds since the start, the MTA, new (1) or a repeat (0), the MSS.
rig_exec server timeout 90 "$E2E_PYTHON" -c '
import socket, sys, time
src, prefix = sys.argv[1], sys.argv[2]
start, shaped_at, tick, new = time.monotonic(), None, 0, 0
while new < 50 and time.monotonic() - start < 70:
    fresh = tick % 12 == 0
    if fresh:
        new += 1
    dst = prefix + str(new if fresh else 1)
    s = socket.socket()
    s.settimeout(2)
    t = time.monotonic() - start
    try:
        s.bind((src, 0))
        s.connect((dst, 25))
        mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    except OSError:
        mss = 0
    finally:
        s.close()
    print("%.3f %s %d %d" % (t, dst, 1 if fresh else 0, mss), flush=True)
    if mss and mss < 1000 and shaped_at is None:
        shaped_at = t
    if shaped_at is not None and t - shaped_at > 2:
        break
    tick += 1
    time.sleep(max(0.0, start + tick * 0.1 - time.monotonic()))
' "$infected" "198.18.8." >"$work/infected.log"
summary=$("$E2E_PYTHON" - "$work/infected.log" "$threshold" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
threshold = int(sys.argv[2])
new = [r for r in rows if r[2] == "1"]
crossed = float(new[threshold - 1][0]) if len(new) >= threshold else None
shaped = next((float(r[0]) for r in rows if 0 < int(r[3]) < 1000), None)
unshaped_before = all(int(r[3]) >= 1000 for r in rows if shaped is None or float(r[0]) < shaped)
print(len(rows), len(new), "none" if crossed is None else "%.3f" % crossed,
      "none" if shaped is None else "%.3f" % shaped, int(unshaped_before),
      sum(1 for r in rows if r[3] == "0"))
EOF
)
read -r conns new_mtas crossed shaped_at unshaped_before refused <<<"$summary"
e2e_info "infected subscriber: $conns connections, $new_mtas remote MTAs, its ${threshold}th at ${crossed} s, first shaped at ${shaped_at} s, $refused refused"
e2e_expect_eq "the infected subscriber's connections became shaped (MSS clamped)" yes \
  "$([[ $shaped_at != none ]] && echo yes || echo no)"
e2e_expect_eq "its connections before that were unshaped" 1 "$unshaped_before"
e2e_expect_eq "no connection was refused" 0 "$refused"
if [[ $shaped_at != none && $crossed != none ]]; then
  latency=$("$E2E_PYTHON" -c "print('%.1f' % (float('$shaped_at') - float('$crossed')))")
  e2e_info "shaped ${latency} s after its ${threshold}th remote MTA (sampled every 0.1 s)"
  printf '{"threshold_mtas": %d, "crossed_s": %s, "shaped_s": %s, "shaped_after_crossing_s": %s}\n' \
    "$threshold" "$crossed" "$shaped_at" "$latency" >"$out/outbound_shaping.json"
fi
e2e_expect_eq "what scored it: fan_out from the data plane" "fan_out dp" \
  "$(learn_value "$infected" '" ".join(k["kind"] + " " + k["origin"] for k in x["kinds"] if k["kind"] == "fan_out") or "none"')"
e2e_info "learn explain: $(ctl learn explain "$infected" 2>/dev/null | head -n 1)"
more_out() { [[ $(out_syns) -gt $out0 ]]; }
e2e_check "the data plane counts its SYNs at the outbound level ($out_level)" more_out
fanout_high() { [[ $(fanout_of "$infected") -ge $threshold ]] 2>/dev/null; }
e2e_check "the data plane lists its fan-out (>= $threshold remote MTAs)" fanout_high

normal_total=$(explain_total "$normal")
e2e_info "normal subscriber: learn total $normal_total"
# 3 remote MTAs (a 4th count only if a fan-out window ended between its first two connections
# to the first), decaying with a half-life of 10 minutes: 2 .. 4 points, below the threshold.
normal_scored_low() { [[ $normal_total =~ ^[0-9]+$ ]] && ((normal_total >= 2 && normal_total < threshold)); }
e2e_check "the normal subscriber's fan-out is counted, below the threshold ($normal_total)" \
  normal_scored_low
e2e_expect_eq "the normal subscriber's next connection is unshaped" unshaped \
  "$(shaping_of "$normal" "$(mta 44)")"
e2e_check "inbound: the clean sender still reaches the MTA" rig_probe clean
rig_bg_stop remote-mtas
learn_stop
e2e_end
