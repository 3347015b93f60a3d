#!/usr/bin/env bash
# End-to-end effect of XDP's loss-induced slowing (server_drop_ppm) on an SMTP-like dialogue:
# a shaped sender makes 50 command/response rounds with the MTA side through sluice-xdp on a
# veth/namespace rig (each dropped response costs the sender a retransmission timeout); we time
# the dialogue for several drop rates, side by side in one run, and print the median of RUNS.
#
#   sudo bench/bpf/loss_slowing.sh BUILD_DIR [RUNS]
#       (BUILD_DIR holds bpf/sluice-xdp and control/sluicectl/sluicectl)
#
# Rig: [ns c: 198.18.0.1] <-veth-> o$$ ==XDP== i$$ <-veth-> [ns s: 198.18.0.2]. Everything is
# named after this shell's pid and removed on exit, also on failure.
set -euo pipefail
build=${1:?usage: loss_slowing.sh BUILD_DIR [RUNS]}
runs=${2:-5}
bin=$build/bpf/sluice-xdp
ctl=$build/control/sluicectl/sluicectl
id=$$
nsc=slbc$id nss=slbs$id out_if=slbo$id in_if=slbi$id name=bench-$id
tmp=$(mktemp -d /tmp/sluice-loss-XXXXXX)
server_pid=

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  "$bin" detach --name "$name" >/dev/null 2>&1 || true
  ip link del "$out_if" 2>/dev/null || true
  ip link del "$in_if" 2>/dev/null || true
  ip netns del "$nsc" 2>/dev/null || true
  ip netns del "$nss" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$nsc"
ip netns add "$nss"
ip link add "$out_if" type veth peer name c0 netns "$nsc"
ip link add "$in_if" type veth peer name s0 netns "$nss"
ip -n "$nsc" addr add 198.18.0.1/24 dev c0
ip -n "$nss" addr add 198.18.0.2/24 dev s0
for l in "$out_if" "$in_if"; do ip link set "$l" up; ethtool -K "$l" tx off tso off gso off gro off >/dev/null; done
ip -n "$nsc" link set c0 up
ip -n "$nss" link set s0 up
ip netns exec "$nsc" ethtool -K c0 tx off tso off gso off gro off >/dev/null
ip netns exec "$nss" ethtool -K s0 tx off tso off gso off gro off >/dev/null

"$bin" attach --outside "$out_if" --inside "$in_if" --name "$name" --mode generic >/dev/null
export SLUICE_XDP_STATE_DIR=$tmp/state

# The sender's reputation: one host entry, written straight into the active set's host map.
key=$(printf '0x%02x 0x%02x 0x%02x 0x%02x' 198 18 0 1)
set_active=$(bpftool map lookup pinned /sys/fs/bpf/sluice/$name/rep_active key 0 0 0 0 -j |
             python3 -c 'import json,sys; print(int(json.load(sys.stdin)["value"][0],16))')
bpftool map update pinned /sys/fs/bpf/sluice/$name/host4_$set_active key $key \
  value 5 0 0 0 0 0 0 0

# Server: up to 40 connections (bounded), 50 rounds each: read a command, answer "250 ok".
ip netns exec "$nss" timeout 900 python3 -c "
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('198.18.0.2',2525)); s.listen(4); s.settimeout(120)
for _ in range(40):
    c,_=s.accept(); c.settimeout(60)
    for _ in range(50):
        if not c.recv(256): break
        c.sendall(b'250 2.1.5 ok\\r\\n')
    c.close()
" &
server_pid=$!
sleep 0.5

transfer() {  # prints seconds for one 50-round dialogue (timeout 60 s)
  ip netns exec "$nsc" timeout 70 python3 -c "
import socket,time
t=time.monotonic(); c=socket.create_connection(('198.18.0.2',2525),timeout=60)
for i in range(50):
    c.sendall(b'RCPT TO:<u%d@example.test>\\r\\n' % i)
    assert c.recv(256).startswith(b'250')
print('%.3f' % (time.monotonic()-t))"
}

printf '%-16s %-14s %s\n' server_drop_ppm median_seconds all_runs
for ppm in 0 20000 100000 200000; do
  cat >"$tmp/policy.ini" <<INI
[smtp]
ports = 2525
[level.1]
name = slow
threshold = 3
window_clamp = 8192
server_drop_ppm = $ppm
INI
  "$ctl" --dataplane "xdp:$name" dataplane policy set "$tmp/policy.ini" >/dev/null
  times=()
  for _ in $(seq "$runs"); do times+=("$(transfer)"); done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-16s %-14s %s\n' "$ppm" "$median" "${times[*]}"
done
"$bin" status --name "$name" | grep -E '^level|^packets' || true
