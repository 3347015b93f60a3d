// LiveTableCache: a saved table kept in memory stands in for its folder only while the folder
// still holds it.
#include "sluice/reputation/live_table_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kOwner = 0x5eed;

class LiveTableCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("sluice-cache-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string dir(const char *name = "a") const { return (root_ / name).string(); }

  // n hosts from 198.18.0.1 up, each scored `score`.
  static Snapshot numbered(int n, int32_t score = 3) {
    return Snapshot::from_entries(numbered_hosts(1, static_cast<uint32_t>(n), score), {}, {}, {});
  }
  // The table saved in DIR for kOwner, as a process that saved it would keep it.
  static LiveTable saved(const std::string &dir, Snapshot t, LiveTableCache *cache = nullptr) {
    LiveTable live(std::move(t));
    live.save(dir, kOwner);
    if (cache) cache->keep(dir, kOwner, live);
    return live;
  }
  // Every byte of the base after its header inverted: reading it fails its checksum.
  void damage_base(const std::string &d) const {
    const fs::path p = fs::path(d) / "table.snapshot";
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(64);
    std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (char &c : body) c = static_cast<char>(~c);
    f.clear();
    f.seekp(64);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  fs::path root_;
};

TEST_F(LiveTableCacheTest, AKeptTableIsNotReadFromItsFolderAgain) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  damage_base(dir());
  EXPECT_THROW(LiveTable::restore(dir(), kOwner), FormatError);
  const LiveTable t = cache.restore(dir(), kOwner);
  EXPECT_EQ(t.current().checksum(), numbered(40).checksum());
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 0u);
}

TEST_F(LiveTableCacheTest, AFolderReadOnceIsKept) {
  saved(dir(), numbered(40));
  LiveTableCache cache;
  EXPECT_EQ(cache.restore(dir(), kOwner).current().checksum(), numbered(40).checksum());
  damage_base(dir());
  EXPECT_EQ(cache.restore(dir(), kOwner).current().checksum(), numbered(40).checksum());
  EXPECT_EQ(cache.stats().misses, 1u);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST_F(LiveTableCacheTest, AFolderAnotherWriterChangedIsReadAgain) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  // Another process saves a one-entry change (a delta on the same base) and a new table.
  LiveTable other = LiveTable::restore(dir(), kOwner);
  other.commit(numbered(41));
  other.save(dir(), kOwner);
  EXPECT_EQ(cache.restore(dir(), kOwner).current().checksum(), numbered(41).checksum());
  saved(dir(), numbered(7, 9));
  EXPECT_EQ(cache.restore(dir(), kOwner).current().checksum(), numbered(7, 9).checksum());
  EXPECT_EQ(cache.stats().misses, 2u);
  EXPECT_EQ(cache.stats().hits, 0u);
}

TEST_F(LiveTableCacheTest, ASaveCutShortIsRefusedThoughTheTableIsKept) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  fs::remove(fs::path(dir()) / "table.owner");
  EXPECT_THROW(cache.restore(dir(), kOwner), StaleStateError);
  EXPECT_EQ(cache.stats().kept, 0u);
}

TEST_F(LiveTableCacheTest, AnotherOwnerIsRefusedThoughTheTableIsKept) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  EXPECT_THROW(cache.restore(dir(), kOwner + 1), StaleStateError);
  // The folder saved again for another attachment: the old one's kept table is not its table.
  saved(dir(), numbered(40), &cache);
  LiveTable(numbered(40)).save(dir(), kOwner + 1);
  EXPECT_THROW(cache.restore(dir(), kOwner), StaleStateError);
}

TEST_F(LiveTableCacheTest, ADamagedHeaderFileMeansTheFolderIsReadWhole) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  std::ofstream(fs::path(dir()) / "table.head", std::ios::trunc) << "junk";
  EXPECT_EQ(cache.restore(dir(), kOwner).current().checksum(), numbered(40).checksum());
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST_F(LiveTableCacheTest, TheFolderUsedLongestAgoIsDroppedFirst) {
  LiveTableCache cache(2);
  saved(dir("a"), numbered(10), &cache);
  saved(dir("b"), numbered(20), &cache);
  cache.restore(dir("a"), kOwner);  // a is now the most recent
  saved(dir("c"), numbered(30), &cache);
  EXPECT_EQ(cache.stats().kept, 2u);
  damage_base(dir("a"));
  damage_base(dir("b"));
  EXPECT_EQ(cache.restore(dir("a"), kOwner).entries(), 10u);
  EXPECT_THROW(cache.restore(dir("b"), kOwner), FormatError);  // b was dropped: read whole
}

TEST_F(LiveTableCacheTest, AForgottenFolderIsReadAgain) {
  LiveTableCache cache;
  saved(dir(), numbered(40), &cache);
  cache.forget(dir());
  damage_base(dir());
  EXPECT_THROW(cache.restore(dir(), kOwner), FormatError);
}

}  // namespace
}  // namespace sluice::reputation::testing
