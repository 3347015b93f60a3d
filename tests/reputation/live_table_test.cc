// LiveTable: the last snapshot plus deltas, and its saved form tied to an owner id.
#include "sluice/reputation/live_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
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

// 200 hosts 198.18.0.0 .. 198.18.0.199 with the given score, and `extra` more from 198.18.1.0.
static Snapshot numbered(int32_t score, int extra = 0) {
  std::vector<HostV4> h = numbered_hosts(0, 200, score);
  const std::vector<HostV4> more = numbered_hosts(0x100, static_cast<uint32_t>(extra), score);
  h.insert(h.end(), more.begin(), more.end());
  return Snapshot::from_entries(h, {}, {}, {});
}

static ino_t inode(const fs::path &p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Small changes to a restored table are saved as the delta from its base: the base file is not
// written again, each save's delta is from the base (not from the previous save), and restore()
// and saved_header() give the latest table.
TEST_F(LiveTableFiles, SmallChangesAreSavedAsADeltaFromTheBase) {
  LiveTable(numbered(3)).save(dir_.string(), 7);
  const ino_t base = inode(dir_ / "table.snapshot");
  EXPECT_FALSE(fs::exists(dir_ / "table.delta")) << "a table saved whole has no delta";
  for (int extra = 1; extra <= 3; ++extra) {
    SCOPED_TRACE(extra);
    LiveTable live = LiveTable::restore(dir_.string(), 7);
    live.commit(numbered(3, extra));
    live.save(dir_.string(), 7);
    EXPECT_EQ(inode(dir_ / "table.snapshot"), base) << "the base was written again";
    ASSERT_TRUE(fs::exists(dir_ / "table.delta"));
    EXPECT_EQ(Delta::load((dir_ / "table.delta").string()).size(), static_cast<size_t>(extra));
    const LiveTable back = LiveTable::restore(dir_.string(), 7);
    EXPECT_EQ(back.current().checksum(), numbered(3, extra).checksum());
    const LiveTable::SavedHeader h = LiveTable::saved_header(dir_.string());
    EXPECT_EQ(h.header.checksum, numbered(3, extra).checksum());
    EXPECT_EQ(h.header.counts[0], 200u + static_cast<uint64_t>(extra));
  }
  // Back to the base itself: no delta left.
  LiveTable live = LiveTable::restore(dir_.string(), 7);
  live.commit(numbered(3));
  live.save(dir_.string(), 7);
  EXPECT_FALSE(fs::exists(dir_ / "table.delta"));
  EXPECT_EQ(LiveTable::restore(dir_.string(), 7).current().checksum(), numbered(3).checksum());
}

// A table kept in memory and changed delta by delta (as a long-lived process does) carries the
// delta from its base forward from the deltas alone: what it saves is what a walk would give,
// including changes that undo earlier ones, and the change it last took is known with the
// version it applied to.
TEST_F(LiveTableFiles, ADeltaFromTheBaseIsCarriedThroughChanges) {
  LiveTable live(numbered(3));
  live.save(dir_.string(), 7);
  EXPECT_FALSE(live.last_change());
  // Hosts added and removed again, then every score changed (a new base), then back.
  const Snapshot steps[] = {numbered(3, 2), numbered(3, 5), numbered(3, 1), numbered(3),
                            numbered(4, 2), numbered(4, 3), numbered(4)};
  for (const Snapshot &next : steps) {
    const Delta change = diff(live.current(), next);
    const uint64_t from = live.current().checksum();
    live.commit(live.with_delta(change), change);
    ASSERT_TRUE(live.last_change());
    EXPECT_EQ(live.last_change()->from_version, from);
    EXPECT_EQ(live.last_change()->change, change);
    live.save(dir_.string(), 7);
    const Delta walked = diff(Snapshot::load((dir_ / "table.snapshot").string()), next);
    if (walked.empty()) {
      EXPECT_FALSE(fs::exists(dir_ / "table.delta"));
    } else {
      ASSERT_TRUE(fs::exists(dir_ / "table.delta"));
      EXPECT_EQ(Delta::load((dir_ / "table.delta").string()), walked);
    }
    EXPECT_EQ(LiveTable::restore(dir_.string(), 7).current().checksum(), next.checksum());
  }
  live.commit(numbered(3, 1));  // a full load: nothing known about how it was made
  EXPECT_FALSE(live.last_change());
}

// A change of more than an eighth of the base, or a table that was not restored from this
// folder, is saved whole as the new base.
TEST_F(LiveTableFiles, LargeChangesAndUnrelatedTablesWriteANewBase) {
  LiveTable(numbered(3)).save(dir_.string(), 7);
  LiveTable live = LiveTable::restore(dir_.string(), 7);
  live.commit(numbered(4));  // 200 values changed
  live.save(dir_.string(), 7);
  EXPECT_FALSE(fs::exists(dir_ / "table.delta"));
  EXPECT_EQ(Snapshot::load_header((dir_ / "table.snapshot").string()).checksum,
            numbered(4).checksum());
  // Restored from another folder: its base is not this folder's.
  const fs::path other = dir_ / "other";
  LiveTable(numbered(5)).save(other.string(), 7);
  LiveTable elsewhere = LiveTable::restore(other.string(), 7);
  elsewhere.commit(numbered(5, 1));
  elsewhere.save(dir_.string(), 7);
  EXPECT_FALSE(fs::exists(dir_ / "table.delta"));
  EXPECT_EQ(LiveTable::restore(dir_.string(), 7).current().checksum(), numbered(5, 1).checksum());
}

// A state saved as a base and a delta is linked whole: both files, and the later delta saves of
// the first folder do not change the second.
TEST_F(LiveTableFiles, ALinkedSaveKeepsTheDeltaItLinked) {
  const fs::path from = dir_ / "live", to = dir_ / "standby";
  LiveTable(numbered(3)).save(from.string(), 1);
  LiveTable live = LiveTable::restore(from.string(), 1);
  live.commit(numbered(3, 1));
  live.save(from.string(), 1);
  LiveTable::save_link(from.string(), to.string(), 2);
  EXPECT_EQ(fs::hard_link_count(to / "table.delta"), 2u);
  live.commit(numbered(3, 2));
  live.save(from.string(), 1);
  EXPECT_EQ(LiveTable::restore(to.string(), 2).current().checksum(), numbered(3, 1).checksum());
  EXPECT_EQ(LiveTable::saved_header(to.string()).header.checksum, numbered(3, 1).checksum());
  EXPECT_EQ(LiveTable::restore(from.string(), 1).current().checksum(), numbered(3, 2).checksum());
}

// A saved delta that does not fit its base (a damaged or foreign file) is refused with the
// file's name, never applied in part.
TEST_F(LiveTableFiles, ADeltaThatDoesNotFitItsBaseIsRefused) {
  LiveTable(numbered(3)).save(dir_.string(), 7);
  Delta d;
  d.hosts_v4.removed.push_back({be4("198.18.9.9"), {3, 0}});
  d.save((dir_ / "table.delta").string());
  try {
    LiveTable::restore(dir_.string(), 7);
    FAIL() << "restored a delta that does not fit";
  } catch (const Error &e) {
    EXPECT_THAT(e.what(), HasSubstr("table.delta"));
  }
}

// The saved header: damaged, it is refused; a folder saved before table.head existed reads its
// snapshot's header.
TEST_F(LiveTableFiles, TheSavedHeaderIsCheckedAndFallsBackToTheSnapshot) {
  LiveTable(numbered(3)).save(dir_.string(), 7);
  EXPECT_EQ(LiveTable::saved_header(dir_.string()).header.checksum, numbered(3).checksum());
  for (const std::string &text : {std::string(), std::string(64, 'x'), std::string(65, '\0')}) {
    std::ofstream(dir_ / "table.head", std::ios::trunc | std::ios::binary) << text;
    EXPECT_THROW(LiveTable::saved_header(dir_.string()), FormatError) << text.size();
  }
  fs::remove(dir_ / "table.head");
  EXPECT_EQ(LiveTable::saved_header(dir_.string()).header.checksum, numbered(3).checksum());
  fs::remove(dir_ / "table.snapshot");
  EXPECT_THROW(LiveTable::saved_header(dir_.string()), Error);
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
