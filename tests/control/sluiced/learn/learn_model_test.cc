// The local score model (control/sluiced/learn/learn_model.h) with a fixed clock: decay, the
// threshold, the cap, eviction under a flood of unique addresses, next_change().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "learn/learn_model.h"
#include "learn/learn_state.h"
#include "sluice/reputation/address.h"

namespace sluice::sluiced::learn {
namespace {

namespace rep = sluice::reputation;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1764000000000;  // some unix time in ms
constexpr int64_t kHour = 3600000;

rep::IpAddress ip(const char *text) {
  return *rep::parse_ip(text);
}

LocalObservation obs(const char *addr, LocalKind kind, uint32_t count = 1, int64_t at = kT0,
                     std::string evidence = "") {
  LocalObservation o;
  o.subject = ip(addr);
  o.kind = kind;
  o.count = count;
  o.observed_at = std::chrono::system_clock::time_point(milliseconds(at));
  o.origin = "test";
  o.evidence = std::move(evidence);
  return o;
}

// Only `kind` set as given; every other kind as its default.
ModelSettings with(LocalKind kind, KindSettings ks, size_t max_addresses = 1000,
                   int64_t step_ms = 60000) {
  ModelSettings s;
  s.kinds[static_cast<size_t>(kind)] = ks;
  s.max_addresses = max_addresses;
  s.step_ms = step_ms;
  return s;
}

// address text -> points, of one kind.
std::map<std::string, int32_t> table(LocalModel &m, int64_t now, LocalKind kind) {
  std::map<std::string, int32_t> out;
  for (const auto &e : m.evaluate(now))
    if (e.kind == kind) out[rep::format_ip(e.address)] = e.points;
  return out;
}

double count_of(const LocalModel &m, const char *addr, LocalKind kind, int64_t now) {
  for (const KindView &v : m.explain(ip(addr), now))
    if (v.kind == kind) return v.count;
  return -1;
}

TEST(LocalModel, OneHalfLifeHalvesTheCountAndThePoints) {
  LocalModel m(with(LocalKind::kComplaint, {4, 100, 0.1, kHour}));
  m.observe(obs("198.18.0.1", LocalKind::kComplaint, 2), kT0);
  EXPECT_DOUBLE_EQ(count_of(m, "198.18.0.1", LocalKind::kComplaint, kT0), 2.0);
  EXPECT_NEAR(count_of(m, "198.18.0.1", LocalKind::kComplaint, kT0 + kHour), 1.0, 1e-12);
  EXPECT_NEAR(count_of(m, "198.18.0.1", LocalKind::kComplaint, kT0 + 2 * kHour), 0.5, 1e-12);
  EXPECT_EQ(table(m, kT0, LocalKind::kComplaint)["198.18.0.1"], 8);
  EXPECT_EQ(table(m, kT0 + kHour, LocalKind::kComplaint)["198.18.0.1"], 4);
  EXPECT_EQ(table(m, kT0 + 2 * kHour, LocalKind::kComplaint)["198.18.0.1"], 2);
  // An observation made an hour before it arrives counts half.
  m.observe(obs("198.18.0.2", LocalKind::kComplaint, 2, kT0 + 2 * kHour), kT0 + 3 * kHour);
  EXPECT_NEAR(count_of(m, "198.18.0.2", LocalKind::kComplaint, kT0 + 3 * kHour), 1.0, 1e-12);
  // One from the future counts as now.
  m.observe(obs("198.18.0.3", LocalKind::kComplaint, 2, kT0 + 9 * kHour), kT0 + 3 * kHour);
  EXPECT_NEAR(count_of(m, "198.18.0.3", LocalKind::kComplaint, kT0 + 4 * kHour), 1.0, 1e-12);
}

TEST(LocalModel, NothingBelowTheThresholdThenPointsUntilTheCountDecaysBelowIt) {
  // Several unknown recipients needed: 5 within a short time.
  LocalModel m(with(LocalKind::kUnknownRecipient, {1, 100, 5, kHour}));
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(m.observe(obs("198.18.0.1", LocalKind::kUnknownRecipient), kT0));
  EXPECT_TRUE(table(m, kT0, LocalKind::kUnknownRecipient).empty());
  EXPECT_TRUE(m.observe(obs("198.18.0.1", LocalKind::kUnknownRecipient, 2), kT0));
  EXPECT_EQ(table(m, kT0, LocalKind::kUnknownRecipient)["198.18.0.1"], 6);
  // 6 decays to 5 after log2(6/5) half-lives: still 5 points just before, nothing just after.
  const auto crossing = kT0 + static_cast<int64_t>(kHour * std::log2(6.0 / 5.0));
  EXPECT_EQ(table(m, crossing - 1000, LocalKind::kUnknownRecipient)["198.18.0.1"], 5);
  EXPECT_TRUE(table(m, crossing + 1000, LocalKind::kUnknownRecipient).empty());
  const auto v = m.explain(ip("198.18.0.1"), crossing + 1000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].below_threshold);
  EXPECT_EQ(v[0].contribution, 0);
}

TEST(LocalModel, TheCapBoundsOneKindsPointsPerAddress) {
  LocalModel m(with(LocalKind::kTrapHit, {12, 24, 0.5, 24 * kHour}));
  m.observe(obs("198.18.0.1", LocalKind::kTrapHit), kT0);
  EXPECT_EQ(table(m, kT0, LocalKind::kTrapHit)["198.18.0.1"], 12);
  for (int i = 0; i < 9; ++i) m.observe(obs("198.18.0.1", LocalKind::kTrapHit), kT0);
  EXPECT_EQ(table(m, kT0, LocalKind::kTrapHit)["198.18.0.1"], 24);
  const auto v = m.explain(ip("198.18.0.1"), kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].capped);
  EXPECT_DOUBLE_EQ(v[0].count, 10);
  // Still capped after a half-life (5 events are worth 60 > 24).
  EXPECT_EQ(table(m, kT0 + 24 * kHour, LocalKind::kTrapHit)["198.18.0.1"], 24);
  // Kinds are separate contributions: a complaint adds its own line.
  m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0);
  const auto entries = m.evaluate(kT0);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].kind, LocalKind::kTrapHit);
  EXPECT_EQ(entries[1].kind, LocalKind::kComplaint);
  EXPECT_EQ(entries[1].points, 4);  // the default complaint weight
}

