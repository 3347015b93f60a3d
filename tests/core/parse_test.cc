// sl_parse / sl_parse_tcp_options / sl_classify / sl_flow_key_make in detail.
#include <gtest/gtest.h>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

int parse(const Bytes &frame, sl_pkt *pkt) {
  ExactBuffer buf(frame);
  return sl_parse(buf.begin(), buf.end(), pkt);
}

TEST(Parse, Ipv4OffsetsAndLengths) {
  const Bytes f = PacketBuilder()
                      .vlan(1)
                      .ipv4(kClient4, kServer4)
                      .ipv4_options({1, 1, 1, 0})
                      .tcp(kClientPort, 25)
                      .flags(kSyn | kPsh)
                      .tcp_options(tcpopt::mss(1460))
                      .payload("hello")
                      .pad_to(100)
                      .build();
  sl_pkt pkt;
  ASSERT_EQ(parse(f, &pkt), SL_PARSE_OK);
  EXPECT_EQ(pkt.family, SL_AF_INET);
  EXPECT_EQ(pkt.vlan_tags, 1);
  EXPECT_EQ(pkt.l3_off, 18);
  EXPECT_EQ(pkt.l4_off, 18 + 24);
  EXPECT_EQ(pkt.tcp_hlen, 24);
  EXPECT_EQ(pkt.payload_len, 5);  // by the IP length, not the padded frame
  EXPECT_EQ(pkt.tcp_flags, kSyn | kPsh);
}

TEST(Parse, Ipv6ExtensionHeadersAreWalked) {
  const Bytes f = PacketBuilder()
                      .vlan(1, 0x88a8)
                      .vlan(2)
                      .ipv6(kClient6, kServer6)
                      .ipv6_ext(kIpv6HopByHop, {1, 4, 0, 0, 0, 0})
                      .ipv6_ext(kIpv6Routing, Bytes(14, 0))
                      .ipv6_ext(kIpv6DestOpts)
                      .tcp(kClientPort, 25)
                      .flags(kAck)
                      .payload("abc")
                      .build();
  sl_pkt pkt;
  ASSERT_EQ(parse(f, &pkt), SL_PARSE_OK);
  EXPECT_EQ(pkt.family, SL_AF_INET6);
  EXPECT_EQ(pkt.vlan_tags, 2);
  EXPECT_EQ(pkt.l3_off, 22);
  EXPECT_EQ(pkt.l4_off, 22 + 40 + 8 + 16 + 8);
  EXPECT_EQ(pkt.payload_len, 3);
}

// A frame read only in part (XDP multi-buffer: the linear part, the rest in fragments): the
// lengths are checked against the whole frame, the headers against the part that can be read.
int parse_part(const Bytes &frame, size_t readable, sl_pkt *pkt) {
  ExactBuffer buf(Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(readable)));
  return sl_parse_frame(buf.begin(), buf.end(), static_cast<uint32_t>(frame.size()), pkt);
}

TEST(Parse, AFrameReadInPartIsJudgedOnItsHeaders) {
  const Bytes syn = PacketBuilder()
                        .ipv4(kClient4, kServer4)
                        .tcp(kClientPort, 25)
                        .flags(kSyn)
                        .tcp_options(tcpopt::mss(1460))
                        .payload(std::string(6000, 'x'))
                        .build();
  sl_pkt pkt;
  ASSERT_EQ(parse_part(syn, 3520, &pkt), SL_PARSE_OK);
  EXPECT_EQ(pkt.payload_len, 6000);
  EXPECT_EQ(pkt.l4_off, 34);
  // The options out of reach: unseen (its ports readable), never OK with options unread.
  EXPECT_EQ(parse_part(syn, 14 + 20 + 22, &pkt), SL_PARSE_UNSEEN);
  EXPECT_NE(pkt.tcp, nullptr);
  // The fixed TCP header out of reach: unseen too.
  EXPECT_EQ(parse_part(syn, 14 + 20 + 10, &pkt), SL_PARSE_UNSEEN);
  // A frame shorter than its IP length is malformed, whatever part of it is read.
  const Bytes cut(syn.begin(), syn.end() - 1);
  EXPECT_EQ(parse_part(cut, 3520, &pkt), SL_PARSE_MALFORMED);
  EXPECT_EQ(parse(cut, &pkt), SL_PARSE_MALFORMED);

  // IPv6: an extension header past the readable part is unseen; with it readable, OK.
  const Bytes syn6 = PacketBuilder()
                         .ipv6(kClient6, kServer6)
                         .ipv6_ext(kIpv6HopByHop, Bytes(6, 0))
                         .tcp(kClientPort, 25)
                         .flags(kSyn)
                         .payload(std::string(6000, 'y'))
                         .build();
  EXPECT_EQ(parse_part(syn6, 14 + 40 + 4, &pkt), SL_PARSE_UNSEEN);
  ASSERT_EQ(parse_part(syn6, 3520, &pkt), SL_PARSE_OK);
  EXPECT_EQ(pkt.payload_len, 6000);
  EXPECT_EQ(pkt.l4_off, 14 + 40 + 8);
}

