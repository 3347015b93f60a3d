# shellcheck shell=bash
# Optional-argument functions (rig_down [ID], rig_leftovers [ID]) are called without arguments:
# shellcheck disable=SC2119,SC2120
# sluice test rig: network namespaces joined through a layer-2 "bump in the wire".
#
# Source this file, then call rig_init [ID] and rig_up [--baseline|--bare]. Everything the rig
# creates lives in network namespaces named "${RIG_NS_PREFIX}<id>-<role>"; interfaces are created
# directly inside those namespaces (never in the root namespace), so interface names can stay
# short and fixed (out0, in0, eth0, ...) while the namespace names carry the unique id.
#
#   sender namespaces (clean, throttled, blocked, allowed, tarpitted), each eth0 -> switch
#       |
#   switch namespace: Linux bridge br0 joining the senders and "bump"   (the outside switch)
#       |  veth  bump <-> out0
#   bump namespace: out0 (outside) and in0 (inside): a data plane attaches here;
#       |           in baseline mode a Linux bridge br0 joins out0 and in0 instead
#       |  veth  in0 <-> eth0
#   server namespace: eth0 198.18.2.25, runs Postfix's smtp-sink on port 25
#
# Senders and server share one IP subnet (198.18.0.0/15, 2001:2::/48), so no routing is needed:
# the bump is invisible at layer 3. See docs/test-rig.md.
#
# Every function returns non-zero on failure and never exits the caller's shell; waits are bounded.

# ---- names and addresses ------------------------------------------------------------------------

# Postfix's smtp-sink/smtp-source come from the unpacked copy (never the system's Postfix).
# shellcheck source-path=SCRIPTDIR source=../lib/postfix-tools.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/postfix-tools.sh"

RIG_NS_PREFIX=${RIG_NS_PREFIX:-slrig}
RIG_STATE_ROOT=${RIG_STATE_ROOT:-/run/sluice-rig}
# Sender roles, in display order. The address of role R is RIG_ADDR4[R] / RIG_ADDR6[R].
RIG_SENDERS=(clean throttled blocked allowed tarpitted)
declare -gA RIG_ADDR4=(
  [clean]=198.18.1.10 [throttled]=198.18.1.20 [blocked]=198.18.1.30
  [allowed]=198.18.1.40 [tarpitted]=198.18.1.50 [server]=198.18.2.25 [reference]=198.18.2.26
)
declare -gA RIG_ADDR6=(
  [clean]=2001:2:0:1::10 [throttled]=2001:2:0:1::20 [blocked]=2001:2:0:1::30
  [allowed]=2001:2:0:1::40 [tarpitted]=2001:2:0:1::50 [server]=2001:2:0:2::25
  [reference]=2001:2:0:2::26
)
RIG_PLEN4=15 # 198.18.0.0/15: senders and server on one link
RIG_PLEN6=48 # 2001:2::/48
RIG_SERVER4=${RIG_ADDR4[server]}
RIG_SERVER6=${RIG_ADDR6[server]}
# The server's second address, reached through the reference lane (a Linux bridge beside the
# bump): the same senders measure "without shaper" here, interleaved with "with shaper".
RIG_REF4=${RIG_ADDR4[reference]}
RIG_REF6=${RIG_ADDR6[reference]}
RIG_SMTP_PORT=25
RIG_OUT_IF=out0 # bump interface towards the senders' switch
RIG_IN_IF=in0   # bump interface towards the server
RIG_WAIT_SECONDS=${RIG_WAIT_SECONDS:-10}
# The XDP data plane's start/stop helper, beside this file.
RIG_XDP_SCRIPT=$(dirname "${BASH_SOURCE[0]}")/xdp-dataplane

rig_log() { echo "rig[${RIG_ID:-?}]: $*" >&2; }

# rig_sluice_dp_argv BIN: sluice-dp on the bump's two ports as the rig runs it (one lcore, no
# hugepages, af_packet on out0 and in0, a 5 us idle sleep), into the array RIG_DP_ARGV; the
# caller appends its own options (--table, --policy, --control) and runs it in the bump.
# shellcheck disable=SC2034 # the array is the caller's
rig_sluice_dp_argv() {
  RIG_DP_ARGV=("$1" -l 0 --no-huge --no-pci -m 256 --file-prefix "sl$RIG_ID"
    --vdev "net_af_packet0,iface=$RIG_OUT_IF" --vdev "net_af_packet1,iface=$RIG_IN_IF" --
    --outside 0 --inside 1 --idle-sleep-us 5)
}

