// The trust model: weights, caps, half-life decay, expiry, quorum, local decisions, explain,
// the table sources it produces, and its state file.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "feed/trust.h"
#include "feed_test_util.h"
#include "sluice/reputation/compile.h"

namespace sluice::feed {
namespace {
using testing::kNowMs;
using testing::observation;

constexpr int64_t kHour = 3600000;

TrustConfig config(size_t quorum = 1) {
  TrustConfig c;
  c.quorum = quorum;
  for (const char *name : {"isp-a", "isp-b", "isp-c"}) {
    ParticipantTrust p;
    p.name = name;
    p.key = generate_keypair().pub;
    p.weight = 1.0;
    p.cap = 20;
    p.half_life_ms = kHour;
    c.participants.push_back(p);
  }
  return c;
}

// An observation that lives a day (longer than the decay tests look).
Observation long_lived(std::string_view subject, Kind kind, uint32_t count, int64_t at = kNowMs) {
  Observation o = observation(subject, kind, count, at);
  o.ttl_s = 86400;
  return o;
}

Batch report(std::string participant, std::vector<Observation> obs, int64_t at = kNowMs) {
  Batch b;
  b.participant = std::move(participant);
  b.seq = 1;
  b.sent_at_ms = at;
  b.observations = std::move(obs);
  return b;
}

int32_t weight_for(const TrustModel &m, std::string_view subject, const std::string &who,
                   int64_t now) {
  for (const Contribution &c : m.contributions(now))
    if (c.participant == who && format_prefix(c.subject) == subject) return c.weight;
  return 0;
}

TEST(FeedTrust, ContributionIsKindPointsTimesCountTimesWeight) {
  TrustConfig c = config();
  c.participants[1].weight = 0.5;
  TrustModel m(c);
  m.apply(report("isp-a", {observation("198.18.0.7", Kind::kComplaint, 3)}), kNowMs);
  m.apply(report("isp-b", {observation("198.18.0.7", Kind::kComplaint, 3)}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), 15);  // 5 points x 3
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-b", kNowMs), 8);   // 7.5 rounded
}

TEST(FeedTrust, CapBoundsOneParticipantsContribution) {
  TrustModel m(config());
  for (int i = 0; i < 10; ++i)
    m.apply(report("isp-a", {observation("198.18.0.7", Kind::kTrapHit, 100)}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), 20);
  m.apply(report("isp-b", {observation("198.18.0.8", Kind::kVouch, 100)}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.8", "isp-b", kNowMs), -20);
}

TEST(FeedTrust, PointsHalveEveryHalfLife) {
  TrustModel m(config());
  m.apply(report("isp-a", {long_lived("198.18.0.7", Kind::kBlocked, 4)}), kNowMs);  // 12
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), 12);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs + kHour), 6);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs + 2 * kHour), 3);
}

TEST(FeedTrust, AnOldObservationArrivesAlreadyDecayed) {
  TrustModel m(config());
  m.apply(report("isp-a", {long_lived("198.18.0.7", Kind::kBlocked, 4, kNowMs - kHour)}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), 6);
}

TEST(FeedTrust, RecordsExpireAfterTheirTtlCutToMaxTtl) {
  TrustConfig c = config();
  c.max_ttl_ms = 600000;  // 10 min; the observation suggests 1 h
  TrustModel m(c);
  m.apply(report("isp-a", {observation("198.18.0.7")}), kNowMs);
  auto contrib = m.contributions(kNowMs);
  ASSERT_EQ(contrib.size(), 1u);
  EXPECT_EQ(contrib[0].expires_ms, kNowMs + 600000);
  EXPECT_GT(weight_for(m, "198.18.0.7", "isp-a", kNowMs + 599999), 0);
  EXPECT_TRUE(m.contributions(kNowMs + 600000).empty());
  EXPECT_EQ(m.expire(kNowMs + 600000), 1u);
  EXPECT_EQ(m.entries(), 0u);
}

