#!/usr/bin/env bash
# Packet rate of sluice-dp against dpdk-testpmd in io forwarding, on the same virtual ports
# (two net_null devices: every RX burst is full, frames are 64-byte non-IP, i.e. the clean
# non-SMTP path), same burst size (32), one forwarding lcore each, measured one after the
# other in the same run. Prints the median packets/s over 1-second samples and the ratio of
# cycles per packet (testpmd rate / sluice-dp rate).
#
#   bench/dataplane/testpmd_compare.sh BUILD_DIR [SECONDS]
# BUILD_DIR holds dataplane/sluice-dp and control/sluicectl/sluicectl (a Release build).
# Needs root (EAL). Uses unique --file-prefix values and removes their runtime directories.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"
build=${1:?usage: $0 BUILD_DIR [SECONDS]}
secs=${2:-6}
require_build "$build"
tag=sluice_cmp_$$
sock=/tmp/$tag.sock
cleanup() {
  [ -n "${dp_pid:-}" ] && kill -INT "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
  rm -rf "/var/run/dpdk/${tag}_tp" "/var/run/dpdk/${tag}_dp" "$sock"
}
trap cleanup EXIT

# testpmd: lcore 0 main (stats), lcore 1 forwards.
tp=$(testpmd_rate Rx-pps "$secs" "/tmp/$tag.testpmd" --no-huge --no-pci -m 512 -l 0,1 \
  --vdev net_null0 --vdev net_null1 --file-prefix "${tag}_tp" --log-level=3 -- \
  --forward-mode=io --burst=32 --no-lsc-interrupt --auto-start --total-num-mbufs=8192)
rm -f "/tmp/$tag.testpmd"

# sluice-dp: one lcore (1), rate from its own counters once a second.
"$dp" --no-huge --no-pci -m 512 -l 1 --vdev net_null0 --vdev net_null1 --file-prefix "${tag}_dp" \
  --log-level=3 -- --outside net_null0 --inside net_null1 --control "$sock" --burst 32 \
  --pacer-size 1024 --flow-table-size 4096 2>/dev/null &
dp_pid=$!
sleep 2
rx() { "$ctl" --dataplane "dpdk:$sock" dataplane stats --json |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["outside"]["rx"]+s["inside"]["rx"])'; }
prev=$(rx); samples=()
for _ in $(seq 2 "$secs"); do
  sleep 1
  cur=$(rx); samples+=($((cur - prev))); prev=$cur
done
sl=$(printf '%s\n' "${samples[@]}" | median)
echo "testpmd io forwarding: ${tp} packets/s (median of 1 s samples)"
echo "sluice-dp:             ${sl} packets/s"
awk -v a="$tp" -v b="$sl" 'BEGIN {if (b > 0) printf "cycles per packet, sluice-dp / testpmd: %.2fx\n", a / b}'
