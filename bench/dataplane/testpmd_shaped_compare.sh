#!/usr/bin/env bash
# Packet rate of an established SHAPED flow through sluice-dp against dpdk-testpmd in io
# forwarding, on the same virtual ports, same burst (32), one forwarding lcore (lcore 1) each.
#
# Ports: two net_pcap devices replaying (infinite_rx=1) the captures of one SMTP connection
# written by shaped_flow_pcap.py: outside = the client's SYN to port 25 then client->server
# segments, inside = the server's SYN-ACK then server->client segments. Neither device has a TX
# stream, so net_pcap drops what is sent (its tx_drop mode, the same cost as net_null's TX).
# sluice-dp gets a table listing the client (score 3) and a policy whose level 1 clamps the
# window (1024) and the MSS (536) with no delay: every server->client packet is rewritten,
# none is held; client->server packets are looked up and passed (the core never rewrites them).
#
# Each set runs three programs, one after the other, in an order rotated from set to set (so a
# load change on the shared machine hits each alike): dpdk-testpmd in io forwarding (rx_burst,
# tx_burst, never reads a frame), dpdk-testpmd in 5tswap forwarding (reads and swaps the MAC,
# IP addresses and ports of every frame: a forwarder that reads headers as sluice-dp does), and
# sluice-dp, SECONDS each; each run's rate is the median of its 1-second samples. A set's ratios
# are testpmd's rate over sluice-dp's (sluice-dp's cycles per packet over testpmd's, since each
# uses one lcore fully). Sets go on until both ratios' medians have a 95% confidence interval
# within +-CI_PCT % (rate_stats.py: order statistics, no normality assumed; at least 6 sets) or
# MAX_SETS sets have run, and the result says which. Goals (issue 17): shaped flow <= 1.3x io;
# non-SMTP <= 1.1x io and <= 1.0x 5tswap. The machine, the build and the lcore placement are
# printed first.
#
# With AB_BUILD=DIR in the environment, a fourth program joins every set: DIR's sluice-dp (another
# build of sluice, e.g. an older revision, with its own sluicectl building its own table) on the
# same captures and policy. The result adds the paired ratio BUILD_DIR's cycles per packet over
# DIR's (DIR's rate over BUILD_DIR's, set by set: above 1 means BUILD_DIR is slower) with its
# interval, and the stopping rule then waits for that interval too.
#
# With FLOWS > 1 the captures hold that many connections of the client, their segments
# interleaved (shaped_flow_pcap.py --flows), 512/FLOWS segments each (at least 32): consecutive
# packets belong to different flows. net_pcap keeps the whole capture in mbufs, so FLOWS stays
# in the thousands (every program gets pools sized for it).
#
# With PORT other than 25 (e.g. 443) the same connections are non-SMTP TCP traffic: sluice-dp
# parses every frame to its TCP port and passes it (the non-SMTP goal, on real TCP frames rather
# than net_null's empty ones).
#
# With LCORES=2 in the environment, both programs forward with two lcores on two queue pairs of
# each port (issue 17 item 3): every net_pcap port replays its capture on two RX queues, one per
# lcore (net_pcap has no RSS, so each queue carries its own copy of the connection and each
# lcore's flow table holds it; both directions of a copy meet on the same lcore, as symmetric RSS
# arranges on a real NIC). testpmd runs `--nb-cores=2 --rxq=2 --txq=2` with its main lcore
# sharing CPU 0 with forwarding lcore 1 (it only prints statistics); sluice-dp runs `-l 0,1`
# (its main lcore forwards too). The rates are both ports' totals over both lcores.
#
# The segments carry timestamps, as Linux sends every segment (and the SYNs Linux's options);
# PCAP_ARGS=--no-timestamps in the environment leaves them out, as the captures were before
# 2026-11-24 (results/dataplane-rate.md quotes both).
#
#   bench/dataplane/testpmd_shaped_compare.sh BUILD_DIR [SECONDS] [MIN_SETS] [FLOWS] [PORT]
#   defaults: 6 s, 6 sets (at least 6), 1 flow, port 25; in the environment MAX_SETS (default
#   15) and CI_PCT (default 3)
# BUILD_DIR (and AB_BUILD) holds dataplane/sluice-dp and control/sluicectl/sluicectl (a Release
# build).
# Needs root (EAL). Unique --file-prefix values; runtime dirs and temp files removed on exit.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [SECONDS] [MIN_SETS] [FLOWS] [PORT]}
secs=${2:-6}
min_sets=${3:-6}
flows=${4:-1}
port=${5:-25}
max_sets=${MAX_SETS:-15} ci_pct=${CI_PCT:-3} lcores=${LCORES:-1}
for v in secs min_sets flows port max_sets; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1)); then
    echo "$0: ${v^^} must be a positive whole number" >&2
    exit 2
  fi
