#!/usr/bin/env bash
# Link-state propagation on a veth wire (tests/e2e/wire_lib.sh), for either data plane:
#   wire_link_test.sh dpdk SLUICE_DP      sluice-dp on net_af_packet (its own propagation)
#   wire_link_test.sh xdp SLUICE_XDP      the XDP data plane with `sluice-xdp watch`
# Checks, from the namespaces on either side (what a router there would see):
#   - the outside neighbour's link goes down -> the inside neighbour loses carrier; it comes
#     back up -> carrier returns, and a ping crosses the wire again;
#   - the same from the inside neighbour towards the outside;
#   - stopping the propagation (SIGTERM) while it holds a port down brings that port back;
#   - a propagation killed (-9) while holding a port down leaves it down; the next start
#     brings it back up (and holds it down again only while the far side is still down);
#   - dpdk: with --link-propagation off, nothing is taken down.
set -euo pipefail
plane=${1:?dpdk or xdp} bin=${2:?path of sluice-dp or sluice-xdp}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$here/wire_lib.sh"
wire_require_root
wire_init "$$"
work=$(mktemp -d /tmp/sluice_wire_link.XXXXXX)
WIRE_LOG=$work/dp.log
watch_pid=
stop_propagation() {  # SIGNAL
  if [[ $plane == dpdk ]]; then
    kill "-$1" "$wire_dp_pid" 2>/dev/null || true
    wait "$wire_dp_pid" 2>/dev/null || true
    wire_dp_pid=
  else
    kill "-$1" "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
    watch_pid=
  fi
}
cleanup() {
  set +e
  [[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
  wire_down
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  tail -20 "$WIRE_LOG" 2>/dev/null
  exit 1
}
ok() { echo "  ok: $*"; }

# start_propagation [sluice-dp options]: the data plane (dpdk) or the watcher (xdp), ready.
start_propagation() {
  : >"$WIRE_LOG"
  if [[ $plane == dpdk ]]; then
    wire_dpdk_start "$bin" "$@"
    wire_wait_log "forwarding between" || fail "sluice-dp did not start"
  else
    nsenter --net="/run/netns/$WIRE_NS_B" -- "$bin" watch --name "$WIRE_XDP_NAME" --settle-ms 0 >>"$WIRE_LOG" 2>&1 &
    watch_pid=$!
    wire_wait_log "mirroring link state" || fail "sluice-xdp watch did not start"
  fi
  sleep 0.3  # its first look at the links (a notification-driven loop, no timing asserted)
}

cross() { ip netns exec "$WIRE_NS_C" ping -c 1 -W 2 "$WIRE_S4" >/dev/null 2>&1 || ip netns exec "$WIRE_NS_C" ping -c 3 -W 2 "$WIRE_S4" >/dev/null 2>&1; }

if [[ $plane == dpdk ]]; then
  # Usage errors, before EAL starts: exit 2 with the option named.
  for bad in "--link-propagation maybe" "--mtu 67" "--mtu 16001"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    "$bin" -- --outside 0 --inside 1 $bad >"$work/usage" 2>&1 && fail "sluice-dp accepted $bad"
    rc=$?
    [[ $rc == 2 ]] || fail "sluice-dp $bad exits $rc, not 2"
    grep -q -- "${bad%% *}" "$work/usage" || fail "sluice-dp $bad: the message does not name ${bad%% *}"
  done
  ok "bad --link-propagation and --mtu values refused (exit 2)"
fi
wire_up 1500 || fail "cannot build the wire"
if [[ $plane == xdp ]]; then
  wire_xdp_start "$bin" || fail "cannot attach the XDP data plane"
fi
start_propagation
cross || fail "no ping across the wire before any link change"
[[ $(wire_carrier "$WIRE_NS_S" eth0) == 1 ]] || fail "the inside neighbour has no carrier at start"

# Outside neighbour down -> inside neighbour loses carrier; and back.
ip -n "$WIRE_NS_C" link set eth0 down
wire_wait_carrier "$WIRE_NS_S" eth0 0 || fail "outside link down, the inside neighbour kept its carrier"
ok "outside link down: inside port taken down"
ip -n "$WIRE_NS_C" link set eth0 up
wire_wait_carrier "$WIRE_NS_S" eth0 1 || fail "outside link back, the inside neighbour has no carrier"
cross || fail "no ping across the wire after the outside link returned"
ok "outside link up: inside port back, traffic crosses"

# Inside neighbour down -> outside neighbour loses carrier; and back.
ip -n "$WIRE_NS_S" link set eth0 down
wire_wait_carrier "$WIRE_NS_C" eth0 0 || fail "inside link down, the outside neighbour kept its carrier"
ok "inside link down: outside port taken down"
ip -n "$WIRE_NS_S" link set eth0 up
wire_wait_carrier "$WIRE_NS_C" eth0 1 || fail "inside link back, the outside neighbour has no carrier"
cross || fail "no ping across the wire after the inside link returned"
ok "inside link up: outside port back, traffic crosses"

# Stopping while holding a port down brings it back.
ip -n "$WIRE_NS_C" link set eth0 down
wire_wait_carrier "$WIRE_NS_S" eth0 0 || fail "outside link down (2nd time) not propagated"
stop_propagation TERM
wire_wait_carrier "$WIRE_NS_S" eth0 1 || fail "stopped while holding the inside port down: it stayed down"
ok "stopped while holding a port: the port is back up"

# Killed while holding: the port stays down; the next start brings it up, and holds it again
# only while the outside is still down.
start_propagation
wire_wait_carrier "$WIRE_NS_S" eth0 0 || fail "restart with the outside down: inside not taken down"
stop_propagation KILL
sleep 0.3
[[ $(wire_carrier "$WIRE_NS_S" eth0) == 0 ]] || fail "killed -9: expected the held port to stay down"
ip -n "$WIRE_NS_C" link set eth0 up
start_propagation
wire_wait_carrier "$WIRE_NS_S" eth0 1 || fail "a port left down by a killed run stays down after a restart"
cross || fail "no ping across the wire after the restart"
ok "a port left down by a killed run is brought back at the next start"
stop_propagation TERM

if [[ $plane == dpdk ]]; then
  start_propagation --link-propagation off
  grep -q "link propagation off" "$WIRE_LOG" || fail "sluice-dp does not say propagation is off"
  ip -n "$WIRE_NS_C" link set eth0 down
  sleep 1  # long enough for a propagation that is on (it acts within ~0.1 s above)
  [[ $(wire_carrier "$WIRE_NS_S" eth0) == 1 ]] || fail "--link-propagation off: the inside port was taken down"
  ip -n "$WIRE_NS_C" link set eth0 up
  ok "--link-propagation off: nothing taken down"
  stop_propagation TERM
fi
echo "PASS: link-state propagation ($plane)"
