#!/usr/bin/env bash
# How long a stateless tarpit holds real SMTP clients: the tarpitted sender of the rig runs
# swaks (its defaults) and Postfix's smtp-source (one message) against the MTA, through sluice-dp
# with the demo policy's tarpit level switched to `tarpit = stateless`. The data plane completes
# each handshake with a zero window and answers the sender's window probes, so the sender's
# kernel never gives up: the client holds the connection until its own timeout. Measured: how
# long each client ran, how it ended (exit status, last line) and the data plane's tarpit
# counters; the MTA's kernel must have accepted no connection from the tarpitted sender.
#
#   bench/smtp/tarpit_hold.sh [--build DIR] [--limit SECONDS]
#
# --build: the folder with sluice-dp and sluicectl (default build/release). --limit bounds each
# client (default 900 s: a client still held then is reported as held for at least that long).
# Prints a markdown table. Needs root; the rig is removed on exit and on Ctrl-C.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"

build=$root/build/release limit=900
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "tarpit_hold: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
if ! [[ $limit =~ ^[0-9]+$ ]] || ((limit < 1 || limit > 3600)); then
  echo "tarpit_hold: --limit must be 1-3600 seconds" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "tarpit_hold: needs root (network namespaces); try: sudo $0 $*" >&2
  exit 77
fi
dp_bin=$build/dataplane/sluice-dp ctl=$build/control/sluicectl/sluicectl
for b in "$dp_bin" "$ctl"; do
  [[ -x $b ]] || { echo "tarpit_hold: $b missing (build it, or --build DIR)" >&2; exit 1; }
done
command -v swaks >/dev/null || { echo "tarpit_hold: swaks missing (scripts/install-deps)" >&2; exit 1; }
pft_find || exit 1

rig_init "h$$"
work=$(mktemp -d /tmp/sluice_tarpit_hold.XXXXXX)
trap 'rig_bg_stop dataplane; rig_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

"$ctl" table build --sources "$root/scripts/demo-data/sources.ini" --output "$work/table" \
  >/dev/null || exit 1
sed 's/^tarpit = true$/tarpit = stateless/' "$root/scripts/demo-data/policy.ini" >"$work/policy.ini"
grep -q '^tarpit = stateless$' "$work/policy.ini" || {
  echo "tarpit_hold: the demo policy has no 'tarpit = true' level" >&2
  exit 1
}

rig_up --bare || exit 1
rig_sink_start || exit 1
rig_sluice_dp_argv "$dp_bin"
rig_bg bump dataplane "${RIG_DP_ARGV[@]}" --table "$work/table" --policy "$work/policy.ini" \
  --control "$work/dp.sock" || exit 1
for ((i = 0; i < 50; i++)); do
  rig_probe clean && break
  sleep 0.2
done
rig_probe clean || { echo "tarpit_hold: the clean sender cannot reach the MTA" >&2; exit 1; }
passive() { rig_exec server nstat -az TcpPassiveOpens | awk '/TcpPassiveOpens/ { print $2 }'; }
opens_before=$(passive)

# hold NAME CMD...: runs CMD in the tarpitted sender's namespace, bounded by --limit; writes
# "NAME SECONDS STATUS LAST-LINE" to $work/NAME.result.
hold() {
  local name=$1 t0 t1 status
  shift
  t0=$(date +%s.%N)
  rig_exec tarpitted timeout "$limit" "$@" >"$work/$name.out" 2>&1
  status=$?
  t1=$(date +%s.%N)
  printf '%s %.1f %s %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$status" \
    "$(grep -v '^[[:space:]]*$' "$work/$name.out" | tail -n 1 | tr '|' '/')" >"$work/$name.result"
}
echo "== swaks and smtp-source from the tarpitted sender (${RIG_ADDR4[tarpitted]}), at most ${limit} s each"
hold swaks swaks --server "$RIG_SERVER4" --from bot@tarpitted.sluice.test \
  --to sink@server.sluice.test --helo tarpitted.sluice.test &
swaks_pid=$!
hold smtp-source "$PFT_SMTP_SOURCE" -m 1 -f bot@tarpitted.sluice.test \
  -t sink@server.sluice.test "$RIG_SERVER4:25" &
# Only these two: the data plane is a background job of this shell too.
wait "$swaks_pid" $!
opens_after=$(passive)
stats=$("$ctl" --dataplane "dpdk:$work/dp.sock" dataplane stats --json 2>/dev/null)

echo
echo "| client | held for | ended | its last line |"
echo "|---|---|---|---|"
for name in swaks smtp-source; do
  read -r n secs status line <"$work/$name.result"
  ended="exit $status"
  [[ $status == 124 ]] && ended="still held at the limit (killed)"
  echo "| $n | $secs s | $ended | \`$line\` |"
done
echo
echo "Connections the MTA's kernel accepted meanwhile (TcpPassiveOpens): $((opens_after - opens_before))."
counter() { jq -r "[.. | objects | .$1? // empty][0] // \"?\"" <<<"$stats"; }
echo "Data plane: tarpit_synacks $(counter tarpit_synacks), tarpit_acks $(counter tarpit_acks)," \
  "tarpit_silent $(counter tarpit_silent)."
