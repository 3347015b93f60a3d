// Snapshot files: round trip, lookups, and refusal of bad files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "sluice/reputation/error.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SnapshotFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-rep-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char *name) const { return (dir_ / name).string(); }

  static Snapshot sample() {
    std::vector<HostV4> h4{{be4("198.18.0.7"), {7, 0}}, {be4("198.18.1.1"), {2, SL_REP_ALLOW}}};
    std::vector<PrefixV4> p4{{be4("198.18.0.0"), 16, {}, {2, 0}},
                             {be4("198.18.0.0"), 24, {}, {5, 0}},
                             {be4("198.18.0.128"), 25, {}, {9, 0}},
                             {be4("198.18.2.0"), 24, {}, {1, 0}}};
    HostV6 h{};
    std::memcpy(h.addr, v6("2001:2::1").b, 16);
    h.value = {4, 0};
    PrefixV6 p{};
    std::memcpy(p.addr, v6("2001:2::").b, 16);
    p.len = 48;
    p.value = {3, 0};
    return Snapshot::from_entries(h4, p4, {h}, {p}, 1700000000);
  }

  // Rewrites bytes of a file.
  void patch(const std::string &file, size_t offset, const void *bytes, size_t n) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(static_cast<const char *>(bytes), static_cast<std::streamsize>(n));
  }

  fs::path dir_;
};

TEST_F(SnapshotFile, SaveThenLoadGivesTheSameTable) {
  Snapshot t = sample();
  t.save(path("t.snap"));
  Snapshot u = Snapshot::load(path("t.snap"));
  ASSERT_EQ(u.hosts_v4().size(), 2u);
  ASSERT_EQ(u.prefixes_v4().size(), 4u);
  ASSERT_EQ(u.hosts_v6().size(), 1u);
  ASSERT_EQ(u.prefixes_v6().size(), 1u);
  EXPECT_EQ(std::memcmp(u.hosts_v4().data(), t.hosts_v4().data(), t.hosts_v4().size_bytes()), 0);
  EXPECT_EQ(
      std::memcmp(u.prefixes_v4().data(), t.prefixes_v4().data(), t.prefixes_v4().size_bytes()), 0);
  EXPECT_EQ(u.created_unix(), 1700000000u);
  EXPECT_EQ(u.checksum(), t.checksum());
  EXPECT_EQ(fs::file_size(path("t.snap")), t.serialize().size());
  // 64-byte header + 2 * 12 (padded to 8) + 4 * 16 + 24 + 32
  EXPECT_EQ(t.serialize().size(), 64u + 24u + 64u + 24u + 32u);
}

TEST_F(SnapshotFile, LookupTakesTheExactHostThenTheLongestPrefix) {
  Snapshot t = sample();
  EXPECT_EQ(value4(t, "198.18.0.7").score, 7);               // host
  EXPECT_EQ(value4(t, "198.18.0.8").score, 5);               // /24
  EXPECT_EQ(value4(t, "198.18.0.200").score, 9);             // /25
  EXPECT_EQ(value4(t, "198.18.1.1").flags, SL_REP_ALLOW);    // host
  EXPECT_EQ(value4(t, "198.18.1.2").score, 2);               // /16, after the /24 and /25 end
  EXPECT_EQ(value4(t, "198.18.2.99").score, 1);              // /24 after a sibling
  EXPECT_EQ(value4(t, "198.18.3.1").score, 2);               // back in the /16
  EXPECT_FALSE(t.lookup_v4(be4("198.19.0.1")).has_value());  // nothing
  EXPECT_FALSE(t.lookup_v4(be4("10.0.0.1")).has_value());
  EXPECT_EQ(value6(t, "2001:2::1").score, 4);
  EXPECT_EQ(value6(t, "2001:2::2").score, 3);
  EXPECT_FALSE(t.lookup_v6(v6("2001:3::1").b).has_value());
  auto m = t.match_v4(be4("198.18.0.200"));
  EXPECT_EQ(m.kind, Match::Kind::kPrefix);
  EXPECT_EQ(m.len, 25);
}

TEST_F(SnapshotFile, FromEntriesRefusesUnsortedOrBadEntries) {
  EXPECT_THROW(Snapshot::from_entries({{be4("1.0.0.2"), {}}, {be4("1.0.0.1"), {}}}, {}, {}, {}),
               Error);
  EXPECT_THROW(Snapshot::from_entries({{be4("1.0.0.1"), {}}, {be4("1.0.0.1"), {}}}, {}, {}, {}),
               Error);
  EXPECT_THROW(Snapshot::from_entries({}, {{be4("1.0.0.1"), 24, {}, {}}}, {}, {}), Error);
  EXPECT_THROW(Snapshot::from_entries({}, {{be4("1.0.0.0"), 33, {}, {}}}, {}, {}), Error);
}