# rig_plane_start none|dp|xdp POLICY [sluice-dp options...]: what fills the bump for one case of
# a benchmark: a Linux bridge (none), sluice-dp (rig_bg bump dataplane, with the options given)
# or the XDP data plane (scripts/rig/xdp-dataplane, instance sl$RIG_ID), with the table
# $SLUICE_TABLE and POLICY. The binaries: RIG_DP_BIN, RIG_XDP_BIN, RIG_CTL_BIN (sluicectl).
# The log of either data plane is $RIG_STATE/dataplane.log.
rig_plane_start() {
  local plane=$1 policy=${2:-}
  shift 2 2>/dev/null || shift $#
  case $plane in
    none) rig_bump_bridge ;;
    dp)
      rig_bump_unbridge || return 1
      rig_sluice_dp_argv "$RIG_DP_BIN"
      rig_bg bump dataplane "${RIG_DP_ARGV[@]}" --table "$SLUICE_TABLE" --policy "$policy" "$@"
      ;;
    xdp)
      rig_bump_unbridge || return 1
      SLUICE_POLICY=$policy rig_exec bump "$RIG_XDP_SCRIPT" start "$RIG_XDP_BIN" "$RIG_CTL_BIN" \
        >"$RIG_STATE/dataplane.log" 2>&1
      ;;
    *)
      rig_log "rig_plane_start: unknown plane '$plane' (none, dp or xdp)"
      return 2
      ;;
  esac
}

# rig_plane_stop [none|dp|xdp]: end what rig_plane_start started (without an argument: whatever
# still runs; the benchmarks' exit traps call it so).
rig_plane_stop() {
  case ${1:-any} in
    none) ;;
    dp) rig_bg_stop dataplane ;;
    xdp) rig_exec bump "$RIG_XDP_SCRIPT" stop "$RIG_XDP_BIN" ;;
    any)
      [[ -e /sys/fs/bpf/sluice/sl$RIG_ID ]] && rig_exec bump "$RIG_XDP_SCRIPT" stop "$RIG_XDP_BIN"
      rig_bg_stop dataplane
      ;;
  esac
}

# rig_plot_python PY: the interpreter for the benchmarks' plots: PY when it has matplotlib, else
# /usr/bin/python3 when that has it (Debian's python3-matplotlib), else PY (the report then says
# it cannot plot).
rig_plot_python() {
  local p
  for p in "$1" /usr/bin/python3; do
    if "$p" -c 'import matplotlib' 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "$1"
}

# rig_init [ID]: choose the rig id (default: this shell's pid) and derive every name from it.
# Ids are short alphanumerics, so namespace names stay readable and unique per run.
rig_init() {
  local id=${1:-$$}
  if [[ ! $id =~ ^[A-Za-z0-9]{1,12}$ ]]; then
    rig_log "invalid rig id '$id' (1-12 letters or digits)"
    return 2
  fi
  RIG_ID=$id
  RIG_NS_SW=${RIG_NS_PREFIX}${id}-switch
  RIG_NS_BUMP=${RIG_NS_PREFIX}${id}-bump
  RIG_NS_SRV=${RIG_NS_PREFIX}${id}-server
  RIG_NS_REF=${RIG_NS_PREFIX}${id}-ref
  RIG_STATE=${RIG_STATE_ROOT}/${id}
  RIG_DUMP_DIR=${RIG_STATE}/dump
  export RIG_ID RIG_NS_SW RIG_NS_BUMP RIG_NS_SRV RIG_NS_REF RIG_STATE RIG_DUMP_DIR RIG_SERVER4 \
    RIG_SERVER6 RIG_REF4 RIG_REF6 RIG_OUT_IF RIG_IN_IF RIG_SMTP_PORT
}

# rig_ns ROLE: the namespace of a sender role, or of switch/bump/server.
rig_ns() {
  case $1 in
    switch) echo "$RIG_NS_SW" ;;
    bump) echo "$RIG_NS_BUMP" ;;
    server) echo "$RIG_NS_SRV" ;;
    ref) echo "$RIG_NS_REF" ;;
    *)
      if [[ " ${RIG_SENDERS[*]} " != *" $1 "* ]]; then
        rig_log "unknown role '$1' (one of: ${RIG_SENDERS[*]} switch bump server ref)"
        return 2
      fi
      echo "${RIG_NS_PREFIX}${RIG_ID}-$1"
      ;;
  esac
}

