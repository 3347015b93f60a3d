// The guards on a new list version and what SourceSet does with their verdicts: a refused
// version never goes live, the last good one stays (also across a restart), `accept_once`
// overrides empty and shrink but not a parse failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/log.h"
#include "sources/guard.h"
#include "sources/source_set.h"
#include "test_dir.h"

namespace sluice::sluiced {
namespace {

using testing::addresses;
using ::testing::HasSubstr;
using testing::TestDir;

TEST(Guard, AcceptsAFirstVersionWithEntries) {
  EXPECT_TRUE(judge({std::nullopt, 10, "", 50, false}).accepted());
}

TEST(Guard, RefusesAParseFailureEvenWhenForced) {
  const auto d = judge({5, std::nullopt, "x.zone:3: bad address", 50, true});
  EXPECT_EQ(d.verdict, GuardVerdict::kParseError);
  EXPECT_THAT(d.reason, HasSubstr("x.zone:3: bad address"));
}

TEST(Guard, RefusesZeroEntriesUnlessForced) {
  EXPECT_EQ(judge({std::nullopt, 0, "", 50, false}).verdict, GuardVerdict::kEmpty);
  EXPECT_EQ(judge({100, 0, "", 100, false}).verdict, GuardVerdict::kEmpty);
  EXPECT_TRUE(judge({100, 0, "", 50, true}).accepted());
}

TEST(Guard, RefusesAShrinkBeyondMaxShrink) {
  EXPECT_TRUE(judge({100, 50, "", 50, false}).accepted());  // exactly 50%: allowed
  const auto d = judge({100, 49, "", 50, false});
  EXPECT_EQ(d.verdict, GuardVerdict::kShrink);
  EXPECT_EQ(d.reason, "shrinks from 100 to 49 entries (51%, more than max_shrink 50%)");
  EXPECT_TRUE(judge({100, 49, "", 60, false}).accepted());
  EXPECT_TRUE(judge({100, 1, "", 100, false}).accepted());  // 100: shrink guard off
  EXPECT_TRUE(judge({100, 1, "", 50, true}).accepted());
  EXPECT_TRUE(judge({100, 1000, "", 0, false}).accepted());  // growth is never refused
}

class SourceSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink([this](LogLevel, std::string_view m) { logs.emplace_back(m); });
    cfg.state_dir = dir / "state";
    cfg.sources = dir.write("sources.ini", "[local]\ntype = list\npath = local.txt\nweight = 3\n");
  }
  void TearDown() override { set_log_sink(nullptr); }
  size_t live_entries(const SourceSet &s) {
    auto l = s.live();
    return l.at(0).parsed ? entry_count(*l.at(0).parsed) : 0;
  }
  TestDir dir;
  SluicedConfig cfg;
  std::vector<std::string> logs;
};

TEST_F(SourceSetTest, ShrinkIsRefusedAndTheLastGoodVersionStaysLive) {
  dir.write("local.txt", addresses(100));
  SourceSet s(cfg);
  s.load_config();
  ASSERT_TRUE(s.refresh("local")->accepted());
  EXPECT_EQ(live_entries(s), 100u);
  std::vector<SourceEvent> events;
  s.on_event = [&](const SourceEvent &e) { events.push_back(e); };
  dir.write("local.txt", addresses(10));
  const auto d = s.refresh("local");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, GuardVerdict::kShrink);
  EXPECT_EQ(live_entries(s), 100u);
  const auto st = s.status(WallClock::now()).at(0);
  EXPECT_EQ(st.state, SourceState::kRejected);
  EXPECT_EQ(st.rejections, 1u);
  EXPECT_THAT(st.last_rejection, HasSubstr("shrinks from 100 to 10"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].accepted);
  EXPECT_THAT(logs.back(), HasSubstr("source local: "));
  EXPECT_THAT(logs.back(), HasSubstr("refused, shrinks from 100 to 10"));
  EXPECT_THAT(logs.back(), HasSubstr("last good version (100 entries) stays live"));
  // The same file again is not re-read (its identity did not change) ...
  EXPECT_FALSE(s.refresh("local"));
  // ... and accepting it once makes it live.
  EXPECT_TRUE(s.refresh("local", true, true)->accepted());
  EXPECT_EQ(live_entries(s), 10u);
  EXPECT_TRUE(events.back().forced);
}

