#include "dp_ports.h"

#include <net/if.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <numeric>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "netdev_link.h"

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

bool is_af_packet(const rte_eth_dev_info &info) {
  return std::strcmp(info.driver_name, "net_af_packet") == 0;
}

// net_af_packet's TPACKET_V2 ring: each frame slot starts with its header, and the kernel puts
// an Ethernet frame at offset 66 of the slot (TPACKET_ALIGN(52 + 16) - 14), truncating what
// does not fit; the PMD copies slot size - 32 bytes into one mbuf.
constexpr uint32_t kAfPacketDefaultFrame = 2048;  // the PMD's DFLT_FRAME_SIZE
constexpr uint32_t kAfPacketMacOff = 66;
constexpr uint32_t kAfPacketCopyOverhead = 32;

// The value of `key=` in the device's arguments (e.g. "iface=veth0,framesz=10240"), or 0.
uint32_t devarg_u32(const rte_eth_dev_info &info, const char *key) {
  const rte_devargs *da = info.device != nullptr ? rte_dev_devargs(info.device) : nullptr;
  if (da == nullptr || da->args == nullptr) return 0;
  const std::string args = da->args, k = std::string(key) + "=";
  size_t pos = 0;
  while ((pos = args.find(k, pos)) != std::string::npos) {
    if (pos == 0 || args[pos - 1] == ',')
      return static_cast<uint32_t>(std::strtoul(args.c_str() + pos + k.size(), nullptr, 0));
    pos += k.size();
  }
  return 0;
}

uint32_t round_up(uint32_t v, uint32_t to) {
  return (v + to - 1) / to * to;
}

// The kernel interface's MTU set to `mtu` (SIOCSIFMTU), as DPDK's newer net_af_packet does
// in its mtu_set; 22.11's advertises a 1518-byte maximum frame, so ethdev refuses any MTU
// above 1500 before the PMD sees it.
void set_kernel_mtu(uint16_t port, unsigned if_index, uint32_t mtu) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(if_index, name) == nullptr)
    throw std::runtime_error("port " + std::to_string(port) + ": its interface is gone");
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name, IF_NAMESIZE);  // if_indextoname: NUL-terminated, fits
  int rc = ::ioctl(s, SIOCGIFMTU, &ifr);
  if (rc == 0 && static_cast<uint32_t>(ifr.ifr_mtu) != mtu) {
    std::fprintf(stderr, "sluice-dp: port %u: interface %s MTU %d -> %u\n", port, name, ifr.ifr_mtu,
                 mtu);
    ifr.ifr_mtu = static_cast<int>(mtu);
    rc = ::ioctl(s, SIOCSIFMTU, &ifr);
  }
  const int e = errno;
  ::close(s);
  if (rc != 0)
    throw std::runtime_error("port " + std::to_string(port) + ": cannot set interface " + name +
                             "'s MTU to " + std::to_string(mtu) + ": " + std::strerror(e));
}

}  // namespace

uint32_t max_frame_len(uint32_t mtu) {
  return mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;
}

uint32_t port_data_room(uint16_t port, uint32_t mtu) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) fail(port, "device info", rc);
  uint32_t room = std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE,
                                     RTE_PKTMBUF_HEADROOM + round_up(max_frame_len(mtu), 64));
  if (is_af_packet(info)) {
    uint32_t framesz = devarg_u32(info, "framesz");
    if (framesz == 0) framesz = kAfPacketDefaultFrame;
    uint32_t blocksz = devarg_u32(info, "blocksz");
    if (blocksz == 0) blocksz = static_cast<uint32_t>(getpagesize());  // the PMD's default
    // The kernel strips a VLAN tag into the slot's header, so the slot holds header + frame.
    const uint32_t need = round_up(kAfPacketMacOff + mtu + RTE_ETHER_HDR_LEN, 16);
    // The PMD walks its ring as framesz-sized slots back to back, but the kernel starts every
    // block with a fresh slot: a block that is not a whole number of slots leaves gaps, and
    // the PMD then reads and writes slots where the kernel has none (nothing is forwarded).
    const uint32_t want_frame = round_up(std::max(need, framesz), 1024);
    const uint32_t want_block = std::lcm(want_frame, static_cast<uint32_t>(getpagesize()));
    if (framesz < need || blocksz % framesz != 0)
      throw std::runtime_error(
          "port " + std::to_string(port) + " (net_af_packet): framesz=" + std::to_string(framesz) +
          ",blocksz=" + std::to_string(blocksz) +
          (framesz < need
               ? " holds frames of at most " + std::to_string(framesz - kAfPacketMacOff) +
                     " bytes (the kernel truncates longer ones), too few for --mtu " +
                     std::to_string(mtu)
               : std::string(": blocksz is not a multiple of framesz")) +
          ": add framesz=" + std::to_string(want_frame) + ",blocksz=" + std::to_string(want_block) +
          " to its --vdev");
    room = std::max(room, RTE_PKTMBUF_HEADROOM + framesz - kAfPacketCopyOverhead);
  }
  if (room > UINT16_MAX)
    throw std::runtime_error("port " + std::to_string(port) + ": an mbuf of " +
                             std::to_string(room) + " bytes is too large");
  return room;
}

void check_ports_not_one_veth_pair(uint16_t outside, uint16_t inside) {
  rte_eth_dev_info out{}, in{};
  if (rte_eth_dev_info_get(outside, &out) != 0 || rte_eth_dev_info_get(inside, &in) != 0) return;
  if (out.if_index == 0 || in.if_index == 0) return;  // not kernel interfaces
  if (link::netdev_veth_peer(out.if_index) == in.if_index)
    throw std::invalid_argument(
        "--outside and --inside are the two ends of one veth pair: every frame forwarded out of "
        "one would come straight back in on the other and circle between them; give each port a "
        "veth pair of its own");
}

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
                uint16_t tx_desc, uint32_t mtu) {
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
  if (is_af_packet(info)) {
    set_kernel_mtu(port, info.if_index, mtu);  // ethdev keeps its 1500 (see set_kernel_mtu)
  } else {
    if (mtu > info.max_mtu)
      throw std::runtime_error("port " + std::to_string(port) + " (" + info.driver_name +
                               "): --mtu " + std::to_string(mtu) + " is above its maximum, " +
                               std::to_string(info.max_mtu));
    conf.rxmode.mtu = mtu;  // no RTE_ETH_RX_OFFLOAD_SCATTER: an mbuf holds a whole frame
  }
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
