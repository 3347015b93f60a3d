# shellcheck shell=bash
# Sourced by the benches that run a data plane (XDP programs, or sluice-dp on af_packet ports)
# on veths in a namespace of their own and drive its control path without traffic (bench/control,
# bench/feed).
#
# bench_veth_ports NS: creates out0 (peer ext0) and in0 (peer int0) in NS, all four up; the data
# plane's ports are out0 and in0. They must never be the two ends of one veth pair: a frame the
# data plane forwards out of one would come straight back in on the other, and the first stray
# frame (IPv6 neighbour discovery when the links come up) would circle between them for as long
# as the data plane runs, at millions of frames a second, keeping both CPUs of a small machine
# busy and slowing every figure taken meanwhile.
bench_veth_ports() {
  local ns=$1 link
  ip -n "$ns" link add out0 type veth peer name ext0 || return 1
  ip -n "$ns" link add in0 type veth peer name int0 || return 1
  for link in out0 ext0 in0 int0; do
    ip -n "$ns" link set "$link" up || return 1
  done
}