// The header alone: version (checksum), counts and time as load() gives them; a bad magic or a
// size that disagrees with the counts refused; a flipped entry bit not seen (no checksum pass).
TEST_F(SnapshotFile, LoadHeaderReadsTheHeaderAndChecksItAgainstTheSize) {
  const Snapshot t = sample();
  t.save(path("t.snap"));
  const SnapshotHeader h = Snapshot::load_header(path("t.snap"));
  EXPECT_EQ(h.checksum, t.checksum());
  EXPECT_EQ(h.created_unix, 1700000000u);
  EXPECT_EQ(h.counts[0], 2u);
  EXPECT_EQ(h.counts[1], 4u);
  EXPECT_EQ(h.counts[2], 1u);
  EXPECT_EQ(h.counts[3], 1u);
  char c = 0x40;
  patch(path("t.snap"), 64 + 4, &c, 1);
  EXPECT_NO_THROW(Snapshot::load_header(path("t.snap")));
  EXPECT_THROW(Snapshot::load(path("t.snap")), FormatError);
  fs::resize_file(path("t.snap"), fs::file_size(path("t.snap")) - 8);
  EXPECT_THROW(Snapshot::load_header(path("t.snap")), FormatError);
  patch(path("t.snap"), 0, "X", 1);
  EXPECT_THROW(Snapshot::load_header(path("t.snap")), FormatError);
  EXPECT_THROW(Snapshot::load_header(path("missing.snap")), Error);
}

TEST_F(SnapshotFile, ABadMagicIsRefused) {
  sample().save(path("t.snap"));
  patch(path("t.snap"), 0, "X", 1);
  try {
    Snapshot::load(path("t.snap"));
    FAIL();
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("not a sluice reputation table (bad magic)"));
    EXPECT_THAT(e.what(), HasSubstr(path("t.snap")));
  }
}

TEST_F(SnapshotFile, AnotherVersionIsRefused) {
  sample().save(path("t.snap"));
  uint32_t v = kSnapshotVersion + 1;
  patch(path("t.snap"), 8, &v, 4);
  try {
    Snapshot::load(path("t.snap"));
    FAIL();
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr(fmt::format("table format version {} is not supported",
                                                kSnapshotVersion + 1)));
  }
}

TEST_F(SnapshotFile, AChecksumMismatchIsRefused) {
  sample().save(path("t.snap"));
  // Flip one bit of the first host entry's score.
  std::ifstream in(path("t.snap"), std::ios::binary);
  in.seekg(64 + 4);
  char c;
  in.read(&c, 1);
  in.close();
  c ^= 0x40;
  patch(path("t.snap"), 64 + 4, &c, 1);
  try {
    Snapshot::load(path("t.snap"));
    FAIL();
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("checksum mismatch"));
  }
}

// The version covers the header and each array from its own offset: one flipped bit in any byte
// of either, in every array of the file, makes the load refuse it (the zero padding between
// arrays is read by nothing and not covered).
TEST_F(SnapshotFile, AFlippedBitAnywhereInTheHeaderOrAnArrayIsRefused) {
  const Snapshot t = sample();
  t.save(path("t.snap"));
  std::vector<std::pair<size_t, size_t>> covered{{0, sizeof(SnapshotHeader)}};
  size_t at = sizeof(SnapshotHeader);
  for (size_t bytes : {t.hosts_v4().size_bytes(), t.prefixes_v4().size_bytes(),
                       t.hosts_v6().size_bytes(), t.prefixes_v6().size_bytes()}) {
    ASSERT_GT(bytes, 0u) << "the sample has every kind of entry";
    covered.push_back({at, at + bytes});
    at = (at + bytes + 7) / 8 * 8;
  }
  ASSERT_EQ(at, fs::file_size(path("t.snap")));
  std::ifstream in(path("t.snap"), std::ios::binary);
  const std::vector<char> good{std::istreambuf_iterator<char>(in), {}};
  for (const auto &[begin, end] : covered) {
    for (size_t i = begin; i < end; ++i) {
      char c = static_cast<char>(good[i] ^ (1 << (i % 8)));
      patch(path("t.snap"), i, &c, 1);
      EXPECT_THROW(Snapshot::load(path("t.snap")), FormatError) << "byte " << i;
      patch(path("t.snap"), i, &good[i], 1);
    }
  }
  EXPECT_EQ(Snapshot::load(path("t.snap")).checksum(), t.checksum());
}

TEST_F(SnapshotFile, ATruncatedFileIsRefused) {
  sample().save(path("t.snap"));
  fs::resize_file(path("t.snap"), fs::file_size(path("t.snap")) - 8);
  EXPECT_THROW(Snapshot::load(path("t.snap")), FormatError);
  fs::resize_file(path("t.snap"), 10);
  EXPECT_THROW(Snapshot::load(path("t.snap")), FormatError);
}

