#!/usr/bin/env bash
# Postfix log observations with a real Postfix smtpd writing the log sluiced follows:
#   maillog_postfix_test.sh SLUICED SLUICECTL
# A private Postfix instance (the unpacked copy, scripts/lib/postfix-tools.sh: its own main.cf,
# master.cf and queue in a scratch folder, never the machine's mail system) runs in a network
# namespace of its own; its smtpd (198.18.4.25:25) knows one virtual recipient and rejects the
# rest with "User unknown". Its maillog_file is the file sluiced's [maillog] follows. Checks:
#   - a client (swaks, from 198.18.0.90) sending to an unknown recipient shows in
#     `sluicectl maillog recent` as unknown_recipient for 198.18.0.90, published, with the
#     reply's codes as evidence; `sluicectl status` counts it under modules.maillog.matched;
#   - a client sending to the known recipient (198.18.0.91) is not an observation;
#   - three unknown recipients from 198.18.0.92 are three observations;
#   - the log renamed away and a new one started (rotation: mv, then master reloaded, as
#     `postfix logrotate` does) is followed: a later reject shows.
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
if ! command -v swaks >/dev/null; then
  [[ ${CI:-} == true ]] && { echo "FAIL: no swaks (scripts/install-deps)"; exit 1; }
  echo "SKIP: no swaks (scripts/install-deps)"
  exit 77
fi

