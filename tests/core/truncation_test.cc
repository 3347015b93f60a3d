// Truncation at every byte offset: a frame cut anywhere short of its IP length is malformed,
// so the core must classify it OTHER and leave it untouched, without reading or writing past
// the end (each cut frame lives in an exactly sized heap buffer; ASan checks).
#include <gtest/gtest.h>

#include <string>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

struct BasePacket {
  std::string name;
  Bytes frame;
  sl_dir dir;
  std::optional<sl_rep_value> rep;
  std::optional<sl_flow_state> flow;
};

sl_flow_state shaped_flow(uint8_t level) {
  sl_flow_state st;
  std::memset(&st, 0, sizeof(st));
  st.level = level;
  st.flags = SL_FLOW_WSCALE_STRIP;
  st.client_wscale = 7;
  st.server_wscale = 0xff;
  return st;
}

std::vector<BasePacket> base_packets() {
  const Bytes syn_opts = tcpopt::cat({tcpopt::mss(1460), tcpopt::sack_perm(),
                                      tcpopt::timestamps(1, 0), tcpopt::nop(), tcpopt::wscale(7)});
  std::vector<BasePacket> v;
  v.push_back({"ipv4_syn_level1",
               PacketBuilder()
                   .ipv4(kClient4, kServer4)
                   .tcp(kClientPort, 25)
                   .flags(kSyn)
                   .tcp_options(syn_opts)
                   .build(),
               SL_DIR_FROM_OUTSIDE, sl_rep_value{3, 0}, std::nullopt});
  v.push_back({"ipv4_syn_block_rst",
               PacketBuilder()
                   .ipv4(kClient4, kServer4)
                   .ipv4_options({1, 1, 1, 0})
                   .tcp(kClientPort, 25)
                   .flags(kSyn)
                   .tcp_options(syn_opts)
                   .build(),
               SL_DIR_FROM_OUTSIDE, sl_rep_value{10, 0}, std::nullopt});
  v.push_back({"ipv6_ext_syn_level2",
               PacketBuilder()
                   .vlan(5)
                   .ipv6(kClient6, kServer6)
                   .ipv6_ext(kIpv6HopByHop, {1, 4, 0, 0, 0, 0})
                   .ipv6_ext(kIpv6Routing, {0, 0, 0, 0, 0, 0})
                   .tcp(kClientPort, 25)
                   .flags(kSyn)
                   .tcp_options(tcpopt::cat(
                       {tcpopt::mss(1440), tcpopt::nop(), tcpopt::sack_perm(), tcpopt::wscale(3)}))
                   .build(),
               SL_DIR_FROM_OUTSIDE, sl_rep_value{5, 0}, std::nullopt});
  v.push_back({"qinq_synack_level1",
               PacketBuilder()
                   .vlan(7, 0x88a8)
                   .vlan(8)
                   .ipv4(kServer4, kClient4)
                   .tcp(25, kClientPort)
                   .flags(kSyn | kAck)
                   .window(65160)
                   .tcp_options(tcpopt::cat({tcpopt::nop(), tcpopt::mss(1460), tcpopt::wscale(7)}))
                   .build(),
               SL_DIR_FROM_INSIDE, std::nullopt, shaped_flow(1)});
  v.push_back({"ipv6_server_data_tarpit",
               PacketBuilder()
                   .ipv6(kServer6, kClient6)
                   .tcp(25, kClientPort)
                   .flags(kAck | kPsh)
                   .window(29200)
                   .payload("220 hello\r\n")
                   .build(),
               SL_DIR_FROM_INSIDE, std::nullopt, shaped_flow(3)});
  v.push_back({"ipv4_client_data_drop",
               PacketBuilder()
                   .ipv4(kClient4, kServer4)
                   .tcp(kClientPort, 25)
                   .flags(kAck)
                   .payload("EHLO x\r\n")
                   .build(),
               SL_DIR_FROM_OUTSIDE, std::nullopt, shaped_flow(4)});
  return v;
}

TEST(Truncation, EveryCutShortOfTheFrameIsOtherAndUntouched) {
  const sl_policy policy = fixture_policy();
  for (const BasePacket &base : base_packets()) {
    // The whole frame is shaped (otherwise this test would prove nothing about cuts).
    const FixtureResult whole =
        run_native_packet(base.frame, base.dir, policy, base.rep, base.flow, 0);
    ASSERT_NE(whole.cls, SL_CLASS_OTHER) << base.name;
    for (size_t len = 0; len < base.frame.size(); len++) {
      const Bytes cut(base.frame.begin(), base.frame.begin() + static_cast<ptrdiff_t>(len));
      const FixtureResult r = run_native_packet(cut, base.dir, policy, base.rep, base.flow, 0);
      EXPECT_EQ(r.cls, SL_CLASS_OTHER) << base.name << " cut at " << len;
      EXPECT_EQ(r.verdict, SL_VERDICT_PASS) << base.name << " cut at " << len;
      EXPECT_EQ(r.output, cut) << base.name << " cut at " << len;
      EXPECT_NE(r.parse_result, SL_PARSE_OK) << base.name << " cut at " << len;
    }
  }
}

// A client SYN with 6,000 bytes of data: its datagram goes on well past a page, as a jumbo
// frame's does past an XDP multi-buffer frame's linear part.
Bytes jumbo_syn() {
  return PacketBuilder()
      .ipv4(kClient4, kServer4)
      .tcp(kClientPort, 25)
      .flags(kSyn)
      .payload(std::string(6000, 'x'))
      .build();
}