TEST(FeedTrust, NextExpiryIsTheEarliestLiveOne) {
  TrustModel m(config());
  EXPECT_EQ(m.next_expiry(kNowMs), 0);
  m.apply(report("isp-a", {observation("198.18.0.7")}), kNowMs);                      // 1 h
  m.apply(report("isp-b", {long_lived("198.18.0.8", Kind::kComplaint, 1)}), kNowMs);  // 1 d
  EXPECT_EQ(m.next_expiry(kNowMs), kNowMs + kHour);
  EXPECT_EQ(m.next_expiry(kNowMs + kHour), kNowMs + 86400000);
}

TEST(FeedTrust, QuorumHoldsALoneReporter) {
  TrustModel m(config(2));
  m.apply(report("isp-a", {observation("198.18.0.7")}), kNowMs);
  auto one = m.contributions(kNowMs);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].held_by_quorum);
  EXPECT_EQ(one[0].weight, 0);
  EXPECT_EQ(one[0].raw_weight, 5);
  m.apply(report("isp-b", {observation("198.18.0.7")}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), 5);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-b", kNowMs), 5);
}

TEST(FeedTrust, QuorumDoesNotHoldAVouch) {
  TrustModel m(config(2));
  m.apply(report("isp-a", {observation("198.18.0.7", Kind::kVouch)}), kNowMs);
  EXPECT_EQ(weight_for(m, "198.18.0.7", "isp-a", kNowMs), -10);
}

TEST(FeedTrust, LocalDecisionsWin) {
  TrustModel m(config());
  m.apply(report("isp-a", {observation("198.18.0.7"), observation("198.18.0.8")}), kNowMs);
  LocalDecision allowlisted = [](const Prefix &p) { return format_prefix(p) == "198.18.0.7"; };
  auto c = m.contributions(kNowMs, allowlisted);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(c[0].decided_locally);
  EXPECT_EQ(c[0].weight, 0);
  EXPECT_EQ(c[1].weight, 5);
  TableSources t = m.table_sources(kNowMs, 0, allowlisted);
  EXPECT_EQ(t.sources[0].v4.size(), 1u);
}

TEST(FeedTrust, MaxEntriesBoundsAParticipant) {
  TrustConfig c = config();
  c.participants[0].max_entries = 100;
  TrustModel m(c);
  for (uint32_t i = 0; i < 1000; ++i) {
    Observation o = observation("198.18.0.1");
    o.subject.v4 = 0xc6120000u + i;  // 198.18.x.y, all distinct
    m.apply(report("isp-a", {o}), kNowMs);
  }
  EXPECT_EQ(m.entries("isp-a"), 100u);
  EXPECT_EQ(m.full_refusals(), 900u);
  // Existing subjects still update; another participant is unaffected.
  EXPECT_EQ(m.apply(report("isp-a", {observation("198.18.0.0")}), kNowMs), 1u);
  EXPECT_EQ(m.apply(report("isp-b", {observation("198.18.9.9")}), kNowMs), 1u);
}

TEST(FeedTrust, UnknownParticipantChangesNothing) {
  TrustModel m(config());
  EXPECT_EQ(m.apply(report("isp-z", {observation("198.18.0.7")}), kNowMs), 0u);
  EXPECT_EQ(m.entries(), 0u);
}

TEST(FeedTrust, ExplainShowsEveryCoveringContributionAndItsExpiry) {
  TrustModel m(config());
  Observation o = observation("198.18.0.0/24", Kind::kTrapHit);
  o.evidence = "trap-42";
  m.apply(report("isp-a", {o}), kNowMs);
  m.apply(report("isp-b", {observation("198.18.0.7", Kind::kComplaint)}), kNowMs);
  m.apply(report("isp-c", {observation("198.18.1.7", Kind::kComplaint)}), kNowMs);
  auto e = m.explain(*parse_prefix("198.18.0.7"), kNowMs);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].participant, "isp-a");
  EXPECT_EQ(format_prefix(e[0].subject), "198.18.0.0/24");
  EXPECT_EQ(e[0].weight, 10);
  EXPECT_EQ(e[0].last_evidence, "trap-42");
  EXPECT_EQ(e[0].expires_ms, kNowMs + 3600000);
  EXPECT_EQ(e[1].participant, "isp-b");
}