# rig_exec ROLE CMD...: run CMD in the role's network namespace. nsenter switches only the
# network namespace (unlike `ip netns exec`, which remounts /sys and hides /sys/fs/bpf pins).
rig_exec() {
  local ns
  ns=$(rig_ns "$1") || return 2
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

rig_namespaces() {
  local r
  echo "$RIG_NS_SW" "$RIG_NS_BUMP" "$RIG_NS_SRV" "$RIG_NS_REF"
  for r in "${RIG_SENDERS[@]}"; do rig_ns "$r"; done
}

# ---- construction -------------------------------------------------------------------------------

# Offloads off on a veth end so packets carry real checksums and wire-sized segments when a
# user-space data plane (af_packet, af_xdp) sees them. Features a kernel cannot change are ignored.
rig_offloads_off() {
  local ns=$1 ifname=$2 feature
  for feature in rx tx tso gso gro sg; do
    nsenter --net="/run/netns/$ns" -- ethtool -K "$ifname" "$feature" off >/dev/null 2>&1 || true
  done
}

# rig_veth NS_A IF_A NS_B IF_B: a veth pair created straight into two namespaces.
rig_veth() {
  ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
  rig_offloads_off "$1" "$2"
  rig_offloads_off "$3" "$4"
}

# A bridge that forwards at once: no STP, no forwarding delay, no IPv6 of its own.
rig_bridge_add() {
  local ns=$1 br=$2
  ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 || return 1
  ip -n "$ns" link set "$br" up
}

rig_quiet_ipv6() {
  nsenter --net="/run/netns/$1" -- sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

rig_host_addr() {
  local ns=$1 role=$2
  ip -n "$ns" addr add "${RIG_ADDR4[$role]}/${RIG_PLEN4}" dev eth0 || return 1
  ip -n "$ns" -6 addr add "${RIG_ADDR6[$role]}/${RIG_PLEN6}" dev eth0 nodad 2>/dev/null || true
  ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up
}

# rig_write_state: what `down` and `down --all-stale` need later (owner pid, namespaces).
rig_write_state() {
  mkdir -p "$RIG_STATE" || return 1
  {
    echo "RIG_ID=$RIG_ID"
    echo "RIG_OWNER_PID=${RIG_OWNER_PID:-$$}"
    echo "RIG_CREATED=$(date -u +%FT%TZ)"
  } >"$RIG_STATE/state"
}

# rig_up [--baseline|--bare]: build the whole rig. --baseline (default) bridges out0 and in0 in
# the bump namespace so mail flows without a data plane; --bare leaves them for a data plane.
# On any failure everything created so far is removed.
rig_up() {
  local mode=baseline r ns
  case ${1:-} in
    "" | --baseline) mode=baseline ;;
    --bare) mode=bare ;;
    *)
      rig_log "rig_up: unknown option '$1'"
      return 2
      ;;
  esac
  [[ -n ${RIG_ID:-} ]] || rig_init || return 2
  if [[ -e /run/netns/$RIG_NS_BUMP ]]; then
    rig_log "rig $RIG_ID already exists (scripts/rig/down $RIG_ID)"
    return 1
  fi
  rig_write_state || return 1
  if ! rig_build; then
    rig_log "rig_up failed; removing what was created"
    rig_down
    return 1
  fi
  if [[ $mode == baseline ]]; then
    rig_bump_bridge || {
      rig_down
      return 1
    }
  fi
  rig_log "up ($mode): $(rig_namespaces | tr '\n' ' ')"
}

