#!/usr/bin/env bash
# sluiced's push latency against both real data planes (bench/control/sluiced_push_latency.cc):
# a 10k-entry list change -> delta acknowledged, and a 1M-entry full resync.
#
#   bench/control/run_sluiced_bench.sh BUILD_DIR [RUNS [FULL_RUNS]]
#
# sluice-dp runs on net_null ports (no traffic needed: the figure is the control path) with a
# control socket in a scratch folder; the XDP data plane is attached to two veth pairs in a
# network namespace made for it (bench/lib/veth_ports.sh) (entered with nsenter: `ip netns exec` remounts /sys and hides the BPF
# pins). Both are removed at the end, on failure too. Root only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/veth_ports.sh
. "$(dirname "$0")/../lib/veth_ports.sh"
build=${1:?usage: run_sluiced_bench.sh BUILD_DIR [RUNS [FULL_RUNS]]}
runs=${2:-20}
full_runs=${3:-10}
bench=$build/bench/control/sluiced_push_latency
dp=$build/dataplane/sluice-dp
xdp=$build/bpf/sluice-xdp
[ "$(id -u)" = 0 ] || { echo "run_sluiced_bench: needs root" >&2; exit 77; }
tag=slbench$$
work=$(mktemp -d /tmp/sluiced_bench.XXXXXX)
dp_pid=""
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  nsenter --net="/run/netns/$tag" -- "$xdp" detach --name "$tag" >/dev/null 2>&1 || true
  ip netns del "$tag" 2>/dev/null || true
  rm -rf "$work" "/var/run/dpdk/$tag"
}
trap cleanup EXIT

echo "== sluice-dp (net_null ports), $runs runs, $full_runs full resyncs"
"$dp" --no-huge --no-pci -m 512 -l 0 --vdev net_null0 --vdev net_null1 --file-prefix "$tag" \
  --log-level=3 -- --outside net_null0 --inside net_null1 --control "$work/dp.sock" \
  --idle-sleep-us 1000 >"$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 100); do [ -S "$work/dp.sock" ] && break; sleep 0.1; done
"$bench" --dataplane "dpdk:$work/dp.sock" --runs "$runs" --full-runs "$full_runs"
kill "$dp_pid" 2>/dev/null || true
wait "$dp_pid" 2>/dev/null || true
dp_pid=""

echo "== XDP (two veth pairs in namespace $tag), $runs runs, $full_runs full resyncs"
ip netns add "$tag"
bench_veth_ports "$tag"
nsenter --net="/run/netns/$tag" -- "$xdp" attach --outside out0 --inside in0 --name "$tag" >/dev/null
nsenter --net="/run/netns/$tag" -- "$bench" --dataplane "xdp:$tag" --runs "$runs" --full-runs "$full_runs" \
  --xdp-full reattach,cold --xdp-ports out0,in0
