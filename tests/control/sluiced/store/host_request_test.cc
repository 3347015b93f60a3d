// The dynamic entries' socket requests: every field checked, every refusal names the field.
#include "host_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::sluiced {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string refusal(auto fn) {
  try {
    fn();
  } catch (const EntryError &e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(HostSetRequest, ReadsEveryField) {
  auto r = parse_host_set(json::parse(
      R"({"prefix":"198.18.0.0/24","action":"score","score":-7,"ttl":"1h30m","reason":"x y"})"));
  EXPECT_EQ(format_prefix(r.prefix), "198.18.0.0/24");
  EXPECT_EQ(r.action, Action::kScore);
  EXPECT_EQ(r.score, -7);
  EXPECT_EQ(r.ttl_seconds, 5400);
  EXPECT_EQ(r.reason, "x y");
  auto d = parse_host_set(json::parse(R"({"prefix":"2001:2::1","action":"deny"})"));
  EXPECT_EQ(d.action, Action::kDeny);
  EXPECT_FALSE(d.ttl_seconds);
  EXPECT_EQ(d.reason, "");
}

TEST(HostSetRequest, RefusesBadFieldsNamingThem) {
  struct Case {
    const char *json;
    const char *says;
  } cases[] = {
      {R"([1,2])", "not a JSON object"},
      {R"({"prefix":"198.18.0.1","action":"deny","extra":1})", "unknown field 'extra'"},
      {R"({"action":"deny"})", "missing field 'prefix'"},
      {R"({"prefix":"198.18.0.1"})", "missing field 'action'"},
      {R"({"prefix":42,"action":"deny"})", "'prefix' is not a string"},
      {R"({"prefix":"198.18.0.1/24","action":"deny"})", "host bits set"},
      {R"({"prefix":"198.18.0.1","action":"block"})", "not score, allow or deny"},
      {R"({"prefix":"198.18.0.1","action":"score"})", "missing field 'score'"},
      {R"({"prefix":"198.18.0.1","action":"deny","score":3})", "'score' with action 'deny'"},
      {R"({"prefix":"198.18.0.1","action":"score","score":2147483648})", "out of range"},
      {R"({"prefix":"198.18.0.1","action":"score","score":-2147483649})", "out of range"},
      {R"({"prefix":"198.18.0.1","action":"score","score":18446744073709551615})", "out of range"},
      {R"({"prefix":"198.18.0.1","action":"score","score":1e300})", "not an integer"},
      {R"({"prefix":"198.18.0.1","action":"score","score":"5"})", "not an integer"},
      {R"({"prefix":"198.18.0.1","action":"score","score":true})", "not an integer"},
      {R"({"prefix":"198.18.0.1","action":"deny","ttl":3600})", "'ttl' is not a string"},
      {R"({"prefix":"198.18.0.1","action":"deny","ttl":"99999999999999999999w"})",
       "longer than the longest ttl"},
      {R"({"prefix":"198.18.0.1","action":"deny","ttl":"-1"})", "expected a number"},
      {R"({"prefix":"198.18.0.1","action":"deny","reason":"a\u0000b"})", "control characters"},
      {R"({"prefix":"198.18.0.1","action":"deny","reason":"\u001b[2J"})", "control characters"},
      {R"({"prefix":"198.18.0.1","action":"deny","reason":null})", "'reason' is not a string"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_THAT(refusal([&] { parse_host_set(json::parse(c.json)); }), HasSubstr(c.says));
  }
  json long_reason = {{"prefix", "198.18.0.1"},
                      {"action", "deny"},
                      {"reason", std::string(kMaxReasonBytes + 1, 'r')}};
  EXPECT_THAT(refusal([&] { parse_host_set(long_reason); }), HasSubstr("longer than"));
}

TEST(HostUnsetAndClear, TakeAPrefixAndAnAddress) {
  EXPECT_EQ(format_prefix(parse_host_unset(json::parse(R"({"prefix":"198.18.0.0/24"})"))),
            "198.18.0.0/24");
  EXPECT_EQ(parse_clear(json::parse(R"({"address":"2001:2::7"})")).family, 6);
  EXPECT_THAT(refusal([] { parse_clear(json::parse(R"({"address":"198.18.0.0/24"})")); }),
              HasSubstr("clear takes one address"));
  EXPECT_THAT(refusal([] { parse_clear(json::parse(R"({"prefix":"198.18.0.1"})")); }),
              HasSubstr("unknown field 'prefix'"));
  EXPECT_THAT(refusal([] { parse_host_unset(json::parse(R"("198.18.0.1")")); }),
              HasSubstr("not a JSON object"));
}

TEST(MakeEntry, SetsTheAbsoluteExpiryFromTheNextWholeSecond) {
  auto r = parse_host_set(json::parse(R"({"prefix":"198.18.0.1","action":"deny","ttl":"1m"})"));
  DynamicEntry e = make_entry(r, 1'000'000, "sluicectl uid 0");
  EXPECT_EQ(e.expires, 1060);
  EXPECT_EQ(e.created, 1000);
  DynamicEntry late = make_entry(r, 1'000'999, "sluicectl uid 0");
  EXPECT_EQ(late.created, 1000);
  EXPECT_EQ(late.expires, 1061);  // a whole minute from 1000.999, not 59.001 s
  EXPECT_EQ(make_entry(r, -1'500, "x").created, -2);
  EXPECT_EQ(e.origin, "sluicectl uid 0");
  // The largest ttl from the latest clock still fits: milliseconds leave room for it.
  auto longest = parse_host_set(json::parse(R"({"prefix":"198.18.0.1","action":"deny","ttl":")" +
                                            std::to_string(kMaxTtlSeconds) + R"("})"));
  EXPECT_EQ(make_entry(longest, INT64_MAX, "x").expires, INT64_MAX / 1000 + 1 + kMaxTtlSeconds);
}

TEST(EntryJson, RoundTrips) {
  auto r = parse_host_set(json::parse(
      R"({"prefix":"2001:2::/48","action":"score","score":3,"ttl":"2w","reason":"Müller"})"));
  DynamicEntry e = make_entry(r, 1'800'000'000'000, "test");
  EXPECT_EQ(entry_from_json(to_json(e)), e);
  DynamicEntry forever = make_entry(
      parse_host_set(json::parse(R"({"prefix":"198.18.0.1","action":"allow"})")), 5'000, "test");
  EXPECT_TRUE(to_json(forever)["expires"].is_null());
  EXPECT_EQ(entry_from_json(to_json(forever)), forever);
}

}  // namespace
}  // namespace sluice::sluiced