rig_build() {
  local r ns
  for ns in $(rig_namespaces); do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  # outside switch
  rig_quiet_ipv6 "$RIG_NS_SW"
  rig_bridge_add "$RIG_NS_SW" br0 || return 1
  for r in "${RIG_SENDERS[@]}"; do
    ns=$(rig_ns "$r")
    rig_veth "$ns" eth0 "$RIG_NS_SW" "to-$r" || return 1
    ip -n "$RIG_NS_SW" link set "to-$r" master br0 up || return 1
    rig_host_addr "$ns" "$r" || return 1
  done
  # bump: out0 towards the switch, in0 towards the server; no addresses, no IPv6 of its own
  rig_quiet_ipv6 "$RIG_NS_BUMP"
  rig_veth "$RIG_NS_BUMP" "$RIG_OUT_IF" "$RIG_NS_SW" to-bump || return 1
  ip -n "$RIG_NS_SW" link set to-bump master br0 up || return 1
  rig_veth "$RIG_NS_BUMP" "$RIG_IN_IF" "$RIG_NS_SRV" eth0 || return 1
  ip -n "$RIG_NS_BUMP" link set "$RIG_OUT_IF" promisc on up || return 1
  ip -n "$RIG_NS_BUMP" link set "$RIG_IN_IF" promisc on up || return 1
  rig_host_addr "$RIG_NS_SRV" server || return 1
  rig_build_reference
}

# The reference lane: switch -> to-ref | out0 [ns ref: Linux bridge] in0 | eth1 -> server, the
# same hops as the bump's baseline, to the server's second address. The server answers ARP/ND
# only on the interface that holds the address asked for (arp_ignore), and replies from the
# reference address leave by eth1 (a routing rule), so each lane carries only its own traffic.
rig_build_reference() {
  local srv=$RIG_NS_SRV
  rig_quiet_ipv6 "$RIG_NS_REF"
  rig_veth "$RIG_NS_REF" out0 "$RIG_NS_SW" to-ref || return 1
  ip -n "$RIG_NS_SW" link set to-ref master br0 up || return 1
  rig_veth "$RIG_NS_REF" in0 "$srv" eth1 || return 1
  rig_bridge_add "$RIG_NS_REF" br0 || return 1
  ip -n "$RIG_NS_REF" link set out0 master br0 up && ip -n "$RIG_NS_REF" link set in0 master br0 up ||
    return 1
  nsenter --net="/run/netns/$srv" -- sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
    net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
  ip -n "$srv" addr add "$RIG_REF4/$RIG_PLEN4" dev eth1 noprefixroute || return 1
  ip -n "$srv" -6 addr add "$RIG_REF6/$RIG_PLEN6" dev eth1 nodad noprefixroute 2>/dev/null || true
  ip -n "$srv" link set eth1 up || return 1
  ip -n "$srv" rule add from "$RIG_REF4" table 26 &&
    ip -n "$srv" route add "198.18.0.0/$RIG_PLEN4" dev eth1 src "$RIG_REF4" table 26 || return 1
  ip -n "$srv" -6 rule add from "$RIG_REF6" table 26 2>/dev/null &&
    ip -n "$srv" -6 route add "2001:2::/$RIG_PLEN6" dev eth1 table 26 2>/dev/null
  return 0
}

# Baseline: a Linux bridge joins out0 and in0, standing in for the data plane.
rig_bump_bridge() {
  ip -n "$RIG_NS_BUMP" link show br0 >/dev/null 2>&1 && return 0
  rig_bridge_add "$RIG_NS_BUMP" br0 || return 1
  ip -n "$RIG_NS_BUMP" link set "$RIG_OUT_IF" master br0 &&
    ip -n "$RIG_NS_BUMP" link set "$RIG_IN_IF" master br0
}

# Undo the baseline bridge so a data plane can own out0 and in0 (they stay up, promiscuous).
rig_bump_unbridge() {
  ip -n "$RIG_NS_BUMP" link show br0 >/dev/null 2>&1 || return 0
  ip -n "$RIG_NS_BUMP" link del br0 || return 1
  # Neighbour caches of the ends learnt through the bridge stay valid: the bump is layer 2.
  ip -n "$RIG_NS_BUMP" link set "$RIG_OUT_IF" up && ip -n "$RIG_NS_BUMP" link set "$RIG_IN_IF" up
}

# rig_peer IF: "namespace interface" of the veth peer of out0 or in0 (XDP_REDIRECT into a veth
# delivers only when the peer has an XDP program attached; the XDP data plane needs these).
rig_peer() {
  case $1 in
    "$RIG_OUT_IF") echo "$RIG_NS_SW to-bump" ;;
    "$RIG_IN_IF") echo "$RIG_NS_SRV eth0" ;;
    *) return 2 ;;
  esac
}

# ---- processes inside the rig ------------------------------------------------------------------

