// Explain over the sample sources in data/: contributions, deciding entries, level.
#include <gtest/gtest.h>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/explain.h"
#include "sluice/reputation/sources_file.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

const std::string kData = SLUICE_REP_TEST_DATA;

class ExplainSample : public ::testing::Test {
 protected:
  void SetUp() override {
    sf_ = load_sources_file(kData + "/sources.ini");
    parsed_ = parse_all(sf_);
  }
  Explanation of(const char *addr) { return explain(sf_, parsed_, *parse_ip(addr)); }
  SourcesFile sf_;
  std::vector<ParsedSource> parsed_;
};

TEST_F(ExplainSample, ListsEverySourceEntryAndWhichOneDecides) {
  Explanation x = of("198.18.1.7");
  // zen: 198.18.1.7 :127.0.0.4: (weight.127.0.0.4 = 5) decides over 198.18.1.0/24 (3);
  // spamhaus-drop: 198.18.0.0/22 (10); local: 198.18.1.7,4.
  ASSERT_EQ(x.sources.size(), 3u);
  EXPECT_EQ(x.sources[0].name, "zen");
  ASSERT_EQ(x.sources[0].entries.size(), 2u);
  EXPECT_TRUE(x.sources[0].entries[0].decides);
  EXPECT_EQ(x.sources[0].entries[0].prefix, "198.18.1.7/32");
  EXPECT_EQ(x.sources[0].entries[0].code, 0x7f000004u);
  EXPECT_EQ(x.sources[0].entries[0].line, 7u);
  EXPECT_EQ(x.sources[0].entries[0].text, "198.18.1.7 :127.0.0.4:Dynamic address");
  EXPECT_FALSE(x.sources[0].entries[1].decides);
  EXPECT_EQ(x.sources[0].contribution, 5);
  EXPECT_EQ(x.sources[1].name, "spamhaus-drop");
  EXPECT_EQ(x.sources[1].contribution, 10);
  EXPECT_EQ(x.sources[2].name, "local");
  EXPECT_EQ(x.sources[2].contribution, 4);
  EXPECT_EQ(x.score, 19);
  EXPECT_FALSE(x.allow);
}

TEST_F(ExplainSample, AnExclusionShowsAsDecidingAndContributesNothing) {
  Explanation x = of("198.18.1.9");
  ASSERT_GE(x.sources.size(), 1u);
  EXPECT_EQ(x.sources[0].name, "zen");
  EXPECT_TRUE(x.sources[0].entries[0].exclude);
  EXPECT_TRUE(x.sources[0].entries[0].decides);
  EXPECT_FALSE(x.sources[0].listed);
  EXPECT_EQ(x.score, 10);  // DROP only
}

TEST_F(ExplainSample, AgreesWithTheCompiledTable) {
  BuildResult r = build(sf_);
  for (const char *a : {"198.18.1.7", "198.18.1.9", "198.18.1.20", "198.18.4.15", "198.18.5.1",
                        "198.18.64.25", "198.18.7.2", "2001:2:0:100::25", "2001:2:0:100::26",
                        "2001:2:0:100::30", "2001:2:0:1ff::1", "2001:2:0:300::1", "192.0.2.1"}) {
    Explanation x = of(a);
    auto ip = *parse_ip(a);
    sl_rep_value v = ip.family == 4 ? value4(r.table, a) : value6(r.table, a);
    EXPECT_EQ(v.score, x.value.score) << a;
    EXPECT_EQ(v.flags, x.value.flags) << a;
  }
}

TEST_F(ExplainSample, AllowlistedSendersAreLevelZero) {
  Explanation x = of("198.18.64.25");
  EXPECT_TRUE(x.allow);
  EXPECT_EQ(x.score, 10);
  const int32_t thresholds[] = {3, 5, 8};
  EXPECT_EQ(level_for(thresholds, x.value.score, x.value.flags), 0u);
  EXPECT_EQ(level_for(thresholds, x.value.score, 0), 3u);
}

TEST(LevelFor, IsTheHighestLevelWhoseThresholdTheScoreReaches) {
  const int32_t t[] = {3, 5, 5, 9};
  EXPECT_EQ(level_for(t, -4, 0), 0u);
  EXPECT_EQ(level_for(t, 2, 0), 0u);
  EXPECT_EQ(level_for(t, 3, 0), 1u);
  EXPECT_EQ(level_for(t, 5, 0), 3u);
  EXPECT_EQ(level_for(t, 100, 0), 4u);
  EXPECT_EQ(level_for(t, 100, SL_REP_ALLOW), 0u);
}

TEST(LevelFor, ADenyIsTheHighestLevelWhateverTheScoreAndTheAllowFlag) {
  const int32_t t[] = {3, 5, 5, 9};
  EXPECT_EQ(level_for(t, -100, SL_REP_DENY), 4u);
  EXPECT_EQ(level_for(t, 0, SL_REP_DENY | SL_REP_ALLOW), 4u);
  EXPECT_EQ(level_for(std::span<const int32_t>{}, 0, SL_REP_DENY), 0u);  // no levels: pass
}

TEST(Explain, PerEntryFlagsOfTheDecidingEntryShowAndAgreeWithTheTable) {
  SourcesFile sf;
  SourceConfig c;
  c.name = "dynamic";
  c.weight = 0;
  sf.sources.push_back(c);
  std::vector<ParsedSource> parsed(1);
  EntryV4 wide{0xc6120000u, 0, 1, 0, 0, 16, false};  // 198.18.0.0/16 deny
  wide.flags = SL_REP_DENY;
  EntryV4 host{0xc6120105u, 7, 2, 0, 0, 32, false};  // 198.18.1.5 score 7
  parsed[0].v4 = {wide, host};
  Snapshot t = compile(parsed, sf.sources);
  Explanation denied = explain(sf, parsed, *parse_ip("198.18.0.1"));
  ASSERT_EQ(denied.sources.size(), 1u);
  EXPECT_EQ(denied.sources[0].flags, SL_REP_DENY);
  EXPECT_EQ(denied.sources[0].entries[0].flags, SL_REP_DENY);
  EXPECT_TRUE(denied.deny);
  EXPECT_EQ(denied.value.flags, value4(t, "198.18.0.1").flags);
  Explanation scored = explain(sf, parsed, *parse_ip("198.18.1.5"));
  EXPECT_FALSE(scored.deny);
  EXPECT_EQ(scored.value.score, 7);
  EXPECT_EQ(scored.value.flags, value4(t, "198.18.1.5").flags);
  EXPECT_EQ(scored.value.score, value4(t, "198.18.1.5").score);
}

}  // namespace
}  // namespace sluice::reputation::testing
