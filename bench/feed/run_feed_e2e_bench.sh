#!/usr/bin/env bash
# Functions called through traps and wait_for look unreachable to shellcheck:
# shellcheck disable=SC2317
# The feed end to end, measured (bench/feed/feed_e2e_latency.py): `report` at site A -> the entry
# in the table site B's data plane runs, over a real nats-server -js on loopback, a single node
# and a three-node cluster (the stream with 3 replicas).
#
#   bench/feed/run_feed_e2e_bench.sh BUILD_DIR [--runs N] [--nodes "1 3"] [--dataplane dpdk|xdp]
#
# Everything runs in a network namespace made for the run (nsenter, never `ip netns exec`, which
# hides the BPF pins): the nats-server node(s) on its loopback (scripts/feed/feed-lib.sh: free
# ports, a user per participant allowed to publish on its own subject only, the stream), site A
# (sluiced with [feed] as isp-a, no data plane), site B (sluiced with [feed] as isp-b, no sources,
# its data plane) and the data plane on two veth pairs (bench/lib/veth_ports.sh): sluice-dp on af_packet ports (no traffic: the
# figure is the control path), or the XDP programs. B trusts A with weight 1, so every reported
# address becomes one entry. "Effective": sluice-dp's own table version changed (asked on its
# control socket); for XDP, whose maps sluiced B writes itself, the table the instance keeps
# after a map update changed (feed_e2e_latency.py). Removed at the end, on failure too. Root only (exit 77 otherwise).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/feed/feed-lib.sh
. "$root/scripts/feed/feed-lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/veth_ports.sh
. "$here/../lib/veth_ports.sh"
# wait_for SECONDS CMD...: the tests' bounded poll (every 0.1 s).
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/e2e_lib.sh
. "$root/tests/e2e/e2e_lib.sh"

build=${1:-}
[[ -n $build && -d $build ]] || {
  echo "usage: run_feed_e2e_bench.sh BUILD_DIR [--runs N] [--nodes \"1 3\"] [--dataplane dpdk|xdp]" >&2
  exit 2
}
shift
runs=50 nodes_list="1 3" kind=dpdk
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --nodes) nodes_list=$2; shift 2 ;;
    --dataplane) kind=$2; shift 2 ;;
    *) echo "run_feed_e2e_bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $kind == dpdk || $kind == xdp ]] || { echo "run_feed_e2e_bench: --dataplane dpdk or xdp" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run_feed_e2e_bench: needs root" >&2; exit 77; }
sluiced=$build/control/sluiced/sluiced
sluicectl=$build/control/sluicectl/sluicectl
dp=$build/dataplane/sluice-dp
xdp=$build/bpf/sluice-xdp
for b in "$sluiced" "$sluicectl" "$dp" "$xdp"; do
  [[ -x $b ]] || { echo "run_feed_e2e_bench: no $b (build it first)" >&2; exit 2; }
done
feed_find_nats_server >/dev/null || { echo "run_feed_e2e_bench: no nats-server" >&2; exit 77; }

