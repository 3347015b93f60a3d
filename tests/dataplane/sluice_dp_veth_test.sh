#!/usr/bin/env bash
# sluice-dp, the real binary, on net_af_packet ports over two veth pairs between a sender
# namespace and an MTA namespace (smtp-sink), controlled through sluicectl:
#   - start-up refuses a malformed policy, a corrupt table, an unknown port and two ports on the
#     two ends of one veth pair (exit 1);
#   - an unlisted sender's message is delivered and its SYN creates no flow;
#   - after `dataplane policy set` + `dataplane table load`, the listed sender's message is
#     still delivered intact, through a shaped flow: SYN at level 1, packets rewritten and
#     delayed by the pacer (counters read back with `dataplane stats --json`);
#   - /sluice/stats answers on the DPDK telemetry socket;
#   - SIGINT stops sluice-dp with status 0.
# Everything is named with the pid and removed on exit, on failure too.
#   sluice_dp_veth_test.sh SLUICE_DP SLUICECTL
set -euo pipefail
dp=${1:?sluice-dp path}
ctl=${2:?sluicectl path}
if [ "$(id -u)" != 0 ]; then
  [ "${CI:-}" = true ] && { echo "FAIL: privileged test cannot run under CI=true: not root"; exit 1; }
  echo "SKIP: needs root"; exit 77
fi
for tool in ip ethtool swaks python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed"; exit 1; }
done
# smtp-sink from the unpacked Postfix (scripts/install-deps), never the system's.
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/postfix-tools.sh
. "$(dirname "$0")/../../scripts/lib/postfix-tools.sh"
pft_find || { echo "FAIL: no unpacked Postfix tools (scripts/install-deps)"; exit 1; }

