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

// RFC 1071 written out again, independently of the builder's arithmetic: 16-bit big-endian
// words (an odd last byte padded with zero), summed in 64 bits, carries folded at the end.
uint16_t plain_ones_complement_sum(const Bytes &b) {
  uint64_t sum = 0;
  for (size_t i = 0; i < b.size(); i += 2)
    sum += static_cast<uint64_t>(b[i]) << 8 | (i + 1 < b.size() ? b[i + 1] : 0u);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The TCP checksum of a frame recomputed here: the core's parser (not the builder) finds the
// headers, the pseudo header is laid out byte by byte (RFC 9293 3.1, RFC 8200 8.1), the
// checksum field counts as zero. Returns the value the field should hold.
uint16_t independent_tcp_checksum(const Bytes &frame) {
  Bytes copy = frame;
  sl_pkt pkt;
  if (sl_parse(copy.data(), copy.data() + copy.size(), &pkt) != SL_PARSE_OK) {
    ADD_FAILURE() << "not a TCP frame";
    return 0;
  }
  const size_t l3 = pkt.l3_off, l4 = pkt.l4_off;
  const size_t seg_len = pkt.tcp_hlen + pkt.payload_len;
  Bytes all;
  if (pkt.family == SL_AF_INET) {
    all.insert(all.end(), frame.begin() + static_cast<ptrdiff_t>(l3 + 12),
               frame.begin() + static_cast<ptrdiff_t>(l3 + 20));
    all.insert(all.end(),
               {0, 6, static_cast<uint8_t>(seg_len >> 8), static_cast<uint8_t>(seg_len)});
  } else {
    all.insert(all.end(), frame.begin() + static_cast<ptrdiff_t>(l3 + 8),
               frame.begin() + static_cast<ptrdiff_t>(l3 + 40));
    all.insert(all.end(), {0, 0, static_cast<uint8_t>(seg_len >> 8), static_cast<uint8_t>(seg_len),
                           0, 0, 0, 6});
  }
  Bytes seg(frame.begin() + static_cast<ptrdiff_t>(l4),
            frame.begin() + static_cast<ptrdiff_t>(l4 + seg_len));
  seg[16] = 0;
  seg[17] = 0;
  all.insert(all.end(), seg.begin(), seg.end());
  return static_cast<uint16_t>(~plain_ones_complement_sum(all));
}

TEST(PacketBuilder, IndependentSumAgreesWithRfc1071Example) {
  EXPECT_EQ(plain_ones_complement_sum({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}), 0xddf2);
}

// Every TCP frame of the fixture table (inputs and expected outputs, RST replies included)
// carries the checksum recomputed here, so the table does not rest on the builder's word.
TEST(PacketBuilder, FixtureChecksumsMatchAnIndependentComputation) {
  int checked = 0;
  for (const CoreFixture &f : core_fixtures()) {
    for (const Bytes *frame : {&f.input, &f.expected_output}) {
      if (f.expected_class == SL_CLASS_OTHER || f.expected_class == SL_CLASS_UNSEEN ||
          frame->empty())
        continue;
      Bytes copy = *frame;
      sl_pkt pkt;
      ASSERT_EQ(sl_parse(copy.data(), copy.data() + copy.size(), &pkt), SL_PARSE_OK)
          << f.description;
      EXPECT_EQ(be16(*frame, pkt.l4_off + 16u), independent_tcp_checksum(*frame)) << f.description;
      checked++;
    }
  }
  EXPECT_GT(checked, 100);
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
    // Summing everything including the stored checksum gives 0xffff (RFC 1071), by this
    // file's own sum, not the builder's.
    EXPECT_EQ(plain_ones_complement_sum(all), 0xffff) << "v6 " << v6;
    EXPECT_EQ(be16(f, tcp + 16), independent_tcp_checksum(f)) << "v6 " << v6;
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
