#include "dp_ports.h"

#include <rte_ethdev.h>
#include <rte_errno.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace sluice::dataplane {
namespace {

// Toeplitz key of repeated 0x6d5a: the hash of (src, dst) equals that of (dst, src), so both
// directions of a TCP connection reach the same queue and thus the same lcore's flow table.
uint8_t kSymmetricRssKey[40] = {0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
                                0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

[[noreturn]] void fail(uint16_t port, const char *what, int rc) {
  throw std::runtime_error("port " + std::to_string(port) + ": " + what + ": " +
                           rte_strerror(rc < 0 ? -rc : rc));
}

}  // namespace

uint16_t resolve_port(const std::string &name_or_id) {
  uint16_t id = 0;
  const char *b = name_or_id.data(), *e = b + name_or_id.size();
  auto [p, ec] = std::from_chars(b, e, id);
  if (!name_or_id.empty() && ec == std::errc() && p == e) {
    if (!rte_eth_dev_is_valid_port(id))
      throw std::invalid_argument("no port " + name_or_id + " (" +
                                  std::to_string(rte_eth_dev_count_avail()) + " ports available)");
    return id;
  }
  if (rte_eth_dev_get_port_by_name(name_or_id.c_str(), &id) != 0)
    throw std::invalid_argument("no port named '" + name_or_id + "'");
  return id;
}

void setup_port(uint16_t port, uint16_t queues, rte_mempool *pool, uint16_t rx_desc,
                uint16_t tx_desc) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) fail(port, "device info", rc);
  // net_af_packet opens its qpairs sockets (one fanout group) when the device is created, and
  // the kernel hashes packets to every one of them: a socket no lcore polls holds its flows'
  // packets (half the connections with qpairs=2 on one lcore) until its ring fills.
  if (std::strcmp(info.driver_name, "net_af_packet") == 0 && info.max_rx_queues != queues)
    throw std::runtime_error("port " + std::to_string(port) +
                             " (net_af_packet): qpairs=" + std::to_string(info.max_rx_queues) +
                             " but sluice-dp polls " + std::to_string(queues) +
                             " queue(s), one per lcore; set qpairs to the number of lcores");
  rte_eth_conf conf{};
  const uint64_t rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
  if (queues > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = kSymmetricRssKey;
    conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(kSymmetricRssKey);
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  } else if (queues > 1) {
    // No RSS to configure (virtual devices): asking for it anyway is refused by some PMDs
    // (virtio without F_RSS) and ignored by the others. Which queue a packet reaches is then up to
    // the device; the flow tables are per lcore, so that must be symmetric too (it is for
    // net_af_packet).
    std::fprintf(stderr,
                 "sluice-dp: port %u (%s) has no RSS; the device spreads packets over its %u "
                 "queues itself (net_af_packet: the kernel's symmetric PACKET_FANOUT_HASH)\n",
                 port, info.driver_name, queues);
  }
  if (int rc = rte_eth_dev_configure(port, queues, queues, &conf); rc != 0)
    fail(port, "configure", rc);
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc); rc != 0)
    fail(port, "descriptor counts", rc);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, nullptr, pool); rc != 0)
      fail(port, "rx queue", rc);
    if (int rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket, nullptr); rc != 0)
      fail(port, "tx queue", rc);
  }
  if (int rc = rte_eth_dev_start(port); rc != 0) fail(port, "start", rc);
  // Not every virtual device supports it (net_ring does not need it); not fatal.
  rte_eth_promiscuous_enable(port);
}

}  // namespace sluice::dataplane
