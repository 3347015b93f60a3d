// Agreement of the two data planes: the same frame sequence (whole SMTP-like connections of
// senders at every level of the fixture policy, IPv4 and IPv6) through the XDP program
// (BPF_PROG_TEST_RUN) and through sluice-dp's pipeline function gives byte-identical frames and
// the same drop / reply decisions. DELAY is forwarded at once by XDP, so it compares as PASS.
#include <gtest/gtest.h>

#include "common/privileged.h"
#include "core/fixtures.h"
#include "common/tcp_frame.h"
#include "pipeline.h"
#include "rep_table.h"
#include "bpf/xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::TcpFrame;

struct Step {
  std::vector<uint8_t> frame;
  sl_dir dir;
};

// One connection from a client whose address ends in `host`: handshake, greeting, a command,
// its response, data, FIN from both sides.
std::vector<Step> connection(uint8_t host, bool v6) {
  TcpFrame c;
  c.v6 = v6;
  if (v6) {
    const uint8_t src[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host};
    const uint8_t dst[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};
    std::memcpy(c.src.data(), src, 16);
    std::memcpy(c.dst.data(), dst, 16);
  } else {
    c.src[3] = host;
  }
  c.sport = static_cast<uint16_t>(40000 + host);
  TcpFrame s = c;
  s.src = c.dst;
  s.dst = c.src;
  s.sport = c.dport;
  s.dport = c.sport;
  s.seq = 5000;

  std::vector<Step> out;
  c.options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  out.push_back({c.build(), SL_DIR_FROM_OUTSIDE});  // SYN
  s.flags = 0x12;
  s.ack = c.seq + 1;
  s.options = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};
  out.push_back({s.build(), SL_DIR_FROM_INSIDE});  // SYN-ACK
  c.options.clear();
  s.options.clear();
  c.flags = 0x10;
  c.seq += 1;
  c.ack = s.seq + 1;
  out.push_back({c.build(), SL_DIR_FROM_OUTSIDE});  // ACK
  s.flags = 0x18;
  s.seq += 1;
  s.payload = {'2', '2', '0', ' ', 'm', 'x', '\r', '\n'};
  out.push_back({s.build(), SL_DIR_FROM_INSIDE});  // greeting
  c.flags = 0x18;
  c.payload = {'E', 'H', 'L', 'O', ' ', 'x', '\r', '\n'};
  out.push_back({c.build(), SL_DIR_FROM_OUTSIDE});
  s.seq += 8;
  s.payload = {'2', '5', '0', ' ', 'o', 'k', '\r', '\n'};
  out.push_back({s.build(), SL_DIR_FROM_INSIDE});
  c.seq += 8;
  c.payload.assign(1000, 'd');
  out.push_back({c.build(), SL_DIR_FROM_OUTSIDE});
  s.flags = 0x10;
  s.payload.clear();
  out.push_back({s.build(), SL_DIR_FROM_INSIDE});
  c.flags = 0x11;
  c.payload.clear();
  out.push_back({c.build(), SL_DIR_FROM_OUTSIDE});  // FIN
  s.flags = 0x11;
  out.push_back({s.build(), SL_DIR_FROM_INSIDE});
  return out;
}

uint32_t action_for(sl_verdict v) {
  return v == SL_VERDICT_DROP ? XDP_DROP : v == SL_VERDICT_TX ? XDP_TX : XDP_REDIRECT;
}

TEST(XdpDpdkAgreement, SameFramesSameDecisionsSameBytes) {
  SLUICE_REQUIRE_PRIVILEGED();
  const sl_policy pol = sluice::testing::fixture_policy();
  testing::LoadedXdp x(pol);
  // Scores: clean, below threshold, each level 1..6, and an allowlisted bad score.
  const std::vector<std::pair<int32_t, uint32_t>> reps = {
      {0, 0}, {2, 0}, {3, 0}, {5, 0}, {8, 0}, {9, 0}, {10, 0}, {20, 0}, {50, SL_REP_ALLOW}};
  dataplane::RepTableInput in;
  for (size_t i = 0; i < reps.size(); i++) {
    const uint8_t host = static_cast<uint8_t>(10 + i);
    const sl_rep_value v{reps[i].first, reps[i].second};
    const uint8_t a4[4] = {198, 18, 0, host};
    x.set_host_v4(a4, v.score, v.flags);
    uint32_t be;
    std::memcpy(&be, a4, 4);
    in.hosts_v4.push_back({be, v});
    std::array<uint8_t, 16> a6{0x20, 0x01, 0x00, 0x02};
    a6[15] = host;
    x.set_host_v6(a6.data(), v.score, v.flags);
    in.hosts_v6.push_back(reputation::make_host_v6(a6.data(), v));
  }
  const dataplane::RepTable rep(in);
  dataplane::Pipeline pipe(dataplane::FlowTableConfig{});

  size_t compared = 0, changed = 0, dropped = 0, answered = 0;
  uint64_t now = 1000;
  for (bool v6 : {false, true}) {
    for (size_t i = 0; i < reps.size(); i++) {
      for (const Step &st : connection(static_cast<uint8_t>(10 + i), v6)) {
        const TestRunResult xr =
            st.dir == SL_DIR_FROM_OUTSIDE ? x.outside(st.frame) : x.inside(st.frame);
        std::vector<uint8_t> buf = st.frame;
        const auto pr = pipe.process(buf.data(), static_cast<uint32_t>(buf.size()), st.dir,
                                     now += 1000, 0x12345678u, pol, &rep);
        const std::string where = "sender " + std::to_string(i) + (v6 ? " v6" : " v4") + " frame " +
                                  std::to_string(compared);
        ASSERT_EQ(xr.action, action_for(pr.verdict)) << where;
        if (pr.verdict == SL_VERDICT_TX) {
          buf.resize(pr.tx_len);
          answered++;
        }
        if (pr.verdict == SL_VERDICT_DROP) {
          dropped++;
        } else {
          EXPECT_EQ(xr.output, buf) << where;
          if (buf != st.frame) changed++;
        }
        compared++;
      }
    }
  }
  // The sequence exercises rewrites, drops and replies, not only pass-through.
  EXPECT_GT(changed, 10u);
  EXPECT_GT(dropped, 4u);
  EXPECT_EQ(answered, 2u);  // the block-rst sender's SYN, over IPv4 and IPv6
}

}  // namespace
}  // namespace sluice::xdp
