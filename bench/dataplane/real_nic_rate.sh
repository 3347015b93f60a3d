#!/usr/bin/env bash
# For operators' labs (not run in CI or on the build VM): packet rate of sluice-dp against
# dpdk-testpmd io forwarding on a real port pair. Binds both ports to vfio-pci, reserves
# hugepages, runs each forwarder for SECONDS while YOUR traffic generator (e.g. TRex or
# pktgen-dpdk on another machine, cabled to both ports) sends through the pair, and prints the
# median forwarded packets/s of each and their ratio. Restores nothing: rebind the ports to
# their kernel driver afterwards (dpdk-devbind.py -b DRIVER PCI).
#
#   bench/dataplane/real_nic_rate.sh BUILD_DIR PCI_A PCI_B [SECONDS] [LCORE]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=testpmd_lib.sh
. "$(dirname "$0")/testpmd_lib.sh"
build=${1:?usage: $0 BUILD_DIR PCI_A PCI_B [SECONDS] [LCORE]}
require_build "$build"
a=${2:?PCI address of the outside port}
b=${3:?PCI address of the inside port}
secs=${4:-20}
lcore=${5:-2}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
modprobe vfio-pci
dpdk-devbind.py -b vfio-pci "$a" "$b"
dpdk-hugepages.py --setup 2G
tag=sluice_nic_$$
sock=/tmp/$tag.sock

echo "== testpmd io forwarding ($secs s): start the generator now"
tp=$(testpmd_rate Tx-pps "$secs" "/tmp/$tag.testpmd" -l 0,"$lcore" -a "$a" -a "$b" \
  --file-prefix "${tag}_tp" -- --forward-mode=io --burst=32 --auto-start)

echo "== sluice-dp ($secs s): start the generator now"
"$dp" -l "$lcore" -a "$a" -a "$b" --file-prefix "${tag}_dp" -- \
  --outside 0 --inside 1 --control "$sock" --burst 32 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f $sock' EXIT
sleep 3
tx() { "$ctl" --dataplane "dpdk:$sock" dataplane stats --json |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["outside"]["tx"]+s["inside"]["tx"])'; }
prev=$(tx); samples=()
for _ in $(seq 3 "$secs"); do sleep 1; cur=$(tx); samples+=($((cur - prev))); prev=$cur; done
sl=$(printf '%s\n' "${samples[@]}" | median)
echo "testpmd: $tp pps, sluice-dp: $sl pps"
awk -v a="$tp" -v b="$sl" 'BEGIN {if (b > 0) printf "cycles per packet ratio: %.2fx (goal <= 1.2x)\n", a / b}'
