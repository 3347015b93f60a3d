#!/usr/bin/env bash
# Clean mail under attack: how long a clean sender's messages take to reach a busy MTA while a
# botnet floods it, with no shaper in the bump and with each data plane (shaping alone, shaping
# with aggregate caps, the stateless tarpit). The claim measured: under abusive load, legitimate
# mail gets faster with sluice.
#
# The rig (scripts/rig/rig.sh, docs/test-rig.md) with, in the server namespace:
#   - a real Postfix (a private instance, scripts/lib/postfix-tools.sh: master, smtpd, cleanup,
#     qmgr; mail discarded) with default_process_limit = --process-limit (10): ten smtpd at most,
#     as a small MTA has; connections beyond them wait in the listen queue;
#   - a bandwidth bottleneck on the MTA side: the server's inbound traffic (eth0, the bump's lane)
#     goes through an ifb device with a tbf of --rate (20mbit).
# The botnet: --bots addresses of 198.18.3.0/24 (all in the table at score 5) in the throttled
# sender's namespace, --sessions concurrent sessions (bench/smtp/smtp_flood.py), each sending
# --flood-size byte messages one after the other. The clean sender (198.18.1.10, unlisted) sends
# --messages 10 KB messages (bench/smtp/smtp_measure.py), --gap seconds apart, each bounded by
# --timeout, the run by --deadline; the flood starts --warmup seconds before it. The gap matters:
# a sender that reconnects the instant its message is done finds the smtpd it just left free
# before any bot whose handshake the shaper slowed, and keeps it; a sender that mails now and
# then, as a clean MTA does, faces the queue afresh each time.
#
# Cases (--cases, default all):
#   idle        no flood, a Linux bridge in the bump: what the clean sender gets on a quiet MTA
#   none        the flood, a Linux bridge in the bump: no shaper
#   dp          sluice-dp; the bots' level: window 1024, MSS 536, 250 ms delay (the demo's throttle)
#   dp-caps     the same level with aggregate caps: max_flows 2, max_flows_net 6, 60 SYN/min
#   dp-tarpit   the bots' level: tarpit = stateless (the data plane answers their SYNs itself)
#   xdp, xdp-caps, xdp-tarpit   the same on the XDP data plane (its throttle slows by loss: one in
#               three of the bots' data segments dropped, as in scripts/demo-data/policy-xdp.ini)
# Every round runs each case once, in a shuffled order, so the machine's drift hits every case
# alike; Postfix is restarted for every case, so no case inherits another's held sessions.
# Sampled every second during a case: the bots' connections established at the MTA (ss).
#
#   bench/smtp/run_contention.sh [--rounds N] [--cases "..."] [--bots N] [--sessions N]
#     [--flood-size BYTES] [--messages N] [--gap S] [--size BYTES] [--timeout S] [--deadline S]
#     [--warmup S] [--rate TBF_RATE] [--process-limit N] [--build DIR] [--out DIR]
#
# --build is the build folder with sluice-dp, sluice-xdp and sluicectl (default build/release).
# Writes OUT/smtp-contention.md, OUT/smtp-contention.json, OUT/smtp-contention.png and the raw
# results under OUT/smtp-contention/. Needs root. Every step is bounded; the rig, Postfix and the
# data planes are removed on exit and on Ctrl-C.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../../scripts/rig/rig.sh
. "$root/scripts/rig/rig.sh"
py=${SLUICE_PYTHON:-python3}
plot_py=$(rig_plot_python "$py")

all_cases="idle none dp dp-caps dp-tarpit xdp xdp-caps xdp-tarpit"
cases=$all_cases rounds=5 bots=20 sessions=100 flood_size=20480 messages=15 gap=1 size=10240
timeout=30 deadline=40 warmup=8 rate=20mbit plimit=10 build=$root/build/release out=$root/results
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --bots) bots=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --flood-size) flood_size=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --gap) gap=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --deadline) deadline=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --process-limit) plimit=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "run_contention: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
for v in rounds bots sessions flood_size messages size timeout deadline warmup plimit; do
  if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} < 1)); then
    echo "run_contention: --${v//_/-} must be a positive whole number" >&2
    exit 2
  fi