TEST(LocalModel, FractionalWeightsAndRounding) {
  // conn_rate: 0.01 point per SYN/min; 412 SYN/min are 4.12 points, +4.
  LocalModel m(ModelSettings{});
  m.observe(obs("2001:2::7", LocalKind::kConnRate, 412), kT0);
  EXPECT_EQ(table(m, kT0, LocalKind::kConnRate)["2001:2::7"], 4);
  // 119 SYN/min are below the default threshold of 120; 120 are +1.
  m.observe(obs("2001:2::8", LocalKind::kConnRate, 119), kT0);
  m.observe(obs("2001:2::9", LocalKind::kConnRate, 120), kT0);
  EXPECT_EQ(table(m, kT0, LocalKind::kConnRate).count("2001:2::8"), 0u);
  EXPECT_EQ(table(m, kT0, LocalKind::kConnRate)["2001:2::9"], 1);
}

// conn_rate observations carry a rate (SYN/min): the kind keeps the highest, decaying, and a
// sender reported poll after poll is worth its rate, not the sum of its reports.
TEST(LocalModel, ConnRateIsAGaugeNotASum) {
  LocalModel m(ModelSettings{});
  // 600 SYN/min from an unlisted address: +6 (the packaged policy's tarpit) at the first
  // observation.
  EXPECT_TRUE(m.observe(obs("198.18.0.7", LocalKind::kConnRate, 600, kT0, "600 on dp"), kT0));
  EXPECT_EQ(table(m, kT0, LocalKind::kConnRate)["198.18.0.7"], 6);
  // Reported every second for a minute: still 6 (a sum would have reached the cap at once).
  for (int64_t s = 1; s <= 60; ++s) {
    const int64_t t = kT0 + s * 1000;
    EXPECT_FALSE(m.observe(obs("198.18.0.7", LocalKind::kConnRate, 600, t, "600 on dp"), t)) << s;
  }
  EXPECT_EQ(table(m, kT0 + 60000, LocalKind::kConnRate)["198.18.0.7"], 6);
  // The same rate again refreshes the peak (its decay starts again); a lower rate keeps the
  // peak, its time and its evidence; a higher one raises it.
  m.observe(obs("198.18.0.7", LocalKind::kConnRate, 290, kT0 + 61000, "290 on dp"), kT0 + 61000);
  auto v = m.explain(ip("198.18.0.7"), kT0 + 61000);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].record->count, 600);
  EXPECT_EQ(v[0].record->updated_ms, kT0 + 60000);
  EXPECT_EQ(v[0].record->evidence, "600 on dp");
  EXPECT_EQ(v[0].record->last_seen_ms, kT0 + 61000);
  EXPECT_EQ(v[0].record->observations, 62u);
  EXPECT_TRUE(m.observe(obs("198.18.0.7", LocalKind::kConnRate, 750, kT0 + 62000), kT0 + 62000));
  EXPECT_EQ(table(m, kT0 + 62000, LocalKind::kConnRate)["198.18.0.7"], 8);  // 7.5, rounded
  // The peak decays by its half-life (30 min): 750 -> 375, +4.
  EXPECT_EQ(table(m, kT0 + 62000 + 1800000, LocalKind::kConnRate)["198.18.0.7"], 4);
  // 30 SYN/min, a thousand times: nothing, ever.
  for (int i = 0; i < 1000; ++i)
    m.observe(obs("198.18.0.30", LocalKind::kConnRate, 30, kT0 + i), kT0 + i);
  EXPECT_EQ(table(m, kT0 + 1000, LocalKind::kConnRate).count("198.18.0.30"), 0u);
  EXPECT_NEAR(count_of(m, "198.18.0.30", LocalKind::kConnRate, kT0 + 1000), 30, 0.01);
}