TEST(Parse, ResultCodes) {
  sl_pkt pkt;
  EXPECT_EQ(parse(PacketBuilder().raw_l3(0x0806, Bytes(28, 0)).build(), &pkt), SL_PARSE_NOT_IP);
  EXPECT_EQ(parse(Bytes(13, 0), &pkt), SL_PARSE_NOT_IP);
  EXPECT_EQ(parse(PacketBuilder().ipv4(kClient4, kServer4).udp(1, 25).build(), &pkt),
            SL_PARSE_NOT_TCP);
  EXPECT_EQ(parse(PacketBuilder().ipv6(kClient6, kServer6).udp(1, 25).build(), &pkt),
            SL_PARSE_NOT_TCP);
  // Fragments: a first (or IPv6 atomic) fragment with the whole TCP header parses; one too
  // short for it, or a later fragment that may overlap it (offset < 64 bytes), is unseen; a
  // later fragment past any TCP header is a fragment.
  EXPECT_EQ(
      parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_flags(false, true).tcp(1, 25).build(),
            &pkt),
      SL_PARSE_OK);
  EXPECT_EQ(pkt.frag, SL_FRAG_FIRST);
  EXPECT_EQ(parse(PacketBuilder()
                      .ipv4(kClient4, kServer4)
                      .ipv4_flags(false, true)
                      .tcp(1, 25)
                      .ipv4_total_length(20 + 19)
                      .build(),
                  &pkt),
            SL_PARSE_UNSEEN);
  EXPECT_NE(pkt.tcp, nullptr);  // the ports are there
  EXPECT_EQ(parse(PacketBuilder()
                      .ipv4(kClient4, kServer4)
                      .ipv4_flags(false, true)
                      .tcp(1, 25)
                      .ipv4_total_length(20 + 3)
                      .build(),
                  &pkt),
            SL_PARSE_UNSEEN);
  EXPECT_EQ(pkt.tcp, nullptr);  // not even the ports
  EXPECT_EQ(
      parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_frag_offset(1).tcp(1, 25).build(), &pkt),
      SL_PARSE_UNSEEN);
  EXPECT_EQ(
      parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_frag_offset(7).tcp(1, 25).build(), &pkt),
      SL_PARSE_UNSEEN);
  EXPECT_EQ(
      parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_frag_offset(8).tcp(1, 25).build(), &pkt),
      SL_PARSE_FRAGMENT);
  EXPECT_EQ(
      parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_frag_offset(1).udp(1, 25).build(), &pkt),
      SL_PARSE_NOT_TCP);
  EXPECT_EQ(parse(PacketBuilder()
                      .ipv6(kClient6, kServer6)
                      .ipv6_ext(kIpv6HopByHop)
                      .ipv6_frag(0, true)
                      .tcp(1, 25)
                      .build(),
                  &pkt),
            SL_PARSE_OK);
  EXPECT_EQ(pkt.frag, SL_FRAG_FIRST);
  EXPECT_EQ(
      parse(PacketBuilder().ipv6(kClient6, kServer6).ipv6_frag(0, false).tcp(1, 25).build(), &pkt),
      SL_PARSE_OK);
  EXPECT_EQ(pkt.frag, SL_FRAG_ATOMIC);
  EXPECT_EQ(
      parse(PacketBuilder().ipv6(kClient6, kServer6).ipv6_frag(7, false).tcp(1, 25).build(), &pkt),
      SL_PARSE_UNSEEN);
  EXPECT_EQ(
      parse(PacketBuilder().ipv6(kClient6, kServer6).ipv6_frag(8, true).tcp(1, 25).build(), &pkt),
      SL_PARSE_FRAGMENT);
  EXPECT_EQ(
      parse(PacketBuilder().ipv6(kClient6, kServer6).ipv6_frag(8, false).udp(1, 25).build(), &pkt),
      SL_PARSE_NOT_TCP);
  {
    PacketBuilder eight = PacketBuilder().ipv6(kClient6, kServer6);
    for (int i = 0; i < 8; i++) eight.ipv6_ext(kIpv6DestOpts);
    EXPECT_EQ(parse(eight.tcp(1, 25).build(), &pkt), SL_PARSE_OK);
    PacketBuilder nine = PacketBuilder().ipv6(kClient6, kServer6);
    for (int i = 0; i < 9; i++) nine.ipv6_ext(kIpv6DestOpts);
    EXPECT_EQ(parse(nine.tcp(1, 25).build(), &pkt), SL_PARSE_UNSEEN);
    EXPECT_EQ(parse(nine.udp(1, 25).build(), &pkt), SL_PARSE_UNSEEN);  // could be TCP
  }
  EXPECT_EQ(parse(PacketBuilder().ipv4(kClient4, kServer4).ipv4_ihl(3).tcp(1, 25).build(), &pkt),
            SL_PARSE_MALFORMED);
  EXPECT_EQ(parse(PacketBuilder().ipv4(kClient4, kServer4).tcp(1, 25).data_offset(2).build(), &pkt),
            SL_PARSE_MALFORMED);
  EXPECT_EQ(parse(PacketBuilder()
                      .ipv6(kClient6, kServer6)
                      .ipv6_ext(kIpv6DestOpts, Bytes(30, 0))
                      .ipv6_payload_length(16)
                      .tcp(1, 25)
                      .build(),
                  &pkt),
            SL_PARSE_MALFORMED);
}

