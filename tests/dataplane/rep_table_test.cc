// Reputation lookup: exact host first, then the longest prefix; IPv4 and IPv6; misses.
// Checked against a brute-force model on random tables.
#include "rep_table.h"

#include <gtest/gtest.h>

#include <random>

namespace sluice::dataplane {
namespace {

using reputation::make_host_v6;
using reputation::make_prefix_v4;
using reputation::make_prefix_v6;

uint32_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return sl_htonl((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
}

TEST(RepTable, ExactHostBeatsPrefixAndLongestPrefixWins) {
  RepTableInput in;
  in.hosts_v4.push_back({v4(198, 18, 1, 1), {20, 0}});
  in.prefixes_v4.push_back(make_prefix_v4(v4(198, 18, 0, 0), 16, {3, 0}));
  in.prefixes_v4.push_back(make_prefix_v4(v4(198, 18, 2, 0), 24, {10, 0}));
  in.prefixes_v4.push_back(make_prefix_v4(v4(198, 18, 2, 128), 25, {-5, SL_REP_ALLOW}));
  RepTable t(in);
  EXPECT_EQ(t.lookup_v4(v4(198, 18, 1, 1))->score, 20);
  EXPECT_EQ(t.lookup_v4(v4(198, 18, 1, 2))->score, 3);
  EXPECT_EQ(t.lookup_v4(v4(198, 18, 2, 7))->score, 10);
  EXPECT_EQ(t.lookup_v4(v4(198, 18, 2, 200))->flags, SL_REP_ALLOW);
  EXPECT_FALSE(t.lookup_v4(v4(198, 19, 0, 1)).has_value());
  EXPECT_EQ(t.entries(), 4u);
}

TEST(RepTable, DefaultRouteMatchesEverything) {
  RepTableInput in;
  in.prefixes_v4.push_back(make_prefix_v4(0, 0, {1, 0}));
  RepTable t(in);
  EXPECT_EQ(t.lookup_v4(v4(1, 2, 3, 4))->score, 1);
}

TEST(RepTable, Ipv6HostsAndPrefixes) {
  RepTableInput in;
  std::array<uint8_t, 16> h{0x20, 0x01, 0x00, 0x02, 0, 0, 0, 1};
  h[15] = 5;
  in.hosts_v6.push_back(make_host_v6(h.data(), {30, 0}));
  std::array<uint8_t, 16> p{0x20, 0x01, 0x00, 0x02, 0, 0};
  in.prefixes_v6.push_back(make_prefix_v6(p.data(), 48, {4, 0}));
  std::array<uint8_t, 16> p2{0x20, 0x01, 0x00, 0x02, 0, 0, 0x80};
  in.prefixes_v6.push_back(make_prefix_v6(p2.data(), 49, {9, 0}));
  RepTable t(in);
  EXPECT_EQ(t.lookup_v6(h.data())->score, 30);
  std::array<uint8_t, 16> q = h;
  q[15] = 6;
  EXPECT_EQ(t.lookup_v6(q.data())->score, 4);
  q[6] = 0x81;
  EXPECT_EQ(t.lookup_v6(q.data())->score, 9);
  q[4] = 1;
  EXPECT_FALSE(t.lookup_v6(q.data()).has_value());
}

TEST(RepTable, RejectsBadPrefixLength) {
  RepTableInput in;
  in.prefixes_v4.push_back(make_prefix_v4(0, 33, {1, 0}));
  EXPECT_THROW(RepTable{in}, std::invalid_argument);
}

TEST(RepTable, MatchesBruteForceOnRandomTables) {
  std::mt19937 rng(11);
  RepTableInput in;
  for (int i = 0; i < 300; ++i) {
    const uint32_t a = 0xc6120000u | (rng() & 0xffff);  // 198.18.0.0/16 area
    in.hosts_v4.push_back({sl_htonl(a), {static_cast<int32_t>(i), 0}});
    const uint8_t len = static_cast<uint8_t>(16 + rng() % 17);
    const uint32_t m = len == 32 ? ~0u : ~((1u << (32 - len)) - 1);
    in.prefixes_v4.push_back(
        make_prefix_v4(sl_htonl(a & m), len, {static_cast<int32_t>(1000 + i), 0}));
  }
  RepTable t(in);
  for (int q = 0; q < 5000; ++q) {
    const uint32_t a = 0xc6120000u | (rng() & 0xffff);
    std::optional<sl_rep_value> want;
    for (const auto &[h, v] : in.hosts_v4)
      if (h == sl_htonl(a)) want = v;
    if (!want) {
      int best = -1;
      for (const auto &p : in.prefixes_v4) {
        const uint32_t m = p.len == 0 ? 0 : p.len == 32 ? ~0u : ~((1u << (32 - p.len)) - 1);
        if ((a & m) == sl_ntohl(p.addr_be) && p.len >= best) {  // a repeated prefix: last wins
          best = p.len;
          want = p.value;
        }
      }
    }
    const auto got = t.lookup_v4(sl_htonl(a));
    ASSERT_EQ(got.has_value(), want.has_value()) << std::hex << a;
    if (got) {
      EXPECT_EQ(got->score, want->score) << std::hex << a;
    }
  }
}

}  // namespace
}  // namespace sluice::dataplane
