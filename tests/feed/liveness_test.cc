// Liveness (control/sluiced/feed/liveness.*): per participant the last accepted batch, its lag,
// the observations of the last minute, and "silent" past max_silence (counted from start for a
// participant never heard; never for one not watched).
#include "feed/liveness.h"

#include <gtest/gtest.h>

namespace sluice::feed {
namespace {

constexpr int64_t kStart = 1764500000000;

TrustConfig two_participants() {
  TrustConfig c;
  c.participants.resize(2);
  c.participants[0].name = "isp-b";
  c.participants[0].max_silence_ms = 600000;
  c.participants[1].name = "isp-c";  // not watched
  return c;
}

TEST(FeedLiveness, SilentPastMaxSilenceCountedFromStartOrTheLastBatch) {
  Liveness l(two_participants(), kStart);
  auto v = l.view(kStart + 600000);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].name, "isp-b");
  EXPECT_FALSE(v[0].silent);  // exactly max_silence: not yet
  EXPECT_EQ(v[0].last_accepted_ms, 0);
  v = l.view(kStart + 600001);
  EXPECT_TRUE(v[0].silent);
  EXPECT_EQ(v[0].silent_for_ms, 600001);
  EXPECT_FALSE(v[1].silent);  // isp-c has no max_silence

  l.accepted("isp-b", kStart + 700000 - 250, 3, kStart + 700000);
  v = l.view(kStart + 700000);
  EXPECT_FALSE(v[0].silent);
  EXPECT_EQ(v[0].last_accepted_ms, kStart + 700000);
  EXPECT_EQ(v[0].last_lag_ms, 250);
  EXPECT_EQ(v[0].batches, 1u);
  EXPECT_EQ(v[0].observations, 3u);
  EXPECT_TRUE(l.view(kStart + 700000 + 600001)[0].silent);
}

TEST(FeedLiveness, TheLastMinuteCountsOnlyTheLastSixtySeconds) {
  Liveness l(two_participants(), kStart);
  for (int s = 0; s < 120; ++s) l.accepted("isp-c", kStart + s * 1000, 2, kStart + s * 1000);
  auto v = l.view(kStart + 119000);
  EXPECT_EQ(v[1].observations, 240u);
  EXPECT_EQ(v[1].observations_last_minute, 120u);  // seconds 60 .. 119
  v = l.view(kStart + 119000 + 30000);
  EXPECT_EQ(v[1].observations_last_minute, 60u);  // seconds 90 .. 119
  v = l.view(kStart + 119000 + 3600000);
  EXPECT_EQ(v[1].observations_last_minute, 0u);
  // A participant not in the trust file changes nothing; a clock that steps back clamps the lag.
  l.accepted("isp-x", kStart, 5, kStart);
  l.accepted("isp-b", kStart + 5000, 1, kStart + 1000);
  v = l.view(kStart + 1000);
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].last_lag_ms, 0);
}

}  // namespace
}  // namespace sluice::feed