# rig_bg ROLE NAME CMD...: start CMD in ROLE's namespace in the background, in its own process
# group, logging to $RIG_STATE/NAME.log; its pid goes to $RIG_STATE/NAME.pid.
rig_bg() {
  local role=$1 name=$2 ns
  shift 2
  ns=$(rig_ns "$role") || return 2
  setsid nsenter --net="/run/netns/$ns" -- "$@" >"$RIG_STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$RIG_STATE/$name.pid"
}

# rig_bg_stop NAME: TERM the process group started by rig_bg, KILL after a bounded wait.
rig_bg_stop() {
  local pidfile=$RIG_STATE/$1.pid pid i
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  rm -f "$pidfile"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

rig_bg_running() {
  local pidfile=$RIG_STATE/$1.pid
  [[ -f $pidfile ]] && kill -0 "$(<"$pidfile")" 2>/dev/null
}

# rig_wait_listen ROLE PORT: wait (bounded) until something listens on TCP PORT in ROLE's ns.
rig_wait_listen() {
  local role=$1 port=$2 i
  for ((i = 0; i < RIG_WAIT_SECONDS * 10; i++)); do
    if rig_exec "$role" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.1
  done
  rig_log "nothing listens on port $port in $role after ${RIG_WAIT_SECONDS}s"
  return 1
}

# rig_sink_start [--dump] [--greet-delay S]: Postfix smtp-sink (the unpacked copy,
# scripts/lib/postfix-tools.sh) on the server's port 25, one instance for IPv4 and one for IPv6
# (smtp-sink's IPv6 socket is v6-only), on both lanes' addresses. With --dump every message is
# written to $RIG_DUMP_DIR for integrity checks (see bench/smtp/smtp_verify.py); with
# --greet-delay the 220 greeting comes S seconds after the connection (smtp-sink -W connect:S).
rig_sink_start() {
  local args=(-u nobody -m 1000 -t 60)
  pft_find || return 1
  while [[ $# -gt 0 ]]; do
    case $1 in
      --dump)
        mkdir -p "$RIG_DUMP_DIR" && chown nobody "$RIG_DUMP_DIR" || return 1
        args+=(-d "$RIG_DUMP_DIR/%H%M%S.")
        shift ;;
      --greet-delay) args+=(-W "connect:$2"); shift 2 ;;
      *) echo "rig_sink_start: unknown argument '$1'" >&2; return 2 ;;
    esac
  done
  # IPv4 on every address (the bump lane's and the reference lane's); IPv6 needs its own socket.
  rig_bg server smtp-sink "$PFT_SMTP_SINK" "${args[@]}" ":$RIG_SMTP_PORT" 1000 || return 1
  rig_bg server smtp-sink6 "$PFT_SMTP_SINK" "${args[@]}" "[::]:$RIG_SMTP_PORT" 1000 || return 1
  rig_wait_listen server "$RIG_SMTP_PORT"
}

rig_sink_stop() {
  rig_bg_stop smtp-sink
  rig_bg_stop smtp-sink6
}

# rig_probe ROLE [ADDR [PORT]]: can ROLE open a TCP connection to the server's SMTP port?
# Bounded to 2 s; no data is sent.
rig_probe() {
  local role=$1 addr=${2:-$RIG_SERVER4} port=${3:-$RIG_SMTP_PORT}
  # shellcheck disable=SC2016 # expanded by the inner shell
  rig_exec "$role" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$addr" "$port" 2>/dev/null
}

# rig_wait_reach ROLE: wait (bounded) until ROLE can connect to the server's SMTP port; ARP
# through a freshly started data plane, or its start-up, can take a moment.
rig_wait_reach() {
  local role=$1 i
  for ((i = 0; i < RIG_WAIT_SECONDS * 4; i++)); do
    rig_probe "$role" && return 0
    sleep 0.25
  done
  rig_log "$role cannot reach $RIG_SERVER4:$RIG_SMTP_PORT after ${RIG_WAIT_SECONDS}s"
  return 1
}

# ---- path delay ---------------------------------------------------------------------------------

