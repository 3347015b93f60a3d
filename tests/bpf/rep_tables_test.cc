// The reputation table as the XDP maps hold it, built in user space: DIR-24-8 agrees with a
// naive longest-prefix match, IPv6 prefixes expand to the stored lengths, and the verifier log is
// cut to its end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "sluice/xdp/error.h"
#include "sluice/xdp/rep_tables.h"
#include "sluice/xdp/xdp_object.h"

namespace sluice::xdp {
namespace {

uint32_t be(uint32_t host) {
  return __builtin_bswap32(host);
}

std::optional<sl_rep_value> naive_lpm(const std::vector<reputation::PrefixV4> &ps,
                                      uint32_t addr_host) {
  int best = -1;
  std::optional<sl_rep_value> v;
  for (const auto &p : ps) {
    const uint32_t mask = p.len == 0 ? 0 : ~0u << (32 - p.len);
    if ((be(p.addr_be) & mask) == (addr_host & mask) && p.len > best) {
      best = p.len;
      v = p.value;
    }
  }
  return v;
}

TEST(Dir24, AgreesWithNaiveLongestPrefixMatch) {
  std::mt19937 rng(42);  // fixed seed: the same table every run
  std::vector<reputation::PrefixV4> ps;
  // Nested prefixes around 198.18.0.0/15 at every length 8..32, so tbl8 groups inherit values.
  for (int i = 0; i < 3000; i++) {
    const uint8_t len = static_cast<uint8_t>(8 + rng() % 25);
    const uint32_t a = (0xc6120000u | (rng() & 0x1ffff)) & (~0u << (32 - len));
    const int32_t score = static_cast<int32_t>(rng() % 30) - 5;
    ps.push_back(reputation::make_prefix_v4(be(a), len, {score, static_cast<uint32_t>(rng() % 2)}));
  }
  // Deduplicate (addr, len): the table has one value per prefix.
  std::sort(ps.begin(), ps.end(), [](const auto &x, const auto &y) {
    return std::pair(x.addr_be, x.len) < std::pair(y.addr_be, y.len);
  });
  ps.erase(std::unique(ps.begin(), ps.end(),
                       [](const auto &x, const auto &y) {
                         return x.addr_be == y.addr_be && x.len == y.len;
                       }),
           ps.end());
  const Dir24 d = build_dir24(ps);
  EXPECT_GT(d.tbl8.size(), 0u);
  for (int i = 0; i < 20000; i++) {
    const uint32_t a = i < 10000 ? (0xc6120000u | (rng() & 0x1ffff)) : static_cast<uint32_t>(rng());
    const auto want = naive_lpm(ps, a);
    const auto got = dir24_lookup(d, be(a));
    ASSERT_EQ(want.has_value(), got.has_value()) << std::hex << a;
    if (want) {
      EXPECT_EQ(want->score, got->score) << std::hex << a;
      EXPECT_EQ(want->flags, got->flags) << std::hex << a;
    }
  }
}

TEST(Dir24, DeduplicatesValuesAndRejectsBadLengths) {
  std::vector<reputation::PrefixV4> ps = {reputation::make_prefix_v4(be(0xc6120000), 16, {3, 0}),
                                          reputation::make_prefix_v4(be(0xc6130000), 16, {3, 0})};
  EXPECT_EQ(build_dir24(ps).values.size(), 1u);
  ps.push_back(reputation::make_prefix_v4(be(0xc6120000), 33, {1, 0}));
  EXPECT_THROW(build_dir24(ps), Error);
}

TEST(SplitV6, CommonLengthsHashedEveryOtherLengthInTheTrie) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  std::vector<reputation::PrefixV6> ps;
  for (uint8_t len : {0, 8, 32, 40, 48, 56, 64, 65, 100, 127, 128})
    ps.push_back(reputation::make_prefix_v6(a.data(), len, {len, 0}));
  const V6Prefixes v6 = split_v6(ps);
  ASSERT_EQ(v6.hashed.size(), 4u);
  for (const auto &[k, v] : v6.hashed) {
    EXPECT_EQ(static_cast<int>(k.len), v.score);
    for (unsigned b = 0; b < 8; b++)  // bits past len are zero, the others kept
      EXPECT_EQ(k.addr[b], b * 8 < k.len ? a[b] : 0) << "len " << k.len << " byte " << b;
  }
  ASSERT_EQ(v6.trie.size(), 7u);
  for (const auto &[k, v] : v6.trie) {
    EXPECT_EQ(static_cast<int>(k.prefixlen), v.value.score);
    EXPECT_EQ(v.len, k.prefixlen);
    for (unsigned b = 0; b < 16; b++) {
      const unsigned lo = b * 8;
      const uint8_t want = lo >= k.prefixlen ? 0
                           : lo + 8 <= k.prefixlen
                               ? a[b]
                               : static_cast<uint8_t>(a[b] & (0xff00u >> (k.prefixlen - lo)));
      EXPECT_EQ(k.addr[b], want) << "len " << k.prefixlen << " byte " << b;
    }
  }
  ps.push_back(reputation::make_prefix_v6(a.data(), 129, {1, 0}));
  EXPECT_THROW(split_v6(ps), Error);
}

// A verifier rejection is reported with the end of the log, where the verifier says why.
TEST(VerifierLog, TailKeepsTheLastLines) {
  EXPECT_EQ(log_tail("1: a\n2: b\n3: c\ninvalid access to packet\n", 2),
            "3: c\ninvalid access to packet");
  EXPECT_EQ(log_tail("only line", 5), "only line");
  EXPECT_EQ(log_tail("", 5), "");
}

}  // namespace
}  // namespace sluice::xdp
