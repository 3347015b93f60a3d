// The packet builder's checksums against external references (RFC 1071's worked example, the
// classic IPv4 header example) and against a pseudo header laid out by hand here, so the
// fixture table's "from scratch" expectations rest on more than the builder's own word.
#include "common/packet_builder.h"

#include <gtest/gtest.h>

#include "core/fixtures.h"

namespace sluice::testing {
namespace {

uint16_t be16(const Bytes &b, size_t off) {
  return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}

TEST(PacketBuilder, Rfc1071Example) {
  // RFC 1071 section 3: the one's complement sum of these bytes is 0xddf2.
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internet_checksum(bytes, sizeof(bytes)), static_cast<uint16_t>(~0xddf2));
}

TEST(PacketBuilder, ClassicIpv4HeaderExample) {
  // 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73, id 0, DF, TTL 64: checksum 0xb861.
  const Bytes f = PacketBuilder()
                      .ipv4("192.168.0.1", "192.168.0.199")
                      .ttl(64)
                      .ip_id(0)
                      .udp(1, 2)
                      .payload(Bytes(0x73 - 28, 0))
                      .build();
  EXPECT_EQ(be16(f, 14 + 10), 0xb861);
  EXPECT_TRUE(ipv4_checksum_ok(f));
}

// RFC 9293 3.1 (IPv4) and RFC 8200 8.1 (IPv6) pseudo headers, laid out byte by byte here.
TEST(PacketBuilder, TcpChecksumCoversTheRfcPseudoHeader) {
  for (bool v6 : {false, true}) {
    PacketBuilder b;
    if (v6)
      b.ipv6(kClient6, kServer6).ipv6_ext(kIpv6DestOpts);
    else
      b.ipv4(kClient4, kServer4).ipv4_options({1, 1, 1, 1});
    const Bytes f = b.tcp(1234, 25)
                        .flags(kSyn)
                        .seq(0xdeadbeef)
                        .tcp_options(tcpopt::mss(1460))
                        .payload("odd")
                        .build();
    const size_t tcp = v6 ? 14 + 40 + 8 : 14 + 24;
    const Bytes seg(f.begin() + static_cast<ptrdiff_t>(tcp), f.end());
    Bytes pseudo;
    if (v6) {
      pseudo.insert(pseudo.end(), f.begin() + 14 + 8, f.begin() + 14 + 40);  // src, dst
      pseudo.insert(pseudo.end(), {0, 0, static_cast<uint8_t>(seg.size() >> 8),
                                   static_cast<uint8_t>(seg.size()), 0, 0, 0, 6});
    } else {
      pseudo.insert(pseudo.end(), f.begin() + 14 + 12, f.begin() + 14 + 20);  // src, dst
      pseudo.insert(pseudo.end(), {0, 6, static_cast<uint8_t>(seg.size() >> 8),
                                   static_cast<uint8_t>(seg.size())});
    }
    Bytes all = pseudo;
    all.insert(all.end(), seg.begin(), seg.end());
    // Summing everything including the stored checksum gives 0 (one's complement: ~0xffff).
    EXPECT_EQ(internet_checksum(all.data(), all.size()), 0) << "v6 " << v6;
    EXPECT_TRUE(tcp_checksum_ok(f));
    Bytes broken = f;
    broken.back() ^= 0x01;
    EXPECT_FALSE(tcp_checksum_ok(broken));
  }
}

TEST(PacketBuilder, LayoutOfTagsOptionsAndOverrides) {
  const Bytes f = PacketBuilder()
                      .vlan(0x123, 0x88a8)
                      .vlan(0x456)
                      .ipv4(kClient4, kServer4)
                      .ipv4_ihl(7)
                      .ipv4_total_length(999)
                      .ipv4_flags(false, true)
                      .ipv4_frag_offset(3)
                      .tcp(1, 2)
                      .data_offset(9)
                      .tcp_options_unpadded({1, 1, 1})
                      .pad_to(200)
                      .build();
  EXPECT_EQ(be16(f, 12), 0x88a8);
  EXPECT_EQ(be16(f, 14), 0x123);
  EXPECT_EQ(be16(f, 16), 0x8100);
  EXPECT_EQ(be16(f, 18), 0x456);
  EXPECT_EQ(be16(f, 20), 0x0800);
  EXPECT_EQ(f[22], 0x47);
  EXPECT_EQ(be16(f, 24), 999);
  EXPECT_EQ(be16(f, 28), 0x2003);
  EXPECT_EQ(f[22 + 20 + 12], 9 << 4);
  EXPECT_EQ(f.size(), 200u);
}

}  // namespace
}  // namespace sluice::testing
