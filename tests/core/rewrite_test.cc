// The rewrite building blocks one by one: what they change, what they refuse, idempotence.
#include <gtest/gtest.h>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

struct Parsed {
  explicit Parsed(const Bytes &frame) : buf(frame) {
    rc = sl_parse(buf.begin(), buf.end(), &pkt);
    if (rc == SL_PARSE_OK) opts_rc = sl_parse_tcp_options(&pkt, buf.end());
  }
  ExactBuffer buf;
  sl_pkt pkt{};
  int rc = -100;
  int opts_rc = -100;
};

PacketBuilder server_ack(uint16_t window) {
  return PacketBuilder()
      .ipv4(kServer4, kClient4)
      .tcp(25, kClientPort)
      .flags(kAck)
      .seq(1)
      .ack(2)
      .window(window);
}

TEST(Rewrite, ClampWindowLowersOnlyLargerWindows) {
  for (uint16_t w : {0, 1, 2047, 2048, 2049, 30000, 65535}) {
    Parsed p(server_ack(w).build());
    ASSERT_EQ(p.rc, SL_PARSE_OK);
    EXPECT_EQ(p.pkt.rewritten, 0) << w;
    const int changed = sl_tcp_clamp_window(&p.pkt, p.buf.end(), 2048);
    EXPECT_EQ(changed, w > 2048 ? 1 : 0) << w;
    EXPECT_EQ(p.pkt.rewritten, changed) << w;
    EXPECT_EQ(p.buf.bytes(), server_ack(w > 2048 ? 2048 : w).build()) << w;
    EXPECT_EQ(sl_tcp_clamp_window(&p.pkt, p.buf.end(), 2048), 0) << "second call, " << w;
    EXPECT_EQ(p.pkt.rewritten, changed) << "a second call clears nothing, " << w;
  }
}

TEST(Rewrite, ClampWindowToZeroIsTheTarpit) {
  Parsed p(server_ack(100).build());
  EXPECT_EQ(sl_tcp_clamp_window(&p.pkt, p.buf.end(), 0), 1);
  EXPECT_EQ(p.buf.bytes(), server_ack(0).build());
}

TEST(Rewrite, ClampMssWithoutMssOptionChangesNothing) {
  const Bytes frame = server_ack(100).flags(kSyn | kAck).tcp_options(tcpopt::wscale(7)).build();
  Parsed p(frame);
  EXPECT_EQ(p.pkt.opt_mss, 0);
  EXPECT_EQ(sl_tcp_clamp_mss(&p.pkt, p.buf.end(), 536), 0);
  EXPECT_EQ(p.pkt.rewritten, 0);
  EXPECT_EQ(p.buf.bytes(), frame);
}

TEST(Rewrite, ClampMssLowersALargerMssAndMarksTheSegment) {
  auto synack = [](uint16_t mss) {
    return server_ack(100).flags(kSyn | kAck).tcp_options(tcpopt::mss(mss));
  };
  Parsed p(synack(1460).build());
  ASSERT_NE(p.pkt.opt_mss, 0);
  EXPECT_EQ(sl_tcp_clamp_mss(&p.pkt, p.buf.end(), 536), 1);
  EXPECT_EQ(p.pkt.rewritten, 1);
  EXPECT_EQ(p.buf.bytes(), synack(536).build());
  Parsed small(synack(500).build());
  EXPECT_EQ(sl_tcp_clamp_mss(&small.pkt, small.buf.end(), 536), 0);
  EXPECT_EQ(small.pkt.rewritten, 0);
}

TEST(Rewrite, NopOptionRefusesEolNopAndLongOptions) {
  const Bytes frame =
      server_ack(100)
          .tcp_options(tcpopt::cat({tcpopt::nop(), tcpopt::timestamps(1, 2), tcpopt::eol()}))
          .build();
  Parsed p(frame);
  ASSERT_EQ(p.opts_rc, 0);
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), 20), 0);  // NOP
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), 21), 0);  // timestamps: 10 bytes
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), 31), 0);  // EOL
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), 0), 0);   // "absent"
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), 5), 0);   // inside the fixed header
  EXPECT_EQ(p.pkt.rewritten, 0);
  EXPECT_EQ(p.buf.bytes(), frame);
}

