#!/usr/bin/env bash
# Clean mail at an Internet-like round-trip time: what a data plane in the bump costs a clean
# sender whose path has --rtt-ms of delay (sluice-delayline, bench/delayline, on the sender's
# side of the rig's switch: both lanes see the same delay). Without a path delay the rig's
# sessions last half a millisecond and one af_packet crossing is a large part of that; on the
# Internet a session is several round trips of tens of milliseconds.
#
# Every message through the bump is paired with one through the reference lane (a Linux bridge
# beside the bump), in alternating order (smtp_measure.py --reference); a run's ratio is the
# bump lane's median delivery time over the reference lane's. Cases (--cases):
#   none   a Linux bridge in the bump too: the ratio the measurement itself gives (its noise)
#   dp     sluice-dp, the demo table and policy (scripts/demo-data/policy.ini)
#   xdp    the XDP data plane, the demo table and scripts/demo-data/policy-xdp.ini
# Every round runs each case once, in a shuffled order; each case measures every --senders role
# (default: clean, unlisted, and allowed, allowlisted), --messages pairs each.
#
#   bench/smtp/run_rtt.sh [--rtt-ms MS] [--rounds N] [--cases "..."] [--senders "..."]
#     [--messages N] [--size BYTES] [--timeout S] [--build DIR] [--out DIR]
#   defaults: 20 ms, 5 rounds, "none dp xdp", "clean allowed", 40 pairs, 10240 bytes, 15 s,
#   build/release (sluice-dp, sluice-xdp, sluicectl, sluice-delayline), results/
#
# Writes OUT/smtp-rtt.md, OUT/smtp-rtt.json and the raw results under OUT/smtp-rtt/. Needs
# root. Every step is bounded; the rig, its delay lines and the data planes are removed on exit
# and on Ctrl-C.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"
py=${SLUICE_PYTHON:-python3}

all_cases="none dp xdp"
rtt_ms=20 rounds=5 cases=$all_cases senders="clean allowed" messages=40 size=10240 timeout=15
build=$root/build/release out=$root/results
while [[ $# -gt 0 ]]; do
  case $1 in
    --rtt-ms) rtt_ms=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --senders) senders=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "run_rtt: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
for v in rtt_ms rounds messages size timeout; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1)); then
    echo "run_rtt: --${v//_/-} must be a positive whole number" >&2
    exit 2
  fi
done
((rtt_ms <= 2000)) || { echo "run_rtt: --rtt-ms is at most 2000" >&2; exit 2; }
for c in $cases; do
  [[ " $all_cases " == *" $c "* ]] || { echo "run_rtt: unknown case '$c'" >&2; exit 2; }
done
for s in $senders; do
  [[ $s == clean || $s == allowed ]] || { echo "run_rtt: sender '$s' is not clean or allowed" >&2; exit 2; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "run_rtt: needs root (network namespaces); try: sudo $0 $*" >&2
  exit 77
fi
RIG_DP_BIN=$build/dataplane/sluice-dp RIG_XDP_BIN=$build/bpf/sluice-xdp
RIG_CTL_BIN=$build/control/sluicectl/sluicectl line_bin=$build/bench/delayline/sluice-delayline
for b in "$RIG_DP_BIN" "$RIG_XDP_BIN" "$RIG_CTL_BIN" "$line_bin"; do
  [[ -x $b ]] || { echo "run_rtt: $b missing (build it, or --build DIR)" >&2; exit 1; }
done

rig_init "t$$"
raw=$out/smtp-rtt
mkdir -p "$raw" && rm -f "$raw"/*.json
work=$(mktemp -d /tmp/sluice_rtt.XXXXXX)
finish() {
  rig_plane_stop
  rig_down
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM

"$RIG_CTL_BIN" table build --sources "$root/scripts/demo-data/sources.ini" --output "$work/table" >/dev/null ||
  exit 1
export SLUICE_TABLE=$work/table

rig_up --bare || exit 1
rig_sink_start || exit 1
for s in $senders; do
  rig_delay "$s" $((rtt_ms * 500)) "$line_bin" || exit 1
done
# Pass programs on the far ends of out0 and in0 for the XDP data plane, attached once for every
# case (native XDP changes how a veth delivers; no case should differ from another by that).
rig_exec switch "$RIG_XDP_BIN" peer-pass --dev to-bump >/dev/null &&
  rig_exec server "$RIG_XDP_BIN" peer-pass --dev eth0 >/dev/null || exit 1

policy_of() { # CASE
  case $1 in
    xdp) echo "$root/scripts/demo-data/policy-xdp.ini" ;;
    *) echo "$root/scripts/demo-data/policy.ini" ;;
  esac
}

run_case() { # ROUND CASE
  local r=$1 c=$2 s
  echo "== round $r: $c"
  if ! rig_plane_start "$c" "$(policy_of "$c")"; then
    echo "run_rtt: $c: the bump did not start:" >&2
    tail -n 20 "$RIG_STATE/dataplane.log" >&2 2>/dev/null
    return 1
  fi
  for s in $senders; do
    rig_wait_reach "$s" || { echo "run_rtt: $c: $s cannot reach the server" >&2; return 1; }
    rig_exec "$s" "$py" "$root/bench/smtp/smtp_measure.py" send --server "$RIG_SERVER4" \
      --reference "$RIG_REF4" --tag "$s" --address "${RIG_ADDR4[$s]}" --count "$messages" \
      --size "$size" --timeout "$timeout" --deadline $((messages * timeout)) --warmup 1 --quiet \
      --json "$raw/r$r-$c-$s.json" || return 1
  done
  rig_plane_stop "$c"
}

for ((r = 1; r <= rounds; r++)); do
  read -ra order <<<"$cases"
  for c in $(printf '%s\n' "${order[@]}" | shuf); do
    run_case "$r" "$c" || exit 1
  done
done
for s in $senders; do
  rig_delay_stop "$s"
  cp "$RIG_STATE/delay-$s.json" "$raw/delay-$s.json"
done

cat >"$raw/setup.json" <<EOF
{"rtt_ms": $rtt_ms, "rounds": $rounds, "messages": $messages, "size": $size,
 "timeout": $timeout, "cases": "$cases", "senders": "$senders",
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)",
 "cpus": $(nproc), "kernel": "$(uname -r)", "date": "$(date -u +%FT%TZ)",
 "build": "$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)",
 "commit": "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"}
EOF
"$py" "$root/bench/smtp/rtt_report.py" "$raw" --out-md "$out/smtp-rtt.md" \
  --out-json "$out/smtp-rtt.json"
