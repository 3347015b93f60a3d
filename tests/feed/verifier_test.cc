// The checks on receipt (docs/feed.md section 2): each refusal, its counter, and that a refused
// batch changes nothing.
#include <gtest/gtest.h>

#include "feed/verifier.h"
#include "feed_test_util.h"

namespace sluice::feed {
namespace {
using testing::batch;
using testing::kNowMs;
using testing::observation;
using testing::Participant;

class FeedVerifier : public ::testing::Test {
 protected:
  void SetUp() override {
    v.set_key(a.name, a.key.pub);
    v.set_key(b.name, b.key.pub);
  }
  // Checks `message` on `subject` and expects refusal `r`, counted once, nothing accepted.
  void expect_refused(const std::string &subject, const std::string &message, Refusal r,
                      int64_t ref = kNowMs) {
    const auto before = v.refused(r);
    const auto accepted = v.accepted_batches();
    const auto seqs = v.sequences();
    auto got = v.check(subject, message, ref);
    ASSERT_TRUE(std::holds_alternative<Refusal>(got));
    EXPECT_EQ(to_string(std::get<Refusal>(got)), to_string(r));
    EXPECT_EQ(v.refused(r), before + 1);
    EXPECT_EQ(v.accepted_batches(), accepted);
    EXPECT_EQ(v.sequences(), seqs);
  }
  Batch accept(const std::string &subject, const std::string &message, int64_t ref = kNowMs) {
    auto got = v.check(subject, message, ref);
    EXPECT_TRUE(std::holds_alternative<Batch>(got))
        << (std::holds_alternative<Refusal>(got) ? to_string(std::get<Refusal>(got)) : "");
    return std::holds_alternative<Batch>(got) ? std::get<Batch>(got) : Batch{};
  }