TEST(Rewrite, NopOptionTwiceEqualsOnce) {
  const Bytes frame =
      server_ack(100)
          .flags(kSyn)
          .tcp_options(tcpopt::cat({tcpopt::sack_perm(), tcpopt::nop(), tcpopt::wscale(4)}))
          .build();
  Parsed p(frame);
  ASSERT_EQ(p.pkt.opt_sack_perm, 20);
  ASSERT_EQ(p.pkt.opt_wscale, 23);
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), p.pkt.opt_sack_perm), 1);
  EXPECT_EQ(p.pkt.rewritten, 1);
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), p.pkt.opt_wscale), 1);
  const Bytes once = p.buf.bytes();
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), p.pkt.opt_sack_perm), 0);
  EXPECT_EQ(sl_tcp_nop_option(&p.pkt, p.buf.end(), p.pkt.opt_wscale), 0);
  EXPECT_EQ(p.buf.bytes(), once);
  EXPECT_EQ(once, server_ack(100).flags(kSyn).tcp_options(tcpopt::nop(6)).build());
}

// A segment with ACK set gets <SEQ=SEG.ACK><RST> and no ACK (RFC 9293 3.10.7.1).
TEST(Rewrite, RstForASegmentWithAckUsesItsAckNumber) {
  const Bytes frame = PacketBuilder()
                          .ipv4(kClient4, kServer4)
                          .tcp(kClientPort, 25)
                          .flags(kAck | kPsh)
                          .seq(100)
                          .ack(5000)
                          .payload("DATA")
                          .build();
  Parsed p(frame);
  uint32_t len = 0;
  ASSERT_EQ(sl_build_rst(p.buf.begin(), p.buf.end(), &p.pkt, &len), 1);
  const Bytes expected = PacketBuilder()
                             .eth_src(Mac{0x02, 0, 0, 0, 0, 0x02})
                             .eth_dst(Mac{0x02, 0, 0, 0, 0, 0x01})
                             .ipv4(kServer4, kClient4)
                             .ttl(64)
                             .ip_id(0)
                             .tcp(25, kClientPort)
                             .flags(kRst)
                             .seq(5000)
                             .ack(0)
                             .window(0)
                             .build();
  EXPECT_EQ(hex(p.buf.bytes(len)), hex(expected));
}

TEST(Rewrite, RstForAFinAcknowledgesIt) {
  const Bytes frame = PacketBuilder()
                          .ipv6(kClient6, kServer6)
                          .tcp(kClientPort, 25)
                          .flags(kFin | kSyn)
                          .seq(100)
                          .payload("ab")
                          .build();
  Parsed p(frame);
  uint32_t len = 0;
  ASSERT_EQ(sl_build_rst(p.buf.begin(), p.buf.end(), &p.pkt, &len), 1);
  const Bytes reply = p.buf.bytes(len);
  // ack = seq + 2 bytes of payload + SYN + FIN
  EXPECT_EQ(sl_load_be32(reply.data() + 54 + 8), 104u);
  EXPECT_EQ(reply[54 + 13], kRst | kAck);
}

TEST(Rewrite, RstRefusesAnUnparsedPacket) {
  ExactBuffer buf(Bytes(64, 0));
  sl_pkt pkt;
  std::memset(&pkt, 0, sizeof(pkt));
  uint32_t len = 7;
  EXPECT_EQ(sl_build_rst(buf.begin(), buf.end(), &pkt, &len), 0);
  EXPECT_EQ(len, 7u);
}

