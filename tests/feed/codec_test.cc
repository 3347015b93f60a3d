// The wire format (docs/feed.md section 1): what the encoder writes, what the parser accepts,
// and every way a body or header line is refused.
#include <gtest/gtest.h>

#include "feed/codec.h"
#include "feed_test_util.h"

namespace sluice::feed {
namespace {
using testing::batch;
using testing::kNowMs;
using testing::observation;

Refusal refusal_of(std::string_view body) {
  auto r = parse_body(body);
  EXPECT_TRUE(std::holds_alternative<Refusal>(r)) << body;
  return std::holds_alternative<Refusal>(r) ? std::get<Refusal>(r) : Refusal::kOversize;
}

std::string body_with_obs(std::string_view obs_members) {
  return "{\"v\":1,\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + std::to_string(kNowMs) +
         ",\"observations\":[{" + std::string(obs_members) + "}]}";
}

std::string good_obs() {
  return "\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":2,\"window\":300,"
         "\"ttl\":3600,\"observed_at\":" +
         std::to_string(kNowMs);
}

TEST(FeedCodec, RoundTripKeepsEveryField) {
  Batch b = batch("isp-a", 42);
  Observation o = observation("2001:2::/48", Kind::kTrapHit, 7, kNowMs - 1000);
  o.helo = "mail.example.net";
  o.sender_domain = "example.net";
  o.evidence = "ticket-8812";
  b.observations.push_back(o);
  auto parsed = parse_body(encode_body(b));
  ASSERT_TRUE(std::holds_alternative<Batch>(parsed));
  const Batch &p = std::get<Batch>(parsed);
  EXPECT_EQ(p.participant, "isp-a");
  EXPECT_EQ(p.seq, 42u);
  EXPECT_EQ(p.sent_at_ms, kNowMs);
  ASSERT_EQ(p.observations.size(), 2u);
  const Observation &q = p.observations[1];
  EXPECT_EQ(format_prefix(q.subject), "2001:2::/48");
  EXPECT_EQ(q.kind, Kind::kTrapHit);
  EXPECT_EQ(q.count, 7u);
  EXPECT_EQ(q.window_s, 300u);
  EXPECT_EQ(q.ttl_s, 3600u);
  EXPECT_EQ(q.observed_at_ms, kNowMs - 1000);
  EXPECT_EQ(q.helo, "mail.example.net");
  EXPECT_EQ(q.sender_domain, "example.net");
  EXPECT_EQ(q.evidence, "ticket-8812");
  EXPECT_EQ(format_prefix(p.observations[0].subject), "198.18.0.7");
}

TEST(FeedCodec, AcceptsAHandWrittenBodyWithUnknownMembers) {
  auto r = parse_body(
      "{ \"v\": 1, \"participant\": \"isp-a\", \"seq\": 5, \"sent_at\": " + std::to_string(kNowMs) +
      ", \"future_member\": {\"x\": [1]},\n"
      "\"observations\": [{" +
      good_obs() + ", \"colour\": \"blue\"}] }\n");
  ASSERT_TRUE(std::holds_alternative<Batch>(r));
  EXPECT_EQ(std::get<Batch>(r).observations.at(0).count, 2u);
}

TEST(FeedCodec, EveryKindRoundTrips) {
  for (size_t i = 0; i < kKindCount; ++i) {
    Kind k = static_cast<Kind>(i);
    EXPECT_EQ(kind_from_string(to_string(k)), k);
  }
  EXPECT_FALSE(kind_from_string("Complaint"));
}

TEST(FeedCodec, UnknownKindIsSkippedNotRefused) {
  auto r = parse_body(body_with_obs(
      "\"subject\":\"198.18.0.7\",\"kind\":\"new_kind\",\"count\":1,\"window\":1,\"ttl\":60,"
      "\"observed_at\":" +
      std::to_string(kNowMs)));
  ASSERT_TRUE(std::holds_alternative<Batch>(r));
  EXPECT_EQ(std::get<Batch>(r).observations.size(), 0u);
  EXPECT_EQ(std::get<Batch>(r).skipped_unknown_kind, 1u);
}

TEST(FeedCodec, ObservationTimeOutsideItsRangeIsSkipped) {
  for (int64_t at : {kNowMs + kObservedAfterSentMs + 1, kNowMs - kObservedBeforeSentMs - 1}) {
    Batch b = batch("isp-a", 1);
    b.observations[0].observed_at_ms = at;
    auto r = parse_body(encode_body(b));
    ASSERT_TRUE(std::holds_alternative<Batch>(r));
    EXPECT_TRUE(std::get<Batch>(r).observations.empty());
    EXPECT_EQ(std::get<Batch>(r).skipped_bad_time, 1u);
  }
}

TEST(FeedCodec, WrongBodyVersionIsRefused) {
  EXPECT_EQ(refusal_of("{\"v\":2,\"participant\":\"isp-a\",\"seq\":1,\"sent_at\":1,"
                       "\"observations\":[]}"),
            Refusal::kWrongVersion);
}

TEST(FeedCodec, MalformedBodiesAreRefused) {
  const std::string t = std::to_string(kNowMs);
  const std::string head = "{\"v\":1,\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + t;
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "not json",
      "{\"v\":1",
      head + ",\"observations\":[{" + good_obs() + "}]} trailing",
      head + ",\"observations\":[]}",   // empty batch
      head + "}",                       // no observations
      head + ",\"observations\":{}}",   // not an array
      head + ",\"observations\":[1]}",  // not an object
      "{\"v\":\"1\",\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + t + "}",
      "{\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + t + "}",  // no version
      "{\"v\":1,\"participant\":\"ISP A\",\"seq\":5,\"sent_at\":1,\"observations\":[{" +
          good_obs() + "}]}",
      "{\"v\":1,\"participant\":\"isp-a\",\"seq\":0,\"sent_at\":1,\"observations\":[{" +
          good_obs() + "}]}",
      "{\"v\":1,\"participant\":\"isp-a\",\"seq\":-5,\"sent_at\":1,\"observations\":[{" +
          good_obs() + "}]}",
      "{\"v\":1,\"participant\":\"isp-a\",\"seq\":5.0,\"sent_at\":1,\"observations\":[{" +
          good_obs() + "}]}",
      "{\"v\":1,\"participant\":\"isp-a\",\"seq\":9007199254740992,\"sent_at\":1,"
      "\"observations\":[{" +
          good_obs() + "}]}",
      "{\"v\":1,\"v\":1,\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + t +
          ",\"observations\":[{" + good_obs() + "}]}",  // duplicate member
      body_with_obs(good_obs() + ",\"count\":3"),       // duplicate in an obs
      body_with_obs("\"kind\":\"complaint\",\"count\":1,\"window\":1,\"ttl\":60,"
                    "\"observed_at\":1"),  // no subject
      body_with_obs("\"subject\":\"198.18.0.7/33\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.1/24\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),  // host bits set
      body_with_obs("\"subject\":\"198.18.0.07\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"example.net\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":7,\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":3,\"count\":1,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":0,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":1000001,"
                    "\"window\":1,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":604801,\"ttl\":60,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":59,\"observed_at\":" +
                    t),
      body_with_obs("\"subject\":\"198.18.0.7\",\"kind\":\"complaint\",\"count\":1,"
                    "\"window\":1,\"ttl\":60}"),  // no observed_at
      body_with_obs(good_obs() + ",\"helo\":\"bad helo\""),
      body_with_obs(good_obs() + ",\"helo\":\"\""),
      body_with_obs(good_obs() + ",\"sender_domain\":\"a@b\""),
      body_with_obs(good_obs() + ",\"evidence\":\"with space\""),
      body_with_obs(good_obs() + ",\"evidence\":\"" + std::string(129, 'x') + "\""),
      body_with_obs(good_obs() + ",\"evidence\":5"),
      body_with_obs(good_obs() + ",\"helo\":\"\xff\xfe\""),  // not UTF-8
  };
  for (const std::string &b : bodies) {
    std::string why;
    auto r = parse_body(b, &why);
    ASSERT_TRUE(std::holds_alternative<Refusal>(r)) << b;
    EXPECT_EQ(std::get<Refusal>(r), Refusal::kMalformed) << b;
    EXPECT_FALSE(why.empty()) << b;
  }
}