TEST(FeedTrust, TableSourcesCompileIntoScores) {
  TrustModel m(config());
  m.apply(report("isp-a", {observation("198.18.0.7"), observation("2001:2::/48", Kind::kTrapHit)}),
          kNowMs);
  m.apply(report("isp-b", {observation("198.18.0.7", Kind::kBlocked)}), kNowMs);
  TableSources t = m.table_sources(kNowMs, 0);
  ASSERT_EQ(t.configs.size(), 3u);
  EXPECT_EQ(t.configs[0].name, "feed:isp-a");
  auto table = reputation::compile(t.sources, t.configs);
  auto v4 = [&](const char *a) {
    auto v = table.lookup_v4(htonl(*reputation::parse_ipv4(a)));
    return v ? v->score : 0;
  };
  uint8_t v6[16];
  reputation::v6_to_bytes(*reputation::parse_ipv6("2001:2::9"), v6);
  EXPECT_EQ(v4("198.18.0.7"), 8);
  EXPECT_EQ(table.lookup_v6(v6).value().score, 10);
  EXPECT_EQ(v4("198.18.0.8"), 0);
}

TEST(FeedTrust, StateSurvivesSaveAndRestore) {
  TrustModel m(config());
  Observation o = long_lived("198.18.0.7", Kind::kTrapHit, 1);
  o.evidence = "e-1";
  m.apply(report("isp-a", {o}), kNowMs);
  std::map<std::string, uint64_t> seqs = {{"isp-a", 77}};
  const std::string saved = m.save(seqs);
  TrustModel back(config());
  std::map<std::string, uint64_t> got;
  back.restore(saved, "feed.state", got);
  EXPECT_EQ(got, seqs);
  EXPECT_EQ(weight_for(back, "198.18.0.7", "isp-a", kNowMs + kHour), 5);
  EXPECT_EQ(back.explain(*parse_prefix("198.18.0.7"), kNowMs).at(0).last_evidence, "e-1");
}

// The state text is written by hand (fast for a million records): it must be JSON that restores
// to the same model, escapes evidence, and saves again to the same text.
TEST(FeedTrust, StateTextRoundTripsEveryKindOfRecord) {
  TrustModel m(config());
  Observation a = long_lived("198.18.0.7", Kind::kTrapHit, 3);
  a.evidence = R"(q"uote\back)";
  Observation b = long_lived("2001:2::9", Kind::kVouch, 1);
  Observation c = long_lived("198.18.4.0/24", Kind::kConnRate, 7);
  m.apply(report("isp-a", {a, b, c}), kNowMs);
  m.apply(report("isp-b", {long_lived("198.18.0.7", Kind::kPregreet, 2)}), kNowMs + 1234);
  const std::map<std::string, uint64_t> seqs = {{"isp-a", 77}, {"isp-b", (uint64_t{1} << 53) - 1}};
  const std::string saved = m.save(seqs);
  ASSERT_FALSE(nlohmann::json::parse(saved, nullptr, false).is_discarded()) << saved;
  TrustModel back(config());
  std::map<std::string, uint64_t> got;
  back.restore(saved, "feed.state", got);
  EXPECT_EQ(got, seqs);
  EXPECT_EQ(back.save(got), saved);
  EXPECT_EQ(back.entries(), m.entries());
  const auto e = back.explain(*parse_prefix("198.18.0.7"), kNowMs + kHour);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].last_evidence, a.evidence);
  for (const char *addr : {"198.18.0.7", "2001:2::9", "198.18.4.9"})
    EXPECT_EQ(back.explain(*parse_prefix(addr), kNowMs + kHour).size(),
              m.explain(*parse_prefix(addr), kNowMs + kHour).size())
        << addr;
}