done
[[ $lcores == 1 || $lcores == 2 ]] || { echo "$0: LCORES must be 1 or 2" >&2; exit 2; }
((min_sets >= 6)) || { echo "$0: MIN_SETS below 6 gives no 95% interval; use 6 or more" >&2; exit 2; }
((max_sets >= min_sets)) || max_sets=$min_sets
[[ $ci_pct =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$0: CI_PCT must be a number" >&2; exit 2; }
segments=$((512 / flows > 32 ? 512 / flows : 32))
frames=$((flows * segments))
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=testpmd_lib.sh
. "$root/bench/dataplane/testpmd_lib.sh"
ab_build=${AB_BUILD:-}
if [[ -n $ab_build ]]; then
  require_build "$ab_build"
  dp_b=$dp ctl_b=$ctl
fi
require_build "$build"
stats_py=$root/bench/dataplane/rate_stats.py
tag=sluice_scmp_$$
work=$(mktemp -d)
sock=$work/dp.sock
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  rm -rf "/var/run/dpdk/${tag}_tp" "/var/run/dpdk/${tag}_dp" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -ra pcap_args <<<"${PCAP_ARGS:-}"
python3 "$root/bench/dataplane/shaped_flow_pcap.py" "$work/outside.pcap" "$work/inside.pcap" \
  --client 198.18.1.20 --segments "$segments" --flows "$flows" \
  --server-port "$port" "${pcap_args[@]}"
"$ctl" table build --sources "$root/scripts/demo-data/sources.ini" --output "$work/table" >/dev/null
if [[ -n $ab_build ]]; then
  "$ctl_b" table build --sources "$root/scripts/demo-data/sources.ini" --output "$work/table_b" >/dev/null
fi
cat >"$work/policy.ini" <<'EOF'
# Clamp only: every server->client packet of the flow is rewritten, none is delayed.
[smtp]
ports = 25

[level.1]
name = clamp
threshold = 3
window_clamp = 1024
mss_clamp = 536
EOF
# One rx_pcap per queue: net_pcap opens as many RX queues (and as many dropping TX queues).
rxq_out=$(printf "rx_pcap=$work/outside.pcap,%.0s" $(seq "$lcores"))
rxq_in=$(printf "rx_pcap=$work/inside.pcap,%.0s" $(seq "$lcores"))
vdevs=(--vdev "net_pcap0,${rxq_out}infinite_rx=1"
  --vdev "net_pcap1,${rxq_in}infinite_rx=1")
if ((lcores == 1)); then
  tp_lcores=(-l '0,1') tp_fwd=() dp_lcores=(-l 1)
  placement="testpmd main lcore 0 on CPU 0, forwarding lcore 1 on CPU 1; sluice-dp its one lcore on CPU 1"
else
  tp_lcores=(--lcores '0@0,1@0,2@1') tp_fwd=(--nb-cores=2 --rxq=2 --txq=2) dp_lcores=(-l '0,1')
  placement="testpmd main lcore 0 and forwarding lcore 1 on CPU 0, forwarding lcore 2 on CPU 1; sluice-dp lcores 0 and 1 (both forwarding, queues 0 and 1) on CPUs 0 and 1"
fi

# testpmd MODE: lcore 0 main (stats), lcore 1 forwards; per-second Rx-pps of both ports, summed.
run_testpmd() {
  testpmd_rate Rx-pps "$secs" "$work/testpmd.log" --no-huge --no-pci -m 512 "${tp_lcores[@]}" \
    "${vdevs[@]}" --file-prefix "${tag}_tp" --log-level=3 -- --forward-mode="$1" --burst=32 \
    --no-lsc-interrupt --auto-start --total-num-mbufs=$((8192 + 2 * lcores * frames)) "${tp_fwd[@]}"
  rm -rf "/var/run/dpdk/${tag}_tp"
}

# run_sluice DP CTL TABLE: sluice-dp on its lcore(s) (dp_lcores), rate from its own counters once a second.
# Also checks that the flow is shaped: level 1's rewritten counter must grow with the packets.
run_sluice() {
  local dp=$1 ctl=$2 table=$3
  stats() { "$ctl" --dataplane "dpdk:$sock" dataplane stats --json; }
  "$dp" --no-huge --no-pci -m 512 "${dp_lcores[@]}" "${vdevs[@]}" --file-prefix "${tag}_dp" --log-level=3 \
    -- --outside net_pcap0 --inside net_pcap1 --control "$sock" --burst 32 \
    --pacer-size $((1024 + 2 * frames)) --flow-table-size $((4096 + 2 * flows)) --table "$table" --policy "$work/policy.ini" \
    >"$work/dp.log" 2>&1 &
  pid=$!
  sleep 2
  local first cur prev samples=()
  first=$(stats)
  prev=$(jq '.outside.rx + .inside.rx' <<<"$first")
  for _ in $(seq 3 "$secs"); do
    sleep 1
    cur=$(stats | jq '.outside.rx + .inside.rx')
    samples+=($((cur - prev)))
    prev=$cur
  done
  stats | jq -r --argjson f "$first" '"  sluice-dp checks: rx \(.outside.rx + .inside.rx - $f.outside.rx - $f.inside.rx), level-1 rewritten \(.levels[1].rewritten - $f.levels[1].rewritten), delayed \(.levels[1].delayed), flows \(.levels[1].flows)"' >&2
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -f "$sock"
  printf '%s\n' "${samples[@]}" | median
}

machine_facts "$build"
echo "lcores: $placement"
[[ -z $ab_build ]] || echo "A/B: sluice-dp of $build against sluice-dp of $ab_build"
echo "traffic: $flows flow(s), port $port, $frames frames per port; $secs s per run"
# ratio A B: A / B to 4 decimals ("inf" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.4f", a / b; else print "inf"}'; }
io=() swap=() sls=() r_io=() r_swap=() sls_b=() r_ab=()
progs=(io 5tswap sluice)
[[ -z $ab_build ]] || progs+=(sluice_b)
np=${#progs[@]}
verdict="stopped at MAX_SETS=$max_sets before the interval was within +-${ci_pct}%"
for ((set = 1; set <= max_sets; set++)); do
  for ((j = 0; j < np; j++)); do
    case ${progs[(set + j) % np]} in
      io) tio=$(run_testpmd io) ;;
      5tswap) tsw=$(run_testpmd 5tswap) ;;
      sluice) sl=$(run_sluice "$dp" "$ctl" "$work/table") ;;
      sluice_b) slb=$(run_sluice "$dp_b" "$ctl_b" "$work/table_b") ;;
    esac
  done
  a=$(ratio "$tio" "$sl") b=$(ratio "$tsw" "$sl")
  printf 'set %d: testpmd io %s, testpmd 5tswap %s, sluice-dp %s packets/s; ratios %sx (io), %sx (5tswap)\n' \
    "$set" "$tio" "$tsw" "$sl" "$a" "$b"
  io+=("$tio") swap+=("$tsw") sls+=("$sl") r_io+=("$a") r_swap+=("$b")
  ab_ok=true
  if [[ -n $ab_build ]]; then
    c=$(ratio "$slb" "$sl")
    printf 'set %d: sluice-dp of AB_BUILD %s packets/s; A/B %sx (cycles per packet, BUILD_DIR over AB_BUILD)\n' \
      "$set" "$slb" "$c"
    sls_b+=("$slb") r_ab+=("$c")
    "$stats_py" --check "$ci_pct" "${r_ab[@]}" >/dev/null || ab_ok=false
  fi
  if ((set >= min_sets)) && $ab_ok && "$stats_py" --check "$ci_pct" "${r_io[@]}" >/dev/null &&
    "$stats_py" --check "$ci_pct" "${r_swap[@]}" >/dev/null; then
    verdict="both intervals within +-${ci_pct}% of their medians after $set sets"
    break
  fi
