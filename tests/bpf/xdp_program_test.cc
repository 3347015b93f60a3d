// The XDP program through BPF_PROG_TEST_RUN: what it forwards untouched, and each action of the
// test policy on SYNs and on segments of shaped flows.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/privileged.h"
#include "common/frame_fields.h"
#include "common/tcp_frame.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::checksums_ok;
using sluice::testing::tcp_offset;
using sluice::testing::TcpFrame;
using testing::LoadedXdp;
using testing::OnCpu;

constexpr uint32_t kRedirect = XDP_REDIRECT;

// MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 (as Linux sends them).
const std::vector<uint8_t> kSynOptions = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                          0, 1, 0,    0,    0, 0, 1, 3,  3, 7};

TcpFrame syn_from(uint8_t last_octet) {
  TcpFrame f;
  f.src[3] = last_octet;
  f.options = kSynOptions;
  return f;
}

// The server's reply direction of the flow of `syn`.
TcpFrame reply_to(const TcpFrame &syn) {
  TcpFrame r = syn;
  r.src = syn.dst;
  r.dst = syn.src;
  r.sport = syn.dport;
  r.dport = syn.sport;
  r.options.clear();
  r.flags = 0x10;  // ACK
  return r;
}

uint16_t window_of(const std::vector<uint8_t> &f) {
  const size_t t = tcp_offset(f);
  return static_cast<uint16_t>(f[t + 14] << 8 | f[t + 15]);
}

TEST(XdpProgram, ForwardsNonIpUnchanged) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  const TestRunResult r = x.outside(arp);
  EXPECT_EQ(r.action, kRedirect);
  EXPECT_EQ(r.output, arp);
}

TEST(XdpProgram, ForwardsOtherPortsAndCleanSendersUnchangedWithoutState) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  TcpFrame http = syn_from(7);
  http.dport = 80;
  x.set_host_v4(http.src.data(), 100);  // a bad sender, but not to a watched port
  const auto f1 = http.build();
  EXPECT_EQ(x.outside(f1).output, f1);
  const auto f2 = syn_from(8).build();  // unknown sender to port 25
  const TestRunResult r = x.outside(f2);
  EXPECT_EQ(r.action, kRedirect);
  EXPECT_EQ(r.output, f2);
  EXPECT_EQ(x.flow_count(), 0u);
  const sl_stats s = x.stats_sum();
  EXPECT_EQ(s.packets[SL_DIR_FROM_OUTSIDE], 2u);
  EXPECT_EQ(s.smtp[SL_DIR_FROM_OUTSIDE], 1u);
  EXPECT_EQ(s.lookups, 1u);
}

TEST(XdpProgram, AllowFlagOverridesScore) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(9);
  x.set_host_v4(syn.src.data(), 100, SL_REP_ALLOW);
  const auto f = syn.build();
  EXPECT_EQ(x.outside(f).output, f);
  EXPECT_EQ(x.flow_count(), 0u);
}

TEST(XdpProgram, MalformedTcpForwardedUnmodified) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  auto f = syn_from(10).build();
  f[tcp_offset(f) + 12] = 0xf0;  // data offset 60 bytes: beyond the datagram
  const TestRunResult r = x.outside(f);
  EXPECT_EQ(r.action, kRedirect);
  EXPECT_EQ(r.output, f);
  EXPECT_EQ(x.stats_sum().malformed, 1u);
}

TEST(XdpProgram, ThrottledSynLosesWindowScaleAndCreatesFlow) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(11);
  x.set_host_v4(syn.src.data(), 3);  // level 1
  const auto in = syn.build();
  const TestRunResult r = x.outside(in);
  ASSERT_EQ(r.action, kRedirect);
  ASSERT_EQ(r.output.size(), in.size());
  EXPECT_TRUE(checksums_ok(r.output));
  const size_t wsc = tcp_offset(in) + 20 + 17;  // the window-scale option
  EXPECT_EQ(in[wsc], 3);
  EXPECT_EQ(r.output[wsc], 1);
  EXPECT_EQ(r.output[wsc + 1], 1);
  EXPECT_EQ(r.output[wsc + 2], 1);
  EXPECT_EQ(x.flow_count(), 1u);
  EXPECT_EQ(x.stats_sum().level[1].flows, 1u);

  // The server's SYN-ACK of that flow: MSS clamped to 536, window clamped to 2048.
  TcpFrame synack = reply_to(syn);
  synack.flags = 0x12;
  synack.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
  const TestRunResult ra = x.inside(synack.build());
  ASSERT_EQ(ra.action, kRedirect);
  EXPECT_TRUE(checksums_ok(ra.output));
  const size_t t = tcp_offset(ra.output);
  EXPECT_EQ(ra.output[t + 22] << 8 | ra.output[t + 23], 536);
  EXPECT_EQ(window_of(ra.output), 2048);
  EXPECT_EQ(ra.output[t + 25], 1);  // its window scale stripped too
}