// Peak resident set of this process, in bytes.
long max_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

// A sparse file of `size` bytes starting with a valid header that has these counts.
void write_sparse(const std::string &file, uint64_t size, const uint64_t counts[4]) {
  SnapshotHeader h{};
  std::memcpy(h.magic, kSnapshotMagic, sizeof h.magic);
  h.version = kSnapshotVersion;
  h.header_size = sizeof h;
  for (int i = 0; i < 4; ++i) h.counts[i] = counts[i];
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, &h, sizeof h, 0), static_cast<ssize_t>(sizeof h));
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ::close(fd);
}

// An 8 GiB sparse file is refused from its header: neither mapped nor read (the peak resident
// set does not grow by anything near the file's size).
TEST_F(SnapshotFile, AHugeSparseFileIsRefusedBeforeItIsRead) {
  constexpr uint64_t kSize = uint64_t{8} << 30;
  constexpr uint64_t kBound = uint64_t{1} << 30;
  const long before = max_rss_bytes();
  // Counts that exactly fill the file: only the entry limit refuses it.
  const uint64_t filling[4] = {0, (kSize - 64) / sizeof(PrefixV4), 0, 0};
  write_sparse(path("full.snap"), kSize, filling);
  try {
    Snapshot::load(path("full.snap"));
    FAIL() << "an 8 GiB table was accepted";
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("more than the limit"));
    EXPECT_THAT(e.what(), HasSubstr(path("full.snap")));
  }
  fs::remove(path("full.snap"));
  // Counts that describe a small table: the size mismatch refuses it.
  const uint64_t small[4] = {3, 0, 0, 0};
  write_sparse(path("small.snap"), kSize, small);
  try {
    Snapshot::load(path("small.snap"));
    FAIL() << "a table with 8 GiB of trailing bytes was accepted";
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("truncated or corrupt"));
  }
  fs::remove(path("small.snap"));
  EXPECT_LT(max_rss_bytes() - before, static_cast<long>(kBound));
}

TEST_F(SnapshotFile, ADirectoryOrFifoIsRefusedWithoutBlocking) {
  EXPECT_THROW(Snapshot::load(dir_.string()), FormatError);
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  try {
    Snapshot::load(path("fifo"));
    FAIL() << "a FIFO was accepted";
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("not a regular file"));
  }
}

TEST_F(SnapshotFile, AMissingFileIsAnError) {
  EXPECT_THROW(Snapshot::load(path("none.snap")), Error);
}

TEST_F(SnapshotFile, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  Snapshot().save(path("t.snap"));
  sample().save(path("t.snap"));
  EXPECT_EQ(Snapshot::load(path("t.snap")).hosts_v4().size(), 2u);
  size_t files = 0;
  for (auto &e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(SnapshotFile, AFailedSaveLeavesWhatWasThereAndNoTemporaryFile) {
  EXPECT_THROW(sample().save(path("missing-dir/t.snap")), Error);
  // rename() over a non-empty directory fails after the temporary file was written.
  fs::create_directory(path("occupied"));
  std::ofstream(path("occupied/keep")) << "x";
  EXPECT_THROW(sample().save(path("occupied")), Error);
  EXPECT_TRUE(fs::exists(path("occupied/keep")));
  size_t entries = 0;
  for (auto &e : fs::directory_iterator(dir_)) entries += 1 + 0 * e.is_regular_file();
  EXPECT_EQ(entries, 1u);  // only "occupied"
}

TEST_F(SnapshotFile, AnEmptyTableRoundTrips) {
  Snapshot().save(path("e.snap"));
  Snapshot e = Snapshot::load(path("e.snap"));
  EXPECT_TRUE(e.hosts_v4().empty());
  EXPECT_FALSE(e.lookup_v4(be4("1.2.3.4")).has_value());
}

}  // namespace
}  // namespace sluice::reputation::testing