// A frame read only in part (XDP multi-buffer: the rest in fragments), from the end of its TCP
// header on: the sequence decides exactly as on the whole frame, with the IP lengths checked
// against the whole frame. The runner gives it only the readable part's length and the whole
// one when asked (SL_ENV_FRAME_LEN), so this also holds that a datagram longer than the readable
// part is parsed again rather than taken for malformed.
TEST(Truncation, AFrameReadInPartFromItsTcpHeaderOnDecidesAsTheWholeFrame) {
  const sl_policy policy = fixture_policy();
  std::vector<BasePacket> packets = base_packets();
  packets.push_back({"ipv4_jumbo_syn_block_rst", jumbo_syn(), SL_DIR_FROM_OUTSIDE,
                     sl_rep_value{10, 0}, std::nullopt});
  for (const BasePacket &base : packets) {
    const FixtureResult whole =
        run_native_packet(base.frame, base.dir, policy, base.rep, base.flow, 0);
    ASSERT_NE(whole.cls, SL_CLASS_OTHER) << base.name;
    ExactBuffer buf(base.frame);
    sl_pkt pkt;
    ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
    for (size_t len = pkt.l4_off + pkt.tcp_hlen; len < base.frame.size(); len++) {
      const FixtureResult r =
          run_native_packet(base.frame, base.dir, policy, base.rep, base.flow, 0, len);
      EXPECT_EQ(r.cls, whole.cls) << base.name << " read to " << len;
      EXPECT_EQ(r.verdict, whole.verdict) << base.name << " read to " << len;
      EXPECT_EQ(r.output, whole.output) << base.name << " read to " << len;
      EXPECT_EQ(core_counter_diff(r.stats, whole.stats), "") << base.name << " read to " << len;
    }
  }
}

// The other way round: a datagram longer than the whole frame (cut on the wire) is malformed
// however little of the frame is readable, and counted once.
TEST(Truncation, ADatagramLongerThanTheFrameIsMalformedWhateverIsReadable) {
  const sl_policy policy = fixture_policy();
  const Bytes frame = jumbo_syn();
  const Bytes cut(frame.begin(), frame.end() - 1);
  for (size_t len : {size_t{54}, size_t{1500}, cut.size()}) {
    const FixtureResult r = run_native_packet(cut, SL_DIR_FROM_OUTSIDE, policy, sl_rep_value{10, 0},
                                              std::nullopt, 0, len);
    EXPECT_EQ(r.cls, SL_CLASS_OTHER) << len;
    EXPECT_EQ(r.output, cut) << len;
    EXPECT_EQ(r.stats.malformed, 1u) << len;
  }
}

// The building blocks on their own, on a frame whose TCP header was parsed whole but whose
// buffer then ends early (a data plane with a stale data_end): they must refuse, not overrun.
TEST(Truncation, RewritesRefuseBytesPastDataEnd) {
  const Bytes frame =
      PacketBuilder()
          .ipv4(kServer4, kClient4)
          .tcp(25, kClientPort)
          .flags(kSyn | kAck)
          .window(65000)
          .tcp_options(tcpopt::cat({tcpopt::nop(), tcpopt::mss(1460), tcpopt::wscale(7)}))
          .build();
  for (size_t len = 0; len < frame.size(); len++) {
    ExactBuffer full(frame);
    sl_pkt pkt;
    ASSERT_EQ(sl_parse(full.begin(), full.end(), &pkt), SL_PARSE_OK);
    ASSERT_EQ(sl_parse_tcp_options(&pkt, full.end()), 0);
    // Same offsets, in a shorter buffer.
    ExactBuffer cut(Bytes(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(len)));
    const ptrdiff_t l4 = pkt.l4_off;
    pkt.tcp = reinterpret_cast<sl_tcp *>(cut.data() + l4);
    pkt.l3 = cut.data() + pkt.l3_off;
    if (static_cast<size_t>(l4) > len) continue;  // the pointer itself would be out of range
    // Each rewrite changes the frame exactly when every byte it reads and writes (the field and
    // the checksum at TCP bytes 16..17) is inside the buffer, and says so; else it refuses.
    const size_t hdr_end = static_cast<size_t>(l4) + 20;
    const size_t mss_end = static_cast<size_t>(l4) + pkt.opt_mss + 4;
    const size_t ws_end = static_cast<size_t>(l4) + pkt.opt_wscale + 3;
    const Bytes before = cut.bytes();
    EXPECT_EQ(sl_tcp_clamp_window(&pkt, cut.end(), 100), len >= hdr_end ? 1 : 0) << len;
    EXPECT_EQ(sl_tcp_clamp_mss(&pkt, cut.end(), 100), len >= hdr_end && len >= mss_end ? 1 : 0)
        << len;
    EXPECT_EQ(sl_tcp_nop_option(&pkt, cut.end(), pkt.opt_wscale),
              len >= hdr_end && len >= ws_end ? 1 : 0)
        << len;
    if (len < hdr_end) {
      EXPECT_EQ(hex(cut.bytes()), hex(before)) << "refused, yet changed";
    }
    uint32_t tx_len = 0;
    const int rst = sl_build_rst(cut.begin(), cut.end(), &pkt, &tx_len);
    EXPECT_EQ(rst, len >= hdr_end ? 1 : 0) << len;
    if (rst) {
      EXPECT_EQ(tx_len, hdr_end) << len;
    } else {
      EXPECT_EQ(tx_len, 0u) << len;
      EXPECT_EQ(hex(cut.bytes()), hex(before)) << "refused, yet changed";
    }
  }
}

}  // namespace
}  // namespace sluice::testing
