// Deltas: diff, apply, binary round trip, refusal of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

using ::testing::HasSubstr;

Snapshot from_list(const char *text) {
  auto c = config(SourceType::kList, 1);
  std::vector<ParsedSource> ps{parse(c, text)};
  std::vector<SourceConfig> cs{c};
  return compile(ps, cs);
}

TEST(Delta, DiffListsAddsChangesAndRemovesPerKind) {
  Snapshot a = from_list("198.18.0.1\n198.18.0.2,5\n198.18.1.0/24\n2001:2::1\n");
  Snapshot b = from_list("198.18.0.2,6\n198.18.0.3\n198.18.2.0/24\n2001:2::/64\n2001:2::1\n");
  Delta d = diff(a, b);
  ASSERT_EQ(d.hosts_v4.added.size(), 1u);
  EXPECT_EQ(d.hosts_v4.added[0].addr_be, be4("198.18.0.3"));
  ASSERT_EQ(d.hosts_v4.changed.size(), 1u);
  EXPECT_EQ(d.hosts_v4.changed[0].value.score, 6);
  ASSERT_EQ(d.hosts_v4.removed.size(), 1u);
  EXPECT_EQ(d.hosts_v4.removed[0].addr_be, be4("198.18.0.1"));
  EXPECT_EQ(d.prefixes_v4.added.size(), 1u);
  EXPECT_EQ(d.prefixes_v4.removed.size(), 1u);
  EXPECT_EQ(d.prefixes_v6.added.size(), 1u);
  // 2001:2::1 scores 1 in both, but in b it is the same as its /64: left out of b.
  EXPECT_EQ(d.hosts_v6.removed.size(), 1u);
  EXPECT_TRUE(diff(a, a).empty());
}

TEST(Delta, ApplyingTheDiffGivesTheNewTable) {
  Snapshot a = from_list("198.18.0.1\n198.18.0.2,5\n198.18.1.0/24\n2001:2::1\n");
  Snapshot b = from_list("198.18.0.2,6\n198.18.0.3\n198.18.2.0/24\n2001:2::/64\n2001:2::1,4\n");
  Snapshot c = apply(a, diff(a, b));
  EXPECT_TRUE(diff(b, c).empty());
  // A delta that does not fit is refused.
  EXPECT_THROW(apply(b, diff(a, b)), Error);
}

// Changes at the table's ends and next to each other, in one delta: the unchanged runs between
// them are kept whole and in order.
TEST(Delta, ApplyKeepsTheRunsBetweenChanges) {
  Snapshot a =
      from_list("198.18.0.2\n198.18.0.3\n198.18.0.4,2\n198.18.0.5\n198.18.0.7\n198.18.0.9\n");
  Snapshot b =
      from_list("198.18.0.1\n198.18.0.3\n198.18.0.4,3\n198.18.0.6\n198.18.0.7\n198.18.0.10\n");
  Snapshot c = apply(a, diff(a, b));
  EXPECT_TRUE(diff(b, c).empty());
  EXPECT_EQ(c.checksum(), b.checksum());
  EXPECT_TRUE(diff(a, apply(a, Delta{})).empty()) << "an empty delta changes nothing";
}

// Every way one host change can fail to fit the table, alone and beside a change that fits.
TEST(Delta, ApplyRefusesEveryChangeThatDoesNotFit) {
  const Snapshot t = from_list("198.18.0.2\n198.18.0.4\n");
  const sl_rep_value v{3, 0};
  const HostV4 present{be4("198.18.0.2"), v}, missing{be4("198.18.0.3"), v},
      after_end{be4("198.18.0.9"), v}, before_start{be4("198.18.0.1"), v};
  struct Case {
    const char *what;
    std::vector<HostV4> added, changed, removed;
  };
  const Case cases[] = {
      {"adds a present entry", {present}, {}, {}},
      {"changes a missing entry", {}, {missing}, {}},
      {"changes a missing entry past the end", {}, {after_end}, {}},
      {"removes a missing entry", {}, {}, {missing}},
      {"removes a missing entry before the start", {}, {}, {before_start}},
      {"adds and removes one missing entry", {missing}, {}, {missing}},
      {"removes and changes one present entry", {}, {present}, {present}},
      {"adds a present entry beside a good removal", {present}, {}, {HostV4{be4("198.18.0.4"), v}}},
  };
  for (const Case &c : cases) {
    Delta d;
    d.hosts_v4.added = c.added;
    d.hosts_v4.changed = c.changed;
    d.hosts_v4.removed = c.removed;
    EXPECT_THROW(apply(t, d), Error) << c.what;
  }
}

TEST(Delta, EncodeDecodeRoundTrips) {
  Snapshot a = from_list("198.18.0.1\n198.18.1.0/24\n2001:2::1\n");
  Snapshot b = from_list("198.18.0.2\n198.18.2.0/24\n2001:2::/64\n2001:2::1,4\n");
  Delta d = diff(a, b);
  auto bytes = encode(d);
  EXPECT_EQ(decode(bytes), d);
}

TEST(Delta, DecodeRefusesBadInput) {
  Snapshot a = from_list("198.18.0.1\n");
  Snapshot b = from_list("198.18.0.2\n");
  auto bytes = encode(diff(a, b));
  auto bad = bytes;
  bad[0] = 'X';
  EXPECT_THROW(decode(bad), FormatError);
  bad = bytes;
  bad.back() ^= 1;
  try {
    decode(bad);
    FAIL();
  } catch (const FormatError &e) {
    EXPECT_THAT(e.what(), HasSubstr("checksum"));
  }
  bad = bytes;
  bad.resize(bad.size() - 8);
  EXPECT_THROW(decode(bad), FormatError);
  EXPECT_THROW(decode(std::span<const uint8_t>(bytes.data(), 10)), FormatError);
}

TEST(Delta, SaveAndLoad) {
  auto dir =
      std::filesystem::temp_directory_path() / ("sluice-delta-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Snapshot a = from_list("198.18.0.1\n");
  Snapshot b = from_list("198.18.0.2\n2001:2::/64\n");
  Delta d = diff(a, b);
  d.save((dir / "d.delta").string());
  EXPECT_EQ(Delta::load((dir / "d.delta").string()), d);
  EXPECT_THROW(Delta::load((dir / "none").string()), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::reputation::testing
