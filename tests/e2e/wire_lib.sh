# shellcheck shell=bash
# A three-namespace wire for the "wire behaves like a wire" tests (link state, jumbo frames,
# XDP upgrade) and bench/dataplane/restart_gap.sh:
#
#   client ns: eth0 198.18.9.1  <-veth->  bump ns: out0 [data plane] in0  <-veth->  server ns: eth0 198.18.9.2
#
# Everything is named after WIRE_ID (default: the caller's pid) and removed by wire_down, which
# the caller traps on EXIT. Offloads are off on every veth, so segments are wire-sized and carry
# real checksums. The data plane runs in the bump namespace (nsenter --net, so /sys/fs/bpf stays
# the host's).
#
#   wire_init [ID]; wire_up MTU
#   wire_dpdk_start SLUICE_DP [sluice-dp options...]   (net_af_packet on out0/in0; $wire_dp_pid)
#   wire_xdp_start SLUICE_XDP                          (instance $WIRE_XDP_NAME; peer-pass on both far ends)
#   wire_carrier NS IF -> prints 1 (carrier) or 0
#   wire_wait_carrier NS IF 0|1 -> waits (bounded, 10 s) until the carrier is that
#   wire_down

wire_init() {
  WIRE_ID=${1:-$$}
  WIRE_NS_C=slw${WIRE_ID}c
  WIRE_NS_B=slw${WIRE_ID}b
  WIRE_NS_S=slw${WIRE_ID}s
  WIRE_C4=198.18.9.1
  WIRE_S4=198.18.9.2
  WIRE_XDP_NAME=slw${WIRE_ID}
  WIRE_PREFIX=slw${WIRE_ID}
  wire_dp_pid=
  wire_xdp_bin=
}

wire_offloads_off() {
  local f
  for f in rx tx tso gso gro sg; do
    ip netns exec "$1" ethtool -K "$2" "$f" off >/dev/null 2>&1 || true
  done
}

# wire_up MTU: the three namespaces and two veth pairs, every veth at MTU.
wire_up() {
  local mtu=${1:-1500} ns
  for ns in "$WIRE_NS_C" "$WIRE_NS_B" "$WIRE_NS_S"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
  done
  ip netns exec "$WIRE_NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$WIRE_NS_C" link add eth0 mtu "$mtu" type veth peer name out0 mtu "$mtu" netns "$WIRE_NS_B" || return 1
  ip -n "$WIRE_NS_S" link add eth0 mtu "$mtu" type veth peer name in0 mtu "$mtu" netns "$WIRE_NS_B" || return 1
  wire_offloads_off "$WIRE_NS_C" eth0
  wire_offloads_off "$WIRE_NS_S" eth0
  wire_offloads_off "$WIRE_NS_B" out0
  wire_offloads_off "$WIRE_NS_B" in0
  ip -n "$WIRE_NS_C" addr add "$WIRE_C4/24" dev eth0
  ip -n "$WIRE_NS_S" addr add "$WIRE_S4/24" dev eth0
  ip -n "$WIRE_NS_C" link set eth0 up
  ip -n "$WIRE_NS_S" link set eth0 up
  ip -n "$WIRE_NS_B" link set out0 promisc on up
  ip -n "$WIRE_NS_B" link set in0 promisc on up
}

wire_bump() { nsenter --net="/run/netns/$WIRE_NS_B" -- "$@"; }

# wire_dpdk_start SLUICE_DP [options after --]: sluice-dp on net_af_packet ports over out0/in0,
# logging to $WIRE_LOG (default /dev/null). WIRE_AFP_ARGS adds vdev arguments (framesz=...).
wire_dpdk_start() {
  local dp=$1
  shift
  # nsenter execs the program: $! is sluice-dp itself, so signals reach it.
  nsenter --net="/run/netns/$WIRE_NS_B" -- "$dp" --no-huge --no-pci -m "${WIRE_EAL_MEM:-256}" -l 0 --log-level=3 \
    --file-prefix "$WIRE_PREFIX" \
    --vdev "net_af_packet0,iface=out0${WIRE_AFP_ARGS:+,$WIRE_AFP_ARGS}" \
    --vdev "net_af_packet1,iface=in0${WIRE_AFP_ARGS:+,$WIRE_AFP_ARGS}" -- \
    --outside 0 --inside 1 --idle-sleep-us 5 "$@" >>"${WIRE_LOG:-/dev/null}" 2>&1 &
  wire_dp_pid=$!
}

# wire_wait_log TEXT: waits (bounded, 20 s) until $WIRE_LOG has TEXT.
wire_wait_log() {
  local _
  for _ in $(seq 200); do
    grep -q -- "$1" "$WIRE_LOG" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wire_wait_listen NS PORT...: waits (bounded, 20 s) until namespace NS has a TCP listener on
# every PORT (a server started in the background is not listening at once: an interpreter's
# start-up on a loaded machine took longer than any fixed sleep).
wire_wait_listen() {
  local ns=$1 _ p missing
  shift
  for _ in $(seq 200); do
    missing=0
    for p in "$@"; do
      [[ -n $(ip netns exec "$ns" ss -Hltn "sport = :$p") ]] || missing=1
    done
    [[ $missing == 0 ]] && return 0
    sleep 0.1
  done
  return 1
}

# wire_xdp_start SLUICE_XDP: pass programs on the far ends (native redirect into a veth needs
# them) and the data plane on out0/in0.
wire_xdp_start() {
  wire_xdp_bin=$1
  ip netns exec "$WIRE_NS_C" "$1" peer-pass --dev eth0 >/dev/null || return 1
  ip netns exec "$WIRE_NS_S" "$1" peer-pass --dev eth0 >/dev/null || return 1
  wire_bump "$1" attach --name "$WIRE_XDP_NAME" --outside out0 --inside in0 >/dev/null
}

wire_carrier() {
  local c
  c=$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>/dev/null) || c=0
  echo "${c:-0}"
}

wire_wait_carrier() {
  local _
  for _ in $(seq 100); do
    [[ $(wire_carrier "$1" "$2") == "$3" ]] && return 0
    sleep 0.1
  done
  return 1
}

wire_down() {
  set +e
  if [[ -n $wire_dp_pid ]]; then
    kill -INT "$wire_dp_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$wire_dp_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$wire_dp_pid" 2>/dev/null
    wait "$wire_dp_pid" 2>/dev/null
  fi
  if [[ -n $wire_xdp_bin && -e /sys/fs/bpf/sluice/$WIRE_XDP_NAME ]]; then
    wire_bump "$wire_xdp_bin" detach --name "$WIRE_XDP_NAME" >/dev/null 2>&1
  fi
  ip netns del "$WIRE_NS_C" 2>/dev/null
  ip netns del "$WIRE_NS_B" 2>/dev/null
  ip netns del "$WIRE_NS_S" 2>/dev/null
  rm -rf "/var/run/dpdk/$WIRE_PREFIX"
  return 0
}

# wire_require_root: skip (77) without root; fail under CI=true.
wire_require_root() {
  [[ $(id -u) -eq 0 ]] && return 0
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: privileged test cannot run under CI=true: not root"
    exit 1
  fi
  echo "SKIP: needs root"
  exit 77
}