TEST(Parse, OptionOffsets) {
  const Bytes f = PacketBuilder()
                      .ipv4(kClient4, kServer4)
                      .tcp(kClientPort, 25)
                      .flags(kSyn)
                      .tcp_options(tcpopt::cat({tcpopt::nop(), tcpopt::wscale(1), tcpopt::mss(1),
                                                tcpopt::timestamps(1, 2), tcpopt::sack_perm()}))
                      .build();
  ExactBuffer buf(f);
  sl_pkt pkt;
  ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
  ASSERT_EQ(sl_parse_tcp_options(&pkt, buf.end()), 0);
  EXPECT_EQ(pkt.opt_wscale, 21);
  EXPECT_EQ(pkt.opt_mss, 24);
  EXPECT_EQ(pkt.opt_sack_perm, 38);
}

// Stripping one of two window-scale options would not stop scaling: duplicates are malformed.
TEST(Parse, DuplicateOptionsWeActOnAreMalformed) {
  for (const Bytes &opts : {tcpopt::cat({tcpopt::wscale(1), tcpopt::nop(), tcpopt::wscale(2)}),
                            tcpopt::cat({tcpopt::mss(1), tcpopt::mss(2)}),
                            tcpopt::cat({tcpopt::sack_perm(), tcpopt::sack_perm()})}) {
    ExactBuffer buf(PacketBuilder()
                        .ipv4(kClient4, kServer4)
                        .tcp(kClientPort, 25)
                        .flags(kSyn)
                        .tcp_options(opts)
                        .build());
    sl_pkt pkt;
    ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
    EXPECT_EQ(sl_parse_tcp_options(&pkt, buf.end()), -1) << hex(opts);
  }
  // Duplicates of other options (timestamps here) are fine.
  ExactBuffer buf(
      PacketBuilder()
          .ipv4(kClient4, kServer4)
          .tcp(kClientPort, 25)
          .flags(kSyn)
          .tcp_options(tcpopt::cat({tcpopt::timestamps(1, 2), tcpopt::timestamps(3, 4)}))
          .build());
  sl_pkt pkt;
  ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
  EXPECT_EQ(sl_parse_tcp_options(&pkt, buf.end()), 0);
}

