// The decision log's rate limit: per sender, overall, the suppressed count, bounded memory.
#include "sluiced/decision_log/rate_limiter.h"

#include <gtest/gtest.h>

namespace sluice::sluiced::decision_log {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RateLimits limits(double sender_rate, double sender_burst, double all_rate, double all_burst) {
  RateLimits l;
  l.per_sender_rate = sender_rate;
  l.per_sender_burst = sender_burst;
  l.overall_rate = all_rate;
  l.overall_burst = all_burst;
  return l;
}

TEST(TokenBucket, StartsFullRefillsAtItsRateAndCapsAtItsBurst) {
  const Clock::time_point t0{};
  TokenBucket b(2, 3, t0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.has_token());
    b.take();
  }
  EXPECT_FALSE(b.has_token());
  b.refill(t0 + milliseconds(499));
  EXPECT_FALSE(b.has_token());
  b.refill(t0 + milliseconds(500));
  EXPECT_TRUE(b.has_token());
  b.refill(t0 + seconds(100));
  EXPECT_TRUE(b.full());
}

TEST(TokenBucket, AClockGoingBackwardsAddsNothing) {
  const Clock::time_point t0 = Clock::time_point{} + seconds(10);
  TokenBucket b(1, 1, t0);
  b.take();
  b.refill(t0 - seconds(5));
  EXPECT_FALSE(b.has_token());
  b.refill(t0 + seconds(1));
  EXPECT_TRUE(b.has_token());
}

TEST(RateLimiter, OneSenderGetsItsBurstThenItsRate) {
  const Clock::time_point t0{};
  RateLimiter r(limits(1, 3, 100, 100), t0);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += r.admit("198.18.0.1", t0);
  EXPECT_EQ(admitted, 3);
  EXPECT_EQ(r.suppressed_total(), 7u);
  EXPECT_TRUE(r.admit("198.18.0.1", t0 + seconds(1)));
  EXPECT_FALSE(r.admit("198.18.0.1", t0 + seconds(1)));
}

TEST(RateLimiter, ANoisySenderDoesNotSilenceAnother) {
  const Clock::time_point t0{};
  RateLimiter r(limits(1, 2, 100, 100), t0);
  for (int i = 0; i < 50; ++i) r.admit("198.18.0.1", t0);
  EXPECT_TRUE(r.admit("198.18.0.2", t0));
}

TEST(RateLimiter, TheOverallBucketHoldsAgainstManySenders) {
  const Clock::time_point t0{};
  RateLimiter r(limits(1, 1, 1, 5), t0);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += r.admit("198.18.0." + std::to_string(i), t0);
  EXPECT_EQ(admitted, 5);
  // A refusal by the overall bucket does not spend the sender's own token.
  EXPECT_TRUE(r.admit("198.18.0.99", t0 + seconds(1)));
}

TEST(RateLimiter, SummaryCountsSuppressedLinesOncePerInterval) {
  const Clock::time_point t0{};
  RateLimits l = limits(1, 1, 100, 100);
  l.summary_interval = seconds(60);
  RateLimiter r(l, t0);
  EXPECT_FALSE(r.summary(t0 + seconds(120)).has_value());  // nothing suppressed
  r.admit("a", t0 + seconds(120));
  r.admit("a", t0 + seconds(120));
  r.admit("a", t0 + seconds(120));
  const auto s = r.summary(t0 + seconds(120));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->lines, 2u);
  EXPECT_EQ(s->seconds, 120);
  r.admit("a", t0 + seconds(121));
  r.admit("a", t0 + seconds(121));
  EXPECT_FALSE(r.summary(t0 + seconds(150)).has_value());  // within the interval
  const auto again = r.summary(t0 + seconds(180));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->lines, 1u);
  EXPECT_EQ(r.suppressed_total(), 3u);
}

TEST(RateLimiter, RemembersAtMostMaxSenders) {
  const Clock::time_point t0{};
  RateLimits l = limits(1, 1, 1e9, 1e9);
  l.max_senders = 3;
  RateLimiter r(l, t0);
  for (int i = 0; i < 1000; ++i) r.admit("198.18.0." + std::to_string(i % 250), t0);
  EXPECT_EQ(r.senders(), 3u);
}

TEST(RateLimiter, TheLeastRecentlyUsedSenderIsForgottenFirst) {
  const Clock::time_point t0{};
  RateLimits l = limits(1, 1, 1e9, 1e9);
  l.max_senders = 2;
  RateLimiter r(l, t0);
  EXPECT_TRUE(r.admit("a", t0));
  EXPECT_TRUE(r.admit("b", t0));
  EXPECT_FALSE(r.admit("a", t0));  // a used again: b is now the oldest
  EXPECT_TRUE(r.admit("c", t0));   // forgets b
  EXPECT_FALSE(r.admit("a", t0));  // a was remembered (still empty)
  EXPECT_TRUE(r.admit("b", t0));   // b was forgotten: a full bucket again
}

}  // namespace
}  // namespace sluice::sluiced::decision_log