tag=slfb$$
work=$(mktemp -d /tmp/feed_e2e_bench.XXXXXX)
FEED_NETNS=$tag
in_ns() { nsenter --net="/run/netns/$tag" -- "$@"; }
# bg NAME CMD...: in the namespace, in its own process group; pid in $work/NAME.pid.
bg() {
  local name=$1
  shift
  setsid nsenter --net="/run/netns/$tag" -- "$@" >"$work/$name.log" 2>&1 </dev/null &
  echo $! >"$work/$name.pid"
}
stop() { feed_nats_stop_pid "$work/$1.pid" TERM; }
teardown() { # one configuration's processes
  stop site-a
  stop site-b
  stop dataplane
  in_ns "$xdp" detach --name "$tag" >/dev/null 2>&1 || true
  feed_nats_down "$work/nats"
}
cleanup() {
  teardown
  local pids
  pids=$(ip netns pids "$tag" 2>/dev/null)
  # shellcheck disable=SC2086 # a list of pids
  [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
  ip netns del "$tag" 2>/dev/null
  # sluice-xdp detach leaves the table it kept for the instance.
  rm -rf "$work" "/var/run/dpdk/$tag" "/run/sluice/xdp/$tag"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$tag" && ip -n "$tag" link set lo up &&
  bench_veth_ports "$tag" || exit 1

js() { "${FEED_PYTHON}" -c "import json, sys; j = json.load(sys.stdin); print($1)" 2>/dev/null; }
ready() {
  [[ $(in_ns "$sluicectl" --daemon "$work/b/sluiced.sock" status --json 2>/dev/null |
    js 'j["dataplanes"][0]["in_sync"]') == True ]] &&
    [[ $(in_ns "$sluicectl" --daemon "$work/a/sluiced.sock" feed status --json 2>/dev/null |
      js 'j["connected"]') == True ]] &&
    [[ $(in_ns "$sluicectl" --daemon "$work/b/sluiced.sock" feed status --json 2>/dev/null |
      js 'j["connected"]') == True ]]
}

echo "== feed end to end: report at A -> B's $kind data plane; $runs runs per configuration"
echo "   sluiced: $sluiced ($(grep -m1 CMAKE_BUILD_TYPE: "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2) build)"
rc=0
for nodes in $nodes_list; do
  rm -rf "$work/nats" "$work/a" "$work/b"
  mkdir -p "$work/a/state" "$work/b/state"
  feed_nats_up "$work/nats" "$nodes" isp-a isp-b || { rc=1; break; }
  if ! { pub_a=$(feed_keygen "$work/a/feed.key") && pub_b=$(feed_keygen "$work/b/feed.key"); }; then
    rc=1
    break
  fi
  printf '[isp-b]\nkey = %s\n' "$pub_b" >"$work/a/trust.ini"
  printf '[isp-a]\nkey = %s\nweight = 1\n' "$pub_a" >"$work/b/trust.ini"
  if [[ $kind == dpdk ]]; then
    bg dataplane "$dp" -l 0 --no-huge --no-pci -m 256 --file-prefix "$tag" --log-level=3 \
      --vdev net_af_packet0,iface=out0 --vdev net_af_packet1,iface=in0 -- --outside 0 --inside 1 \
      --idle-sleep-us 100 --control "$work/dp.sock"
    spec=dpdk:$work/dp.sock
    wait_for 20 test -S "$work/dp.sock" || { echo "sluice-dp did not start" >&2; tail "$work/dataplane.log" >&2; rc=1; break; }
  else
    in_ns "$xdp" attach --outside out0 --inside in0 --name "$tag" >/dev/null || { rc=1; break; }
    spec=xdp:$tag
  fi
  for site in a b; do
    participant=isp-$site
    {
      printf '[sluiced]\nstate_dir = %s\nsocket = %s\nsocket_mode = 0600\n' "$work/$site/state" \
        "$work/$site/sluiced.sock"
      [[ $site == b ]] && printf 'dataplane = %s\n' "$spec"
      printf '[feed]\nservers = %s\ncredentials = %s\nparticipant = %s\nkey = %s\ntrust = %s\n' \
        "$(<"$work/nats/urls")" "$work/nats/$participant.creds" "$participant" \
        "$work/$site/feed.key" "$work/$site/trust.ini"
      printf '[metrics]\nenabled = false\n[decision_log]\nenabled = false\n'
    } >"$work/$site/sluiced.ini"
    bg "site-$site" "$sluiced" --config "$work/$site/sluiced.ini"
  done
  if ! wait_for 30 ready; then
    echo "the sites did not come up; logs:" >&2
    tail -n 10 "$work"/site-*.log >&2
    rc=1
    break
  fi
  in_ns "$FEED_PYTHON" "$here/feed_e2e_latency.py" --site-a "$work/a/sluiced.sock" \
    --dataplane "$spec" --runs "$runs" \
    --label "$nodes node$( ((nodes > 1)) && echo "s, R$nodes stream")" || rc=1
  teardown
done
exit $rc