TEST(LocalModel, ObserveSaysWhetherAContributionChanged) {
  LocalModel m(with(LocalKind::kComplaint, {4, 8, 0.5, kHour}));
  EXPECT_TRUE(m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0));
  m.evaluate(kT0);
  EXPECT_TRUE(m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0));  // 4 -> 8
  m.evaluate(kT0);
  EXPECT_FALSE(m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0));  // capped at 8
  // A kind with weight 0 is off: counted, never contributing.
  LocalModel off(with(LocalKind::kPregreet, {0, 8, 0, kHour}));
  EXPECT_FALSE(off.observe(obs("198.18.0.1", LocalKind::kPregreet), kT0));
  EXPECT_TRUE(off.evaluate(kT0).empty());
  EXPECT_EQ(off.observations(LocalKind::kPregreet), 1u);
}

// The data planes' verdicts follow from a score: by default they add nothing to one (counted,
// so the operator sees them), and an operator's weight makes them count like any kind.
TEST(LocalModel, VerdictsScoreNothingByDefault) {
  LocalModel m{ModelSettings{}};
  for (const LocalKind k : {LocalKind::kShaped, LocalKind::kBlocked}) {
    EXPECT_FALSE(m.observe(obs("198.18.0.1", k, 50), kT0)) << to_string(k);
    EXPECT_EQ(m.observations(k), 1u);
  }
  EXPECT_TRUE(m.evaluate(kT0).empty());
  EXPECT_EQ(m.addresses(), 0u) << "an unweighted kind keeps nothing";
  LocalModel weighted(with(LocalKind::kBlocked, {1, 8, 0.5, kHour}));
  EXPECT_TRUE(weighted.observe(obs("198.18.0.1", LocalKind::kBlocked, 3), kT0));
  EXPECT_FALSE(weighted.evaluate(kT0).empty());
}