done
if ((port == 25)); then what="shaped flow" goal="<= 1.3x io"; else what="non-SMTP TCP (port $port)" goal="<= 1.1x io, <= 1.0x 5tswap"; fi
# ci_line LABEL VALUES...: "LABEL: median M (95% CI LO-HI, N sets)"
ci_line() {
  local label=$1 m lo hi n
  shift
  read -r m lo hi n < <("$stats_py" "$@")
  echo "$label: median $m (95% CI $lo - $hi, $n sets)"
}
mpps() { awk 'BEGIN {for (i = 1; i < ARGC; i++) printf "%.3f ", ARGV[i] / 1e6}' "$@"; }
echo "== $what, $flows flow(s): $verdict"
# shellcheck disable=SC2046 # one word per rate
{
  ci_line "testpmd io, Mpackets/s" $(mpps "${io[@]}")
  ci_line "testpmd 5tswap, Mpackets/s" $(mpps "${swap[@]}")
  ci_line "sluice-dp, Mpackets/s" $(mpps "${sls[@]}")
}
ci_line "sluice-dp / testpmd io (cycles per packet)" "${r_io[@]}"
ci_line "sluice-dp / testpmd 5tswap" "${r_swap[@]}"
if [[ -n $ab_build ]]; then
  # shellcheck disable=SC2046 # one word per rate
  ci_line "sluice-dp of AB_BUILD, Mpackets/s" $(mpps "${sls_b[@]}")
  ci_line "A/B: sluice-dp of BUILD_DIR / of AB_BUILD (cycles per packet)" "${r_ab[@]}"
fi
echo "goal: $goal"