  Participant a{"isp-a"}, b{"isp-b"};
  Verifier v;
};

TEST_F(FeedVerifier, AcceptsASignedFreshBatchAndRecordsItsSequence) {
  Batch got = accept(a.subject(), a.message(batch("isp-a", 7)));
  EXPECT_EQ(got.participant, "isp-a");
  ASSERT_EQ(got.observations.size(), 1u);
  EXPECT_EQ(v.sequences().at("isp-a"), 7u);
  EXPECT_EQ(v.accepted_batches(), 1u);
  EXPECT_EQ(v.accepted_observations(), 1u);
}

TEST_F(FeedVerifier, OversizeIsRefused) {
  std::string m = a.message(batch("isp-a", 1));
  m.append(kMaxMessageBytes + 1 - m.size(), ' ');
  expect_refused(a.subject(), m, Refusal::kOversize);
}

TEST_F(FeedVerifier, MalformedHeaderIsRefused) {
  expect_refused(a.subject(), "garbage", Refusal::kMalformed);
}

TEST_F(FeedVerifier, MalformedBodyWithAGoodSignatureIsRefused) {
  expect_refused(a.subject(), a.message_with_body("{\"v\":1}"), Refusal::kMalformed);
}

TEST_F(FeedVerifier, WrongVersionIsRefused) {
  std::string m = a.message(batch("isp-a", 1));
  m[12] = '2';  // SLUICE-FEED/2
  expect_refused(a.subject(), m, Refusal::kWrongVersion);
  expect_refused(a.subject(), a.message_with_body("{\"v\":2,\"participant\":\"isp-a\",\"seq\":1}"),
                 Refusal::kWrongVersion);
}

TEST_F(FeedVerifier, UnknownParticipantIsRefused) {
  Participant c{"isp-c"};
  expect_refused(c.subject(), c.message(batch("isp-c", 1)), Refusal::kUnknownParticipant);
}

TEST_F(FeedVerifier, MessageOnAnotherParticipantsSubjectIsRefused) {
  expect_refused(b.subject(), a.message(batch("isp-a", 1)), Refusal::kSubjectMismatch);
  expect_refused("sluice.obs.isp-a.x", a.message(batch("isp-a", 1)), Refusal::kSubjectMismatch);
  expect_refused("other.isp-a", a.message(batch("isp-a", 1)), Refusal::kSubjectMismatch);
}

TEST_F(FeedVerifier, BodyNamingAnotherParticipantIsRefused) {
  // Signed by A, header says A, but the body claims to be B's.
  expect_refused(a.subject(), a.message(batch("isp-b", 1)), Refusal::kSubjectMismatch);
}

TEST_F(FeedVerifier, TamperedBodyIsRefused) {
  std::string m = a.message(batch("isp-a", 1));
  size_t at = m.find("198.18.0.7");
  m[at + 9] = '8';
  expect_refused(a.subject(), m, Refusal::kBadSignature);
}

TEST_F(FeedVerifier, BatchReSignedByAnotherKeyIsRefused) {
  // B takes A's batch and signs it with B's key, still in A's name.
  const std::string body = encode_body(batch("isp-a", 1));
  expect_refused(a.subject(), seal("isp-a", body, b.key.secret), Refusal::kBadSignature);
  // A participant's key changed: the old key no longer verifies.
  v.set_key("isp-a", generate_keypair().pub);
  expect_refused(a.subject(), a.message(batch("isp-a", 2)), Refusal::kBadSignature);
}

TEST_F(FeedVerifier, ReplayedBatchIsRefused) {
  const std::string m = a.message(batch("isp-a", 10));
  accept(a.subject(), m);
  expect_refused(a.subject(), m, Refusal::kReplay);
}

TEST_F(FeedVerifier, OlderSequenceAfterANewerOneIsRefused) {
  const std::string older = a.message(batch("isp-a", 10));
  accept(a.subject(), a.message(batch("isp-a", 11)));
  expect_refused(a.subject(), older, Refusal::kReplay);
}

TEST_F(FeedVerifier, SequencesArePerParticipant) {
  accept(a.subject(), a.message(batch("isp-a", 10)));
  accept(b.subject(), b.message(batch("isp-b", 3)));
  EXPECT_EQ(v.sequences().at("isp-a"), 10u);
  EXPECT_EQ(v.sequences().at("isp-b"), 3u);
}

TEST_F(FeedVerifier, RestoredSequenceRefusesReplayAcrossRestarts) {
  Verifier fresh;
  fresh.set_key(a.name, a.key.pub);
  fresh.restore_sequence("isp-a", 10);
  auto got = fresh.check(a.subject(), a.message(batch("isp-a", 10)), kNowMs);
  ASSERT_TRUE(std::holds_alternative<Refusal>(got));
  EXPECT_EQ(std::get<Refusal>(got), Refusal::kReplay);
}

TEST_F(FeedVerifier, StaleAndFutureBatchesAreRefused) {
  const int64_t age = v.options().max_age_ms, skew = v.options().max_skew_ms;
  expect_refused(a.subject(), a.message(batch("isp-a", 1, kNowMs - age - 1)), Refusal::kStale);
  expect_refused(a.subject(), a.message(batch("isp-a", 2, kNowMs + skew + 1)), Refusal::kFuture);
  // At the edges of the window the batch is fresh.
  accept(a.subject(), a.message(batch("isp-a", 3, kNowMs - age)));
  accept(a.subject(), a.message(batch("isp-a", 4, kNowMs + skew)));
}

TEST_F(FeedVerifier, RefusedBatchDoesNotAdvanceTheSequence) {
  // A stale batch with a high sequence must not make a later fresh one look like a replay.
  expect_refused(a.subject(), a.message(batch("isp-a", 100, kNowMs - 3600000)), Refusal::kStale);
  accept(a.subject(), a.message(batch("isp-a", 50)));
}

TEST_F(FeedVerifier, ShortPrefixesAreSkippedTheRestApplies) {
  Batch bt = batch("isp-a", 1);
  bt.observations.push_back(observation("0.0.0.0/0"));
  bt.observations.push_back(observation("::/0"));
  bt.observations.push_back(observation("198.0.0.0/8"));
  bt.observations.push_back(observation("2001::/16"));
  bt.observations.push_back(observation("198.18.0.0/16"));
  bt.observations.push_back(observation("2001:2::/32"));
  Batch got = accept(a.subject(), a.message(bt));
  ASSERT_EQ(got.observations.size(), 3u);
  EXPECT_EQ(format_prefix(got.observations[1].subject), "198.18.0.0/16");
  EXPECT_EQ(format_prefix(got.observations[2].subject), "2001:2::/32");
  EXPECT_EQ(v.skipped(Skip::kPrefixTooShort), 4u);
}

TEST_F(FeedVerifier, ZeroLengthPrefixIsSkippedEvenWithAZeroMinimum) {
  Verifier lax({.min_prefix_v4 = 0, .min_prefix_v6 = 0});
  lax.set_key(a.name, a.key.pub);
  Batch bt = batch("isp-a", 1);
  bt.observations.push_back(observation("0.0.0.0/0"));
  auto got = lax.check(a.subject(), a.message(bt), kNowMs);
  ASSERT_TRUE(std::holds_alternative<Batch>(got));
  EXPECT_EQ(std::get<Batch>(got).observations.size(), 1u);
  EXPECT_EQ(lax.skipped(Skip::kPrefixTooShort), 1u);
}

}  // namespace
}  // namespace sluice::feed