// A subscriber's fan-out scores a point per new remote MTA by default: an infected subscriber's
// 20 MTAs reach a policy's outbound threshold of 20, a subscriber's 3 mails do not.
TEST(LocalModel, FanOutScoresAPointPerRemoteMtaByDefault) {
  LocalModel m{ModelSettings{}};
  EXPECT_TRUE(m.observe(obs("198.18.3.3", LocalKind::kFanOut, 20), kT0));
  EXPECT_TRUE(m.observe(obs("198.18.3.4", LocalKind::kFanOut, 3), kT0));
  const auto got = table(m, kT0, LocalKind::kFanOut);
  const std::map<std::string, int32_t> want = {{"198.18.3.3", 20}, {"198.18.3.4", 3}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(m.observe(obs("198.18.3.3", LocalKind::kFanOut, 500), kT0));
  EXPECT_EQ(table(m, kT0, LocalKind::kFanOut).at("198.18.3.3"), 64) << "the cap";
}

TEST(LocalModel, AFloodOfUniqueAddressesStaysWithinMaxAddressesAndKeepsTheHighScorer) {
  constexpr size_t kMax = 64;
  constexpr uint64_t kFlood = 1000000;
  LocalModel m(with(LocalKind::kUnknownRecipient, {0.5, 8, 5, kHour}, kMax));
  m.observe(obs("198.18.0.1", LocalKind::kTrapHit), kT0);
  rep::IpAddress a = ip("2001:2::");
  const rep::U128 base = a.v6;
  LocalObservation o = obs("2001:2::", LocalKind::kUnknownRecipient);
  size_t most = 0;
  for (uint64_t i = 0; i < kFlood; ++i) {
    o.subject.v6 = base + i;
    m.observe(o, kT0 + static_cast<int64_t>(i / 1000));
    most = std::max(most, m.addresses());
  }
  EXPECT_EQ(most, kMax);
  EXPECT_EQ(m.addresses(), kMax);
  EXPECT_EQ(m.evictions(), kFlood + 1 - kMax);
  EXPECT_EQ(m.observations(LocalKind::kUnknownRecipient), kFlood);
  // The trap hit (12 points) outranks every flood address (0 points, below the threshold).
  const auto t = table(m, kT0 + 1000, LocalKind::kTrapHit);
  EXPECT_EQ(t.at("198.18.0.1"), 12);
  // The survivors of the flood are its latest addresses.
  EXPECT_EQ(m.explain(ip("2001:2::1"), kT0 + 1000).size(), 0u);
  o.subject.v6 = base + kFlood - 1;
  EXPECT_EQ(m.explain(o.subject, kT0 + 1000).size(), 1u);
}

TEST(LocalModel, EvictionTakesTheLowestScoreFirst) {
  ModelSettings s;
  s.max_addresses = 3;
  LocalModel m(s);
  m.observe(obs("198.18.0.1", LocalKind::kTrapHit), kT0);    // 12
  m.observe(obs("198.18.0.2", LocalKind::kComplaint), kT0);  // 4
  m.observe(obs("198.18.0.3", LocalKind::kPregreet), kT0);   // 3
  m.observe(obs("198.18.0.4", LocalKind::kComplaint), kT0);  // evicts .3
  EXPECT_EQ(m.evictions(), 1u);
  EXPECT_TRUE(m.explain(ip("198.18.0.3"), kT0).empty());
  EXPECT_EQ(m.explain(ip("198.18.0.2"), kT0).size(), 1u);
  EXPECT_EQ(m.explain(ip("198.18.0.4"), kT0).size(), 1u);
}

// Every next_change() is when the table really changes: just before it, a copy of the model
// evaluates to what was published; at it, to something else (unless it is the step floor).
TEST(LocalModel, NextChangeIsWhenAContributionChanges) {
  LocalModel m(with(LocalKind::kComplaint, {4, 100, 0.5, kHour}, 1000, 60000));
  EXPECT_FALSE(m.next_change());
  m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0);
  auto prev = table(m, kT0, LocalKind::kComplaint);
  ASSERT_EQ(prev["198.18.0.1"], 4);
  int64_t last = kT0;
  int changes = 0;
  std::vector<int32_t> seen = {4};
  while (auto next = m.next_change()) {
    ASSERT_GE(*next, last + 60000) << "more often than once per step";
    LocalModel probe = m;
    EXPECT_EQ(table(probe, *next - 1, LocalKind::kComplaint), prev);
    auto cur = table(m, *next, LocalKind::kComplaint);
    if (*next > last + 60000) {
      EXPECT_NE(cur, prev) << "a change predicted at " << *next - kT0;
    }
    if (cur != prev) {
      ++changes;
      seen.push_back(cur.count("198.18.0.1") ? cur["198.18.0.1"] : 0);
    }
    prev = cur;
    last = *next;
    ASSERT_LT(changes, 10);
  }
  // 4, 3, 2, then 0 when the count falls below 0.5 (2 points round to 2 until then).
  EXPECT_EQ(seen, (std::vector<int32_t>{4, 3, 2, 0}));
  EXPECT_EQ(m.addresses(), 1u);  // below the threshold but not forgotten yet
  // 3.5 -> 3 at 4 x c < 3.5: c = 0.875, log2(1/0.875) hours after kT0.
  LocalModel again(with(LocalKind::kComplaint, {4, 100, 0.5, kHour}, 1000, 60000));
  again.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0);
  again.evaluate(kT0);
  EXPECT_NEAR(static_cast<double>(*again.next_change() - kT0), kHour * std::log2(1 / 0.875), 1.0);
}

TEST(LocalModel, NextChangeWaitsAtLeastAStep) {
  // A fast-decaying kind would change every few seconds: the table follows once per step.
  LocalModel m(with(LocalKind::kComplaint, {100, 1000, 0.5, 10000}, 1000, 60000));
  m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0);
  m.evaluate(kT0);
  EXPECT_EQ(*m.next_change(), kT0 + 60000);
}