TEST(FeedCodec, TooManyObservationsAreRefused) {
  std::string body =
      "{\"v\":1,\"participant\":\"isp-a\",\"seq\":5,\"sent_at\":" + std::to_string(kNowMs) +
      ",\"observations\":[";
  for (size_t i = 0; i <= kMaxObservations; ++i) body += (i ? ",{" : "{") + good_obs() + "}";
  body += "]}";
  EXPECT_EQ(refusal_of(body), Refusal::kMalformed);
}

TEST(FeedCodec, EncoderRefusesWhatAReaderWouldRefuse) {
  Batch b = batch("isp-a", 1);
  b.observations.clear();
  EXPECT_THROW(encode_body(b), sluice::Error);
  b = batch("ISP", 1);
  EXPECT_THROW(encode_body(b), sluice::Error);
  b = batch("isp-a", 1);
  b.observations[0].evidence = "has space";
  EXPECT_THROW(encode_body(b), sluice::Error);
  b = batch("isp-a", 1);
  b.observations[0].ttl_s = 1;
  EXPECT_THROW(encode_body(b), sluice::Error);
}

// Observations packed by encoded_size() plus kMessageOverhead make messages within the limit,
// however large each is (a publisher packs its queue this way).
TEST(FeedCodec, PackingByEncodedSizeStaysWithinTheMessageLimit) {
  const KeyPair k = generate_keypair();
  const std::string name(kMaxParticipantName, 'p');
  for (const size_t extra : {size_t{0}, size_t{128}, size_t{255}}) {
    Batch b = batch(name, kMaxSeq, kNowMs);
    b.observations.clear();
    size_t bytes = kMessageOverhead;
    for (uint32_t i = 0;; ++i) {
      Observation o = observation("2001:2:ffff:ffff:ffff:ffff:ffff:ffff", Kind::kTrapHit,
                                  static_cast<uint32_t>(kMaxCount));
      o.subject.v6 -= i;
      o.evidence = std::string(std::min<size_t>(extra, kMaxEvidence), 'e');
      if (extra > 0) o.helo = std::string(std::min<size_t>(extra, kMaxHelo), 'h');
      const size_t size = encoded_size(o) + 1;
      if (bytes + size > kMaxMessageBytes || b.observations.size() == kMaxObservations) break;
      bytes += size;
      b.observations.push_back(o);
    }
    const std::string message = seal(name, encode_body(b), k.secret);
    EXPECT_LE(message.size(), kMaxMessageBytes) << extra;
    EXPECT_GT(message.size(),
              kMaxMessageBytes - 2 * (encoded_size(b.observations[0]) + 1) - kMessageOverhead)
        << "packing left much of the message unused";
  }
}