TEST(XdpProgram, DelayProfileForwardsAtOnceWithWindowClamp) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(12);
  x.set_host_v4(syn.src.data(), 5);  // level 2: delay 200 ms, window 4096
  ASSERT_EQ(x.outside(syn.build()).action, kRedirect);
  TcpFrame data = reply_to(syn);
  data.payload = {'2', '2', '0', ' ', 'h', 'i', '\r', '\n'};
  const TestRunResult r = x.inside(data.build());
  EXPECT_EQ(r.action, kRedirect);  // XDP cannot hold it: DELAY forwards now
  EXPECT_EQ(window_of(r.output), 4096);
  EXPECT_TRUE(checksums_ok(r.output));
}

TEST(XdpProgram, TarpitZeroesWindowFromGreetingOn) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(13);
  x.set_host_v4(syn.src.data(), 8);
  ASSERT_EQ(x.outside(syn.build()).action, kRedirect);
  TcpFrame synack = reply_to(syn);
  synack.flags = 0x12;
  EXPECT_EQ(window_of(x.inside(synack.build()).output), 65535);  // before the greeting
  TcpFrame greet = reply_to(syn);
  greet.payload = {'2', '2', '0', '\r', '\n'};
  const TestRunResult r = x.inside(greet.build());
  EXPECT_EQ(window_of(r.output), 0);
  EXPECT_TRUE(checksums_ok(r.output));
}

TEST(XdpProgram, DropRateDropsPayloadBothWaysButNotAcks) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(14);
  x.set_host_v4(syn.src.data(), 9);
  ASSERT_EQ(x.outside(syn.build()).action, kRedirect);
  TcpFrame client = syn;
  client.options.clear();
  client.flags = 0x18;
  client.payload = {'E', 'H', 'L', 'O', '\r', '\n'};
  EXPECT_EQ(x.outside(client.build()).action, static_cast<uint32_t>(XDP_DROP));
  TcpFrame server = reply_to(syn);
  server.payload = {'2', '5', '0', '\r', '\n'};
  EXPECT_EQ(x.inside(server.build()).action, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(x.inside(reply_to(syn).build()).action, kRedirect);  // a bare ACK passes
  EXPECT_EQ(x.stats_sum().level[4].dropped, 2u);
}

TEST(XdpProgram, BlockRstAnswersTheSynWithXdpTx) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(15);
  x.set_host_v4(syn.src.data(), 10);
  const auto in = syn.build();
  const TestRunResult r = x.outside(in);
  ASSERT_EQ(r.action, static_cast<uint32_t>(XDP_TX));
  ASSERT_EQ(r.output.size(), 54u);  // Ethernet + IPv4 + TCP, no options
  EXPECT_TRUE(checksums_ok(r.output));
  const size_t t = tcp_offset(r.output);
  EXPECT_EQ(r.output[t + 13], 0x14);                                 // RST|ACK
  EXPECT_EQ(0, std::memcmp(&r.output[14 + 12], syn.dst.data(), 4));  // addresses swapped
  EXPECT_EQ(0, std::memcmp(&r.output[14 + 16], syn.src.data(), 4));
  const uint32_t ack = static_cast<uint32_t>(r.output[t + 8] << 24 | r.output[t + 9] << 16 |
                                             r.output[t + 10] << 8 | r.output[t + 11]);
  EXPECT_EQ(ack, syn.seq + 1);
  EXPECT_EQ(x.flow_count(), 0u);
  EXPECT_EQ(x.stats_sum().level[5].rst_sent, 1u);
}

