// Port resolution and set-up for sluice-dp: ports are named by id or device name, so virtual
// devices (--vdev net_af_packet0,iface=veth0) work like PCI ports.
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace sluice::dataplane {

// "0" -> port 0, "net_ring0" -> its id. Throws std::invalid_argument naming the port.
uint16_t resolve_port(const std::string &name_or_id);

// Throws std::invalid_argument when both ports are kernel interfaces (net_af_packet,
// net_af_xdp) that are the two ends of one veth pair: every frame forwarded out of one would come
// back in on the other and circle between them for as long as sluice-dp runs.
void check_ports_not_one_veth_pair(uint16_t outside, uint16_t inside);

// The bytes of the largest frame a port of MTU `mtu` carries: Ethernet header, two VLAN tags
// and the FCS around the IP packet.
uint32_t max_frame_len(uint32_t mtu);

// The mbuf data room (RTE_PKTMBUF_HEADROOM included) this port needs so that one mbuf holds a
// whole frame of `mtu`: sluice-dp never asks for scattered RX, so the packet core always sees
// a frame whole. net_af_packet: its ring frames (framesz=, 2048 by default) must hold such a
// frame, and the PMD refuses an mbuf smaller than a ring frame; throws std::runtime_error with
// the framesz= and blocksz= to give when they do not.
uint32_t port_data_room(uint16_t port, uint32_t mtu);

// Configures `queues` RX/TX queue pairs (symmetric RSS over them when queues > 1 and the device
// has RSS; otherwise the device's own spreading, logged), enables promiscuous mode (a bump in
// the wire forwards every frame) and starts the port. Throws std::runtime_error with DPDK's
// reason, or when a net_af_packet port's qpairs differs from `queues`. The port's MTU becomes
// `mtu` (rte_eth_dev_set_mtu; for a kernel-owned port, net_af_packet, its interface's MTU,
// which the kernel enforces on what the PMD sends and receives).
void setup_port(uint16_t port, uint16_t queues, rte_mempool *pool, uint16_t rx_desc,
                uint16_t tx_desc, uint32_t mtu = 1500);

}  // namespace sluice::dataplane