TEST(LocalModel, RecordsDecayAwayAndAreForgotten) {
  LocalModel m(with(LocalKind::kComplaint, {4, 100, 0.5, kHour}));
  m.observe(obs("198.18.0.1", LocalKind::kComplaint), kT0);
  m.evaluate(kT0);
  EXPECT_EQ(m.addresses(), 1u);
  // 4 x 2^-9 = 0.0078 < 0.01 points: forgotten.
  EXPECT_TRUE(m.evaluate(kT0 + 9 * kHour).empty());
  EXPECT_EQ(m.addresses(), 0u);
  EXPECT_FALSE(m.next_change());
}

TEST(LocalModel, ForgetDropsEveryKindOfAnAddress) {
  LocalModel m(ModelSettings{});
  m.observe(obs("198.18.0.1", LocalKind::kComplaint, 1, kT0, "report-1"), kT0);
  m.observe(obs("198.18.0.1", LocalKind::kTrapHit), kT0);
  m.observe(obs("198.18.0.2", LocalKind::kTrapHit), kT0);
  EXPECT_EQ(m.forget(ip("198.18.0.1")),
            (std::vector<LocalKind>{LocalKind::kTrapHit, LocalKind::kComplaint}));
  EXPECT_TRUE(m.forget(ip("198.18.0.1")).empty());
  EXPECT_EQ(m.evaluate(kT0).size(), 1u);
}

TEST(LocalModel, ExplainKeepsTheLatestOriginAndEvidence) {
  LocalModel m(ModelSettings{});
  m.observe(obs("198.18.0.1", LocalKind::kComplaint, 1, kT0 - 5000, "report-1"), kT0);
  LocalObservation o = obs("198.18.0.1", LocalKind::kComplaint, 1, kT0,
                           "bad\x01"
                           "evidence");
  o.origin = "arf";
  m.observe(o, kT0);
  const auto v = m.explain(ip("198.18.0.1"), kT0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].record->origin, "arf");
  EXPECT_EQ(v[0].record->evidence, "bad?evidence");
  EXPECT_EQ(v[0].record->observations, 2u);
  EXPECT_EQ(v[0].record->last_seen_ms, kT0);
}

// What observe() keeps always fits the state file: counts within its bound, times after 1970.
TEST(LocalModel, HugeCountsAndTimesBefore1970StayWithinWhatTheStateFileTakes) {
  LocalModel m(ModelSettings{});
  for (int i = 0; i < 300000; ++i) {
    m.observe(obs("198.18.0.1", LocalKind::kUnknownRecipient, 4000000000u), kT0);
    m.observe(obs("198.18.0.3", LocalKind::kConnRate, 4000000000u), kT0);
  }
  m.observe(obs("198.18.0.2", LocalKind::kComplaint, 1, -5000), kT0);
  const auto recs = m.records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].record.count, kMaxCount);
  EXPECT_EQ(recs[1].record.last_seen_ms, 0);
  EXPECT_EQ(recs[2].record.count, 4000000000.0);  // a rate: the highest, not the sum
  EXPECT_EQ(parse_state(format_state(recs), "x").size(), 3u);
}

TEST(LocalModel, RestoreGivesBackTheSameScoresAndEvictsDownToTheLimit) {
  LocalModel m(ModelSettings{});
  m.observe(obs("198.18.0.1", LocalKind::kComplaint, 3), kT0);
  m.observe(obs("2001:2::1", LocalKind::kTrapHit), kT0);
  m.observe(obs("198.18.0.2", LocalKind::kPregreet), kT0);
  const auto recs = m.records();
  ASSERT_EQ(recs.size(), 3u);
  LocalModel back(ModelSettings{});
  back.restore(recs, kT0 + kHour);
  EXPECT_EQ(back.evaluate(kT0 + kHour).size(), m.evaluate(kT0 + kHour).size());
  EXPECT_EQ(table(back, kT0 + kHour, LocalKind::kComplaint),
            table(m, kT0 + kHour, LocalKind::kComplaint));
  ModelSettings small;
  small.max_addresses = 2;
  LocalModel tight(small);
  tight.restore(recs, kT0);
  EXPECT_EQ(tight.addresses(), 2u);
  EXPECT_EQ(tight.evictions(), 1u);
  EXPECT_TRUE(tight.explain(ip("198.18.0.2"), kT0).empty());  // pregreet: the lowest
}

}  // namespace
}  // namespace sluice::sluiced::learn
