#!/usr/bin/env bash
# shellcheck disable=SC2015 # ok() never fails: "A && ok || bad" is an if-else here
# Functions called through traps look unreachable to shellcheck (demo_finish exits):
# shellcheck disable=SC2317
# scripts/demo's two-site step, end to end with the tree's binaries: the demo (one message per
# sender) then starts a three-node nats-server -js cluster and sites A and B (each a sluiced with
# a data plane of its own), reports the clean sender at site A and sends its next message through
# site B. Asserts that the demo succeeds; that site B shaped the sender (its table scores it at a
# shaping level from feed:isp-a, its data plane counted the sender's next SYN at that level, and
# the message took longer than through the reference lane); that the line with the time from the
# report to site B's data plane is printed, with a number of milliseconds; and that nothing is
# left behind: no namespace, rig state, DPDK runtime folder, XDP pins or kept table, temporary
# folder, and no nats-server, sluiced or data plane process of the demo.
#   demo_feed_test.sh [--interrupt] SLUICE_DP SLUICECTL SLUICED [SLUICE_XDP]
# With SLUICE_XDP the demo runs with --xdp (both sites' data planes are XDP programs). With
# --interrupt, SIGINT goes to the demo's process group as soon as both sites are up (the feed's
# servers, both sluiced and site A's data plane running): it must end with status 130 within
# 20 s, and leave nothing behind either.
# Exit 0 pass, 77 skip (not root, no nats-server or openssl; a failure under CI=true), 1 fail.
set -uo pipefail
interrupt=0
[[ ${1:-} != --interrupt ]] || { interrupt=1; shift; }
dp=${1:?sluice-dp path}
ctl=${2:?sluicectl path}
sluiced=${3:?sluiced path}
xdp=${4:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$root/scripts/feed/feed-lib.sh"
# shellcheck source-path=SCRIPTDIR source=demo_lib.sh
. "$root/tests/setup/demo_lib.sh"

missing=""
[[ $(id -u) -eq 0 ]] || missing="not root"
feed_find_nats_server >/dev/null || missing="${missing:+$missing; }no nats-server (scripts/install-deps unpacks one)"
command -v openssl >/dev/null || missing="${missing:+$missing; }no openssl"
demo_cannot_run "$missing" "needs root, nats-server and openssl: $missing"

out=$(mktemp /tmp/sluice_demo_feed.XXXXXX)
log=$(mktemp /tmp/sluice_demo_feed_log.XXXXXX)
before=$(demo_tmp_folders)
args=(--skip-deps --skip-build --messages 1)
[[ -z $xdp ]] || args+=(--xdp)
# setsid: the demo leads its own process group, as in a terminal; the pid is the rig's id.
SLUICE_DP=$dp SLUICE_XDP=$xdp SLUICECTL=$ctl SLUICED=$sluiced SLUICE_DEMO_LOG=$log \
  setsid "$root/scripts/demo" "${args[@]}" >"$out" 2>&1 </dev/null &
demo=$!
id=d$demo
xdp_state=${SLUICE_XDP_STATE_DIR:-/run/sluice/xdp}
# The demo's scratch folder (where the feed's servers and the sites keep everything), from its
# log; empty until it made one.
workdir() { grep -o -m 1 '/tmp/sluice-demo\.[A-Za-z0-9]*' "$log" 2>/dev/null; }
# Processes whose command line names the demo's scratch folder or its DPDK file prefixes: the
# nats-server nodes (-c DIR/feed/nats/nI.conf), both sluiced (--config DIR/feed/SITE/...), the
# data planes (--file-prefix sl$id, sl${id}a).
leftover_procs() {
  local w
  w=$(workdir)
  {
    [[ -z $w ]] || pgrep -f -- "$w"
    pgrep -f -- "--file-prefix sl$id"
  } | grep -vx "$$" | sort -u | tr '\n' ' '
}
cleanup() {
  local w p
  w=$(workdir)
  kill -KILL -- "-$demo" 2>/dev/null
  # What the demo's own cleanup would have removed, had it not run to the end.
  for p in $(leftover_procs); do kill -KILL "$p" 2>/dev/null; done
  if [[ -n $xdp ]]; then
    for p in "sl$id" "sl${id}a"; do
      [[ -e /sys/fs/bpf/sluice/$p ]] && "$xdp" detach --name "$p" >/dev/null 2>&1
    done
  fi
  "$root/scripts/rig/down" "$id" >/dev/null 2>&1
  rm -rf -- "/var/run/dpdk/sl${id}a" "$xdp_state/sl$id" "$xdp_state/sl${id}a"
  [[ -z $w ]] || rm -rf -- "$w"
  # The demo writes its plot beside its log (LOG less .log, then -delivery.png).
  rm -f "$out" "$log" "${log%.log}-delivery.png"
}
trap cleanup EXIT

# Bounded: the demo with one message per sender takes one to two minutes; give it four.
sites_up=0
for ((i = 0; i < 2400; i++)); do
  kill -0 "$demo" 2>/dev/null || break
  if [[ $interrupt == 1 ]] && grep -q '^ *feed: nats-server' "$out"; then
    sites_up=1
    break
  fi
  sleep 0.1
done
if [[ $interrupt == 1 ]]; then
  if [[ $sites_up == 1 ]]; then
    ok "both sites are up; interrupting the demo"
    demo_interrupt 200 && ok "the demo ended within 20 s of SIGINT" || bad "the demo still runs 20 s after SIGINT"
  else
    bad "the demo never brought both sites up"
  fi
elif kill -0 "$demo" 2>/dev/null; then
  bad "the demo still runs after 240 s; interrupting it"
  demo_interrupt 200
fi
wait "$demo"
rc=$?
# The terminal's output, less its colours.
text=$(sed 's/\x1b\[[0-9;]*m//g' "$out")
if [[ $interrupt == 1 ]]; then
  [[ $rc == 130 ]] && ok "exit status 130" || bad "exit status $rc, not 130"
  grep -q "interrupted" <<<"$text" && ok "it says it was interrupted" || bad "no 'interrupted' message"
else
  [[ $rc == 0 ]] && ok "the demo succeeded" || bad "the demo's exit status is $rc"
fi

if [[ $interrupt == 0 ]]; then
  step=$(grep -E '^\[7/7\] a second site' <<<"$text")
  [[ -n $step && $step != *SKIPPED* && $step != *skipped* ]] && ok "the two-site step ran" ||
    bad "the two-site step did not run: '${step:-no step 7}'"
  re="reached site B's data plane in ([0-9]+\.[0-9]) ms"
  line=$(grep -E "$re" <<<"$text")
  if [[ $line =~ $re ]]; then
    ok "the latency line is printed: ${BASH_REMATCH[1]} ms"
  else
    bad "no latency line with a number ('$re')"
  fi
  line=$(grep -F "site B's table: score" <<<"$text")
  [[ $line =~ site\ B\'s\ table:\ score\ [0-9]+,\ throttle\ \(feed:isp-a\ \+[0-9]+\) ]] &&
    ok "site B's table shapes the sender from site A's report: ${line#"${line%%site B*}"}" ||
    bad "site B's table does not shape the sender from feed:isp-a: '$line'"
  re="site B's data plane counted for 198\.18\.1\.10: level 1: ([0-9]+) SYN"
  line=$(grep -E "$re" <<<"$text")
  [[ $line =~ $re ]] && ((BASH_REMATCH[1] >= 1)) &&
    ok "site B's data plane shaped the sender's next SYN at level 1 (${BASH_REMATCH[1]})" ||
    bad "site B's data plane counted no shaped SYN of the sender: '$line'"
  re="next 3 messages of 10 KB through site B: median ([0-9]+\.[0-9]+) s, [1-3]/3 delivered \(.*reference lane now: ([0-9]+\.[0-9]) ms\)"
  line=$(grep -E "$re" <<<"$text")
  if [[ $line =~ $re ]]; then
    # The throttle level delays (sluice-dp) or drops (XDP) what the MTA sends: the messages take
    # longer than through the reference lane, at least ten times (their median).
    after_ms=$(awk -v s="${BASH_REMATCH[1]}" 'BEGIN { printf "%d", s * 1000 }')
    ref_ms=${BASH_REMATCH[2]%.*}
    ((after_ms > 10 * ref_ms && after_ms >= 100)) &&
      ok "the sender's next messages through site B were throttled (${BASH_REMATCH[1]} s, reference ${BASH_REMATCH[2]} ms)" ||
      bad "the sender's next messages were not slowed: '$line'"
  else
    bad "no delivery line for the sender's next messages: '$(grep -F 'through site B:' <<<"$text")'"
  fi
fi

demo_check_rig "$id"
[[ ! -e /var/run/dpdk/sl$id && ! -e /var/run/dpdk/sl${id}a ]] && ok "no DPDK runtime folder left" ||
  bad "/var/run/dpdk/sl$id or sl${id}a left"
[[ ! -e /sys/fs/bpf/sluice/sl$id && ! -e /sys/fs/bpf/sluice/sl${id}a ]] && ok "no XDP pins left" ||
  bad "/sys/fs/bpf/sluice/sl$id or sl${id}a left"
[[ ! -e $xdp_state/sl$id && ! -e $xdp_state/sl${id}a ]] && ok "no kept XDP table left" ||
  bad "$xdp_state/sl$id or sl${id}a left"
demo_check_tmp "$before"
procs=$(demo_settled leftover_procs)
if [[ -z $procs ]]; then
  ok "no nats-server, sluiced or data plane process of the demo left"
else
  # shellcheck disable=SC2086 # a list of pids
  ps -o pid,ppid,pgid,stat,etime,args -p ${procs// /,} >&2
  bad "processes left: $procs"
fi

demo_finish "$out" "$log"
