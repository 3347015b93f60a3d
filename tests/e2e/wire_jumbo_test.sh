#!/usr/bin/env bash
# Jumbo frames on the veth wire (wire_lib.sh, every veth at MTU 9000), for either data plane:
#   wire_jumbo_test.sh dpdk SLUICE_DP     sluice-dp --mtu 9000 on net_af_packet
#   wire_jumbo_test.sh xdp SLUICE_XDP     the XDP data plane (xdp.frags programs)
# Checks:
#   - a TCP stream to the SMTP port (25) and one to another port (8080), each 4 MiB in
#     9000-byte writes, arrive byte for byte (sha256 at both ends);
#   - the frames were jumbo: the server's interface received more than 4000 bytes per packet
#     on average (a 1500 MTU anywhere on the path keeps that under 1514);
#   - a 9000-byte IP packet with DF set (ping -s 8972 -M do) crosses and comes back intact;
#   - dpdk: without ring frames large enough (net_af_packet's framesz), sluice-dp --mtu 9000
#     refuses to start and says which framesz= to give, instead of truncating frames; so it
#     does for a blocksz that is not a multiple of framesz (with which nothing is forwarded).
set -euo pipefail
plane=${1:?dpdk or xdp} bin=${2:?path of sluice-dp or sluice-xdp}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$here/wire_lib.sh"
wire_require_root
wire_init "$$"
work=$(mktemp -d /tmp/sluice_wire_jumbo.XXXXXX)
WIRE_LOG=$work/dp.log
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
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
rx() { ip netns exec "$WIRE_NS_S" cat "/sys/class/net/eth0/statistics/rx_$1"; }

wire_up 9000 || fail "cannot build the wire"
if [[ $plane == dpdk ]]; then
  WIRE_EAL_MEM=512
  wire_dpdk_start "$bin" --mtu 9000 --pacer-size 1024
  wait "$wire_dp_pid" && fail "sluice-dp --mtu 9000 started with 2048-byte ring frames"
  wire_dp_pid=
  grep -q "add framesz=9216,blocksz=36864 to its --vdev" "$WIRE_LOG" ||
    fail "sluice-dp's refusal does not say which framesz to give"
  ok "too small ring frames for --mtu 9000: refused, with the framesz to give"
  # Slots that do not tile a block: DPDK 22.11's PMD reads slots where the kernel has none and
  # nothing is forwarded; refused too.
  : >"$WIRE_LOG"
  WIRE_AFP_ARGS=framesz=9088,blocksz=12288
  wire_dpdk_start "$bin" --mtu 9000 --pacer-size 1024
  wait "$wire_dp_pid" && fail "sluice-dp started with a blocksz that is not a multiple of framesz"
  wire_dp_pid=
  grep -q "blocksz is not a multiple of framesz: add framesz=9216,blocksz=36864" "$WIRE_LOG" ||
    fail "sluice-dp's refusal of blocksz=12288 does not say what to give"
  ok "ring blocks that are not whole ring frames: refused"
  : >"$WIRE_LOG"
  WIRE_AFP_ARGS=framesz=9216,blocksz=36864
  wire_dpdk_start "$bin" --mtu 9000 --pacer-size 1024
  wire_wait_log "forwarding between" || fail "sluice-dp did not start"
else
  wire_xdp_start "$bin" || fail "cannot attach the XDP data plane at MTU 9000"
fi

ip netns exec "$WIRE_NS_C" ping -c 3 -W 2 -s 8972 -M "do" "$WIRE_S4" >"$work/ping" 2>&1 ||
  fail "no 9000-byte ping across the wire: $(tail -3 "$work/ping")"
ok "9000-byte IP packets (DF) cross and return intact"

p0=$(rx packets) b0=$(rx bytes)
for port in 25 8080; do
  ip netns exec "$WIRE_NS_S" python3 "$here/wire_stream.py" serve "$WIRE_S4" "$port" "$work/recv.$port" --timeout 60 &
  pids+=($!)
done
wire_wait_listen "$WIRE_NS_S" 25 8080 || fail "the receivers did not listen on ports 25 and 8080"
for port in 25 8080; do
  ip netns exec "$WIRE_NS_C" python3 "$here/wire_stream.py" send "$WIRE_S4" "$port" "$work/sent.$port" \
    --max-bytes 4194304 --max-seconds 60 --chunk 9000 || fail "sending to port $port failed"
done
for p in "${pids[@]}"; do wait "$p" || fail "a receiver failed"; done
pids=()
for port in 25 8080; do
  cmp -s "$work/sent.$port" "$work/recv.$port" ||
    fail "port $port: sent $(cat "$work/sent.$port"), received $(cat "$work/recv.$port" 2>/dev/null)"
done
ok "4 MiB to port 25 and to port 8080 arrived byte for byte"
p1=$(rx packets) b1=$(rx bytes)
avg=$(((b1 - b0) / (p1 - p0)))
[[ $avg -gt 4000 ]] || fail "the server received $avg bytes per packet on average: not jumbo frames"
ok "jumbo frames on the wire: $avg bytes per packet on average at the server"
if [[ $plane == xdp ]]; then
  wire_bump "$bin" status --name "$WIRE_XDP_NAME" | sed 's/^/  info: /'
fi
echo "PASS: jumbo frames ($plane)"
