#!/usr/bin/env bash
# Per-packet latency a data plane adds on the rig: ICMP echo RTT from the clean sender to the
# server through the bump (the data plane) and, at the same time, to the server's second address
# through the reference lane (a Linux bridge beside the bump). Prints the median and 90th
# percentile RTT of both lanes and the median difference (what the bump adds per round trip;
# one SMTP message of the effect benchmark makes about ten round trips).
#
#   bench/smtp/bump_latency.sh [--dataplane-cmd CMD] [--count N] [--interval S] [--sender R]
#     --dataplane-cmd CMD   as in run_effect.sh (run by bash in the bump namespace, with
#                           RIG_OUT_IF, RIG_IN_IF, RIG_ID, SLUICE_TABLE, SLUICE_POLICY set);
#                           default: a Linux bridge in the bump too (both lanes the baseline)
#     --count N             echo requests per lane (default 500, at most 10000)
#     --interval S          seconds between requests (default 0.01: the data plane goes idle
#                           between them, as it does between the segments of an SMTP dialogue)
#     --sender R            sender role (default clean)
#     --sluicectl BIN       builds the table from scripts/demo-data (default: none, empty table)
# Needs root. The rig is removed on exit and on Ctrl-C.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"
dp_cmd="" count=500 interval=0.01 sender=clean sluicectl=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --dataplane-cmd) dp_cmd=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --sender) sender=$2; shift 2 ;;
    --sluicectl) sluicectl=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bump_latency: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then echo "bump_latency: needs root" >&2; exit 77; fi
((count >= 1 && count <= 10000)) || { echo "bump_latency: --count 1..10000" >&2; exit 2; }

rig_init "l$$"
work=$(mktemp -d)
trap 'rig_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
table=""
if [[ -n $sluicectl ]]; then
  table=$work/demo.table
  "$sluicectl" table build --sources "$root/scripts/demo-data/sources.ini" --output "$table" \
    >/dev/null || exit 1
fi
export SLUICE_TABLE=$table SLUICE_POLICY=$root/scripts/demo-data/policy.ini

rig_up --bare || exit 1
rig_sink_start || exit 1  # rig_wait_reach checks the SMTP port
if [[ -n $dp_cmd ]]; then
  rig_bg bump dataplane bash -c "$dp_cmd" || exit 1
else
  rig_bump_bridge || exit 1
fi
rig_wait_reach "$sender" || { tail -n 20 "$RIG_STATE/dataplane.log" >&2; exit 1; }

# Both lanes at once (deadline bounds each ping), so load changes hit both alike.
deadline=$(awk -v c="$count" -v i="$interval" 'BEGIN {print int(c * i * 2) + 10}')
rig_exec "$sender" ping -n -c "$count" -i "$interval" -w "$deadline" "$RIG_SERVER4" >"$work/bump" &
p1=$!
rig_exec "$sender" ping -n -c "$count" -i "$interval" -w "$deadline" "$RIG_REF4" >"$work/ref"
wait "$p1"
[[ -z $dp_cmd ]] || rig_bg_stop dataplane

rtts() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -g; }
pct() { awk -v p="$1" '{a[NR]=$1} END {if (NR == 0) print "nan"; else print a[int((NR - 1) * p) + 1]}'; }
b50=$(rtts "$work/bump" | pct 0.5) b90=$(rtts "$work/bump" | pct 0.9) bn=$(rtts "$work/bump" | wc -l)
r50=$(rtts "$work/ref" | pct 0.5) r90=$(rtts "$work/ref" | pct 0.9) rn=$(rtts "$work/ref" | wc -l)
printf 'through the bump:      median %s ms, p90 %s ms (%s/%s replies)\n' "$b50" "$b90" "$bn" "$count"
printf 'reference lane:        median %s ms, p90 %s ms (%s/%s replies)\n' "$r50" "$r90" "$rn" "$count"
awk -v b="$b50" -v r="$r50" 'BEGIN {printf "added by the bump:     %.3f ms per round trip (median difference)\n", b - r}'