TEST(Classify, DirectionsPortsAndFlags) {
  sl_policy pol = fixture_policy();
  pol.smtp_ports[1] = sl_htons(587);
  struct Case {
    uint16_t sport, dport;
    uint8_t flags;
    sl_dir dir;
    sl_class cls;
  };
  for (const Case &c : {Case{40000, 25, kSyn, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SYN},
                        Case{40000, 587, kSyn, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SYN},
                        Case{40000, 465, kSyn, SL_DIR_FROM_OUTSIDE, SL_CLASS_OTHER},
                        Case{40000, 0, kSyn, SL_DIR_FROM_OUTSIDE, SL_CLASS_OTHER},
                        Case{40000, 25, kSyn | kAck, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SEG},
                        Case{40000, 25, kSyn | kRst, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SEG},
                        Case{40000, 25, kSyn | kFin, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SYN},
                        Case{40000, 25, kAck, SL_DIR_FROM_OUTSIDE, SL_CLASS_CLIENT_SEG},
                        Case{40000, 25, kAck, SL_DIR_FROM_INSIDE, SL_CLASS_OTHER},
                        Case{25, 40000, kSyn | kAck, SL_DIR_FROM_INSIDE, SL_CLASS_SERVER_SEG},
                        Case{587, 40000, kAck, SL_DIR_FROM_INSIDE, SL_CLASS_SERVER_SEG},
                        Case{25, 40000, kSyn, SL_DIR_FROM_INSIDE, SL_CLASS_SERVER_SEG},
                        Case{25, 40000, kAck, SL_DIR_FROM_OUTSIDE, SL_CLASS_OTHER}}) {
    ExactBuffer buf(
        PacketBuilder().ipv4(kClient4, kServer4).tcp(c.sport, c.dport).flags(c.flags).build());
    sl_pkt pkt;
    ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
    EXPECT_EQ(sl_classify(&pkt, buf.end(), c.dir, &pol), c.cls)
        << c.sport << "->" << c.dport << " flags " << int(c.flags) << " dir " << c.dir;
  }
}

TEST(FlowKey, BothDirectionsGiveTheSameKey) {
  for (bool v6 : {false, true}) {
    PacketBuilder c2s;
    PacketBuilder s2c;
    if (v6) {
      c2s.ipv6(kClient6, kServer6);
      s2c.ipv6(kServer6, kClient6);
    } else {
      c2s.ipv4(kClient4, kServer4);
      s2c.ipv4(kServer4, kClient4);
    }
    ExactBuffer a(c2s.tcp(kClientPort, 25).flags(kSyn).build());
    ExactBuffer b(s2c.tcp(25, kClientPort).flags(kSyn | kAck).build());
    const sl_policy pol = fixture_policy();
    sl_pkt pa, pb;
    ASSERT_EQ(sl_parse(a.begin(), a.end(), &pa), SL_PARSE_OK);
    ASSERT_EQ(sl_parse(b.begin(), b.end(), &pb), SL_PARSE_OK);
    const sl_class ca = sl_classify(&pa, a.end(), SL_DIR_FROM_OUTSIDE, &pol);
    const sl_class cb = sl_classify(&pb, b.end(), SL_DIR_FROM_INSIDE, &pol);
    ASSERT_EQ(ca, SL_CLASS_CLIENT_SYN);
    ASSERT_EQ(cb, SL_CLASS_SERVER_SEG);
    sl_flow_key ka, kb;
    std::memset(&ka, 0xaa, sizeof(ka));
    std::memset(&kb, 0x55, sizeof(kb));
    sl_flow_key_make(&pa, ca, &ka);
    sl_flow_key_make(&pb, cb, &kb);
    EXPECT_EQ(std::memcmp(&ka, &kb, sizeof(ka)), 0) << "v6 " << v6;
    EXPECT_EQ(ka.family, v6 ? SL_AF_INET6 : SL_AF_INET);
    EXPECT_EQ(ka.client_port, sl_htons(kClientPort));
    EXPECT_EQ(ka.server_port, sl_htons(25));
    if (v6) {
      EXPECT_EQ(std::memcmp(ka.client, ipv6_address(kClient6).data(), 16), 0);
      EXPECT_EQ(std::memcmp(ka.server, ipv6_address(kServer6).data(), 16), 0);
    } else {
      EXPECT_EQ(std::memcmp(ka.client, ipv4_address(kClient4).data(), 4), 0);
      EXPECT_EQ(std::memcmp(ka.server, ipv4_address(kServer4).data(), 4), 0);
      for (int i = 4; i < 16; i++) EXPECT_EQ(ka.client[i] | ka.server[i], 0) << i;
    }
    EXPECT_EQ(ka.outbound, 0);
    EXPECT_EQ(ka.pad[0] | ka.pad[1], 0);
  }
}

}  // namespace
}  // namespace sluice::testing
