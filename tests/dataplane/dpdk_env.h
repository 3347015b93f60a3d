// DPDK for tests without hardware: EAL with --no-huge --no-pci and a unique --file-prefix
// (with the pid, so parallel test processes never share runtime files; the directory
// /var/run/dpdk/<prefix> is removed at exit), and a pair of net_ring ports whose rings the
// test reads and writes directly (rte_eth_from_rings).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;
struct rte_ring;

namespace sluice::dataplane::testing {

// Initialises EAL once per process (later calls return the same result). Empty = ok, else why
// it could not (the test then fails or skips).
std::string eal_init_once();
rte_mempool *test_pool();

// A virtual port: frames enqueued on `rx` are what the port receives; what the application
// transmits lands on `tx`.
struct RingPort {
  uint16_t id = 0;
  rte_ring *rx = nullptr;  // queue 0
  rte_ring *tx = nullptr;
  std::vector<rte_ring *> rxq, txq;  // every queue
  void inject(const std::vector<uint8_t> &frame, unsigned queue = 0);
  std::vector<std::vector<uint8_t>> drain(unsigned queue = 0);  // transmitted so far
};

// Creates a net_ring port with `queues` queue pairs and sets it up through sluice-dp's own
// setup_port() (queue i = lcore i).
RingPort make_ring_port(const std::string &name, unsigned queues = 1);

}  // namespace sluice::dataplane::testing