p=$$
ns_c=sl_c$p ns_s=sl_s$p a0=sla0$p a1=sla1$p b0=slb0$p b1=slb1$p
work=$(mktemp -d /tmp/sluice_dp_veth.XXXXXX)
prefix=sluice_veth_$p
sock=$work/dp.sock
dp_pid= sink_pid=
cleanup() {
  set +e  # cleanup always runs to the end
  [ -n "$dp_pid" ] && kill -INT "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null || true
  ip netns del "$ns_c" 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  ip link del "$a1" 2>/dev/null || true
  ip link del "$b1" 2>/dev/null || true
  rm -rf "$work" "/var/run/dpdk/$prefix" "/var/run/dpdk/${prefix}_bad"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/dp.log" ] && tail -5 "$work/dp.log"; exit 1; }

# ---- start-up errors -----------------------------------------------------------------------
eal=(--no-huge --no-pci -m 256 -l 0 --log-level=1 --file-prefix "${prefix}_bad" --vdev net_null0 --vdev net_null1)
printf '[level.1]\nthreshold = high\n' > "$work/bad.ini"
echo garbage > "$work/bad.snap"
"$dp" "${eal[@]}" -- --outside net_null0 --inside net_null1 --policy "$work/bad.ini" > "$work/out" 2>&1 && fail "malformed policy accepted"
grep -q "bad.ini:2: " "$work/out" || fail "policy error without FILE:LINE: $(cat "$work/out")"
"$dp" "${eal[@]}" -- --outside net_null0 --inside net_null1 --table "$work/bad.snap" > "$work/out" 2>&1 && fail "corrupt table accepted"
grep -q "bad.snap" "$work/out" || fail "table error does not name the file"
"$dp" "${eal[@]}" -- --outside net_null0 --inside net_nope > "$work/out" 2>&1 && fail "unknown port accepted"
grep -q "no port named 'net_nope'" "$work/out" || fail "unknown port message: $(cat "$work/out")"
# Ports on the two ends of one veth pair would pass every frame back and forth forever.
ip link add "$a0" type veth peer name "$a1"
ip link set "$a0" up && ip link set "$a1" up
# Bounded: a sluice-dp that accepted the ports would forward until stopped.
timeout 20 "$dp" --no-huge --no-pci -m 256 -l 0 --log-level=1 --file-prefix "${prefix}_bad" \
  --vdev "net_af_packet0,iface=$a0" --vdev "net_af_packet1,iface=$a1" \
  -- --outside net_af_packet0 --inside net_af_packet1 > "$work/out" 2>&1 && fail "one veth pair's two ends accepted"
grep -q "two ends of one veth pair" "$work/out" || fail "veth pair message: $(cat "$work/out")"
ip link del "$a0"

# ---- the rig --------------------------------------------------------------------------------
ip netns add "$ns_c"
ip netns add "$ns_s"
ip link add "$a0" type veth peer name "$a1"
ip link add "$b0" type veth peer name "$b1"
ip link set "$a0" netns "$ns_c"
ip link set "$b0" netns "$ns_s"
ip -n "$ns_c" addr add 198.18.0.1/24 dev "$a0"
ip -n "$ns_c" addr add 198.18.0.3/24 dev "$a0"
ip -n "$ns_s" addr add 198.18.0.2/24 dev "$b0"
for n in "$ns_c:$a0" "$ns_s:$b0"; do
  ip -n "${n%%:*}" link set "${n#*:}" up
  ip -n "${n%%:*}" link set lo up
  ip netns exec "${n%%:*}" ethtool -K "${n#*:}" tx off tso off gso off gro off >/dev/null 2>&1 || true
done
for i in "$a1" "$b1"; do
  ip link set "$i" up
  ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true
done
# Each message smtp-sink receives is dumped to its own file in $work/mail (written as nobody).
chmod 755 "$work"
mkdir -m 777 "$work/mail"
ip netns exec "$ns_s" "$PFT_SMTP_SINK" -u nobody -d "$work/mail/" 198.18.0.2:25 100 & sink_pid=$!

# 198.18.0.3 is listed (score 5); 198.18.0.1 is not.
printf '[listed]\ntype = rbldnsd-ip4set\npath = listed.zone\nweight = 5\n' > "$work/sources.ini"
echo 198.18.0.3 > "$work/listed.zone"
"$ctl" table build --sources "$work/sources.ini" --output "$work/table.snap" > /dev/null
printf '[level.1]\nname = throttle\nthreshold = 3\nwindow_clamp = 2048\nmss_clamp = 536\ndelay_ms = 20\n' > "$work/policy.ini"

"$dp" --no-huge --no-pci -m 512 -l 0 --log-level=4 --file-prefix "$prefix" \
  --vdev "net_af_packet0,iface=$a1" --vdev "net_af_packet1,iface=$b1" -- \
  --outside net_af_packet0 --inside net_af_packet1 --control "$sock" > "$work/dp.log" 2>&1 &
dp_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "sluice-dp did not open its control socket"

# ~10 KB of distinct lines (none starts with '.'), so a lost, reordered or altered segment
# shows in the delivered copy.
python3 -c 'import sys
for i in range(220): sys.stdout.write("line %04d %s\n" % (i, "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36:] + "-" * (i % 7)))' > "$work/body"
send_from() {
  rm -f "$work/mail/"*
  ip netns exec "$ns_c" swaks --server 198.18.0.2 --local-interface "$1" --to a@example.test \
    --from b@example.test --body "$work/body" --timeout 30 > "$work/swaks.$1" 2>&1 ||
    fail "message from $1 not delivered: $(tail -3 "$work/swaks.$1")"
  grep -q "^<- *250 2.0.0 Ok" "$work/swaks.$1" || fail "no 250 for $1"
  # The delivered message: smtp-sink's dump, from the first blank line on (its headers and the
  # message headers before it); swaks ends the body with blank lines, which are not ours.
  local dumps=()
  for _ in $(seq 50); do
    dumps=("$work/mail/"*)
    [ -f "${dumps[0]}" ] && break
    sleep 0.1
  done
  [ "${#dumps[@]}" = 1 ] && [ -f "${dumps[0]}" ] || fail "$1: expected one delivered message, got ${#dumps[@]}"
  python3 - "${dumps[0]}" "$work/body" <<'PY' || fail "$1: the delivered message differs from the one sent"
import sys
got = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
got = got[got.index(b"\n\n") + 2:] if b"\n\n" in got else b""
if got.rstrip(b"\n") != body.rstrip(b"\n"):
    for n, (a, b) in enumerate(zip(got.split(b"\n"), body.split(b"\n"))):
        if a != b:
            print(f"first difference at body line {n}: {a[:80]!r} != {b[:80]!r}")
            break
    print(f"delivered {len(got)} bytes, sent {len(body)}")
    sys.exit(1)
PY
}
stat() { "$ctl" --dataplane "dpdk:$sock" dataplane stats --json | python3 -c "import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

send_from 198.18.0.1
[ "$(stat 's["flows"]')" = 0 ] || fail "a clean sender got flow state"

"$ctl" --dataplane "dpdk:$sock" dataplane policy set "$work/policy.ini" > /dev/null
"$ctl" --dataplane "dpdk:$sock" dataplane table load "$work/table.snap" > /dev/null
send_from 198.18.0.3
send_from 198.18.0.1
[ "$(stat 's["levels"][1]["syns"]')" = 1 ] || fail "listed sender's SYN not at level 1"
[ "$(stat 's["levels"][1]["flows"]')" = 1 ] || fail "no shaped flow"
[ "$(stat 's["levels"][1]["rewritten"] > 0')" = True ] || fail "nothing rewritten"
[ "$(stat 's["levels"][1]["delayed"] > 0')" = True ] || fail "nothing delayed"
[ "$(stat 's["lookups"]')" = 3 ] || fail "expected one lookup per SMTP SYN"
# The flow may have closed and gone by now; whatever is listed is the listed sender's, level 1.
"$ctl" --dataplane "dpdk:$sock" dataplane flows --json | python3 -c '
import json, sys
flows = json.load(sys.stdin)
assert len(flows) <= 1, flows
assert all(f["client"] == "198.18.0.3" and f["level"] == 1 for f in flows), flows
' || fail "dataplane flows lists something other than the shaped flow"

"$ctl" --dataplane "dpdk:$sock" dataplane stats --json > "$work/stats.json"
python3 - "$prefix" "$work/stats.json" <<'PY' || fail "telemetry /sluice/stats, /sluice/levels"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(f"/var/run/dpdk/{sys.argv[1]}/dpdk_telemetry.v2")
s.recv(4096)
def tel(cmd):
    s.send(cmd.encode())
    return json.loads(s.recv(65536))[cmd]
r = tel("/sluice/stats")
assert r["lookups"] == 3 and r["outside_rx"] > 0, r
# The same counters as sluicectl's JSON, named by their paths: every leaf but the lists.
cli = json.load(open(sys.argv[2]))
flat = {}
for k, v in cli.items():
    if k in ("kind", "levels", "lcores"):
        continue
    if isinstance(v, dict):
        flat.update({f"{k}_{f}": x for f, x in v.items()})
    else:
        flat[k] = v
assert set(r) == set(flat), (sorted(set(r) ^ set(flat)))
levels = tel("/sluice/levels")
want = {f"level{l['level']}_{k}" for l in cli["levels"] for k in l if k not in ("level", "name", "threshold")}
assert set(levels) == want, sorted(set(levels) ^ want)
assert levels["level1_syns"] == cli["levels"][1]["syns"] == 1, levels
PY

kill -INT "$dp_pid"
wait "$dp_pid" || fail "sluice-dp exited with status $?"
dp_pid=
echo PASS