TEST_F(SourceSetTest, EmptyAndUnparsableVersionsAreRefused) {
  dir.write("local.txt", addresses(20));
  cfg.max_shrink = 100;  // only the empty guard can refuse
  SourceSet s(cfg);
  s.load_config();
  s.refresh_all();
  dir.write("local.txt", "# nothing listed today\n");
  EXPECT_EQ(s.refresh("local")->verdict, GuardVerdict::kEmpty);
  EXPECT_EQ(live_entries(s), 20u);
  // More malformed lines than max_malformed (100): does not parse.
  std::string junk;
  for (int i = 0; i < 150; ++i) junk += "not-an-address\n";
  dir.write("local.txt", junk);
  const auto d = s.refresh("local");
  EXPECT_EQ(d->verdict, GuardVerdict::kParseError);
  EXPECT_THAT(d->reason, HasSubstr(dir / "local.txt"));  // the list's own name, not the copy
  EXPECT_EQ(d->reason.find("/state/"), std::string::npos);
  EXPECT_EQ(s.refresh("local", true, true)->verdict, GuardVerdict::kParseError);
  EXPECT_EQ(live_entries(s), 20u);
  // A list that disappears: refused too.
  std::filesystem::remove(dir / "local.txt");
  EXPECT_EQ(s.refresh("local")->verdict, GuardVerdict::kParseError);
  EXPECT_EQ(live_entries(s), 20u);
}

// A list whose read does not match what fstat said of it (being written in place, or not a
// stable file at all) is copied again and, still so, refused: a copy taken mid-write could parse
// as a shorter list and go live. A procfs file says size 0 and reads as more, every time.
TEST_F(SourceSetTest, AFileThatDoesNotReadAsItsSizeIsRefusedAndTheLastGoodVersionStaysLive) {
  dir.write("local.txt", addresses(20));
  SourceSet s(cfg);
  s.load_config();
  s.refresh_all();
  ASSERT_EQ(live_entries(s), 20u);
  std::filesystem::remove(dir / "local.txt");
  std::filesystem::create_symlink("/proc/self/status", dir / "local.txt");
  const auto d = s.refresh("local");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, GuardVerdict::kParseError);
  EXPECT_THAT(d->reason, HasSubstr("changed while it was read"));
  EXPECT_EQ(live_entries(s), 20u);
}

TEST_F(SourceSetTest, ARestartStartsFromTheLastGoodVersionNotTheCurrentFile) {
  dir.write("local.txt", addresses(30));
  {
    SourceSet s(cfg);
    s.load_config();
    s.refresh_all();
  }
  dir.write("local.txt", "");  // the list went bad while sluiced was down
  SourceSet s(cfg);
  s.load_config();
  EXPECT_EQ(live_entries(s), 30u);  // restored before any read
  s.refresh_all();
  EXPECT_EQ(live_entries(s), 30u);
  EXPECT_EQ(s.status(WallClock::now()).at(0).state, SourceState::kRejected);
}

TEST_F(SourceSetTest, ChangedSettingsDoNotRestoreAVersionMadeForOthers) {
  dir.write("local.txt", addresses(30));
  {
    SourceSet s(cfg);
    s.load_config();
    s.refresh_all();
  }
  dir.write("sources.ini", "[local]\ntype = list\npath = local.txt\nweight = 4\n");
  SourceSet s(cfg);
  s.load_config();
  EXPECT_EQ(live_entries(s), 0u);
}

TEST_F(SourceSetTest, StaleWhenOlderThanMaxAge) {
  dir.write("local.txt", addresses(5));
  cfg.per_source["local"].max_age = std::chrono::hours(1);
  SourceSet s(cfg);
  s.load_config();
  s.refresh_all();
  EXPECT_FALSE(s.status(WallClock::now()).at(0).stale);
  EXPECT_TRUE(s.status(WallClock::now() + std::chrono::hours(2)).at(0).stale);
}

TEST_F(SourceSetTest, SourceNamesNeverEscapeTheStateDirectory) {
  cfg.sources = dir.write("sources.ini", "[/evil]\ntype = list\npath = local.txt\n");
  dir.write("local.txt", addresses(3));
  SourceSet s(cfg);
  s.load_config();
  ASSERT_TRUE(s.refresh("/evil")->accepted());
  EXPECT_FALSE(std::filesystem::exists("/evil.good"));
  EXPECT_TRUE(std::filesystem::exists(dir / "state/sources/%2Fevil.good"));
}

}  // namespace
}  // namespace sluice::sluiced
