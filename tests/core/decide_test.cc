// Score -> level, and the drop-rate coin.
#include <gtest/gtest.h>

#include <cstring>

#include "core/fixtures.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

TEST(LevelFor, ThresholdBoundariesOfTheFixturePolicy) {
  const sl_policy p = fixture_policy();
  struct Case {
    int32_t score;
    uint32_t level;
  };
  for (const Case &c :
       {Case{-100, 0}, Case{0, 0}, Case{2, 0}, Case{3, 1}, Case{4, 1}, Case{5, 2}, Case{7, 2},
        Case{8, 3}, Case{9, 4}, Case{10, 5}, Case{19, 5}, Case{20, 6}, Case{1 << 30, 6}}) {
    EXPECT_EQ(sl_level_for(&p, c.score, 0, 0), c.level) << "score " << c.score;
  }
}

TEST(LevelFor, AllowFlagAlwaysGivesLevelZero) {
  const sl_policy p = fixture_policy();
  EXPECT_EQ(sl_level_for(&p, 1000, SL_REP_ALLOW, 0), 0u);
  EXPECT_EQ(sl_level_for(&p, 1000, SL_REP_ALLOW | 0x10u, 0), 0u);
  EXPECT_EQ(sl_level_for(&p, 1000, 0x10u, 0), 6u);  // other flags do not allow
}

TEST(LevelFor, DenyFlagGivesTheHighestLevelAndBeatsAllow) {
  sl_policy p = fixture_policy();  // nlevels 7
  for (const int32_t score : {-1000, -1, 0, 2, 3, 1000}) {
    EXPECT_EQ(sl_level_for(&p, score, SL_REP_DENY, 0), 6u) << "score " << score;
    EXPECT_EQ(sl_level_for(&p, score, SL_REP_DENY | SL_REP_ALLOW, 0), 6u) << "score " << score;
  }
  p.nlevels = 3;
  EXPECT_EQ(sl_level_for(&p, -5, SL_REP_DENY, 0), 2u);
  p.nlevels = 1;  // a pass-only policy has nothing to deny with
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 0), 0u);
  p.nlevels = 0;
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 0), 0u);
  p.nlevels = 1000;  // clamped to SL_MAX_LEVELS
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 0), SL_MAX_LEVELS - 1u);
}

TEST(LevelFor, LevelsBeyondNlevelsAreUnused) {
  sl_policy p = fixture_policy();
  p.nlevels = 3;  // levels 0..2 only
  EXPECT_EQ(sl_level_for(&p, 100, 0, 0), 2u);
  p.nlevels = 1;
  EXPECT_EQ(sl_level_for(&p, 100, 0, 0), 0u);
  p.nlevels = 0;
  EXPECT_EQ(sl_level_for(&p, 100, 0, 0), 0u);
  p.nlevels = 1000;  // clamped to SL_MAX_LEVELS
  p.thresholds[7] = 50;
  EXPECT_EQ(sl_level_for(&p, 100, 0, 0), 7u);
  EXPECT_EQ(sl_level_for(&p, 49, 0, 0), 6u);
}

TEST(LevelFor, UnsortedThresholdsPickTheHighestMatchingLevel) {
  sl_policy p;
  std::memset(&p, 0, sizeof(p));
  p.nlevels = 4;
  p.thresholds[1] = 10;
  p.thresholds[2] = 50;
  p.thresholds[3] = 20;
  EXPECT_EQ(sl_level_for(&p, 25, 0, 0), 3u);
  EXPECT_EQ(sl_level_for(&p, 15, 0, 0), 1u);
}

// A policy with outbound levels (out_first): inbound and outbound clients each see only their
// own set, the deny flag the highest of its own set.
TEST(LevelFor, InboundAndOutboundLevelsArePartitionedByOutFirst) {
  const sl_policy p = fixture_policy(FixturePolicy::kOutbound);  // inbound 1..3, outbound 4..6
  ASSERT_EQ(p.out_first, 4u);
  EXPECT_EQ(sl_level_for(&p, 2, 0, 0), 0u);
  EXPECT_EQ(sl_level_for(&p, 3, 0, 0), 1u);
  EXPECT_EQ(sl_level_for(&p, 1000, 0, 0), 3u);  // never an outbound level
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 0), 3u);
  EXPECT_EQ(sl_level_for(&p, 2, 0, 1), 0u);
  EXPECT_EQ(sl_level_for(&p, 3, 0, 1), 4u);
  EXPECT_EQ(sl_level_for(&p, 9, 0, 1), 4u);  // 9 would be inbound's tarpit: not here
  EXPECT_EQ(sl_level_for(&p, 10, 0, 1), 5u);
  EXPECT_EQ(sl_level_for(&p, 1000, 0, 1), 6u);
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 1), 6u);
  EXPECT_EQ(sl_level_for(&p, 1000, SL_REP_ALLOW, 1), 0u);
}

TEST(LevelFor, AnOutboundClientWithoutOutboundLevelsPasses) {
  sl_policy p = fixture_policy();  // out_first 0
  EXPECT_EQ(sl_level_for(&p, 1000, 0, 1), 0u);
  EXPECT_EQ(sl_level_for(&p, 0, SL_REP_DENY, 1), 0u);
  EXPECT_EQ(sl_level_for(&p, 1000, 0, 0), 6u);
  // out_first at or past nlevels (a map not written by the parser): no outbound levels, and the
  // inbound ones end at nlevels, not at out_first (unused levels' thresholds are 0).
  for (uint32_t first : {7u, 8u, 200u}) {
    p.out_first = first;
    EXPECT_EQ(sl_level_for(&p, 1000, 0, 1), 0u) << first;
    EXPECT_EQ(sl_level_for(&p, 0, 0, 0), 0u) << first;
    EXPECT_EQ(sl_level_for(&p, 1000, 0, 0), 6u) << first;
  }
}

TEST(ChancePpm, ZeroNeverAndAMillionAlways) {
  for (uint32_t rnd : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) {
    EXPECT_FALSE(sl_chance_ppm(rnd, 0)) << rnd;
    EXPECT_TRUE(sl_chance_ppm(rnd, 1000000)) << rnd;
    EXPECT_TRUE(sl_chance_ppm(rnd, 2000000)) << rnd;
  }
}

TEST(ChancePpm, HalfSplitsTheRandomRangeInTheMiddle) {
  EXPECT_TRUE(sl_chance_ppm(0x7fffffffu, 500000));
  EXPECT_FALSE(sl_chance_ppm(0x80000000u, 500000));
}

// Over an even grid of 2^16 random numbers the coin comes up exactly ceil(ppm * 2^16 / 1e6)
// times (the grid point i hits iff i * 1e6 / 2^16 < ppm).
TEST(ChancePpm, GridCountsMatchTheRate) {
  for (uint32_t ppm : {1u, 15u, 250000u, 333333u, 999999u}) {
    uint32_t hits = 0;
    for (uint32_t i = 0; i < 65536; i++) hits += sl_chance_ppm(i << 16, ppm) ? 1 : 0;
    const uint64_t expected = (static_cast<uint64_t>(ppm) * 65536 + 999999) / 1000000;
    EXPECT_EQ(hits, expected) << "ppm " << ppm;
  }
}

}  // namespace
}  // namespace sluice::testing