// sl_act_syn records the client's options; the flow records only what the profile did.
TEST(Rewrite, ActSynWithoutStrippingRecordsButKeepsOptions) {
  const Bytes frame =
      PacketBuilder()
          .ipv4(kClient4, kServer4)
          .tcp(kClientPort, 25)
          .flags(kSyn)
          .tcp_options(tcpopt::cat({tcpopt::mss(1200), tcpopt::wscale(6), tcpopt::sack_perm()}))
          .build();
  Parsed p(frame);
  sl_profile prof;
  std::memset(&prof, 0, sizeof(prof));
  prof.window_clamp = 1000;
  sl_flow_state st;
  std::memset(&st, 0, sizeof(st));
  uint32_t tx = 0;
  EXPECT_EQ(sl_act_syn(&prof, prof.block, &p.pkt, p.buf.begin(), p.buf.end(), &st, &tx),
            SL_VERDICT_PASS);
  EXPECT_EQ(p.buf.bytes(), frame);
  EXPECT_EQ(st.client_mss, 1200);
  EXPECT_EQ(st.client_wscale, 6);
  EXPECT_EQ(st.server_wscale, 0xff);
  EXPECT_EQ(st.flags, 0);
}

// Partial drop rates decided by the random number handed in (fixtures only use 0 and 1e6).
TEST(Rewrite, DropRatesFollowTheRandomNumber) {
  sl_profile prof;
  std::memset(&prof, 0, sizeof(prof));
  prof.client_drop_ppm = 250000;
  prof.server_drop_ppm = 750000;
  const Bytes c = PacketBuilder()
                      .ipv4(kClient4, kServer4)
                      .tcp(kClientPort, 25)
                      .flags(kAck)
                      .payload("x")
                      .build();
  const Bytes s = PacketBuilder()
                      .ipv4(kServer4, kClient4)
                      .tcp(25, kClientPort)
                      .flags(kAck)
                      .payload("y")
                      .build();
  struct Case {
    uint32_t rnd;
    sl_verdict client;
    sl_verdict server;
  };
  // rnd * 1e6 >> 32: 0x3fffffff -> 249999, 0x40000000 -> 250000, 0xbfffffff -> 749999
  for (const Case &k : {Case{0, SL_VERDICT_DROP, SL_VERDICT_DROP},
                        Case{0x3fffffffu, SL_VERDICT_DROP, SL_VERDICT_DROP},
                        Case{0x40000000u, SL_VERDICT_PASS, SL_VERDICT_DROP},
                        Case{0xbfffffffu, SL_VERDICT_PASS, SL_VERDICT_DROP},
                        Case{0xc0000000u, SL_VERDICT_PASS, SL_VERDICT_PASS}}) {
    sl_flow_state st;
    std::memset(&st, 0, sizeof(st));
    Parsed pc(c);
    EXPECT_EQ(sl_act_client_seg(&prof, &st, &pc.pkt, pc.buf.end(), k.rnd), k.client) << k.rnd;
    Parsed ps(s);
    EXPECT_EQ(sl_act_server_seg(&prof, &st, &ps.pkt, ps.buf.end(), k.rnd), k.server) << k.rnd;
  }
}

// Segments without payload are never dropped, whatever the rate.
TEST(Rewrite, PureAcksAreNeverDropped) {
  sl_profile prof;
  std::memset(&prof, 0, sizeof(prof));
  prof.client_drop_ppm = 1000000;
  prof.server_drop_ppm = 1000000;
  sl_flow_state st;
  std::memset(&st, 0, sizeof(st));
  Parsed pc(PacketBuilder().ipv4(kClient4, kServer4).tcp(kClientPort, 25).flags(kAck).build());
  EXPECT_EQ(sl_act_client_seg(&prof, &st, &pc.pkt, pc.buf.end(), 0), SL_VERDICT_PASS);
  Parsed ps(server_ack(10).build());
  EXPECT_EQ(sl_act_server_seg(&prof, &st, &ps.pkt, ps.buf.end(), 0), SL_VERDICT_PASS);
}

}  // namespace
}  // namespace sluice::testing