namespace sluice::reputation::testing {
namespace {

// The checksum fed in pieces (as sluice-dp computes a table's version from a base and changes)
// equals the one over the whole image, whatever the cuts: sizes around the header, the
// four-word blocks and odd tails.
TEST(ImageChecksum, PiecesGiveTheWholeImagesChecksum) {
  std::mt19937 rng(5);
  for (size_t size : {0, 1, 7, 8, 55, 57, 63, 64, 65, 71, 95, 96, 97, 128, 1000, 4099}) {
    std::vector<uint8_t> image(size);
    for (auto &b : image) b = static_cast<uint8_t>(rng());
    const uint64_t whole = image_checksum(image.data(), image.size());
    for (int trial = 0; trial < 50; ++trial) {
      ImageChecksum c;
      size_t at = 0;
      while (at < size) {
        const size_t n = std::min<size_t>(size - at, rng() % (trial < 25 ? 13 : 200));
        c.update(image.data() + at, n);
        at += n;
      }
      ASSERT_EQ(c.finish(), whole) << "size " << size << " trial " << trial;
    }
  }
}

// A built table's checksum (computed, not read from a file) is table_checksum() of its header and
// of the block checksum of each array as serialize() lays it out, whatever padding the arrays
// need; asking again gives the same, and the file save() writes is that image and loads.
TEST(ImageChecksum, BuiltTableChecksumIsItsImages) {
  for (uint32_t n4 : {0u, 1u, 3u, 4u}) {
    std::vector<HostV4> h4;
    for (uint32_t i = 0; i < n4; ++i) h4.push_back({sl_htonl(0xc6120000u + i), {1, 0}});
    std::vector<PrefixV4> p4{make_prefix_v4(sl_htonl(0xc6120000u), 24, {2, 0})};
    std::vector<HostV6> h6{{{0x20, 0x01, 0x00, 0x02}, {4, 0}}};
    const Snapshot t = Snapshot::from_entries(h4, p4, h6, {}, 77);
    const std::vector<uint8_t> image = t.serialize();
    SnapshotHeader h;
    std::memcpy(&h, image.data(), sizeof h);
    EXPECT_EQ(t.checksum(), h.checksum) << n4 << " hosts";
    EXPECT_EQ(t.checksum(), h.checksum) << n4 << " hosts, asked again";
    // The arrays in the image: each starts 8-aligned after the one before.
    const size_t bytes[4] = {n4 * sizeof(HostV4), sizeof(PrefixV4), sizeof(HostV6), 0};
    uint64_t sums[4];
    size_t at = sizeof h;
    for (int k = 0; k < 4; ++k) {
      sums[k] = block_checksum(image.data() + at, bytes[k]);
      EXPECT_EQ(t.array_checksum(static_cast<size_t>(k)), sums[k]) << "array " << k;
      at = (at + bytes[k] + 7) / 8 * 8;
    }
    EXPECT_EQ(at, image.size());
    EXPECT_EQ(table_checksum(h, sums), t.checksum()) << n4 << " hosts";
    const fs::path file = fs::temp_directory_path() /
                          ("sluice-rep-test-" + std::to_string(::getpid()) + "-image.snap");
    t.save(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> saved{std::istreambuf_iterator<char>(in), {}};
    EXPECT_EQ(saved, image) << n4 << " hosts";
    EXPECT_EQ(Snapshot::load(file.string()).checksum(), t.checksum());
    fs::remove(file);
  }
}

// The version covers every array and the header: a change to any one of them, to an array's
// length alone (its bytes moved into another array), or to the compile time gives another
// version; a table that shares arrays with another has the version of the same table built
// whole.
TEST(ImageChecksum, EveryPartOfATableChangesItsVersion) {
  const std::vector<HostV4> h4{{sl_htonl(0xc6120001u), {1, 0}}, {sl_htonl(0xc6120002u), {1, 0}}};
  const std::vector<PrefixV4> p4{make_prefix_v4(sl_htonl(0xc6120100u), 24, {2, 0})};
  const std::vector<HostV6> h6{
      {{0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}, {4, 0}}};
  const Snapshot t = Snapshot::from_entries(h4, p4, h6, {}, 5);
  std::set<uint64_t> seen{t.checksum()};
  auto differs = [&](const Snapshot &u, const char *what) {
    EXPECT_TRUE(seen.insert(u.checksum()).second) << what;
  };
  std::vector<HostV4> h4b = h4;
  h4b[1].value.score = 9;
  differs(Snapshot::from_entries(h4b, p4, h6, {}, 5), "a host's score");
  differs(Snapshot::from_entries({h4[0]}, p4, h6, {}, 5), "one host fewer");
  differs(Snapshot::from_entries(h4, {}, h6, {}, 5), "no prefixes");
  differs(Snapshot::from_entries(h4, p4, {}, {}, 5), "no IPv6 hosts");
  differs(Snapshot::from_entries(h4, p4, h6, {}, 6), "another compile time");
  // Shared arrays: a change to the IPv4 hosts, made by replacing(), against the same built whole.
  Snapshot::Arrays replaced;
  replaced.hosts_v4 = h4b;
  const Snapshot shared = Snapshot::replacing(t, std::move(replaced));
  EXPECT_EQ(shared.checksum(), Snapshot::from_entries(h4b, p4, h6, {}, 5).checksum());
  EXPECT_EQ(shared.array_checksum(2), t.array_checksum(2));
}

}  // namespace
}  // namespace sluice::reputation::testing
