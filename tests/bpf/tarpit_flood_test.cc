// A SYN flood from 2^20 spoofed sources at a stateless tarpit level, through the XDP program
// (BPF_PROG_TEST_RUN): every SYN is answered with a zero-window cookie SYN-ACK, counted, and no
// state grows: the flow table stays empty. The handshake ACKs of the cookies issued are then
// recognised without state (dropped, counted), while an ACK to a cookie never issued passes on
// untouched (docs/packet-core.md, "The stateless tarpit").
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/privileged.h"
#include "common/frame_fields.h"
#include "common/tcp_frame.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::tcp_offset;
using sluice::testing::TcpFrame;
using testing::LoadedXdp;

// Every sender, listed or not (score 0 >= threshold 0), is at level 1: a stateless tarpit.
sl_policy flood_policy() {
  sl_policy p{};
  p.smtp_ports[0] = sl_htons(25);
  p.nlevels = 2;
  p.thresholds[1] = 0;
  p.profiles[1].tarpit = SL_TARPIT_STATELESS;
  p.tarpit_cookies = 1;
  p.cookie_key[0] = 0x9e3779b9u;
  p.cookie_key[1] = 0x7f4a7c15u;
  p.cookie_key[2] = 0xf39cc060u;
  p.cookie_key[3] = 0x5cedc834u;
  p.generation = 1;
  return p;
}

// SYN number i: one of 2^17 addresses in 198.18.0.0/15, one of 8 source ports.
TcpFrame flood_syn(uint32_t i) {
  TcpFrame f;
  const uint32_t host = i & 0x1ffffu;
  f.src[0] = 198;
  f.src[1] = static_cast<uint8_t>(18 + (host >> 16));
  f.src[2] = static_cast<uint8_t>(host >> 8);
  f.src[3] = static_cast<uint8_t>(host);
  f.sport = static_cast<uint16_t>(40000 + (i >> 17));
  f.seq = 0x10000000u + i * 7919u;
  return f;
}

uint32_t be32_at(const std::vector<uint8_t> &f, size_t off) {
  return static_cast<uint32_t>(f[off] << 24 | f[off + 1] << 16 | f[off + 2] << 8 | f[off + 3]);
}

TEST(XdpTarpitFlood, SpoofedSynFloodIsAnsweredAndCountedWithoutState) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x(flood_policy());
  constexpr uint32_t kSyns = 1u << 20;
  constexpr uint32_t kChecked = 64;  // SYN-ACKs whose handshake ACK is sent afterwards
  std::vector<std::pair<TcpFrame, uint32_t>> issued;  // the SYN and its cookie
  uint32_t answered = 0, zero_window = 0;
  for (uint32_t i = 0; i < kSyns; ++i) {
    const TcpFrame syn = flood_syn(i);
    const TestRunResult r = x.outside(syn.build());
    if (r.action != XDP_TX) continue;
    ++answered;
    const size_t t = tcp_offset(r.output);
    if (r.output[t + 13] == 0x12 && r.output[t + 14] == 0 && r.output[t + 15] == 0 &&
        be32_at(r.output, t + 8) == syn.seq + 1)
      ++zero_window;
    if (i % (kSyns / kChecked) == 0) issued.emplace_back(syn, be32_at(r.output, t + 4));
  }
  EXPECT_EQ(answered, kSyns);
  EXPECT_EQ(zero_window, kSyns);  // SYN-ACK, window 0, acknowledging the SYN
  EXPECT_EQ(x.flow_count(), 0u);
  sl_stats s = x.stats_sum();
  EXPECT_EQ(s.tarpit_synacks, kSyns);
  EXPECT_EQ(s.level[1].syns, kSyns);
  EXPECT_EQ(s.level[1].flows, 0u);
  EXPECT_EQ(s.flow_table_full, 0u);

  // The handshake ACK of each cookie issued: dropped unanswered, still no flow.
  ASSERT_EQ(issued.size(), kChecked);
  for (const auto &[syn, cookie] : issued) {
    TcpFrame ack = syn;
    ack.flags = 0x10;
    ack.seq = syn.seq + 1;
    ack.ack = cookie + 1;
    EXPECT_EQ(x.outside(ack.build()).action, static_cast<uint32_t>(XDP_DROP));
  }
  s = x.stats_sum();
  EXPECT_EQ(s.tarpit_silent, kChecked);
  EXPECT_EQ(x.flow_count(), 0u);

  // An ACK to a cookie never issued (one off in its hashed bits) is not the tarpit's: it goes
  // on untouched, to the MTA, which resets it.
  TcpFrame forged = issued.front().first;
  forged.flags = 0x10;
  forged.seq = forged.seq + 1;
  forged.ack = (issued.front().second ^ 0x100u) + 1;
  const std::vector<uint8_t> in = forged.build();
  const TestRunResult r = x.outside(in);
  EXPECT_EQ(r.action, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.output, in);
  EXPECT_EQ(x.stats_sum().tarpit_silent, kChecked);
  EXPECT_EQ(x.flow_count(), 0u);
}

}  // namespace
}  // namespace sluice::xdp
