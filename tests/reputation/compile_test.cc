// The score model, as the compiled table answers it.
#include <gtest/gtest.h>

#include <tuple>

#include "sluice/reputation/compile.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

// Builds a table from sources given as (type, weight, allow, text).
struct Src {
  SourceType type;
  int32_t weight;
  bool allow;
  const char *text;
};
Snapshot table(std::initializer_list<Src> srcs) {
  std::vector<SourceConfig> cfgs;
  std::vector<ParsedSource> parsed;
  for (const Src &s : srcs) {
    auto c = config(s.type, s.weight);
    c.allow = s.allow;
    c.name = std::string(1, 's') += std::to_string(cfgs.size());
    parsed.push_back(parse_source_text(c, s.text, c.name, static_cast<uint16_t>(cfgs.size())));
    EXPECT_EQ(parsed.back().malformed(), 0u) << ::testing::PrintToString(parsed.back().problems);
    cfgs.push_back(c);
  }
  return compile(parsed, cfgs);
}

MATCHER_P2(Value, score, flags, "") {
  return arg.score == score && arg.flags == flags;
}

TEST(Compile, ASourceCountsOnceForAnAddressListedTwice) {
  auto t = table({{SourceType::kList, 3, false, "198.18.0.1\n198.18.0.1\n198.18.0.0/24\n"}});
  EXPECT_THAT(value4(t, "198.18.0.1"), Value(3, 0u));
  EXPECT_THAT(value4(t, "198.18.0.2"), Value(3, 0u));
  EXPECT_THAT(value4(t, "198.18.1.1"), Value(0, 0u));
}

TEST(Compile, TheMostSpecificEntryOfASourceDecides) {
  // Distinct weights per entry (2, 5, 11; no sum of some of them equals another), listed in
  // every order: only the most specific entry covering an address may decide its score.
  const char *orders[] = {"198.18.0.0/16,2\n198.18.1.0/24,5\n198.18.1.1,11\n",
                          "198.18.1.1,11\n198.18.1.0/24,5\n198.18.0.0/16,2\n",
                          "198.18.1.0/24,5\n198.18.1.1,11\n198.18.0.0/16,2\n"};
  for (const char *text : orders) {
    SCOPED_TRACE(text);
    auto t = table({{SourceType::kList, 1, false, text}});
    EXPECT_THAT(value4(t, "198.18.1.1"), Value(11, 0u));  // the host entry
    EXPECT_THAT(value4(t, "198.18.1.2"), Value(5, 0u));   // the /24
    EXPECT_THAT(value4(t, "198.18.2.2"), Value(2, 0u));   // the /16
    EXPECT_THAT(value4(t, "198.19.0.1"), Value(0, 0u));
  }
}

TEST(Compile, TheMostSpecificRbldnsdEntryDecidesByItsReturnCode) {
  SourceConfig c = config(SourceType::kRbldnsdIp4set, 1);
  c.code_weights[0x7f000002] = 2;
  c.code_weights[0x7f000004] = 5;
  c.code_weights[0x7f00000b] = 11;
  auto p = parse(c, "198.18.1.1 :11:\n198.18.0.0/16 :2:\n198.18.1.0/24 :4:\n");
  ASSERT_EQ(p.malformed(), 0u) << ::testing::PrintToString(p.problems);
  std::vector<ParsedSource> ps{p};
  std::vector<SourceConfig> cs{c};
  auto t = compile(ps, cs);
  EXPECT_THAT(value4(t, "198.18.1.1"), Value(11, 0u));
  EXPECT_THAT(value4(t, "198.18.1.2"), Value(5, 0u));
  EXPECT_THAT(value4(t, "198.18.2.2"), Value(2, 0u));
}

TEST(Compile, ReturnCodeWeightOfTheMostSpecificEntryApplies) {
  SourceConfig c = config(SourceType::kRbldnsdIp4set, 3);
  c.code_weights[0x7f000004] = 5;
  auto p = parse(c, "198.18.0.0/24\n198.18.0.5 :4:\n");
  std::vector<ParsedSource> ps{p};
  std::vector<SourceConfig> cs{c};
  auto t = compile(ps, cs);
  EXPECT_THAT(value4(t, "198.18.0.5"), Value(5, 0u));
  EXPECT_THAT(value4(t, "198.18.0.6"), Value(3, 0u));
}