work=$(mktemp -d /tmp/sluice_maillog.XXXXXX)
chmod 755 "$work"
ns=slml$$
sluiced_pid='' master_pid=''
cleanup() {
  [[ -n $master_pid ]] && kill -TERM "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null
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

mta=198.18.4.25
ip netns add "$ns" || { echo "FAIL: netns $ns"; exit 1; }
ip -n "$ns" link set lo up
pft_netns_prepare "$ns" || bad "the namespace's datagram queue"
for a in 198.18.0.90 198.18.0.91 198.18.0.92 198.18.0.93 $mta; do
  ip -n "$ns" addr add "$a/32" dev lo || bad "address $a"
done

echo "== a private Postfix instance: smtpd on $mta:25, its log in $work/pf/maillog"
pft_instance_init "$work/pf" "$mta:25" \
  "virtual_mailbox_domains = sluice.test" \
  "virtual_mailbox_maps = inline:{ known@sluice.test=x }" \
  "virtual_transport = discard:sluice test instance" \
  "smtpd_recipient_restrictions = reject_unlisted_recipient, permit_auth_destination, reject" \
  "smtp_dns_support_level = disabled" "smtpd_peername_lookup = no" ||
  { echo "FAIL: pft_instance_init"; exit 1; }
maillog=$work/pf/maillog
rm -f "$maillog" # postlogd creates it: sluiced starts with no file and waits for it

echo "== sluiced following $maillog"
printf '192.0.2.1\n' >"$work/drop.txt"
printf '[drop]\ntype = list\npath = %s\nweight = 10\n' "$work/drop.txt" >"$work/sources.ini"
cat >"$work/sluiced.ini" <<EOT
[sluiced]
state_dir = $work/state
socket = $work/sluiced.sock
socket_mode = 0600
sources = $work/sources.ini
[metrics]
enabled = false
[decision_log]
enabled = false
[maillog]
enabled = true
path = $maillog
recent = 32
EOT
"$sluiced" --config "$work/sluiced.ini" >"$work/sluiced.log" 2>&1 &
sluiced_pid=$!
up=0
for ((i = 0; i < 200; i++)); do
  if c status >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$sluiced_pid" 2>/dev/null || break
  sleep 0.05
done
[[ $up == 1 ]] || { echo "FAIL: sluiced did not start"; cat "$work/sluiced.log"; exit 1; }

setsid nsenter --net="/run/netns/$ns" -- "$PFT_MASTER" -c "$work/pf/etc" -d \
  >"$work/master.out" 2>&1 </dev/null &
master_pid=$!
listening=0
for ((i = 0; i < 100; i++)); do
  in_ns ss -Hltn "sport = :25" | grep -q . && { listening=1; break; }
  sleep 0.1
done
check "smtpd listens in $ns" test $listening = 1

# send FROM_ADDR RCPT...: one swaks session per recipient (swaks quits after a refused RCPT).
send() {
  local src=$1 r
  shift
  for r in "$@"; do
    in_ns timeout 30 swaks --server "$mta:25" --local-interface "$src" --helo "client.example" \
      --from "sender@client.example" --to "$r" --timeout 20 >>"$work/swaks.out" 2>&1
  done
}
# recent_has ADDR KIND N: maillog recent lists at least N matches of KIND for ADDR (waits).
recent_has() {
  local n
  for ((i = 0; i < 200; i++)); do
    n=$(c maillog recent --json | python3 -c '
import json, sys
addr, kind = sys.argv[1], sys.argv[2]
r = json.load(sys.stdin)
print(sum(1 for e in r["recent"] if e["client"] == addr and e["kind"] == kind and e["published"]))
' "$1" "$2")
    [[ $n -ge $3 ]] && return 0
    sleep 0.05
  done
  echo "    ($1 $2: $n of $3)" >&2
  return 1
}
field() { # JSON-PATH over `sluicectl status --json`
  c status --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}

echo "== an unknown recipient"
send 198.18.0.90 nobody@sluice.test
check "smtpd rejected it as User unknown (its own log)" \
  grep -q 'reject: RCPT from .*\[198.18.0.90\]: 550 5.1.1 .*User unknown' "$maillog"
check "maillog recent shows unknown_recipient for 198.18.0.90" \
  recent_has 198.18.0.90 unknown_recipient 1
ev=$(c maillog recent --json | python3 -c '
import json, sys
print([e["evidence"] for e in json.load(sys.stdin)["recent"] if e["client"] == "198.18.0.90"][0])')
check "its evidence is the reply's codes ($ev)" test "$ev" = "550 5.1.1"
check "status counts it under modules.maillog.matched" \
  test "$(field modules.maillog.matched.unknown_recipient)" = 1
check "status: the file is open" test "$(field modules.maillog.open)" = True

echo "== a known recipient is not an observation"
send 198.18.0.91 known@sluice.test
for ((i = 0; i < 100; i++)); do grep -q 'client=.*198.18.0.91' "$maillog" && break; sleep 0.05; done
check "smtpd accepted it" grep -q 'client=.*\[198.18.0.91\]' "$maillog"
sleep 0.3 # give sluiced a turn to read the lines (the assertion below is of absence)
check "no observation for 198.18.0.91" \
  bash -c "! \"\$0\" --daemon \"\$1\" maillog recent --json | grep -q 198.18.0.91" "$ctl" \
  "$work/sluiced.sock"

echo "== three unknown recipients from one client"
send 198.18.0.92 a@sluice.test b@sluice.test c@sluice.test
check "three observations for 198.18.0.92" recent_has 198.18.0.92 unknown_recipient 3

echo "== rotation: the log renamed away, postlogd restarted (a reload) starts a new one"
mv "$maillog" "$maillog.1"
kill -HUP "$master_pid"
for ((i = 0; i < 100; i++)); do [[ -f $maillog ]] && break; sleep 0.05; done
check "postlogd made a new $maillog" test -f "$maillog"
send 198.18.0.93 rotated@sluice.test
check "an unknown recipient after the rotation is observed" \
  recent_has 198.18.0.93 unknown_recipient 1
check "status counts the rotation" test "$(field modules.maillog.rotations)" -ge 1
c maillog recent >"$work/recent.txt"
check "the text form lists it" grep -q '198.18.0.93 .*unknown_recipient .*smtpd .*550 5.1.1' \
  "$work/recent.txt"

if [[ $fails != 0 ]]; then
  echo "-- sluiced.log:"; tail -30 "$work/sluiced.log"
  echo "-- maillog:"; tail -40 "$maillog" "$maillog.1" 2>/dev/null
  echo "-- master.out:"; tail -20 "$work/master.out"
  echo "-- swaks:"; tail -30 "$work/swaks.out"
  echo "-- maillog recent:"; cat "$work/recent.txt"
fi
[[ $fails == 0 ]] && echo "PASS" || echo "FAILED: $fails"
[[ $fails == 0 ]]
