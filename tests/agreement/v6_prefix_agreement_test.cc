// Every IPv6 prefix length gives the same verdict on both data planes: a table with prefixes of
// the edge lengths (/0, /64, /65, /127, /128, nested ones, lengths the XDP hash does not hold)
// through the XDP program (BPF_PROG_TEST_RUN), sluice-dp's RepTable and the reputation
// library's own lookup, for addresses inside each prefix and just outside it.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "common/privileged.h"
#include "core/sl_decide.h"
#include "common/tcp_frame.h"
#include "rep_table_snapshot.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/rep_tables.h"
#include "bpf/xdp_test_support.h"

namespace sluice::xdp {
namespace {

using Addr = std::array<uint8_t, 16>;
using sluice::testing::TcpFrame;
using testing::LoadedXdp;

// Score s -> level s. Levels 1-4 shape (the SYN passes and its flow records the level), 5
// answers with a RST, 6 drops.
sl_policy level_policy() {
  sl_policy p{};
  p.smtp_ports[0] = sl_htons(25);
  p.nlevels = 7;
  for (int i = 1; i < 7; i++) p.thresholds[i] = i;
  for (int i = 1; i <= 4; i++) p.profiles[i].window_clamp = static_cast<uint16_t>(1000 + i);
  for (int i = 1; i <= 4; i++) p.profiles[i].strip_wscale = 1;
  p.profiles[5].block = SL_BLOCK_RST;
  p.profiles[6].block = SL_BLOCK_DROP;
  return p;
}

Addr parse(const char *text) {
  Addr a{};
  if (inet_pton(AF_INET6, text, a.data()) != 1) throw std::runtime_error(text);
  return a;
}

std::string show(const Addr &a) {
  char buf[64];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

Addr add(Addr a, int delta) {  // a + delta (|delta| = 1), wrapping
  for (int i = 15; i >= 0; i--) {
    const int v = a[static_cast<size_t>(i)] + delta;
    a[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    if (v >= 0 && v <= 255) break;
  }
  return a;
}

// First and last address of a prefix.
std::pair<Addr, Addr> range(const Addr &p, unsigned len) {
  Addr lo = p, hi = p;
  for (unsigned b = 0; b < 128; b++) {
    if (b < len) continue;
    lo[b / 8] &= static_cast<uint8_t>(~(0x80u >> (b % 8)));
    hi[b / 8] |= static_cast<uint8_t>(0x80u >> (b % 8));
  }
  return {lo, hi};
}

// The level the XDP program applied to a SYN from `src`: 6 dropped, 5 answered, else the level
// its new flow records (0: forwarded without a flow).
int xdp_level(LoadedXdp &x, const Addr &src) {
  TcpFrame f;
  f.v6 = true;
  f.src = src;
  const Addr dst = parse("2001:2:0:ffff::25");
  f.dst = dst;
  const TestRunResult r = x.outside(f.build());
  if (r.action == XDP_DROP) return 6;
  if (r.action == XDP_TX) return 5;
  if (r.action != XDP_REDIRECT) return -1;
  sl_flow_key k{};
  std::memcpy(k.client, src.data(), 16);
  std::memcpy(k.server, dst.data(), 16);
  k.client_port = sl_htons(f.sport);
  k.server_port = sl_htons(f.dport);
  k.family = SL_AF_INET6;
  sl_flow_state st{};
  const int fd = x.obj.map_fd("flows");
  if (bpf_map_lookup_elem(fd, &k, &st) != 0) return 0;
  bpf_map_delete_elem(fd, &k);
  return st.level;
}

TEST(V6PrefixAgreement, EveryLengthGivesTheSameVerdictOnBothDataPlanes) {
  SLUICE_REQUIRE_PRIVILEGED();
  struct P {
    const char *addr;
    uint8_t len;
    int32_t score;
  };
  // Nested chains with alternating scores, so a wrong match shows as another level.
  const std::vector<P> prefixes = {
      {"::", 0, 1},                    // everything
      {"2001:2::", 32, 2},             // hashed length
      {"2001:2::", 40, 3},             // trie, between two hashed lengths
      {"2001:2::", 48, 4},             // hashed
      {"2001:2:0:1::", 64, 5},         // hashed, the longest hashed length
      {"2001:2:0:1:8000::", 65, 6},    // trie, just past /64
      {"2001:2:0:1:8000::", 100, 2},   // trie, nested in the /65
      {"2001:2:0:1:8000::", 127, 3},   // trie, nested in the /100
      {"2001:2:0:1:8000::1", 128, 4},  // a /128 prefix inside the /127
      {"2001:2:0:2::", 65, 6},         // a /65 with no /64 around it
      {"2001:2:0:3::", 127, 5},        // a /127 under the /48 only
      {"2001:2:0:4::", 64, 6},         // a lone /64
      {"2001:2:0:5::", 96, 1},         // deep, no parent but the /48
      {"2001:8000::", 17, 3},          // short, not hashed, no /32 around it
  };
  std::vector<reputation::PrefixV6> p6;
  for (const P &p : prefixes) {
    reputation::PrefixV6 e{};
    const Addr a = parse(p.addr);
    std::copy(a.begin(), a.end(), e.addr);
    e.len = p.len;
    e.value = {p.score, 0};
    p6.push_back(e);
  }
  std::sort(p6.begin(), p6.end(), [](const auto &a, const auto &b) {
    const int c = std::memcmp(a.addr, b.addr, 16);
    return c != 0 ? c < 0 : a.len < b.len;
  });
  reputation::HostV6 host{};
  const Addr h = parse("2001:2:0:1:8000::5");
  std::copy(h.begin(), h.end(), host.addr);
  host.value = {1, 0};
  const auto snap = reputation::Snapshot::from_entries({}, {}, {host}, p6);
  const auto dp = dataplane::rep_table_from_snapshot(snap);

  const sl_policy pol = level_policy();
  LoadedXdp x(pol);
  replace_table(rep_map_fds(x.obj), snap.entries());

  std::vector<Addr> probes = {h, add(h, 1), add(h, -1)};
  for (const P &p : prefixes) {
    const auto [lo, hi] = range(parse(p.addr), p.len);
    for (const Addr &a : {lo, hi, add(lo, -1), add(hi, 1), add(lo, 1), add(hi, -1)})
      probes.push_back(a);
  }
  int levels_seen[7] = {};
  for (const Addr &a : probes) {
    const auto want = snap.lookup_v6(a.data());
    ASSERT_TRUE(want.has_value()) << show(a);  // ::/0 covers everything
    const auto got_dp = dp->lookup_v6(a.data());
    ASSERT_TRUE(got_dp.has_value()) << show(a);
    EXPECT_EQ(got_dp->score, want->score) << "sluice-dp, " << show(a);
    const int level = static_cast<int>(sl_level_for(&pol, want->score, want->flags, 0));
    EXPECT_EQ(xdp_level(x, a), level) << "XDP, " << show(a);
    levels_seen[level]++;
  }
  // The probes exercise every level, so a verdict cannot agree by accident.
  for (int l = 1; l <= 6; l++) EXPECT_GT(levels_seen[l], 0) << "level " << l;
}

}  // namespace
}  // namespace sluice::xdp
