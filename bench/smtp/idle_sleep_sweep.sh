#!/usr/bin/env bash
# The clean sender's SMTP delivery-time ratio (through sluice-dp / reference lane) for several
# sluice-dp settings, each measured RUNS times with the settings interleaved (all settings once,
# then again), so the shared machine's load changes hit every setting alike. Prints every run
# and the median ratio per setting. Each run is one bench/smtp/run_effect.sh (its own rig, torn
# down on exit); the results go to a temporary folder, not results/.
#
#   bench/smtp/idle_sleep_sweep.sh BUILD_DIR [--runs N] [--messages N] SETTING...
# SETTING = SLEEP_US[:LCORE[:SENDER_CPU[:SLACK_NS[:BUSY_US]]]]
#   SLEEP_US    sluice-dp --idle-sleep-us
#   LCORE       sluice-dp -l (default 0)
#   SENDER_CPU  pin the senders with taskset -c (default: not pinned; "-" = not pinned)
#   SLACK_NS    timer slack of sluice-dp's threads, written to /proc/self/timerslack_ns before
#               exec (default: the kernel's 50 us; "-" = default; sluice-dp itself sets 1 us
#               when SLEEP_US > 0)
#   BUSY_US     sluice-dp --busy-poll-us (default: sluice-dp's default)
# Example: bench/smtp/idle_sleep_sweep.sh build/rel --runs 5 0 50 50:0:0 5:0:-:-:0 5:0:-:-:500
# Needs root.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
  exit 0
fi
build=${1:?usage: $0 BUILD_DIR [--runs N] [--messages N] SETTING...}
shift
runs=5 messages=200 settings=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    *) settings+=("$1"); shift ;;
  esac
done
((${#settings[@]} > 0)) || { echo "idle_sleep_sweep: no SETTING given" >&2; exit 2; }
build=$(cd "$build" 2>/dev/null && pwd) || { echo "idle_sleep_sweep: no build folder" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

for i in $(seq 1 "$runs"); do
  for s in "${settings[@]}"; do
    IFS=: read -r sleep_us lcore cpu slack busy <<<"$s"
    lcore=${lcore:-0} cpu=${cpu:--} slack=${slack:--} busy=${busy:-}
    py=python3
    if [[ $cpu != - ]]; then
      py=$work/python-cpu$cpu
      printf '#!/bin/sh\nexec taskset -c %s python3 "$@"\n' "$cpu" >"$py" && chmod +x "$py"
    fi
    pre=""
    [[ $slack == - ]] || pre="echo $slack > /proc/\$\$/timerslack_ns; "
    extra=""
    [[ -z $busy ]] || extra="--busy-poll-us $busy"
    out=$work/run
    SLUICE_PYTHON=$py timeout 600 "$root/bench/smtp/run_effect.sh" --senders clean \
      --messages "$messages" --out "$out" --sluicectl "$build/control/sluicectl/sluicectl" \
      --dataplane-cmd "${pre}exec $build/dataplane/sluice-dp -l $lcore --no-huge --no-pci -m 256 \
--file-prefix sl\$RIG_ID --vdev net_af_packet0,iface=\$RIG_OUT_IF \
--vdev net_af_packet1,iface=\$RIG_IN_IF -- --outside 0 --inside 1 --idle-sleep-us $sleep_us $extra \
--table \$SLUICE_TABLE --policy \$SLUICE_POLICY" >"$work/log" 2>&1 ||
      { echo "run failed ($s):" >&2; tail -n 5 "$work/log" >&2; continue; }
    ratio=$(jq -r '.roles.clean.ratio // empty' "$out/smtp-effect.json" 2>/dev/null)
    ratio=${ratio%x}
    echo "run $i setting $s: clean ratio ${ratio}x"
    echo "$s $ratio" >>"$work/ratios"
  done
done
echo "medians (clean, through sluice-dp / reference lane):"
for s in "${settings[@]}"; do
  awk -v s="$s" '$1 == s {print $2}' "$work/ratios" | sort -g |
    awk -v s="$s" '{a[NR]=$1} END {if (NR) printf "  %-16s %sx (%d runs)\n", s, a[int((NR+1)/2)], NR}'
done