// A state file is read as JSON, so its evidence may be any JSON string (a line feed, a tab, a
// non-ASCII letter), not only what a batch may carry: saving it again must still make JSON that
// restores to the same records.
TEST(FeedTrust, RestoredEvidenceWithControlCharactersSavesAsJsonAgain) {
  const std::string state =
      R"({"version":1,"sequences":{"isp-a":5},"records":[{"participant":"isp-a",)"
      R"("subject":"198.18.0.7","points":5,"updated_ms":1764500000000,)"
      R"("expires_ms":1764586400000,"reports":1,"kind":"complaint",)"
      R"("evidence":"a\nb\t\u0001\u00e9\"\\"}]})";
  TrustModel m(config());
  std::map<std::string, uint64_t> seqs;
  m.restore(state, "feed.state", seqs);
  const std::string saved = m.save(seqs);
  ASSERT_FALSE(nlohmann::json::parse(saved, nullptr, false).is_discarded()) << saved;
  TrustModel back(config());
  back.restore(saved, "feed.state", seqs);
  EXPECT_EQ(back.explain(*parse_prefix("198.18.0.7"), kNowMs).at(0).last_evidence,
            "a\nb\t\x01\xc3\xa9\"\\");
  EXPECT_EQ(back.save(seqs), saved);
}

// Found by fuzz_feed_trust: a "version" of the wrong type escaped restore() as a json type error
// instead of the refusal naming the file.
TEST(FeedTrust, AStateWhoseVersionIsNotANumberIsRefusedNamingTheFile) {
  TrustModel m(config());
  std::map<std::string, uint64_t> seqs;
  for (const std::string bad : {R"({"version":[1],"sequences":{},"records":[]})",
                                R"({"version":"1","sequences":{},"records":[]})",
                                R"({"version":1.5,"sequences":{},"records":[]})"}) {
    try {
      m.restore(bad, "feed.state", seqs);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const sluice::Error &e) {
      EXPECT_NE(std::string(e.what()).find("feed.state: not a feed state file"), std::string::npos)
          << e.what();
    }
  }
}

// Found by fuzz_feed_trust: numbers the JSON parser keeps as doubles (too many digits, a
// fraction) were converted to integer fields, undefined behaviour; they are refused.
TEST(FeedTrust, AStateWithNumbersThatAreNotWholeOrInRangeIsRefused) {
  const std::string record =
      R"("participant":"isp-a","subject":"198.18.0.7","points":5,"reports":1,)"
      R"("kind":"complaint","evidence":"")";
  TrustModel m(config());
  std::map<std::string, uint64_t> seqs;
  for (const std::string &bad : std::vector<std::string>{
           R"({"version":1,"sequences":{"isp-a":9007199254743333333333333333333333},"records":[]})",
           R"({"version":1,"sequences":{"isp-a":9007199254740992},"records":[]})",
           R"({"version":1,"sequences":{"isp-a":-1},"records":[]})",
           R"({"version":1,"sequences":{},"records":[{)" + record +
               R"(,"updated_ms":1.5,"expires_ms":2}]})",
           R"({"version":1,"sequences":{},"records":[{)" + record +
               R"(,"updated_ms":1,"expires_ms":1e300}]})"}) {
    EXPECT_THROW(m.restore(bad, "feed.state", seqs), sluice::Error) << bad;
    EXPECT_EQ(m.entries(), 0u);
  }
}

TEST(FeedTrust, CorruptStateIsRefusedAndChangesNothing) {
  TrustModel m(config());
  m.apply(report("isp-a", {observation("198.18.0.7")}), kNowMs);
  std::map<std::string, uint64_t> seqs = {{"isp-a", 5}};
  for (std::string bad : {"", "{}", "{\"version\":2}", "{\"version\":1,\"sequences\":{}}",
                          "{\"version\":1,\"sequences\":{\"A B\":1},\"records\":[]}",
                          "{\"version\":1,\"sequences\":{},\"records\":[{\"participant\":1}]}"}) {
    EXPECT_THROW(m.restore(bad, "feed.state", seqs), sluice::Error) << bad;
    EXPECT_EQ(seqs.at("isp-a"), 5u);
    EXPECT_EQ(m.entries(), 1u);
  }
}

}  // namespace
}  // namespace sluice::feed
