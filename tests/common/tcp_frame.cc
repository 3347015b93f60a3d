#include "common/tcp_frame.h"

#include <algorithm>
#include <stdexcept>

#include "common/packet_builder.h"

namespace sluice::testing {

std::array<uint8_t, 16> address(const std::string &text) {
  if (text.find(':') != std::string::npos) return ipv6_address(text);
  const std::array<uint8_t, 4> v4 = ipv4_address(text);
  std::array<uint8_t, 16> a{};
  std::copy(v4.begin(), v4.end(), a.begin());
  return a;
}

std::vector<uint8_t> TcpFrame::build() const {
  PacketBuilder b;
  if (vlan >= 0) b.vlan(static_cast<uint16_t>(vlan));
  if (v6) {
    b.ipv6(src, dst);
  } else {
    std::array<uint8_t, 4> s, d;
    std::copy_n(src.begin(), 4, s.begin());
    std::copy_n(dst.begin(), 4, d.begin());
    b.ipv4(s, d);
  }
  // The frames these tests have always sent (and the replay goldens hold): IPv4 id 0, no DF.
  return b.ip_id(0)
      .ipv4_flags(false, false)
      .tcp(sport, dport)
      .seq(seq)
      .ack(ack)
      .flags(flags)
      .window(window)
      .tcp_options(options)
      .payload(payload)
      .build();
}

TcpFrame linux_syn(const std::string &src, const std::string &dst) {
  TcpFrame f;
  f.v6 = src.find(':') != std::string::npos;
  if (f.v6 != (dst.find(':') != std::string::npos))
    throw std::invalid_argument("linux_syn: " + src + " and " + dst + " are not one family");
  f.src = address(src);
  f.dst = address(dst);
  f.window = 64240;
  f.options = tcpopt::cat({tcpopt::mss(1460), tcpopt::sack_perm(), tcpopt::timestamps(1, 0),
                           tcpopt::nop(), tcpopt::wscale(7)});
  return f;
}

std::vector<uint8_t> arp_frame() {
  // Who has 198.18.0.2, tell 198.18.0.1 (02:00:00:00:00:01).
  const Bytes request = {
      0,    1, 0x08, 0, 6, 4, 0,   1,          // Ethernet, IPv4, 6-byte MAC, 4-byte IP, request
      0x02, 0, 0,    0, 0, 1, 198, 18, 0, 1,   // sender MAC and IP
      0,    0, 0,    0, 0, 0, 198, 18, 0, 2};  // target MAC (unknown) and IP
  return PacketBuilder()
      .eth_dst({0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
      .raw_l3(0x0806, request)
      .pad_to(60)
      .build();
}

}  // namespace sluice::testing
