#!/usr/bin/env bash
# How much of the clean sender's SMTP slowdown on the rig is sluice-dp's, and how much any DPDK
# forwarder on the same virtual ports would cost: the clean sender's delivery-time ratio
# (through the bump / reference lane, bench/smtp/run_effect.sh) with dpdk-testpmd in io
# forwarding as the bump (the floor: rx_burst, tx_burst, nothing else) and with sluice-dp, runs
# interleaved (testpmd, sluice-dp, testpmd, ...) so the shared machine's load hits both alike.
# Prints every run, the median ratio of each and the median of the per-pair quotients
# (sluice-dp's ratio / testpmd's).
#
#   bench/smtp/forwarder_floor.sh BUILD_DIR [--runs N] [--messages N] [--sluice-lcores L]
#                                 [--sluice-args "ARGS"]
#     testpmd runs with -l 0,1: its main lcore (mostly asleep) on CPU 0, its forwarding lcore
#     on CPU 1. sluice-dp forwards on its main lcore:
#     --sluice-lcores L  its EAL -l (default 1, the CPU testpmd forwards on)
#     --sluice-args      its options after the ports (default "--idle-sleep-us 0": pure
#                        polling, as testpmd polls)
# testpmd and sluice-dp both poll a CPU of the 2-CPU rig; the senders and the server share the
# other. Needs root. Each run is one run_effect.sh with its own rig, removed on exit.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
[[ ${1:-} == -h || ${1:-} == --help ]] && { usage; exit 0; }
build=${1:?usage: $0 BUILD_DIR [--runs N] [--messages N] [--sluice-lcores L] [--sluice-args ARGS]}
shift
runs=5 messages=200 sluice_args="--idle-sleep-us 0" tp_lcores=0,1 dp_lcores=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --sluice-args) sluice_args=$2; shift 2 ;;
    --sluice-lcores) dp_lcores=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "forwarder_floor: unknown option $1" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "forwarder_floor: no build folder given or found" >&2; exit 2; }
[[ -x $build/dataplane/sluice-dp ]] || { echo "forwarder_floor: $build has no dataplane/sluice-dp" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "forwarder_floor: dpdk-testpmd not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

vdevs="--vdev net_af_packet0,iface=\$RIG_OUT_IF --vdev net_af_packet1,iface=\$RIG_IN_IF"
# --stats-period keeps testpmd forwarding without a terminal (it would otherwise wait for Enter
# on stdin and stop at its end of file). Its --file-prefix is the one rig_down removes.
declare -A cmd=(
  [testpmd]="exec dpdk-testpmd -l $tp_lcores --no-huge --no-pci -m 256 --file-prefix sl\$RIG_ID \
$vdevs --log-level=3 -- --forward-mode=io --auto-start --no-lsc-interrupt --stats-period 3600 \
--total-num-mbufs=8192 >/dev/null"
  [sluice-dp]="exec $build/dataplane/sluice-dp -l $dp_lcores --no-huge --no-pci -m 256 \
--file-prefix sl\$RIG_ID $vdevs -- --outside 0 --inside 1 --no-control $sluice_args \
--table \$SLUICE_TABLE --policy \$SLUICE_POLICY"
)

run_one() {  # NAME -> prints the clean ratio, or nothing on failure
  local out=$work/$1
  rm -rf "$out"
  timeout 600 "$root/bench/smtp/run_effect.sh" --senders clean --messages "$messages" \
    --out "$out" --sluicectl "$build/control/sluicectl/sluicectl" --label "$1" \
    --dataplane-cmd "${cmd[$1]}" >"$work/log" 2>&1 ||
    { echo "run failed ($1):" >&2; tail -n 5 "$work/log" >&2; return; }
  local r
  r=$(jq -r '.roles.clean.ratio // empty' "$out/smtp-effect.json" 2>/dev/null)
  echo "${r%x}"
}

shown() { if [[ -n $1 ]]; then echo "${1}x"; else echo failed; fi; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
for i in $(seq 1 "$runs"); do
  tp=$(run_one testpmd)
  dp=$(run_one sluice-dp)
  echo "run $i: clean ratio with testpmd $(shown "$tp"), with sluice-dp $(shown "$dp")"
  [[ -n $tp ]] && echo "$tp" >>"$work/tp"
  [[ -n $dp ]] && echo "$dp" >>"$work/dp"
  [[ -n $tp && -n $dp ]] && awk -v a="$dp" -v b="$tp" 'BEGIN {printf "%.3f\n", a / b}' >>"$work/q"
done
touch "$work/tp" "$work/dp" "$work/q"
echo "median clean ratio (bump / reference lane): testpmd io $(median <"$work/tp")x," \
  "sluice-dp $(median <"$work/dp")x; sluice-dp / testpmd per pair: $(median <"$work/q")x"
