#include "dpdk_env.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dp_ports.h"

namespace sluice::dataplane::testing {
namespace {

std::string g_prefix;

void cleanup_runtime_dir() {
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + g_prefix, ec);
}

std::string do_init() {
  g_prefix = "sluice_dpt_" + std::to_string(getpid());
  std::vector<std::string> args = {
      "dataplane_test", "--no-huge", "--no-pci",      "-m", "256", "-l", "0", "--log-level=3",
      "--file-prefix",  g_prefix,    "--no-telemetry"};
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    return std::string("rte_eal_init: ") + rte_strerror(rte_errno);
  std::atexit(cleanup_runtime_dir);
  return {};
}

}  // namespace

std::string eal_init_once() {
  static const std::string result = do_init();
  return result;
}

rte_mempool *test_pool() {
  static rte_mempool *pool = rte_pktmbuf_pool_create("sluice_test_pool", 8191, 0, 0,
                                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr)
    throw std::runtime_error("mbuf pool: " + std::string(rte_strerror(rte_errno)));
  return pool;
}

void RingPort::inject(const std::vector<uint8_t> &frame, unsigned queue) {
  rte_mbuf *m = rte_pktmbuf_alloc(test_pool());
  if (m == nullptr) throw std::runtime_error("mbuf alloc");
  char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (p == nullptr) throw std::runtime_error("frame too large for an mbuf");
  std::memcpy(p, frame.data(), frame.size());
  if (rte_ring_enqueue(rxq.at(queue), m) != 0) {
    rte_pktmbuf_free(m);
    throw std::runtime_error("rx ring full");
  }
}

std::vector<std::vector<uint8_t>> RingPort::drain(unsigned queue) {
  std::vector<std::vector<uint8_t>> out;
  void *obj;
  while (rte_ring_dequeue(txq.at(queue), &obj) == 0) {
    auto *m = static_cast<rte_mbuf *>(obj);
    const auto *d = rte_pktmbuf_mtod(m, const uint8_t *);
    out.emplace_back(d, d + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
  }
  return out;
}

RingPort make_ring_port(const std::string &name, unsigned queues) {
  RingPort p;
  for (unsigned q = 0; q < queues; ++q) {
    const std::string n = name + "_" + std::to_string(q);
    rte_ring *rx =
        rte_ring_create((n + "r").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring *tx =
        rte_ring_create((n + "t").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (rx == nullptr || tx == nullptr)
      throw std::runtime_error("ring: " + std::string(rte_strerror(rte_errno)));
    p.rxq.push_back(rx);
    p.txq.push_back(tx);
  }
  p.rx = p.rxq[0];
  p.tx = p.txq[0];
  const int id =
      rte_eth_from_rings(name.c_str(), p.rxq.data(), queues, p.txq.data(), queues, SOCKET_ID_ANY);
  if (id < 0)
    throw std::runtime_error("rte_eth_from_rings: " + std::string(rte_strerror(rte_errno)));
  p.id = static_cast<uint16_t>(id);
  setup_port(p.id, static_cast<uint16_t>(queues), test_pool(), 512, 512);
  return p;
}

}  // namespace sluice::dataplane::testing
