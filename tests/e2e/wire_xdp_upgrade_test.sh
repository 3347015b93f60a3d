#!/usr/bin/env bash
# XDP upgrade without a gap (sluice-xdp attach --upgrade), on the veth wire (wire_lib.sh):
# a steady TCP stream to the SMTP port from a listed (shaped) sender crosses the wire while
# the running programs are replaced UPGRADES times. Checks, by counts, not by timing:
#   - every byte sent arrives, in order and intact (sha256 at both ends);
#   - no packet is lost: once the stream is over, the server's interface received exactly as
#     many packets as the client's sent, and the other way round (a packet that met a port
#     without a program would go to the bump's own stack, which drops it);
#   - every segment the sender retransmitted was a spurious one (the receiver reports it as a
#     duplicate, DSACK): a retransmission after a loss has no DSACK. Spurious ones happen on
#     a loaded machine (a delayed ACK past the sender's RACK timer) with or without upgrades;
#   - each upgrade attached new programs (new ids) and kept the maps: the shaped flow is still
#     listed, the policy generation is the same, the counters were not reset.
#   wire_xdp_upgrade_test.sh SLUICE_XDP SLUICECTL [UPGRADES]
# SLUICE_TEST_GAP=1 replaces each upgrade by a detach and re-attach of the pinned programs
# (bpftool), a gap of a few milliseconds: the test must then fail (a check of the check).
set -euo pipefail
xdp=${1:?sluice-xdp} ctl=${2:?sluicectl} upgrades=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=wire_lib.sh
. "$here/wire_lib.sh"
wire_require_root
wire_init "$$"
work=$(mktemp -d /tmp/sluice_wire_upgrade.XXXXXX)
srv_pid='' snd_pid=''
cleanup() {
  set +e
  touch "$work/stop"
  for p in $snd_pid $srv_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  wire_down
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "  ok: $*"; }
status_json() { wire_bump "$xdp" status --name "$WIRE_XDP_NAME" --json; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
tcpstat() { ip netns exec "$WIRE_NS_C" nstat -az "$1" | awk -v k="$1" '$1==k{print $2}'; }
ifstat() { ip netns exec "$1" cat "/sys/class/net/eth0/statistics/$2"; }
counts() { echo "$(ifstat "$WIRE_NS_C" tx_packets) $(ifstat "$WIRE_NS_S" rx_packets) $(ifstat "$WIRE_NS_S" tx_packets) $(ifstat "$WIRE_NS_C" rx_packets)"; }

wire_up 1500 || fail "cannot build the wire"
wire_xdp_start "$xdp" || fail "cannot attach"
# The client is listed (score 5): its connection to port 25 is a shaped flow (an MSS clamp
# only, so the stream is not slowed and nothing is dropped on purpose).
printf '[listed]\ntype = rbldnsd-ip4set\npath = listed.zone\nweight = 5\n' >"$work/sources.ini"
echo "$WIRE_C4" >"$work/listed.zone"
"$ctl" table build --sources "$work/sources.ini" --output "$work/table.snap" >/dev/null
printf '[smtp]\nports = 25\n\n[level.1]\nname = watched\nthreshold = 3\nmss_clamp = 1400\n' >"$work/policy.ini"
wire_bump "$ctl" --dataplane "xdp:$WIRE_XDP_NAME" dataplane table load "$work/table.snap" >/dev/null
wire_bump "$ctl" --dataplane "xdp:$WIRE_XDP_NAME" dataplane policy set "$work/policy.ini" >/dev/null
keep='d["stats"]["policy"]["generation"], d["stats"]["table"]["version"]'
kept=$(status_json | field "$keep")

ip netns exec "$WIRE_NS_S" python3 "$here/wire_stream.py" serve "$WIRE_S4" 25 "$work/recv.json" --timeout 90 &
srv_pid=$!
wire_wait_listen "$WIRE_NS_S" 25 || fail "the receiver did not listen on port 25"
before=$(tcpstat TcpRetransSegs) dsack0=$(tcpstat TcpExtTCPDSACKRecvSegs)
read -r ctx0 srx0 stx0 crx0 <<<"$(counts)"
# Paced (a 16 KiB write every 2 ms, at most ~8 MB/s) so that the veth rings never overflow on
# their own: any retransmission is the upgrade's.
ip netns exec "$WIRE_NS_C" python3 "$here/wire_stream.py" send "$WIRE_S4" 25 "$work/sent.json" \
  --max-bytes 400000000 --max-seconds 60 --stop-file "$work/stop" --chunk 16384 --pace-us 2000 &
snd_pid=$!
for _ in $(seq 50); do
  [[ $(status_json | field 'd["stats"]["flows"]') -ge 1 ]] && break
  sleep 0.1
done
s0=$(status_json)
[[ $(field 'd["stats"]["flows"]' <<<"$s0") -ge 1 ]] || fail "no shaped flow for the stream"
ids=$(field 'd["outside"]["prog_id"], d["inside"]["prog_id"]' <<<"$s0")
pk=$(field 'd["stats"]["packets"]["from_outside"]' <<<"$s0")
for i in $(seq "$upgrades"); do
  sleep 0.3
  if [[ ${SLUICE_TEST_GAP:-} == 1 ]]; then
    pin=/sys/fs/bpf/sluice/$WIRE_XDP_NAME/prog_outside
    wire_bump bpftool net detach xdpdrv dev out0
    wire_bump bpftool net attach xdpdrv pinned "$pin" dev out0
    ids=gap
  else
    wire_bump "$xdp" attach --name "$WIRE_XDP_NAME" --upgrade >"$work/up.out" 2>&1 || fail "upgrade $i: $(cat "$work/up.out")"
  fi
  s=$(status_json)
  new_ids=$(field 'd["outside"]["prog_id"], d["inside"]["prog_id"]' <<<"$s")
  [[ $new_ids != "$ids" ]] || fail "upgrade $i: the same programs are attached ($ids)"
  [[ $(field 'd["outside"]["attached"] and d["inside"]["attached"]' <<<"$s") == True ]] || fail "upgrade $i: status says not attached"
  np=$(field 'd["stats"]["packets"]["from_outside"]' <<<"$s")
  [[ $np -ge $pk ]] || fail "upgrade $i: counters reset ($pk -> $np)"
  [[ $(field 'd["stats"]["flows"]' <<<"$s") -ge 1 ]] || fail "upgrade $i: the shaped flow is gone"
  [[ $(field "$keep" <<<"$s") == "$kept" ]] || fail "upgrade $i: policy or table changed"
  [[ $(field 'd["stats"]["levels"][1]["syns"]' <<<"$s") == 1 ]] || fail "upgrade $i: level counters reset"
  ids=$new_ids pk=$np
done
ok "$upgrades upgrades: new programs each time, flows and counters kept"
touch "$work/stop"
wait "$snd_pid" || fail "the sender failed"
snd_pid=
wait "$srv_pid" || fail "the receiver failed"
srv_pid=
sleep 0.5  # the last ACKs and FIN handshake are through
after=$(tcpstat TcpRetransSegs) dsack1=$(tcpstat TcpExtTCPDSACKRecvSegs)
read -r ctx1 srx1 stx1 crx1 <<<"$(counts)"
sent=$(field 'd["bytes"], d["sha256"]' <"$work/sent.json")
recv=$(field 'd["bytes"], d["sha256"]' <"$work/recv.json")
[[ $sent == "$recv" ]] || fail "sent $sent, received $recv"
ok "every byte arrived intact: $(field 'd["bytes"]' <"$work/sent.json") bytes"
[[ $((srx1 - srx0)) -eq $((ctx1 - ctx0)) ]] ||
  fail "client sent $((ctx1 - ctx0)) packets, the server received $((srx1 - srx0)): packets were lost"
[[ $((crx1 - crx0)) -eq $((stx1 - stx0)) ]] ||
  fail "server sent $((stx1 - stx0)) packets, the client received $((crx1 - crx0)): packets were lost"
ok "no packet lost: $((ctx1 - ctx0)) client->server and $((stx1 - stx0)) server->client, all delivered"
retr=$((after - before)) dup=$((dsack1 - dsack0))
[[ $retr -le $dup ]] || fail "$retr segments retransmitted, only $dup reported as duplicates: packets were lost"
ok "$retr segments retransmitted, $dup reported by the receiver as duplicates (spurious)"
echo "PASS: XDP upgrade under a steady stream"
