#include "core/heavy_stream.h"

#include <arpa/inet.h>

#include <cstring>
#include <numeric>

#include "core/fixtures.h"

namespace sluice::testing {
namespace {

Bytes syn4(const std::string &src, uint16_t sport) {
  return PacketBuilder().ipv4(src, kServer4).tcp(sport, kSmtpPort).flags(kSyn).build();
}

Bytes syn6(const std::string &src, uint16_t sport) {
  return PacketBuilder().ipv6(src, kServer6).tcp(sport, kSmtpPort).flags(kSyn).build();
}

// The /24 or /64 of an address, as text.
std::string network_of(const std::string &addr) {
  if (addr.find(':') == std::string::npos) {
    auto a = ipv4_address(addr);
    a[3] = 0;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, a.data(), buf, sizeof(buf));
    return std::string(buf) + "/24";
  }
  auto a = ipv6_address(addr);
  std::memset(a.data() + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  return std::string(buf) + "/64";
}

std::string host_of(const std::string &addr) {
  const bool v4 = addr.find(':') == std::string::npos;
  char buf[INET6_ADDRSTRLEN];
  if (v4) {
    auto a = ipv4_address(addr);
    inet_ntop(AF_INET, a.data(), buf, sizeof(buf));
    return std::string(buf) + "/32";
  }
  auto a = ipv6_address(addr);
  inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  return std::string(buf) + "/128";
}

}  // namespace

std::vector<HeavyPacket> heavy_stream() {
  const std::string a = "198.18.5.7", b = "198.18.5.8", c = "198.18.9.1", d = "198.18.9.2";
  const std::string a6 = "2001:2::7", b6 = "2001:2::8";
  std::vector<HeavyPacket> s;
  const auto counted = [&](Bytes f, const std::string &client) {
    s.push_back({std::move(f), SL_DIR_FROM_OUTSIDE, client});
  };
  const auto ignored = [&](Bytes f, sl_dir dir) { s.push_back({std::move(f), dir, ""}); };
  for (uint16_t i = 0; i < 40; ++i) {
    const uint16_t port = static_cast<uint16_t>(41000 + i);
    switch (i % 5) {
      case 0:
        counted(syn4(a, port), a);
        break;
      case 1:  // VLAN-tagged, with an IPv4 option
        counted(PacketBuilder()
                    .vlan(100)
                    .ipv4(a, kServer4)
                    .ipv4_options({0x01, 0x01, 0x01, 0x01})
                    .tcp(port, kSmtpPort)
                    .flags(kSyn)
                    .build(),
                a);
        break;
      case 2:  // malformed TCP options: still a SYN, counted
        counted(PacketBuilder()
                    .ipv4(a, kServer4)
                    .tcp(port, kSmtpPort)
                    .flags(kSyn)
                    .tcp_options(tcpopt::raw(2, 9, {0x05}))
                    .build(),
                a);
        break;
      case 3:  // a first fragment holding the whole TCP header
        counted(PacketBuilder()
                    .ipv4(a, kServer4)
                    .ipv4_flags(false, true)
                    .tcp(port, kSmtpPort)
                    .flags(kSyn)
                    .payload(Bytes(16, 0))
                    .build(),
                a);
        break;
      default:  // SYN with ECN bits and PSH: still SYN without ACK/RST
        counted(PacketBuilder()
                    .ipv4(a, kServer4)
                    .tcp(port, kSmtpPort)
                    .flags(kSyn | kPsh | 0xc0)
                    .build(),
                a);
        break;
    }
    // Noise from the same sender that must not count.
    if (i % 4 == 0)
      ignored(PacketBuilder().ipv4(a, kServer4).tcp(port, kSmtpPort).flags(kAck).build(),
              SL_DIR_FROM_OUTSIDE);
    if (i % 7 == 0)
      ignored(PacketBuilder().ipv4(a, kServer4).tcp(port, kSmtpPort).flags(kSyn | kAck).build(),
              SL_DIR_FROM_OUTSIDE);
    if (i % 9 == 0)
      ignored(PacketBuilder().ipv4(a, kServer4).tcp(port, kSmtpPort).flags(kSyn | kRst).build(),
              SL_DIR_FROM_OUTSIDE);
    if (i % 6 == 0)  // the server's SYN-ACK, from inside
      ignored(PacketBuilder().ipv4(kServer4, a).tcp(kSmtpPort, port).flags(kSyn | kAck).build(),
              SL_DIR_FROM_INSIDE);
    if (i % 5 == 0)  // a SYN to a port nobody watches
      ignored(PacketBuilder().ipv4(a, kServer4).tcp(port, 80).flags(kSyn).build(),
              SL_DIR_FROM_OUTSIDE);
  }
  for (uint16_t i = 0; i < 12; ++i) counted(syn4(b, static_cast<uint16_t>(42000 + i)), b);
  for (uint16_t i = 0; i < 3; ++i) counted(syn4(c, static_cast<uint16_t>(43000 + i)), c);
  for (uint16_t i = 0; i < 2; ++i) counted(syn4(d, static_cast<uint16_t>(43100 + i)), d);
  for (uint16_t i = 0; i < 20; ++i) {
    const uint16_t port = static_cast<uint16_t>(44000 + i);
    if (i % 2 == 0)
      counted(syn6(a6, port), a6);
    else  // behind a destination-options header
      counted(PacketBuilder()
                  .ipv6(a6, kServer6)
                  .ipv6_ext(kIpv6DestOpts)
                  .tcp(port, kSmtpPort)
                  .flags(kSyn)
                  .build(),
              a6);
  }
  for (uint16_t i = 0; i < 6; ++i) counted(syn6(b6, static_cast<uint16_t>(45000 + i)), b6);
  // A SYN from inside (an outbound connection) never counts.
  ignored(PacketBuilder().ipv4(kServer4, c).tcp(46000, kSmtpPort).flags(kSyn).build(),
          SL_DIR_FROM_INSIDE);
  // Interleave deterministically: a fixed stride walk (the same order for every runner).
  std::vector<HeavyPacket> out;
  out.reserve(s.size());
  const size_t n = s.size();
  size_t stride = 37;
  while (std::gcd(stride, n) != 1) ++stride;
  for (size_t i = 0, j = 0; i < n; ++i, j = (j + stride) % n) out.push_back(s[j]);
  return out;
}

sl_policy heavy_policy(uint32_t threshold) {
  sl_policy p = fixture_policy();
  p.heavy_syn_threshold = threshold;
  return p;
}

std::map<std::string, uint64_t> heavy_expected(const std::vector<HeavyPacket> &stream,
                                               uint32_t threshold) {
  std::map<std::string, uint64_t> counts;
  for (const HeavyPacket &p : stream) {
    if (p.counted_client.empty()) continue;
    counts[host_of(p.counted_client)]++;
    counts[network_of(p.counted_client)]++;
  }
  std::map<std::string, uint64_t> out;
  for (const auto &[k, v] : counts)
    if (v >= threshold) out[k] = v;
  return out;
}

}  // namespace sluice::testing
