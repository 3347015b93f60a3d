#!/usr/bin/env bash
# The policy service with a real Postfix smtpd calling it, as a site deploys it:
#   postfix_policy_test.sh SLUICED SLUICECTL
# sluiced (no data plane) serves its policy socket; a private Postfix instance (the unpacked
# copy, scripts/lib/postfix-tools.sh: its own main.cf, master.cf and queue in a scratch folder,
# never the machine's mail system) runs in a network namespace of its own with
#   smtpd_recipient_restrictions = check_policy_service unix:SOCKET, permit_mynetworks, reject
# and relays what it accepts to an smtp-sink that dumps every message. SMTP clients (Python's
# smtplib, bound to listed addresses of 198.18.0.0/15 on the namespace's loopback) check:
#   - an unlisted client is answered DUNNO: its message arrives without an X-Sluice header;
#   - a client at level 1 gets the level's PREPEND: the header is in smtp-sink's dump;
#   - a client at level 2 gets DEFER_IF_PERMIT: its RCPT is answered 450 4.7.1;
#   - a trap recipient is a trap_hit observation of the local score model (sluicectl learn
#     explain; [learning] enabled, the default: no dynamic entry), its next RCPT is answered at
#     the new level (REJECT, 5xx); sluicectl learn forget undoes it and the next message is
#     accepted again;
#   - sluicectl policy recent shows the clients, HELO names and sender domains smtpd sent.
# Exit 0 pass, 77 skip (not root, or no unpacked Postfix outside CI), 1 fail. Everything is
# named with the pid and removed on exit; every wait is a bounded poll.
set -uo pipefail
sluiced=$1 ctl=$2
root=$(cd "$(dirname "$0")/../../../.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  [[ ${CI:-} == true ]] && { echo "FAIL: privileged test cannot run under CI=true: not root"; exit 1; }
  echo "SKIP: needs root (Postfix's master and a network namespace)"
  exit 77
fi
# shellcheck source-path=SCRIPTDIR source=../../../../scripts/lib/postfix-tools.sh
. "$root/scripts/lib/postfix-tools.sh"
if ! pft_find; then
  [[ ${CI:-} == true ]] && exit 1
  echo "SKIP: no unpacked Postfix (scripts/install-deps)"
  exit 77
fi

work=$(mktemp -d /tmp/sluice_pfpol.XXXXXX)
chmod 755 "$work"
ns=slpol$$
sluiced_pid= master_pid= sink_pid=
cleanup() {
  [[ -n $master_pid ]] && kill -TERM "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null
  [[ -n $sink_pid ]] && kill -TERM "$sink_pid" 2>/dev/null
  [[ -n $sluiced_pid ]] && kill -TERM "$sluiced_pid" 2>/dev/null && wait "$sluiced_pid" 2>/dev/null
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}
check() { # DESCRIPTION CMD...
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
in_ns() { nsenter --net="/run/netns/$ns" -- "$@"; }
c() { "$ctl" --daemon "$work/sluiced.sock" "$@"; }

mta=198.18.1.25 sink=198.18.1.26
ip netns add "$ns" || { echo "FAIL: netns $ns"; exit 1; }
ip -n "$ns" link set lo up
pft_netns_prepare "$ns" || bad "the namespace's datagram queue"
for a in 198.18.0.7 198.18.0.8 198.18.0.9 198.18.0.10 $mta $sink; do
  ip -n "$ns" addr add "$a/32" dev lo || bad "address $a"
done

echo "== sluiced with its policy service on $work/policy/policy.sock"
mkdir -p "$work/policy" && chmod 755 "$work/policy"
printf '198.18.0.7\n' >"$work/light.txt"
printf '198.18.0.8\n' >"$work/heavy.txt"
cat >"$work/sources.ini" <<EOT
[light]
type = list
path = $work/light.txt
weight = 4
[heavy]
type = list
path = $work/heavy.txt
weight = 10
EOT
cat >"$work/policy.ini" <<EOT
[smtp]
ports = 25
[level.1]
name = throttle
threshold = 3
window_clamp = 2048
[level.2]
name = tarpit
threshold = 8
tarpit = true
[level.3]
name = block
threshold = 15
block = rst
EOT
# smtpd runs as the instance's mail owner (nobody, primary group nogroup): the socket's group.
group=$(id -gn nobody)
cat >"$work/sluiced.ini" <<EOT
[sluiced]
state_dir = $work/state
socket = $work/sluiced.sock
socket_mode = 0600
sources = $work/sources.ini
policy = $work/policy.ini
[metrics]
enabled = false
[decision_log]
enabled = false
[policy]
listen = unix:$work/policy/policy.sock
socket_mode = 0660
socket_group = $group
action_2 = DEFER_IF_PERMIT 4.7.1 sluice test: slow down ({level_name})
action_3 = REJECT 5.7.1 sluice test: blocked (score {score})
trap = trap@sluice.test
[learning]
trap_hit.weight = 60
trap_hit.cap = 60
EOT
"$sluiced" --config "$work/sluiced.ini" >"$work/sluiced.log" 2>&1 &
sluiced_pid=$!
up=0
for ((i = 0; i < 200; i++)); do
  if c status >/dev/null 2>&1 && [[ -S $work/policy/policy.sock ]]; then up=1; break; fi
  kill -0 "$sluiced_pid" 2>/dev/null || break
  sleep 0.05
done
[[ $up == 1 ]] || { echo "FAIL: sluiced did not start"; cat "$work/sluiced.log"; exit 1; }
check "the socket is 0660, group $group" \
  test "$(stat -c '%a %G' "$work/policy/policy.sock")" = "660 $group"

echo "== a private Postfix instance: smtpd on $mta:25 asks sluiced; relays to smtp-sink"
mkdir -p "$work/dump" && chown nobody "$work/dump"
pft_instance_init "$work/pf" "$mta:25" \
  "smtpd_recipient_restrictions = check_policy_service unix:$work/policy/policy.sock, permit_mynetworks, reject" \
  "default_transport = smtp:[$sink]:2525" "relay_transport = smtp:[$sink]:2525" \
  "local_transport = smtp:[$sink]:2525" "smtp_dns_support_level = disabled" \
  "smtpd_policy_service_timeout = 10s" || { echo "FAIL: pft_instance_init"; exit 1; }
echo "smtp      unix  -       -       n       -       -       smtp" >>"$work/pf/etc/master.cf"
setsid nsenter --net="/run/netns/$ns" -- "$PFT_SMTP_SINK" -u nobody -d "$work/dump/%H%M%S." \
  "$sink:2525" 100 >"$work/sink.out" 2>&1 </dev/null &
sink_pid=$!
setsid nsenter --net="/run/netns/$ns" -- "$PFT_MASTER" -c "$work/pf/etc" -d \
  >"$work/master.out" 2>&1 </dev/null &
master_pid=$!
listening=0
for ((i = 0; i < 100; i++)); do
  if in_ns ss -Hltn "sport = :25" | grep -q . && in_ns ss -Hltn "sport = :2525" | grep -q .; then
    listening=1
    break
  fi
  sleep 0.1
done
check "smtpd and smtp-sink listen in $ns" test $listening = 1

# send FROM_ADDR HELO RCPT SUBJECT: one message; prints the RCPT reply ("250 ..." or the refusal).
send() {
  in_ns timeout 30 python3 - "$@" <<'PY'
import smtplib, sys
src, helo, rcpt, subject = sys.argv[1:5]
s = smtplib.SMTP("198.18.1.25", 25, local_hostname=helo, source_address=(src, 0), timeout=20)
s.ehlo(helo)
s.mail("sender@%s.example" % subject.lower())
code, msg = s.rcpt(rcpt)
print(code, msg.decode(errors="replace"))
if code == 250:
    s.data("Subject: %s\r\n\r\nsluice policy test %s\r\n" % (subject, subject))
s.quit()
PY
}
# dumped SUBJECT: the smtp-sink dump of the message with that subject (waits for delivery).
dumped() {
  local f
  for ((i = 0; i < 150; i++)); do
    f=$(grep -l "^Subject: $1" "$work"/dump/* 2>/dev/null | head -n 1)
    [[ -n $f ]] && { cat "$f"; return 0; }
    sleep 0.1
  done
  return 1
}

echo "== answers by level"
r=$(send 198.18.0.10 clean.example user@sluice.test Clean)
check "an unlisted client's RCPT is accepted ($r)" grep -q '^250' <<<"$r"
d=$(dumped Clean)
check "its message arrives" test -n "$d"
check "without an X-Sluice header" bash -c "! grep -q '^X-Sluice:' <<<\"\$0\"" "$d"

r=$(send 198.18.0.7 light.example user@sluice.test Light)
check "a level-1 client's RCPT is accepted ($r)" grep -q '^250' <<<"$r"
d=$(dumped Light)
check "its message arrives with the level's PREPEND header" \
  grep -q '^X-Sluice: score=4; level=1' <<<"$d"

r=$(send 198.18.0.8 heavy.example user@sluice.test Heavy)
check "a level-2 client gets DEFER_IF_PERMIT: 450 4.7.1 ($r)" \
  grep -q '^450 4.7.1 .*sluice test: slow down (tarpit)' <<<"$r"

echo "== a trap recipient"
r=$(send 198.18.0.9 bot.example trap@sluice.test Trap)
check "the trap RCPT is answered at the client's level then (DUNNO: $r)" grep -q '^250' <<<"$r"
learned=
for ((i = 0; i < 100; i++)); do
  # The contribution the table has (the model rebuilds it at most once a second).
  learned=$(c learn explain 198.18.0.9 --json | python3 -c '
import json, sys
for k in json.load(sys.stdin)["kinds"]:
    if k["contribution"]: print(k["kind"], k["contribution"], k["origin"], k["evidence"])')
  [[ -n $learned ]] && break
  sleep 0.05
done
check "the local score model counted the trap hit ($learned)" \
  test "$learned" = "trap_hit 60 policy trap@sluice.test"
check "and no dynamic entry was written (one hit counts once)" \
  bash -c "! \"\$0\" --daemon \"\$1\" host list | grep -q 198.18.0.9" "$ctl" "$work/sluiced.sock"
r=$(send 198.18.0.9 bot.example user@sluice.test Again)
check "its next RCPT is refused at the new level ($r)" \
  grep -q '^5[0-9][0-9] 5.7.1 .*sluice test: blocked (score 60)' <<<"$r"
c learn forget 198.18.0.9 >/dev/null
check "sluicectl learn forget removes it" \
  bash -c "\"\$0\" --daemon \"\$1\" learn explain 198.18.0.9 | grep -q 'nothing learned'" "$ctl" "$work/sluiced.sock"
r=$(send 198.18.0.9 bot.example user@sluice.test Cleared)
check "after learn forget it is accepted again ($r)" grep -q '^250' <<<"$r"

echo "== sluicectl policy recent"
recent=$(c policy recent --json)
has() {
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
want = (sys.argv[2], sys.argv[3], sys.argv[4])
sys.exit(0 if any((e["client_address"], e["helo_name"], e["sender_domain"]) == want
                  for e in r["recent"]) else 1)' "$recent" "$@"
}
check "it shows 198.18.0.7, its HELO and sender domain" has 198.18.0.7 light.example light.example
check "it shows the trap hit's client" has 198.18.0.9 bot.example trap.example
check "it counts one trap hit" \
  test "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["counters"]["trap_hits"])' "$recent")" = 1
c policy recent >"$work/recent.txt"
check "the text form lists the clients" grep -q '198.18.0.8.*heavy.example.*DEFER_IF_PERMIT' \
  "$work/recent.txt"

if [[ $fails != 0 ]]; then
  echo "-- sluiced.log:"; tail -30 "$work/sluiced.log"
  echo "-- maillog:"; tail -40 "$work/pf/maillog"
  echo "-- master.out:"; tail -20 "$work/master.out"
  echo "-- processes in $ns:"; ip netns pids "$ns" | xargs -r ps -o pid,user,wchan:24,args -p
  for p in $(ip netns pids "$ns"); do echo "-- $p:"; cat "/proc/$p/stack" 2>/dev/null | head -8; done
  echo "-- policy recent:"; cat "$work/recent.txt"
fi
[[ $fails == 0 ]] && echo "PASS" || echo "FAILED: $fails"
[[ $fails == 0 ]]
