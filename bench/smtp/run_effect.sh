#!/usr/bin/env bash
# Effect of a data plane on real SMTP: the delivery time of a 10 KB message from each sender of
# the rig, without the shaper and with it, side by side in one run: every message through the
# bump (the data plane) is paired with one through the rig's reference lane (a Linux bridge).
# Writes OUT/smtp-effect.md (markdown table), OUT/smtp-effect.png (plot), OUT/smtp-effect.json
# and the raw per-sender results under OUT/smtp-effect/.
#
#   bench/smtp/run_effect.sh [options]
#     --dataplane-cmd CMD   start the data plane; run by bash inside the bump namespace with
#                           RIG_OUT_IF=out0, RIG_IN_IF=in0, RIG_ID, SLUICE_TABLE, SLUICE_POLICY
#                           (and the other RIG_* variables) in its environment. It may keep
#                           running (killed at the end) or exit once attached (then give
#                           --dataplane-stop-cmd). Default: none, a Linux bridge in the bump
#                           too (a noise measurement, said so in the results).
#     --dataplane-stop-cmd CMD   run (in the bump namespace) after the measurements
#     --table FILE          compiled reputation table (default: built from scripts/demo-data)
#     --sluicectl BIN       builds the table and looks up scores (default: build/demo's)
#     --label TEXT          names the data plane in the results (default: the command)
#     --policy FILE         policy (default scripts/demo-data/policy.ini)
#     --senders "R..."      roles to measure (default: clean allowed throttled tarpitted blocked)
#     --messages N          message pairs per sender (default 100)
#     --size BYTES          body size (default 10240)
#     --timeout S           per message (default 15); --deadline S per sender (default 60)
#     --out DIR             results folder (default results/)
#
# Example (DPDK; the binary built in build/demo):
#   bench/smtp/run_effect.sh --dataplane-cmd 'exec build/demo/dataplane/sluice-dp -l 0 --no-huge --no-pci -m 256 \
#     --file-prefix sl$RIG_ID --vdev net_af_packet0,iface=out0 --vdev net_af_packet1,iface=in0 \
#     -- --outside 0 --inside 1 --idle-sleep-us 5 --table $SLUICE_TABLE --policy $SLUICE_POLICY'
# Needs root. Every step is bounded; the rig is removed on exit and on Ctrl-C.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"
py=${SLUICE_PYTHON:-python3}
plot_py=$(rig_plot_python "$py")

dp_cmd="" dp_stop="" table="" sluicectl="" label="" policy=$root/scripts/demo-data/policy.ini
senders="clean allowed throttled tarpitted blocked"
messages=100 size=10240 timeout=15 deadline=60 out=$root/results
while [[ $# -gt 0 ]]; do
  case $1 in
    --dataplane-cmd) dp_cmd=$2; shift 2 ;;
    --dataplane-stop-cmd) dp_stop=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --sluicectl) sluicectl=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --policy) policy=$2; shift 2 ;;
    --senders) senders=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --deadline) deadline=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "run_effect: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "run_effect: needs root (network namespaces); try: sudo $0 $*" >&2
  exit 77
fi

rig_init "e$$"
raw=$out/smtp-effect
mkdir -p "$raw" && rm -f "$raw"/*.json
work=$(mktemp -d)
trap 'rig_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# A compiled table for the data plane and for the scores column (skipped without sluicectl).
[[ -n $sluicectl ]] ||
  sluicectl=$(find "$root/build/demo" -name sluicectl -type f -perm -u+x 2>/dev/null | head -n 1)
if [[ -z $table && -n $sluicectl ]]; then
  table=$work/demo.table
  "$sluicectl" table build --sources "$root/scripts/demo-data/sources.ini" --output "$table" ||
    table=""
fi
export SLUICE_TABLE=$table SLUICE_POLICY=$policy

rig_up --bare || exit 1
rig_sink_start --dump || exit 1

# Both columns are measured at once: every message through the bump (with the shaper) is paired
# with one through the reference lane (a Linux bridge beside the bump, to the server's second
# address), in alternating order, so the machine's load changes hit both columns alike.
if [[ -n $dp_cmd ]]; then
  echo "== data plane in the bump: $dp_cmd"
  rig_bg bump dataplane bash -c "$dp_cmd" || exit 1
else
  echo "== NO DATA PLANE GIVEN: a Linux bridge in the bump too (both lanes are the baseline)"
  rig_bump_bridge || exit 1
fi
if ! rig_wait_reach clean || ! rig_probe clean "$RIG_REF4"; then
  echo "run_effect: the clean sender cannot reach the server (data plane log:" \
    "$RIG_STATE/dataplane.log):" >&2
  tail -n 20 "$RIG_STATE/dataplane.log" >&2 2>/dev/null
  exit 1
fi
for role in $senders; do
  rig_exec "$role" "$py" "$root/bench/smtp/smtp_measure.py" send --server "$RIG_SERVER4" \
    --reference "$RIG_REF4" --tag "$role" --address "${RIG_ADDR4[$role]}" --count "$messages" \
    --size "$size" --timeout "$timeout" --deadline "$deadline" --stop-after-failures 2 \
    --warmup 1 --json "$raw/with-$role.json" || exit 1
done
if [[ -n $dp_cmd ]]; then
  [[ -z $dp_stop ]] || rig_exec bump bash -c "$dp_stop"
  rig_bg_stop dataplane
fi

report_args=()
if [[ -n $dp_cmd ]]; then
  note="Data plane: ${label:-\`$dp_cmd\`}; policy \`${policy#"$root"/}\`."
else
  note="**No data plane was given (--dataplane-cmd): both columns are the Linux-bridge baseline;"
  note+=" the ratios show the measurement noise, not sluice.**"
  report_args=(--no-goals --title "SMTP delivery time: bridge baseline measured twice (no data plane)")
fi

scores=$raw/scores.json
if [[ -n $sluicectl && -n $table ]]; then
  args=()
  for role in $senders; do args+=("$role=${RIG_ADDR4[$role]}"); done
  "$py" "$root/bench/smtp/smtp_report.py" scores --sluicectl "$sluicectl" --table "$table" \
    --policy "$policy" "${args[@]}" >"$scores" || rm -f "$scores"
fi
"$plot_py" "$root/bench/smtp/smtp_report.py" effect "$raw" --scores "$scores" \
  --out-md "$out/smtp-effect.md" --out-json "$out/smtp-effect.json" \
  --out-png "$out/smtp-effect.png" "${report_args[@]}" --note "$note (run $(date -u +%FT%TZ); up to $messages message pairs per sender within ${deadline} s, timeout ${timeout} s per message; without = reference lane, a Linux bridge beside the bump)"
