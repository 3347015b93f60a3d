// LiveTable: the last snapshot plus deltas, and its saved form tied to an owner id.
#include "sluice/reputation/live_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class LiveTableFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-live-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static Snapshot hosts(std::vector<const char *> addrs, int32_t score) {
    std::vector<HostV4> h;
    for (const char *a : addrs) h.push_back({be4(a), {score, 0}});
    return Snapshot::from_entries(h, {}, {}, {});
  }
  fs::path dir_;
};

TEST_F(LiveTableFiles, ADeltaAppliesToTheCommittedTableOnlyOnCommit) {
  const Snapshot a = hosts({"198.18.0.1", "198.18.0.2"}, 3);
  const Snapshot b = hosts({"198.18.0.2", "198.18.0.3"}, 3);
  LiveTable live;
  EXPECT_EQ(live.entries(), 0u);
  live.commit(a);
  const Snapshot next = live.with_delta(diff(a, b));
  EXPECT_EQ(live.current().hosts_v4()[0].addr_be, be4("198.18.0.1"));  // not yet committed
  live.commit(next);
  ASSERT_EQ(live.entries(), 2u);
  EXPECT_EQ(live.current().hosts_v4()[1].addr_be, be4("198.18.0.3"));
  EXPECT_THROW(live.with_delta(diff(a, b)), Error);  // does not fit the new table
}

TEST_F(LiveTableFiles, RestoredOnlyByTheSameOwner) {
  LiveTable live(hosts({"198.18.0.1"}, 3));
  live.save(dir_.string(), 0xabcdef0123456789u);
  EXPECT_EQ(LiveTable::restore(dir_.string(), 0xabcdef0123456789u).entries(), 1u);
  try {
    LiveTable::restore(dir_.string(), 42);
    FAIL() << "restored under another owner";
  } catch (const StaleStateError &e) {
    EXPECT_THAT(e.what(), HasSubstr("another attachment"));
    EXPECT_THAT(e.what(), HasSubstr("load a full snapshot"));
  }
}

TEST_F(LiveTableFiles, NothingSavedIsStale) {
  EXPECT_THROW(LiveTable::restore(dir_.string(), 1), StaleStateError);
  // A snapshot without its owner line (a save interrupted between the two files) too.
  LiveTable(hosts({"198.18.0.1"}, 3)).save(dir_.string(), 1);
  fs::remove(dir_ / "table.owner");
  EXPECT_THROW(LiveTable::restore(dir_.string(), 1), StaleStateError);
}

// save_link: the table saved in one folder saved in another for a new owner without writing it
// again; a later save in the first folder does not change the second.
TEST_F(LiveTableFiles, ALinkedSaveKeepsTheTableTheFirstFolderHad) {
  const fs::path from = dir_ / "live", to = dir_ / "standby";
  LiveTable(hosts({"198.18.0.1", "198.18.0.2"}, 3)).save(from.string(), 1);
  LiveTable::save_link(from.string(), to.string(), 2);
  EXPECT_EQ(fs::hard_link_count(to / "table.snapshot"), 2u) << "written again, not linked";
  LiveTable(hosts({"198.18.0.9"}, 5)).save(from.string(), 1);

  const LiveTable kept = LiveTable::restore(to.string(), 2);
  ASSERT_EQ(kept.entries(), 2u);
  EXPECT_EQ(kept.current().hosts_v4()[0].addr_be, be4("198.18.0.1"));
  EXPECT_THROW(LiveTable::restore(to.string(), 1), StaleStateError) << "owner 2's, not 1's";
  const LiveTable now = LiveTable::restore(from.string(), 1);
  ASSERT_EQ(now.entries(), 1u);
  EXPECT_EQ(now.current().hosts_v4()[0].value.score, 5);
}

// Nothing to link: refused, and the target folder is left with no owner line, so nothing stale
// is restored from it (not even what it held before).
TEST_F(LiveTableFiles, ALinkWithNoTableToLinkLeavesNothingToRestore) {
  const fs::path from = dir_ / "empty", to = dir_ / "standby";
  fs::create_directories(from);
  LiveTable(hosts({"198.18.0.1"}, 3)).save(to.string(), 2);
  EXPECT_THROW(LiveTable::save_link(from.string(), to.string(), 2), Error);
  EXPECT_THROW(LiveTable::restore(to.string(), 2), StaleStateError);
}

TEST_F(LiveTableFiles, ADamagedOwnerFileIsRefusedWithItsName) {
  LiveTable(hosts({"198.18.0.1"}, 3)).save(dir_.string(), 1);
  for (const char *text : {"", "sluice-table-owner\n", "sluice-table-owner 1", "owner 1\n",
                           "sluice-table-owner 12345678901234567\n", "sluice-table-owner 1x\n",
                           "sluice-table-owner 1\nmore\n"}) {
    std::ofstream(dir_ / "table.owner", std::ios::trunc) << text;
    try {
      LiveTable::restore(dir_.string(), 1);
      FAIL() << "accepted owner file '" << text << "'";
    } catch (const FormatError &e) {
      EXPECT_THAT(e.what(), HasSubstr("table.owner:1:")) << text;
    }
  }
}

}  // namespace
}  // namespace sluice::reputation::testing