TEST(FeedCodec, HeaderLineIsCheckedBeforeTheBody) {
  testing::Participant a{"isp-a"};
  const std::string good = a.message(batch("isp-a", 1));
  ASSERT_TRUE(std::holds_alternative<Header>(split_message(good)));
  EXPECT_EQ(std::get<Header>(split_message(good)).participant, "isp-a");

  const std::string sig = good.substr(good.find(' ', 14) + 1, 88);
  auto refusal = [](std::string_view m) {
    auto r = split_message(m);
    return std::holds_alternative<Refusal>(r) ? std::get<Refusal>(r) : Refusal::kReplay;
  };
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a " + sig), Refusal::kMalformed);  // no line feed
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a " + sig.substr(1) + "\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a " + sig + " \n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1 Isp-A " + sig + "\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1  " + sig + "\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a " + std::string(88, '!') + "\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/1 isp-a " + sig + "\r\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("OTHER/1 isp-a " + sig + "\n{}"), Refusal::kMalformed);
  EXPECT_EQ(refusal("SLUICE-FEED/2 isp-a " + sig + "\n{}"), Refusal::kWrongVersion);
  EXPECT_EQ(refusal(std::string(kMaxMessageBytes + 1, 'x')), Refusal::kOversize);
}

TEST(FeedCodec, PrefixTextIsStrict) {
  EXPECT_EQ(format_prefix(*parse_prefix("198.18.0.0/15")), "198.18.0.0/15");
  EXPECT_EQ(format_prefix(*parse_prefix("198.18.0.7/32")), "198.18.0.7");
  EXPECT_EQ(format_prefix(*parse_prefix("::/0")), "::/0");
  for (const char *bad : {"198.18.0.0/", "198.18.0.0/015", "198.18.0.0/a", "2001:2::1/129",
                          "198.18.0.0/16/1", " 198.18.0.0", ""})
    EXPECT_FALSE(parse_prefix(bad)) << bad;
}

}  // namespace
}  // namespace sluice::feed