// A blocked sender's SYN padded with payload beyond the linear part of an xdp.frags frame
// (more than a page: a jumbo MTU lets it through the link; Linux accepts data on a SYN). The
// core reads the headers in the linear part and checks the IP length against the whole frame
// (bpf_xdp_get_buff_len), so the block holds: the SYN becomes an RST that acknowledges the
// SYN and all its data, trimmed to 54 bytes, fragments and all.
TEST(XdpProgram, BlockedJumboSynIsAnsweredNotForwarded) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  TcpFrame syn = syn_from(15);
  syn.payload.assign(6000, 0x5a);
  x.set_host_v4(syn.src.data(), 10);
  const auto in = syn.build();
  const TestRunResult r = x.outside(in);
  ASSERT_EQ(r.action, static_cast<uint32_t>(XDP_TX));
  ASSERT_EQ(r.output.size(), 54u);
  EXPECT_TRUE(checksums_ok(r.output));
  const size_t t = 14 + 20;
  EXPECT_EQ(r.output[t + 13], 0x14);  // RST|ACK
  const uint32_t ack = static_cast<uint32_t>(r.output[t + 8] << 24 | r.output[t + 9] << 16 |
                                             r.output[t + 10] << 8 | r.output[t + 11]);
  EXPECT_EQ(ack, syn.seq + 1 + 6000);
  EXPECT_EQ(x.stats_sum().malformed, 0u);
  EXPECT_EQ(x.stats_sum().level[5].rst_sent, 1u);
}

// The same for a shaped sender: its jumbo SYN is rewritten in the linear part (window scale
// replaced by NOPs) and forwarded whole, the data in the fragments untouched.
TEST(XdpProgram, ShapedJumboSynIsRewrittenAndForwardedWhole) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  TcpFrame syn = syn_from(17);
  for (size_t i = 0; i < 6000; ++i) syn.payload.push_back(static_cast<uint8_t>(i * 7));
  x.set_host_v4(syn.src.data(), 4);  // level 1: strip window scale
  const TestRunResult r = x.outside(syn.build());
  ASSERT_EQ(r.action, kRedirect);
  TcpFrame want = syn;
  ASSERT_EQ(want.options.size(), 20u);
  ASSERT_EQ(want.options[17], 3);
  want.options[17] = want.options[18] = want.options[19] = 1;
  EXPECT_EQ(r.output, want.build());
  EXPECT_TRUE(checksums_ok(r.output));
  EXPECT_EQ(x.flow_count(), 1u);
  EXPECT_EQ(x.stats_sum().malformed, 0u);
}

TEST(XdpProgram, BlockDropDropsTheSyn) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  const TcpFrame syn = syn_from(16);
  x.set_host_v4(syn.src.data(), 25);
  EXPECT_EQ(x.outside(syn.build()).action, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(x.flow_count(), 0u);
}

