// LocalShare (control/sluiced/feed/local_share.*): which of this site's own observations the feed
// publishes and when. The first observation of a sender and kind goes out at once, repeats are
// merged until the interval ends, a quiet sender is forgotten, the per-second budget delays but
// never loses, the entry cap holds against a flood of unique senders, and whatever comes out is
// a batch the codec accepts.
#include "feed/local_share.h"

#include <gtest/gtest.h>

#include <random>

#include "feed/codec.h"

namespace sluice::sluiced {
namespace {

constexpr int64_t kT0 = 1764500000000;  // 2025-11-30, ms since the epoch

LocalObservation obs(uint32_t v4, LocalKind kind, uint32_t count, int64_t at_ms) {
  LocalObservation o;
  o.subject.family = 4;
  o.subject.v4 = v4;
  o.kind = kind;
  o.count = count;
  o.observed_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(at_ms));
  o.origin = "dp";
  o.evidence = "trap@example.test";  // site-private: never published
  return o;
}

constexpr uint32_t kAddr = 0xc6120107;  // 198.18.1.7

TEST(LocalShare, FirstAtOnceRepeatsMergedUntilTheIntervalEndsThenForgotten) {
  ShareSettings s = default_share_settings();
  s.interval_ms = 60000;
  s.ttl_s = 7200;
  LocalShare share(s);
  share.offer(obs(kAddr, LocalKind::kPregreet, 2, kT0), kT0);
  auto out = share.take_due(kT0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(feed::format_prefix(out[0].subject), "198.18.1.7");
  EXPECT_EQ(out[0].kind, feed::Kind::kPregreet);
  EXPECT_EQ(out[0].count, 2u);
  EXPECT_EQ(out[0].window_s, 1u);
  EXPECT_EQ(out[0].ttl_s, 7200u);
  EXPECT_EQ(out[0].observed_at_ms, kT0);
  EXPECT_TRUE(out[0].evidence.empty());

  for (int i = 1; i <= 3; ++i)
    share.offer(obs(kAddr, LocalKind::kPregreet, 1, kT0 + i * 1000), kT0 + i * 1000);
  EXPECT_TRUE(share.take_due(kT0 + 5000).empty());
  ASSERT_EQ(share.next_due_ms(), kT0 + 60000);
  out = share.take_due(kT0 + 60000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 3u);
  EXPECT_EQ(out[0].window_s, 2u);  // from the first merged (t0+1 s) to the last (t0+3 s)
  EXPECT_EQ(out[0].observed_at_ms, kT0 + 3000);
  EXPECT_EQ(share.counters().merged, 2u);
  EXPECT_EQ(share.counters().published[static_cast<size_t>(LocalKind::kPregreet)], 2u);

  // A whole interval without news: nothing published, the sender forgotten; the next
  // observation goes out at once again.
  EXPECT_TRUE(share.take_due(kT0 + 120000).empty());
  EXPECT_EQ(share.entries(), 0u);
  EXPECT_FALSE(share.next_due_ms().has_value());
  share.offer(obs(kAddr, LocalKind::kPregreet, 1, kT0 + 130000), kT0 + 130000);
  EXPECT_EQ(share.take_due(kT0 + 130000).size(), 1u);
}

TEST(LocalShare, KindsAndSendersAreSeparateAndARateKeepsItsHighest) {
  LocalShare share(default_share_settings());
  share.offer(obs(kAddr, LocalKind::kConnRate, 600, kT0), kT0);
  share.offer(obs(kAddr, LocalKind::kComplaint, 1, kT0), kT0);
  share.offer(obs(kAddr + 1, LocalKind::kConnRate, 300, kT0), kT0);
  EXPECT_EQ(share.take_due(kT0).size(), 3u);
  for (uint32_t rate : {900u, 700u, 650u})
    share.offer(obs(kAddr, LocalKind::kConnRate, rate, kT0 + 1000), kT0 + 1000);
  const auto out = share.take_due(kT0 + 60000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, feed::Kind::kConnRate);
  EXPECT_EQ(out[0].count, 900u);    // SYNs per minute ...
  EXPECT_EQ(out[0].window_s, 60u);  // ... over 60 s
}

TEST(LocalShare, KindsTheSettingsOrTheSchemaLeaveOutStayLocal) {
  ShareSettings s = default_share_settings();
  s.kinds[static_cast<size_t>(LocalKind::kConnRate)] = false;
  s.kinds[static_cast<size_t>(LocalKind::kUnknownRecipient)] = true;  // no feed kind: ignored
  LocalShare share(s);
  share.offer(obs(kAddr, LocalKind::kConnRate, 600, kT0), kT0);
  share.offer(obs(kAddr, LocalKind::kUnknownRecipient, 3, kT0), kT0);
  share.offer(obs(kAddr, LocalKind::kRblReject, 1, kT0), kT0);
  share.offer(obs(kAddr, LocalKind::kProtocolError, 1, kT0), kT0);
  EXPECT_TRUE(share.take_due(kT0).empty());
  EXPECT_EQ(share.counters().not_shared, 4u);
  EXPECT_EQ(share.entries(), 0u);
  EXPECT_FALSE(feed_kind(LocalKind::kUnknownRecipient));
  EXPECT_EQ(feed_kind(LocalKind::kTrapHit), feed::Kind::kTrapHit);
  EXPECT_EQ(feed_kind(LocalKind::kShaped), feed::Kind::kShaped);
  EXPECT_EQ(feed_kind(LocalKind::kBlocked), feed::Kind::kBlocked);
}

// A subscriber's fan-out is this operator's own business: not shared unless the operator lists
// it, then shared as fan_out.
TEST(LocalShare, FanOutIsSharedOnlyWhenTheOperatorListsIt) {
  EXPECT_FALSE(default_share_settings().kinds[static_cast<size_t>(LocalKind::kFanOut)]);
  LocalShare by_default(default_share_settings());
  by_default.offer(obs(kAddr, LocalKind::kFanOut, 40, kT0), kT0);
  EXPECT_TRUE(by_default.take_due(kT0).empty());
  EXPECT_EQ(by_default.counters().not_shared, 1u);
  ShareSettings s = default_share_settings();
  s.kinds[static_cast<size_t>(LocalKind::kFanOut)] = true;
  LocalShare listed(s);
  listed.offer(obs(kAddr, LocalKind::kFanOut, 40, kT0), kT0);
  const auto out = listed.take_due(kT0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, feed::Kind::kFanOut);
  EXPECT_EQ(feed::to_string(out[0].kind), "fan_out");
  EXPECT_EQ(out[0].count, 40u);
}

TEST(LocalShare, TheBudgetDelaysButLosesNothingAndNeverSpins) {
  ShareSettings s = default_share_settings();
  s.per_second = 2;
  LocalShare share(s);
  for (uint32_t i = 0; i < 7; ++i) share.offer(obs(kAddr + i, LocalKind::kTrapHit, 1, kT0), kT0);
  size_t published = share.take_due(kT0).size();
  EXPECT_EQ(published, 2u);
  EXPECT_GT(share.counters().waited_for_budget, 0u);
  int64_t now = kT0;
  for (int rounds = 0; published < 7; ++rounds) {
    ASSERT_LT(rounds, 10);
    const auto next = share.next_due_ms();
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(*next, now) << "a due time that hands nothing out would spin the loop";
    now = *next;
    const size_t n = share.take_due(now).size();
    ASSERT_GT(n, 0u);
    published += n;
  }
  EXPECT_EQ(published, 7u);
  EXPECT_LE(now - kT0, 3000);  // 2 per second
}

TEST(LocalShare, AFloodOfUniqueSendersStaysWithinTheCap) {
  ShareSettings s = default_share_settings();
  s.max_entries = 1000;
  s.per_second = 100000;
  LocalShare share(s);
  for (uint32_t i = 0; i < 1000000; ++i) {
    share.offer(obs(0xc6120000 + i, LocalKind::kConnRate, 600, kT0), kT0);
    ASSERT_LE(share.entries(), 1000u);
  }
  EXPECT_EQ(share.counters().dropped_full, 999000u);
  EXPECT_EQ(share.take_due(kT0).size(), 1000u);
  // Once they were published and an interval passed quietly, room again.
  EXPECT_TRUE(share.take_due(kT0 + s.interval_ms).empty());
  EXPECT_EQ(share.entries(), 0u);
  share.offer(obs(0xc6130001, LocalKind::kConnRate, 600, kT0 + s.interval_ms), kT0 + s.interval_ms);
  EXPECT_EQ(share.take_due(kT0 + s.interval_ms).size(), 1u);
}

TEST(LocalShare, ObservationsTooOldForTheSchemaAreDroppedAndFutureOnesClamped) {
  LocalShare share(default_share_settings());
  share.offer(obs(kAddr, LocalKind::kComplaint, 1, kT0 - 8LL * 86400000), kT0);
  share.offer(obs(kAddr + 1, LocalKind::kComplaint, 1, kT0 + 3600000), kT0);
  const auto out = share.take_due(kT0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].observed_at_ms, kT0);
  EXPECT_EQ(share.counters().dropped_old, 1u);
}

// Whatever LocalShare hands out is a batch the wire format accepts (the publisher's encoder
// throws on anything a reader must refuse, the parser reads it back).
TEST(LocalShare, EverythingItPublishesEncodesAndParsesAsSchemaV1) {
  std::mt19937 rng(7);
  ShareSettings s = default_share_settings();
  s.interval_ms = 1000;
  LocalShare share(s);
  const LocalKind kinds[] = {LocalKind::kConnRate,  LocalKind::kPregreet, LocalKind::kTrapHit,
                             LocalKind::kComplaint, LocalKind::kShaped,   LocalKind::kBlocked};
  feed::Batch batch;
  batch.participant = "isp-a";
  batch.seq = 1;
  int64_t now = kT0;
  for (int i = 0; i < 20000; ++i) {
    now += rng() % 50;
    LocalObservation o = obs(0xc6120000 + rng() % 64, kinds[rng() % 6], rng(), now);
    if (rng() % 8 == 0) {
      o.subject.family = 6;
      o.subject.v6 = (reputation::U128{0x20010002} << 96) | (rng() % 64);
    }
    o.count = std::max<uint32_t>(1, o.count);
    share.offer(o, now);
    for (auto &f : share.take_due(now)) batch.observations.push_back(std::move(f));
    if (batch.observations.size() >= 500 || i == 19999) {
      if (batch.observations.empty()) continue;
      batch.sent_at_ms = now;
      std::string error;
      const auto parsed = feed::parse_body(feed::encode_body(batch), &error);
      ASSERT_TRUE(std::holds_alternative<feed::Batch>(parsed)) << error;
      EXPECT_EQ(std::get<feed::Batch>(parsed).observations.size(), batch.observations.size());
      batch.observations.clear();
      ++batch.seq;
    }
  }
  EXPECT_GT(share.counters().merged, 0u);
}

}  // namespace
}  // namespace sluice::sluiced