TEST(Compile, PrefixesOfDifferentSourcesAddUp) {
  auto t = table({{SourceType::kList, 2, false, "198.18.0.0/15\n"},
                  {SourceType::kDrop, 10, false, "198.18.4.0/22 ; SBL1\n"},
                  {SourceType::kList, 1, false, "198.18.4.9\n"}});
  EXPECT_THAT(value4(t, "198.18.4.9"), Value(13, 0u));
  EXPECT_THAT(value4(t, "198.18.4.10"), Value(12, 0u));
  EXPECT_THAT(value4(t, "198.19.0.1"), Value(2, 0u));
  EXPECT_THAT(value4(t, "198.20.0.1"), Value(0, 0u));
}

TEST(Compile, AnExclusionRemovesTheAddressFromItsSourceOnly) {
  auto t = table({{SourceType::kRbldnsdIp4set, 3, false, "198.18.0.0/24\n!198.18.0.5\n"},
                  {SourceType::kList, 4, false, "198.18.0.5\n198.18.0.6\n"}});
  EXPECT_THAT(value4(t, "198.18.0.5"), Value(4, 0u));
  EXPECT_THAT(value4(t, "198.18.0.6"), Value(7, 0u));
  EXPECT_THAT(value4(t, "198.18.0.7"), Value(3, 0u));
}

TEST(Compile, AnExclusionWinsOverAnEntryOfTheSamePrefix) {
  auto t = table({{SourceType::kRbldnsdIp4set, 3, false, "198.18.0.5\n!198.18.0.5\n"}});
  EXPECT_THAT(value4(t, "198.18.0.5"), Value(0, 0u));
}

TEST(Compile, AllowSourcesSetTheFlagWhateverTheScore) {
  auto t = table({{SourceType::kDrop, 10, false, "198.18.0.0/16 ; SBL1\n"},
                  {SourceType::kList, 0, true, "198.18.0.25\n!198.18.0.26\n"}});
  EXPECT_THAT(value4(t, "198.18.0.25"), Value(10, SL_REP_ALLOW));
  EXPECT_THAT(value4(t, "198.18.0.26"), Value(10, 0u));
}

// A source given entry by entry, with per-entry flags (as sluiced's dynamic entries are).
ParsedSource flagged(std::initializer_list<std::tuple<const char *, int32_t, uint32_t>> rows) {
  ParsedSource p;
  uint32_t line = 0;
  for (const auto &[text, weight, flags] : rows) {
    std::string t = text;
    auto slash = t.find('/');
    IpAddress ip = *parse_ip(t.substr(0, slash));
    int len =
        slash == std::string::npos ? (ip.family == 4 ? 32 : 128) : std::stoi(t.substr(slash + 1));
    if (ip.family == 4) {
      EntryV4 e{ip.v4, weight, ++line, 0, 0, static_cast<uint8_t>(len), false};
      e.flags = flags & 3u;
      p.v4.push_back(e);
    } else {
      EntryV6 e{ip.v6, weight, ++line, 0, 0, static_cast<uint8_t>(len), false};
      e.flags = flags & 3u;
      p.v6.push_back(e);
    }
  }
  return p;
}

TEST(Compile, APerEntryDenyOrAllowCountsOnlyWhereItsEntryDecides) {
  // Dynamic entries: a denied /16, a scored /24 inside it, an allowed host inside that.
  std::vector<ParsedSource> parsed;
  parsed.push_back(
      parse_source_text(config(SourceType::kDrop, 10), "198.18.0.0/15 ; SBL1\n", "drop", 0));
  parsed.push_back(flagged({{"198.18.0.0/16", 0, SL_REP_DENY},
                            {"198.18.1.0/24", 5, 0},
                            {"198.18.1.7", 0, SL_REP_ALLOW},
                            {"2001:2::/48", 0, SL_REP_DENY}}));
  for (auto &e : parsed[1].v4) e.source = 1;
  for (auto &e : parsed[1].v6) e.source = 1;
  std::vector<SourceConfig> cfgs{config(SourceType::kDrop, 10), config(SourceType::kList, 0)};
  Snapshot t = compile(parsed, cfgs);
  EXPECT_THAT(value4(t, "198.18.0.1"), Value(10, SL_REP_DENY));   // the /16 decides: deny
  EXPECT_THAT(value4(t, "198.18.1.1"), Value(15, 0u));            // the /24 decides: +5, no deny
  EXPECT_THAT(value4(t, "198.18.1.7"), Value(10, SL_REP_ALLOW));  // the host decides: allow
  EXPECT_THAT(value4(t, "198.19.0.1"), Value(10, 0u));            // outside: the list only
  EXPECT_THAT(value6(t, "2001:2::1"), Value(0, SL_REP_DENY));
  EXPECT_THAT(value6(t, "2001:3::1"), Value(0, 0u));
}

