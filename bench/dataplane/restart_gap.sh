#!/usr/bin/env bash
# sluice-dp's restart gap: the time from a crash (kill -9) to forwarding again, on the veth
# wire of tests/e2e/wire_lib.sh (net_af_packet ports, --no-huge EAL).
#
# There is no systemd here: a supervisor loop stands in for Restart=always with systemd's
# default RestartSec=100ms (it starts sluice-dp again 100 ms after it exits). A UDP probe at
# 1 kHz crosses the wire; each of KILLS kills (4 s apart) is timed against the next probe that
# arrives, so a gap includes the restart delay, EAL start-up (about a second of it memory set
# up), port set-up and the neighbour's first packet after that (at most 1 ms later). The hosts
# have permanent ARP entries for each other, so ARP timers do not add to the gap.
#   restart_gap.sh SLUICE_DP [KILLS]      (root; prints one line per kill and the median)
set -euo pipefail
dp=${1:?sluice-dp} kills=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/wire_lib.sh
. "$here/../../tests/e2e/wire_lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "restart_gap: needs root" >&2; exit 1; }
wire_init "r$$"
work=$(mktemp -d /tmp/sluice_restart_gap.XXXXXX)
sup_pid='' rcv_pid='' snd_pid=''
cleanup() {
  set +e
  touch "$work/stop"  # the supervisor starts no new sluice-dp
  for p in $snd_pid $rcv_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  # Stop the running sluice-dp (again, should the supervisor have started one meanwhile).
  for _ in $(seq 50); do
    [[ -f $work/pid ]] && kill -INT "$(cat "$work/pid")" 2>/dev/null
    if [[ -z $sup_pid ]] || ! kill -0 "$sup_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  [[ -n $sup_pid ]] && wait "$sup_pid" 2>/dev/null
  wire_down
  rm -rf "$work"
}
trap cleanup EXIT
wire_up 1500
# Permanent neighbour entries at both ends: otherwise an outage of more than a few seconds
# expires the hosts' ARP entries, and after the restart the first probe waits for the next ARP
# retransmission (up to 1 s): that measures the hosts' ARP timers, not sluice-dp.
cmac=$(ip netns exec "$WIRE_NS_C" cat /sys/class/net/eth0/address)
smac=$(ip netns exec "$WIRE_NS_S" cat /sys/class/net/eth0/address)
ip -n "$WIRE_NS_C" neigh replace "$WIRE_S4" lladdr "$smac" dev eth0 nud permanent
ip -n "$WIRE_NS_S" neigh replace "$WIRE_C4" lladdr "$cmac" dev eth0 nud permanent
# The supervisor: Restart=always, RestartSec=100ms.
(
  while [[ ! -e $work/stop ]]; do
    nsenter --net="/run/netns/$WIRE_NS_B" -- "$dp" --no-huge --no-pci -m 256 -l 0 --log-level=3 \
      --file-prefix "$WIRE_PREFIX" --vdev net_af_packet0,iface=out0 --vdev net_af_packet1,iface=in0 \
      -- --outside 0 --inside 1 --idle-sleep-us 5 --pacer-size 1024 >>"$work/dp.log" 2>&1 &
    echo $! >"$work/pid"
    wait $! || true
    sleep 0.1
  done
) &
sup_pid=$!
for _ in $(seq 100); do grep -q "forwarding between" "$work/dp.log" 2>/dev/null && break; sleep 0.1; done
ip netns exec "$WIRE_NS_C" ping -c 3 -W 1 "$WIRE_S4" >/dev/null || { echo "no forwarding" >&2; exit 1; }
secs=$((15 * kills + 5))  # an upper bound; the probes stop once the last gap is measured
ip netns exec "$WIRE_NS_S" python3 "$here/restart_probe.py" recv "$WIRE_S4" 7777 "$work/arrivals" --seconds "$secs" &
rcv_pid=$!
sleep 0.3
ip netns exec "$WIRE_NS_C" python3 "$here/restart_probe.py" send "$WIRE_S4" 7777 --rate 1000 --seconds "$((secs - 1))" &
snd_pid=$!
: >"$work/kills"
last=0
# forwarding_since NS: a probe arrived after time NS (bounded wait: 15 s).
forwarding_since() {
  local _
  for _ in $(seq 150); do
    [[ -s $work/arrivals && $(tail -1 "$work/arrivals") -gt $1 ]] && return 0
    sleep 0.1
  done
  return 1
}
for _ in $(seq "$kills"); do
  forwarding_since "$last" || { echo "sluice-dp did not forward again within 15 s" >&2; exit 1; }
  sleep 1
  last=$(python3 "$here/restart_probe.py" kill "$work/pid")
  echo "$last" >>"$work/kills"
done
forwarding_since "$last" || { echo "sluice-dp did not forward again within 15 s" >&2; exit 1; }
kill "$snd_pid" "$rcv_pid" 2>/dev/null || true
wait "$snd_pid" "$rcv_pid" 2>/dev/null || true
snd_pid='' rcv_pid=''
echo "sluice-dp restart gap (kill -9 -> next probe forwarded; supervisor RestartSec=100ms; $(nproc) CPUs):"
python3 "$here/restart_probe.py" gaps "$work/arrivals" "$work/kills"
