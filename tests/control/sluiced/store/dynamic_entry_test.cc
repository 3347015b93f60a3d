// The dynamic entries' input parsers: every field an operator or a client sends.
#include "dynamic_entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sluice::sluiced {
namespace {

using ::testing::HasSubstr;

std::string refusal(auto fn) {
  try {
    fn();
  } catch (const EntryError &e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ParsePrefix, ReadsAddressesAndPrefixesOfBothFamilies) {
  EXPECT_EQ(format_prefix(parse_prefix("198.18.0.1")), "198.18.0.1/32");
  EXPECT_EQ(format_prefix(parse_prefix("198.18.0.0/24")), "198.18.0.0/24");
  EXPECT_EQ(format_prefix(parse_prefix("198.0.0.0/8")), "198.0.0.0/8");
  EXPECT_EQ(format_prefix(parse_prefix("2001:2::1")), "2001:2::1/128");
  EXPECT_EQ(format_prefix(parse_prefix("2001:2::/48")), "2001:2::/48");
  EXPECT_EQ(format_prefix(parse_prefix("2001:0002:0::/48")), "2001:2::/48");
  EXPECT_EQ(parse_prefix("198.18.0.1").family, 4);
  EXPECT_EQ(parse_prefix("2001:2::1").family, 6);
}

TEST(ParsePrefix, RefusesHostBitsAndNamesThePrefixMeant) {
  EXPECT_THAT(refusal([] { parse_prefix("198.18.0.1/24"); }),
              HasSubstr("host bits set (the prefix is 198.18.0.0/24)"));
  EXPECT_THAT(refusal([] { parse_prefix("2001:2::1/48"); }),
              HasSubstr("host bits set (the prefix is 2001:2::/48)"));
}

TEST(ParsePrefix, RefusesWhatIsNotOnePrefix) {
  for (const char *bad :
       {"", "198.18.0", "198.18.0.256", "198.18.0.1/33", "198.18.0.0/-1", "198.18.0.0/+24",
        "198.18.0.0/024", "198.18.0.0/", "198.18.0.0/24/24", " 198.18.0.1", "198.18.0.1 ",
        "2001:2::/129", "2001:2::1/1280", "host.example", "198.18.0.0/99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(refusal([&] { parse_prefix(bad); }), "(accepted)");
  }
  EXPECT_NE(refusal([] { parse_prefix(std::string("198.18.0.1\0/8", 13)); }), "(accepted)");
  EXPECT_NE(refusal([] { parse_prefix(std::string("2001:2::1\0junk", 14)); }), "(accepted)");
}

TEST(ParsePrefix, RefusesPrefixesWiderThanTheWidestDynamicEntry) {
  EXPECT_THAT(refusal([] { parse_prefix("0.0.0.0/0"); }), HasSubstr("wider than /8"));
  EXPECT_THAT(refusal([] { parse_prefix("192.0.0.0/7"); }), HasSubstr("wider than /8"));
  EXPECT_THAT(refusal([] { parse_prefix("::/0"); }), HasSubstr("wider than /16"));
  EXPECT_THAT(refusal([] { parse_prefix("2000::/15"); }), HasSubstr("wider than /16"));
}

TEST(ParsePrefix, RefusesIPv4MappedAddresses) {
  EXPECT_THAT(refusal([] { parse_prefix("::ffff:198.18.0.1"); }), HasSubstr("IPv4-mapped"));
}

TEST(ParsePrefix, QuotesHostileInputHarmlessly) {
  std::string msg = refusal([] { parse_prefix("\x1b[31m" + std::string(500, 'x')); });
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("\x1b")));
  EXPECT_LT(msg.size(), 300u);
}

TEST(DynamicPrefix, CoversAddressesOfItsFamilyInside) {
  auto p = parse_prefix("198.18.1.0/24");
  EXPECT_TRUE(p.covers(*reputation::parse_ip("198.18.1.200")));
  EXPECT_FALSE(p.covers(*reputation::parse_ip("198.18.2.1")));
  EXPECT_FALSE(p.covers(*reputation::parse_ip("2001:2::1")));
  EXPECT_TRUE(parse_prefix("2001:2::/48").covers(*reputation::parse_ip("2001:2::ff")));
}

TEST(ParseTtl, ReadsSecondsAndUnits) {
  EXPECT_EQ(parse_ttl("90"), 90);
  EXPECT_EQ(parse_ttl("90s"), 90);
  EXPECT_EQ(parse_ttl("15m"), 900);
  EXPECT_EQ(parse_ttl("1h"), 3600);
  EXPECT_EQ(parse_ttl("1h30m"), 5400);
  EXPECT_EQ(parse_ttl("7d"), 7 * 86400);
  EXPECT_EQ(parse_ttl("2w"), 14 * 86400);
  EXPECT_EQ(parse_ttl("1w2d3h4m5s"), 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
  EXPECT_EQ(parse_ttl(std::to_string(kMaxTtlSeconds)), kMaxTtlSeconds);
}

TEST(ParseTtl, RefusesZeroSignsUnknownUnitsAndMissingUnits) {
  for (const char *bad :
       {"", "0", "0s", "-5", "+5", " 5", "5 ", "5x", "1h30", "h", "1.5h", "01h", "5ss", "1hh"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(refusal([&] { parse_ttl(bad); }), "(accepted)");
  }
  EXPECT_THAT(refusal([] { parse_ttl("0"); }), HasSubstr("leave the ttl out"));
}

TEST(ParseTtl, RefusesOverflowAndTtlsPastTheLongest) {
  for (const char *bad :
       {"99999999999999999999999999", "18446744073709551616", "9223372036854775807",
        "9223372036854775807w", "5300w", "36700d", "1000000000000000000s1s"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(refusal([&] { parse_ttl(bad); }), HasSubstr("longer than the longest ttl"));
  }
  EXPECT_NE(refusal([] { parse_ttl(std::to_string(kMaxTtlSeconds + 1)); }), "(accepted)");
}

TEST(FormatTtl, IsReadBackByParseTtl) {
  for (int64_t s : {int64_t{1}, int64_t{59}, int64_t{60}, int64_t{5400}, int64_t{86400 * 9 + 7},
                    kMaxTtlSeconds})
    EXPECT_EQ(parse_ttl(format_ttl(s)), s) << format_ttl(s);
  EXPECT_EQ(format_ttl(5400), "1h30m");
}

TEST(ExpiryAfter, RefusesASumPastTheEndOfTime) {
  EXPECT_EQ(expiry_after(1'000'000, 60), 1060);
  EXPECT_NE(refusal([] { expiry_after(INT64_MAX - 10, INT64_MAX - INT64_MAX / 1000); }),
            "(accepted)");
  // The rounding up: INT64_MAX / 1000 + 1 + ttl overflows, INT64_MAX / 1000 + ttl would not.
  EXPECT_NE(refusal([] { expiry_after(INT64_MAX, INT64_MAX - INT64_MAX / 1000); }), "(accepted)");
  EXPECT_EQ(expiry_after(INT64_MAX / 1000 * 1000, INT64_MAX - INT64_MAX / 1000), INT64_MAX);
  EXPECT_NE(refusal([] { expiry_after(1'000'000, 0); }), "(accepted)");
  EXPECT_EQ(expiry_after(INT64_MIN, 1), INT64_MIN / 1000 + 1);
}

// Expiry compares whole seconds. An entry made late in a second must still get its whole ttl:
// with the start rounded down, a 1 s entry made at 1000.999 expired at 1001, 1 ms later, before
// the data planes had even been sent it.
TEST(ExpiryAfter, GivesEveryEntryAtLeastItsWholeTtl) {
  for (int64_t ms :
       {int64_t{1'000'000}, int64_t{1'000'001}, int64_t{1'000'500}, int64_t{1'000'999}}) {
    for (int64_t ttl : {int64_t{1}, int64_t{2}, int64_t{3600}}) {
      DynamicEntry e;
      e.expires = expiry_after(ms, ttl);
      // In force at every whole second before ms + ttl, expired within a second after it.
      const int64_t last_in_force = (ms + ttl * 1000 - 1) / 1000;
      EXPECT_FALSE(e.expired_at(last_in_force)) << ms << " ms + " << ttl << " s";
      EXPECT_TRUE(e.expired_at((ms + ttl * 1000) / 1000 + 1)) << ms << " ms + " << ttl << " s";
    }
  }
}

TEST(CheckText, AcceptsPlainAndUtf8Text) {
  EXPECT_NO_THROW(check_text("", 10, "reason"));
  EXPECT_NO_THROW(check_text("fail2ban postfix-sasl: 5 failures", 100, "reason"));
  EXPECT_NO_THROW(check_text("Müller spam \xe2\x9c\x93 \xf0\x9f\x93\xa7", 100, "reason"));
}

TEST(CheckText, RefusesControlCharactersBadUtf8AndLongText) {
  const std::string bad[] = {
      "a\nb",
      "a\rb",
      "a\tb",
      std::string("a\0b", 3),
      "\x1b[2J",
      "a\x7f",
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong
      "\xed\xa0\x80",      // a surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "\xc3",              // cut short
      "\x80",              // a continuation byte alone
      "\xc2\x85",          // C1 control (NEL)
      "\xff",
  };
  for (const auto &t : bad) EXPECT_NE(refusal([&] { check_text(t, 100, "reason"); }), "(accepted)");
  EXPECT_THAT(refusal([] { check_text(std::string(257, 'a'), 256, "reason"); }),
              HasSubstr("longer than 256 bytes"));
}

TEST(Action, NamesRoundTrip) {
  for (Action a : {Action::kScore, Action::kAllow, Action::kDeny})
    EXPECT_EQ(action_from_string(to_string(a)), a);
  EXPECT_FALSE(action_from_string("block"));
}

}  // namespace
}  // namespace sluice::sluiced