TEST(Compile, ADenyAndAnAllowlistBothShowInTheFlags) {
  // Allow and deny from different sources: both flags set; the packet core lets deny win.
  std::vector<ParsedSource> parsed;
  parsed.push_back(parse_source_text(config(SourceType::kList, 0), "198.18.0.5\n", "allow", 0));
  parsed.push_back(flagged({{"198.18.0.0/24", 0, SL_REP_DENY}}));
  parsed[1].v4[0].source = 1;
  std::vector<SourceConfig> cfgs{config(SourceType::kList, 0), config(SourceType::kList, 0)};
  cfgs[0].allow = true;
  Snapshot t = compile(parsed, cfgs);
  EXPECT_THAT(value4(t, "198.18.0.5"), Value(0, SL_REP_ALLOW | SL_REP_DENY));
  EXPECT_THAT(value4(t, "198.18.0.6"), Value(0, SL_REP_DENY));
}

TEST(Compile, NegativeWeightsVouchForASender) {
  auto t = table({{SourceType::kDrop, 10, false, "198.18.0.0/16 ; SBL1\n"},
                  {SourceType::kList, -4, false, "198.18.1.0/24\n"}});
  EXPECT_THAT(value4(t, "198.18.1.1"), Value(6, 0u));
}

TEST(Compile, HostEntriesCarryTheEffectiveScoreAndRedundantEntriesAreLeftOut) {
  auto t = table({{SourceType::kList, 2, false, "198.18.0.0/16\n198.18.0.7\n"},
                  {SourceType::kList, 5, false, "198.18.0.7\n198.18.0.0/24\n"}});
  // 198.18.0.7 scores 2 + 5 (each source counted once), as its /24 does: no host entry needed.
  ASSERT_EQ(t.hosts_v4().size(), 0u);
  ASSERT_EQ(t.prefixes_v4().size(), 2u);
  EXPECT_EQ(t.prefixes_v4()[0].len, 16);
  EXPECT_EQ(t.prefixes_v4()[0].value.score, 2);
  EXPECT_EQ(t.prefixes_v4()[1].len, 24);
  EXPECT_EQ(t.prefixes_v4()[1].value.score, 7);
  EXPECT_THAT(value4(t, "198.18.0.7"), Value(7, 0u));
}

TEST(Compile, IPv6FollowsTheSameModel) {
  auto t = table(
      {{SourceType::kRbldnsdIp6trie, 3, false, "2001:2::/48\n!2001:2::5\n2001:2:0:1::/64 :4:\n"},
       {SourceType::kDropJson, 10, false, R"({"cidr":"2001:2:0:1::/64"})"},
       {SourceType::kList, 0, true, "2001:2::7\n"}});
  EXPECT_THAT(value6(t, "2001:2::1"), Value(3, 0u));
  EXPECT_THAT(value6(t, "2001:2::5"), Value(0, 0u));
  EXPECT_THAT(value6(t, "2001:2::7"), Value(3, SL_REP_ALLOW));
  EXPECT_THAT(value6(t, "2001:2:0:1::9"), Value(13, 0u));
  EXPECT_THAT(value6(t, "2001:3::1"), Value(0, 0u));
}

TEST(Compile, DefaultRoutesCoverEverything) {
  auto t = table({{SourceType::kList, 1, false, "0.0.0.0/0\n198.18.0.1,5\n::/0\n2001:2::1,5\n"}});
  EXPECT_THAT(value4(t, "0.0.0.0"), Value(1, 0u));
  EXPECT_THAT(value4(t, "255.255.255.255"), Value(1, 0u));
  EXPECT_THAT(value4(t, "198.18.0.1"), Value(5, 0u));
  EXPECT_THAT(value6(t, "ffff::1"), Value(1, 0u));
  EXPECT_THAT(value6(t, "2001:2::1"), Value(5, 0u));
}

TEST(Compile, ScoresSaturateAtTheInt32Range) {
  auto t = table({{SourceType::kList, 2000000000, false, "198.18.0.1\n"},
                  {SourceType::kList, 2000000000, false, "198.18.0.1\n"}});
  EXPECT_THAT(value4(t, "198.18.0.1"), Value(INT32_MAX, 0u));
}

}  // namespace
}  // namespace sluice::reputation::testing