done
if ! [[ $gap =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  echo "run_contention: --gap must be a number of seconds" >&2
  exit 2
fi
if ((bots > 250)); then echo "run_contention: --bots is at most 250 (one /24)" >&2; exit 2; fi
for c in $cases; do
  [[ " $all_cases " == *" $c "* ]] || { echo "run_contention: unknown case '$c'" >&2; exit 2; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "run_contention: needs root (network namespaces, Postfix); try: sudo $0 $*" >&2
  exit 77
fi
RIG_DP_BIN=$build/dataplane/sluice-dp RIG_XDP_BIN=$build/bpf/sluice-xdp
RIG_CTL_BIN=$build/control/sluicectl/sluicectl ctl=$RIG_CTL_BIN
for b in "$RIG_DP_BIN" "$RIG_XDP_BIN" "$ctl"; do
  [[ -x $b ]] || { echo "run_contention: $b missing (build it, or --build DIR)" >&2; exit 1; }
done
pft_find || exit 1

rig_init "c$$"
raw=$out/smtp-contention
mkdir -p "$raw" && rm -f "$raw"/*.json "$raw"/*.txt
work=$(mktemp -d /tmp/sluice_contention.XXXXXX)
chmod 755 "$work"
finish() {
  rig_bg_stop flood
  rig_bg_stop sampler
  rig_bg_stop postfix
  rig_plane_stop
  rig_down
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- the table and the policies ----------------------------------------------------------------
bot_addrs=()
for ((i = 1; i <= bots; i++)); do bot_addrs+=("198.18.3.$i"); done
printf '198.18.3.0/24\n' >"$work/bots.txt"
cat >"$work/sources.ini" <<EOF
[bots]
type = list
path = bots.txt
weight = 5
EOF
"$ctl" table build --sources "$work/sources.ini" --output "$work/table" >/dev/null || exit 1
export SLUICE_TABLE=$work/table

# policy NAME LEVEL-LINES...: a one-level policy whose level catches the bots (score 5).
policy() {
  local name=$1
  shift
  {
    printf '[smtp]\nports = 25\n\n[level.1]\nname = %s\nthreshold = 3\n' "$name"
    printf '%s\n' "$@"
  } >"$work/policy-$name.ini"
}
dp_throttle=("window_clamp = 1024" "mss_clamp = 536" "delay_ms = 250")
xdp_throttle=("window_clamp = 1024" "mss_clamp = 536" "client_drop_ppm = 333333"
  "server_drop_ppm = 333333")
caps=("max_flows = 2" "max_flows_net = 6" "max_syn_per_min = 60" "over_cap = drop")
policy dp "${dp_throttle[@]}"
policy dp-caps "${dp_throttle[@]}" "${caps[@]}"
policy xdp "${xdp_throttle[@]}"
policy xdp-caps "${xdp_throttle[@]}" "${caps[@]}"
policy dp-tarpit "tarpit = stateless"
policy xdp-tarpit "tarpit = stateless"

# ---- the rig, the bottleneck, the MTA ----------------------------------------------------------
rig_up --bare || exit 1
for a in "${bot_addrs[@]}"; do
  ip -n "$(rig_ns throttled)" addr add "$a/$RIG_PLEN4" dev eth0 || exit 1
done
srv=$(rig_ns server)
if ! {
  ip -n "$srv" link add ifb0 type ifb && ip -n "$srv" link set ifb0 up &&
    tc -n "$srv" qdisc add dev eth0 handle ffff: ingress &&
    tc -n "$srv" filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 \
      action mirred egress redirect dev ifb0 &&
    tc -n "$srv" qdisc add dev ifb0 root tbf rate "$rate" burst 32kb latency 200ms
}; then
  echo "run_contention: the tbf bottleneck could not be set up" >&2
  exit 1
fi
# The XDP data plane needs pass programs on the far ends of out0 and in0 (scripts/rig/xdp-dataplane,
# which keeps them once there). Attached now, every case runs with them: native XDP changes how a
# veth delivers, and no case should differ from another by that.
rig_exec switch "$RIG_XDP_BIN" peer-pass --dev to-bump >/dev/null &&
  rig_exec server "$RIG_XDP_BIN" peer-pass --dev eth0 >/dev/null || exit 1
pft_netns_prepare "$srv" || exit 1
pft_instance_init "$work/pf" "$RIG_SERVER4:25" "default_process_limit = $plimit" \
  "smtpd_banner = \$myhostname ESMTP" >/dev/null || exit 1

bump_start() { # CASE
  case $1 in
    idle | none) rig_plane_start none ;;
    dp*) rig_plane_start dp "$work/policy-$1.ini" --control "$work/dp.sock" ;;
    xdp*) rig_plane_start xdp "$work/policy-$1.ini" ;;
  esac
}
bump_stats() { # CASE FILE: the data plane's counters after the case
  case $1 in
    dp*) "$ctl" --dataplane "dpdk:$work/dp.sock" dataplane stats >"$2" 2>&1 ;;
    xdp*) rig_exec bump "$ctl" --dataplane "xdp:sl$RIG_ID" dataplane stats >"$2" 2>&1 ;;
  esac
}
bump_stop() { # CASE
  case $1 in
    dp*) rig_plane_stop dp ;;
    xdp*) rig_plane_stop xdp ;;
  esac
}

run_case() { # ROUND CASE
  local r=$1 c=$2 tag=r$1-$2 i
  echo "== round $r: $c"
  if ! bump_start "$c"; then
    echo "run_contention: $c: the bump did not start:" >&2
    tail -n 20 "$RIG_STATE/dataplane.log" >&2 2>/dev/null
    return 1
  fi
  rig_bg server postfix "$PFT_MASTER" -c "$work/pf/etc" -d || return 1
  rig_wait_listen server 25 || return 1
  for ((i = 0; i < 50; i++)); do
    rig_probe clean && break
    sleep 0.2
  done
  rig_probe clean || {
    echo "run_contention: $c: the clean sender cannot reach the MTA" >&2
    tail -n 20 "$RIG_STATE/dataplane.log" >&2 2>/dev/null
    return 1
  }
  if [[ $c != idle ]]; then
    rig_bg throttled flood "$py" "$root/bench/smtp/smtp_flood.py" --server "$RIG_SERVER4" \
      --sources "$(
        IFS=,
        echo "${bot_addrs[*]}"
      )" --sessions "$sessions" --size "$flood_size" \
      --duration $((warmup + deadline + 20)) --json "$raw/$tag-flood.json" || return 1
    sleep "$warmup"
  fi
  # shellcheck disable=SC2016 # expanded by the sampler's shell
  rig_bg server sampler bash -c 'while :; do
      ss -Htn state established "( sport = :25 and dst 198.18.3.0/24 )" | wc -l; sleep 1; done' ||
    return 1
  rig_exec clean "$py" "$root/bench/smtp/smtp_measure.py" send --server "$RIG_SERVER4" \
    --tag clean --address "${RIG_ADDR4[clean]}" --count "$messages" --size "$size" \
    --timeout "$timeout" --connect-timeout "$timeout" --deadline "$deadline" --gap "$gap" --quiet \
    --json "$raw/$tag-clean.json"
  rig_bg_stop sampler
  cp "$RIG_STATE/sampler.log" "$raw/$tag-held.txt"
  rig_bg_stop flood
  bump_stats "$c" "$raw/$tag-stats.txt"
  rig_bg_stop postfix
  [[ -z ${SLUICE_CONTENTION_KEEP_LOGS:-} ]] || cp "$work/pf/maillog" "$SLUICE_CONTENTION_KEEP_LOGS/$tag.maillog"
  : >"$work/pf/maillog"
  bump_stop "$c"
  "$py" - "$raw/$tag-clean.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
med = "%.3f s" % d["median_s"] if d["median_s"] is not None else "-"
print("   clean: %d/%d delivered, median %s, failures %s" % (d["delivered"], d["attempted"], med,
      d["failures"] or "none"))
PY
}

for ((r = 1; r <= rounds; r++)); do
  read -ra order <<<"$cases"
  for c in $(printf '%s\n' "${order[@]}" | shuf); do
    run_case "$r" "$c" || exit 1
  done
done

cat >"$raw/setup.json" <<EOF
{"rounds": $rounds, "bots": $bots, "sessions": $sessions, "flood_size": $flood_size,
 "messages": $messages, "gap": $gap, "size": $size, "timeout": $timeout, "deadline": $deadline,
 "warmup": $warmup, "rate": "$rate", "process_limit": $plimit,
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)",
 "cpus": $(nproc), "kernel": "$(uname -r)", "date": "$(date -u +%FT%TZ)",
 "commit": "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"}
EOF
"$plot_py" "$root/bench/smtp/contention_report.py" "$raw" --out-md "$out/smtp-contention.md" \
  --out-json "$out/smtp-contention.json" --out-png "$out/smtp-contention.png"
