#!/usr/bin/env bash
# sluiced's Postfix policy service under load (issue 14: >= 20k requests/s on one core, p99 <
# 1 ms): starts sluiced (no data plane) with a 65536-entry list and a four-level policy, its
# policy service on a unix socket, pinned to one CPU, and runs policy_load pinned to another.
#   bench/control/run_policy_bench.sh BUILD_DIR [policy_load options...]
# e.g. bench/control/run_policy_bench.sh build/release --connections 16 --seconds 5 --sets 5
# SLUICED_CPU (default 0) and LOAD_CPU (default 1) choose the CPUs.
set -euo pipefail
build=$(cd "${1:?BUILD_DIR}" && pwd)
shift
sluiced=$build/control/sluiced/sluiced
load=$build/bench/control/policy_load
[[ -x $sluiced && -x $load ]] || { echo "build sluiced and policy_load in $build first" >&2; exit 1; }
work=$(mktemp -d /tmp/sluice_policy_bench.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# Half of the addresses policy_load uses are listed (198.18.0.0 .. 198.18.255.255).
python3 -c '
for i in range(65536): print("198.18.%d.%d" % (i >> 8, i & 255))' >"$work/list.txt"
printf '[bench]\ntype = list\npath = %s/list.txt\nweight = 4\n' "$work" >"$work/sources.ini"
printf '[smtp]\nports = 25\n[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\n' >"$work/policy.ini"
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
listen = unix:$work/policy.sock
socket_mode = 0600
recent = 64
EOT
taskset -c "${SLUICED_CPU:-0}" "$sluiced" --config "$work/sluiced.ini" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 400); do [[ -S $work/policy.sock ]] && break; sleep 0.05; done
[[ -S $work/policy.sock ]] || { cat "$work/log"; exit 1; }
echo "sluiced pid $pid on CPU ${SLUICED_CPU:-0}; policy_load on CPU ${LOAD_CPU:-1}"
taskset -c "${LOAD_CPU:-1}" "$load" --connect "unix:$work/policy.sock" "$@"
