#!/usr/bin/env bash
# A heavy SYN sender -> its table entry acknowledged, against both real data planes
# (bench/control/heavy_hitter_latency.cc).
#
#   bench/control/run_heavy_bench.sh BUILD_DIR [RUNS [TABLE_ENTRIES [POLL_MS [SKIP]]]]
#
# SKIP runs are made first and not counted (default 0): a new daemon's first changes fill its
# history of tables, taking fresh memory for each.
#
# sluice-dp runs on net_null ports (the figure is the control path) with a control socket in a
# scratch folder; the XDP data plane is attached to two veth pairs in a network namespace made
# for it (bench/lib/veth_ports.sh). SLUICE_DP and SLUICE_XDP name other binaries than BUILD_DIR's (and SLUICE_BENCH another
# heavy_hitter_latency: the control plane runs in its process); PLANES="xdp" (or "dpdk") runs
# one data plane only. Both are removed at the end, on failure too. Root only.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/veth_ports.sh
. "$(dirname "$0")/../lib/veth_ports.sh"
build=${1:?usage: run_heavy_bench.sh BUILD_DIR [RUNS [TABLE_ENTRIES [POLL_MS [SKIP]]]]}
runs=${2:-20}
entries=${3:-100000}
poll_ms=${4:-1000}
skip=${5:-0}
bench=${SLUICE_BENCH:-$build/bench/control/heavy_hitter_latency}
planes=${PLANES:-dpdk xdp}
dp=${SLUICE_DP:-$build/dataplane/sluice-dp}
xdp=${SLUICE_XDP:-$build/bpf/sluice-xdp}
[ "$(id -u)" = 0 ] || { echo "run_heavy_bench: needs root" >&2; exit 77; }
tag=slheavy$$
work=$(mktemp -d /tmp/heavy_bench.XXXXXX)
dp_pid=""
cleanup() {
  [ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  if [ -e "/run/netns/$tag" ]; then
    nsenter --net="/run/netns/$tag" -- "$xdp" detach --name "$tag" >/dev/null 2>&1 || true
    ip netns del "$tag" 2>/dev/null || true
  fi
  rm -rf "$work" "/var/run/dpdk/$tag"
}
trap cleanup EXIT

if [[ " $planes " == *" dpdk "* ]]; then
  echo "== sluice-dp (net_null ports), $runs runs, $entries-entry list, poll every $poll_ms ms"
  "$dp" --no-huge --no-pci -m 512 -l 0 --vdev net_null0 --vdev net_null1 --file-prefix "$tag" \
    --log-level=3 -- --outside net_null0 --inside net_null1 --control "$work/dp.sock" \
    --idle-sleep-us 1000 >"$work/dp.log" 2>&1 &
  dp_pid=$!
  for _ in $(seq 100); do [ -S "$work/dp.sock" ] && break; sleep 0.1; done
  "$bench" --dataplane "dpdk:$work/dp.sock" --runs "$runs" --table-entries "$entries" \
    --poll-interval "$poll_ms" --skip "$skip"
  kill "$dp_pid" 2>/dev/null || true
  wait "$dp_pid" 2>/dev/null || true
  dp_pid=""
fi

[[ " $planes " == *" xdp "* ]] || exit 0
echo "== XDP (two veth pairs in namespace $tag), $runs runs, $entries-entry list"
ip netns add "$tag"
bench_veth_ports "$tag"
nsenter --net="/run/netns/$tag" -- "$xdp" attach --outside out0 --inside in0 --name "$tag" >/dev/null
nsenter --net="/run/netns/$tag" -- "$bench" --dataplane "xdp:$tag" --runs "$runs" \
  --table-entries "$entries" --poll-interval "$poll_ms" --skip "$skip"