TEST(XdpProgram, Ipv6ThrottledSynIsShaped) {
  SLUICE_REQUIRE_PRIVILEGED();
  LoadedXdp x;
  TcpFrame syn = syn_from(0);
  syn.v6 = true;
  const uint8_t src[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
  const uint8_t dst[16] = {0x20, 0x01, 0x00, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};
  std::memcpy(syn.src.data(), src, 16);
  std::memcpy(syn.dst.data(), dst, 16);
  x.set_host_v6(src, 4);  // level 1: strip window scale
  const auto in = syn.build();
  const TestRunResult r = x.outside(in);
  ASSERT_EQ(r.action, kRedirect);
  // Exactly the same SYN with its window-scale option (the last three option bytes, 3 3 7)
  // replaced by NOPs, every other byte the same, and the checksum of that frame.
  TcpFrame want = syn;
  ASSERT_EQ(want.options.size(), 20u);
  ASSERT_EQ(want.options[17], 3);
  want.options[17] = want.options[18] = want.options[19] = 1;
  EXPECT_EQ(r.output, want.build());
  EXPECT_TRUE(checksums_ok(r.output));
  // The flow remembers the level, the client's MSS and window scale, and that it was stripped.
  ASSERT_EQ(x.flow_count(), 1u);
  sl_flow_key k{};
  std::memcpy(k.client, src, 16);
  std::memcpy(k.server, dst, 16);
  k.client_port = sl_htons(syn.sport);
  k.server_port = sl_htons(syn.dport);
  k.family = SL_AF_INET6;
  sl_flow_state st{};
  ASSERT_EQ(bpf_map_lookup_elem(x.obj.map_fd("flows"), &k, &st), 0);
  EXPECT_EQ(st.level, 1);
  EXPECT_EQ(st.client_mss, 1460);
  EXPECT_EQ(st.client_wscale, 7);
  EXPECT_NE(st.flags & SL_FLOW_WSCALE_STRIP, 0);
  EXPECT_EQ(x.stats_sum().level[1].syns, 1u);
}

// The flow map is an LRU: under pressure the kernel evicts the least recently used flows, with
// no counter (flow_evictions stays 0 on XDP). A connection whose flow was evicted is no longer
// shaped: its later segments are forwarded untouched, counted as SMTP packets but in no level
// (docs/dataplane-xdp.md, "Flow table").
TEST(XdpProgram, FlowEvictedMidConnectionPassesUnshaped) {
  SLUICE_REQUIRE_PRIVILEGED();
  // The SYN's run and every update below on one CPU. The map's LRU (one list shared by every
  // CPU) takes a new flow onto the pending list of the CPU that stored it, and only that CPU
  // moves it to the shared list, where eviction looks, when it next takes free entries: had the
  // thread moved to another CPU after the SYN, every round would evict other flows and never
  // ours.
  OnCpu cpu(sched_getcpu());
  ASSERT_TRUE(cpu.ok());
  LoadedXdp x;
  const TcpFrame syn = syn_from(12);
  x.set_host_v4(syn.src.data(), 3);  // level 1: window 2048, MSS 536
  ASSERT_EQ(x.outside(syn.build()).action, kRedirect);
  ASSERT_EQ(x.flow_count(), 1u);
  TcpFrame synack = reply_to(syn);
  synack.flags = 0x12;
  synack.options = {2, 4, 0x05, 0xb4, 1, 1, 1, 1};
  const auto synack_in = synack.build();
  // Had the flow stayed, this SYN-ACK would leave with MSS 536 and window 2048
  // (ThrottledSynLosesWindowScaleAndCreatesFlow). It is not sent yet: a lookup from the program
  // marks the flow referenced, and the kernel's LRU then keeps it on its active list, evicting
  // unreferenced flows first.

  // Other connections fill the map, a map's worth at a time, until the kernel evicts ours.
  const int fd = x.obj.map_fd("flows");
  sl_flow_key ours{};
  std::memcpy(ours.client, syn.src.data(), 4);
  std::memcpy(ours.server, syn.dst.data(), 4);
  ours.client_port = sl_htons(syn.sport);
  ours.server_port = sl_htons(syn.dport);
  ours.family = SL_AF_INET;
  sl_flow_state st{};
  const uint32_t n = SLX_MAX_FLOWS;
  std::vector<sl_flow_key> keys(n);
  std::vector<sl_flow_state> vals(n);
  int rounds = 0;
  for (; rounds < 8 && bpf_map_lookup_elem(fd, &ours, &st) == 0; rounds++) {
    for (uint32_t i = 0; i < n; i++) {
      keys[i] = sl_flow_key{};
      keys[i].family = SL_AF_INET;
      const uint32_t a =
          __builtin_bswap32(0xc6130000u + static_cast<uint32_t>(rounds) * 8 + (i >> 16));
      std::memcpy(keys[i].client, &a, 4);
      keys[i].client_port = static_cast<uint16_t>(i);
      keys[i].server_port = sl_htons(25);
      vals[i].level = 1;
    }
    for (uint32_t off = 0; off < n;) {
      uint32_t count = std::min<uint32_t>(n - off, 65536);
      ASSERT_EQ(bpf_map_update_batch(fd, &keys[off], &vals[off], &count, nullptr), 0);
      off += count;
    }
  }
  ASSERT_NE(bpf_map_lookup_elem(fd, &ours, &st), 0) << "not evicted after " << rounds << " rounds";

  const sl_stats before = x.stats_sum();
  const TestRunResult r = x.inside(synack_in);
  EXPECT_EQ(r.action, kRedirect);
  EXPECT_EQ(r.output, synack_in);  // untouched: no clamp, no option rewrite
  TcpFrame data = syn;
  data.flags = 0x18;
  data.options.clear();
  data.seq = 1001;
  data.payload = {'E', 'H', 'L', 'O', '\r', '\n'};
  const auto data_in = data.build();
  const TestRunResult rc = x.outside(data_in);
  EXPECT_EQ(rc.action, kRedirect);
  EXPECT_EQ(rc.output, data_in);
  const sl_stats after = x.stats_sum();
  EXPECT_EQ(after.smtp[SL_DIR_FROM_INSIDE], before.smtp[SL_DIR_FROM_INSIDE] + 1);
  EXPECT_EQ(after.smtp[SL_DIR_FROM_OUTSIDE], before.smtp[SL_DIR_FROM_OUTSIDE] + 1);
  EXPECT_EQ(std::memcmp(&after.level, &before.level, sizeof after.level), 0);
  EXPECT_EQ(after.flow_evictions, 0u);
  EXPECT_NE(bpf_map_lookup_elem(fd, &ours, &st), 0);  // and no flow comes back
}

}  // namespace
}  // namespace sluice::xdp