# rig_delay ROLE US BIN: give ROLE's path a round trip of 2 x US microseconds. In the switch
# namespace, ROLE's port (to-ROLE) leaves the bridge and BIN (bench/delayline's
# sluice-delayline) joins it to one end (dl-ROLE) of a new veth pair whose other end (dlb-ROLE)
# takes its place on the bridge, holding every frame US microseconds each way. Only ROLE's
# traffic is delayed, on both lanes alike (the delay is before the switch). Counts land in
# $RIG_STATE/delay-ROLE.json when rig_delay_stop ROLE (or rig_down) ends it.
rig_delay() {
  local role=$1 us=$2 bin=$3 sw=$RIG_NS_SW i
  rig_ns "$role" >/dev/null || return 2
  if [[ ! -x $bin ]]; then
    rig_log "rig_delay: '$bin' is not an executable (build bench/delayline)"
    return 2
  fi
  ip -n "$sw" link set "to-$role" nomaster || return 1
  rig_veth "$sw" "dl-$role" "$sw" "dlb-$role" || return 1
  ip -n "$sw" link set "dlb-$role" master br0 up && ip -n "$sw" link set "dl-$role" up &&
    ip -n "$sw" link set "to-$role" up || return 1
  rig_bg switch "delay-$role" "$bin" --a "to-$role" --b "dl-$role" --delay-us "$us" \
    --stats "$RIG_STATE/delay-$role.json" || return 1
  for ((i = 0; i < RIG_WAIT_SECONDS * 10; i++)); do
    grep -q ready "$RIG_STATE/delay-$role.log" 2>/dev/null && return 0
    rig_bg_running "delay-$role" || break
    sleep 0.1
  done
  rig_log "rig_delay: the delay line of $role did not start: $(tail -n 1 "$RIG_STATE/delay-$role.log")"
  return 1
}

# rig_delay_stop ROLE: end ROLE's delay line (its counts are written on the way out).
rig_delay_stop() { rig_bg_stop "delay-$1"; }

# ---- teardown -----------------------------------------------------------------------------------

# rig_kill_ns NS: end every process still running in namespace NS (processes the rig started
# there: smtp-sink, clients, a data plane), by pid.
rig_kill_ns() {
  local ns=$1 pids i
  pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086 # word splitting of the pid list is intended
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -z $pids ]] && return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

# rig_down [ID]: remove the rig (processes, namespaces with their links, state). Safe to call
# on a partial or already removed rig; never fails the caller on leftovers it cannot find.
rig_down() {
  [[ -n ${1:-} ]] && { rig_init "$1" || return 2; }
  [[ -n ${RIG_ID:-} ]] || return 0
  local ns name rc=0
  if [[ -d $RIG_STATE ]]; then
    for name in "$RIG_STATE"/*.pid; do
      [[ -e $name ]] || continue
      name=${name##*/}
      rig_bg_stop "${name%.pid}"
    done
  fi
  for ns in $(rig_namespaces); do
    [[ -e /run/netns/$ns ]] || continue
    rig_kill_ns "$ns"
    ip netns del "$ns" 2>/dev/null || rc=1
  done
  [[ -n $RIG_STATE && $RIG_STATE == "$RIG_STATE_ROOT"/* ]] && rm -rf -- "$RIG_STATE"
  # A DPDK data plane in the rig runs with --file-prefix sl$RIG_ID (demo, e2e, benchmarks);
  # EAL leaves its runtime directory behind.
  rm -rf -- "/var/run/dpdk/sl${RIG_ID}"
  return $rc
}

# rig_leftovers [ID]: namespaces of rig ID (or of any rig) that still exist.
rig_leftovers() {
  local pat=${RIG_NS_PREFIX}${1:-[A-Za-z0-9]*}-
  ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
    [[ $ns == $pat* ]] && echo "$ns"
  done
  return 0
}

# rig_stale_ids [--all]: ids of rigs whose owner process is gone (or every rig with --all),
# found both from state files and from namespace names (a crash may leave either alone).
rig_stale_ids() {
  local all=${1:-} id owner ns f
  {
    for f in "$RIG_STATE_ROOT"/*/state; do
      [[ -e $f ]] && basename "$(dirname "$f")"
    done
    rig_leftovers | while read -r ns; do
      ns=${ns#"$RIG_NS_PREFIX"}
      echo "${ns%%-*}"
    done
  } | sort -u | while read -r id; do
    [[ -n $id ]] || continue
    if [[ $all != --all ]]; then
      owner=$(sed -n 's/^RIG_OWNER_PID=//p' "$RIG_STATE_ROOT/$id/state" 2>/dev/null)
      if [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null; then continue; fi
    fi
    echo "$id"
  done
}
