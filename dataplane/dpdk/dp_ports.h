// Port resolution and set-up for sluice-dp: ports are named by id or device name, so virtual
// devices (--vdev net_af_packet0,iface=veth0) work like PCI ports.
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace sluice::dataplane {

// "0" -> port 0, "net_ring0" -> its id. Throws std::invalid_argument naming the port.
uint16_t resolve_port(const std::string &name_or_id);

// Configures `queues` RX/TX queue pairs (symmetric RSS over them when queues > 1 and the device
// has RSS; otherwise the device's own spreading, logged), enables promiscuous mode (a bump in
// the wire forwards every frame) and starts the port. Throws std::runtime_error with DPDK's
// reason, or when a net_af_packet port's qpairs differs from `queues`.
void setup_port(uint16_t port, uint16_t queues, rte_mempool *pool, uint16_t rx_desc,
                uint16_t tx_desc);

}  // namespace sluice::dataplane
