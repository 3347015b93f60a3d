// Deltas: diff, apply, binary round trip, refusal of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>

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

// Random tables, each kind on its own and all four together, changed at random places (runs of
// every length between the changes, changes at both ends): the delta between two tables applied
// to the first gives the second, entry for entry.
TEST(Delta, ApplyingTheDiffGivesTheNewTableForRandomChanges) {
  std::mt19937 rng(20261202);
  // 1 .. 3000 distinct keys drawn from a region of 4096, so tables overlap and runs vary.
  auto keys = [&rng](size_t max) {
    std::vector<uint32_t> k;
    const size_t n = std::uniform_int_distribution<size_t>(0, max)(rng);
    for (size_t i = 0; i < n; ++i)
      k.push_back(std::uniform_int_distribution<uint32_t>(0, 4095)(rng));
    std::sort(k.begin(), k.end());
    k.erase(std::unique(k.begin(), k.end()), k.end());
    return k;
  };
  auto value = [&rng] {
    return sl_rep_value{std::uniform_int_distribution<int32_t>(1, 3)(rng), 0};
  };
  auto table = [&] {
    std::vector<HostV4> h4;
    std::vector<PrefixV4> p4;
    std::vector<HostV6> h6;
    std::vector<PrefixV6> p6;
    for (uint32_t k : keys(3000)) h4.push_back({sl_htonl(0xc6120000u | k), value()});
    for (uint32_t k : keys(300))
      p4.push_back(make_prefix_v4(sl_htonl(0xc6000000u | k << 8), 24, value()));
    for (uint32_t k : keys(3000)) {
      uint8_t a[16] = {0x20, 0x01, 0x00, 0x02};
      a[14] = static_cast<uint8_t>(k >> 8);
      a[15] = static_cast<uint8_t>(k);
      h6.push_back(make_host_v6(a, value()));
    }
    for (uint32_t k : keys(300)) {
      uint8_t a[16] = {
          0x20, 0x01, 0x00, 0x02, static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
      p6.push_back(make_prefix_v6(a, 48, value()));
    }
    return Snapshot::from_entries(std::move(h4), std::move(p4), std::move(h6), std::move(p6));
  };
  for (int round = 0; round < 200; ++round) {
    const Snapshot a = table(), b = table();
    const Snapshot c = apply(a, diff(a, b));
    ASSERT_TRUE(diff(b, c).empty()) << "round " << round;
    ASSERT_EQ(c.checksum(), b.checksum()) << "round " << round;
    // Two changes in a row: the delta over both, from the keys they touch only, is the walk's.
    // Keys one change adds and the next removes (or rescores back) cancel out.
    const Snapshot d = table();
    const Delta ab = diff(a, b), bd = diff(b, d);
    const Delta *both[] = {&ab, &bd};
    ASSERT_EQ(diff_within(a, d, both), diff(a, d)) << "round " << round;
    const Delta *one[] = {&bd};
    ASSERT_EQ(diff_within(b, d, one), bd) << "round " << round;
    const Delta *back[] = {&bd, &bd};
    ASSERT_TRUE(diff_within(d, apply(d, diff(d, d)), back).empty()) << "round " << round;
  }
}

// A delta that leaves a kind of entry alone does not copy that kind's array: the new table reads
// the old one's, which lives as long as any table that reads it (the table it came from and every
// one in between may be gone; under ASan a freed array read here fails the test).
TEST(Delta, AKindTheDeltaLeavesAloneIsSharedNotCopied) {
  std::vector<HostV6> hosts;
  for (uint32_t i = 0; i < 5000; ++i) {
    uint8_t a[16] = {0x20, 0x01, 0x00, 0x02};
    a[14] = static_cast<uint8_t>(i >> 8);
    a[15] = static_cast<uint8_t>(i);
    hosts.push_back(make_host_v6(a, sl_rep_value{2, 0}));
  }
  std::optional<Snapshot> t = Snapshot::from_entries(
      {{be4("198.18.0.1"), {3, 0}}}, {make_prefix_v4(be4("198.19.0.0"), 16, {4, 0})}, hosts, {});
  const HostV6 *v6 = t->hosts_v6().data();
  const uint64_t v6_sum = t->checksum();
  for (uint32_t i = 2; i < 40; ++i) {
    Delta d;
    d.hosts_v4.added.push_back({sl_htonl(0xc6120000u + i), {3, 0}});
    t = apply(*t, d);  // the table before is gone now
    ASSERT_EQ(t->hosts_v6().data(), v6) << "the IPv6 hosts were copied";
    ASSERT_EQ(t->hosts_v4().size(), i);
  }
  EXPECT_NE(t->checksum(), v6_sum);
  EXPECT_EQ(t->lookup_v4(be4("198.19.3.4"))->score, 4);  // the shared prefix index works
  uint8_t last[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13, 0x87};
  EXPECT_EQ(t->lookup_v6(last)->score, 2);
  // A change to the IPv6 hosts gives them an array of their own; the result is the same table
  // a walk over whole arrays gives.
  Delta d;
  d.hosts_v6.changed.push_back(make_host_v6(last, sl_rep_value{9, 0}));
  const Snapshot u = apply(*t, d);
  EXPECT_NE(u.hosts_v6().data(), v6);
  EXPECT_EQ(u.lookup_v6(last)->score, 9);
  EXPECT_EQ(diff(*t, u), d);
  EXPECT_EQ(u.hosts_v4().data(), t->hosts_v4().data());
}

// A table's arrays, once it is gone, are the next table's: a delta applied again to the same
// table writes into the memory the previous result had (already mapped: no page faults), and
// the result is the right table all the same.
TEST(Delta, TheNextTableTakesTheArraysOfOneThatIsGone) {
  // 100k IPv6 hosts: 2.4 MB, large enough to be kept.
  std::vector<HostV6> hosts;
  for (uint32_t i = 0; i < 100000; ++i) {
    uint8_t a[16] = {0x20, 0x01, 0x00, 0x02};
    a[12] = static_cast<uint8_t>(i >> 16);
    a[13] = static_cast<uint8_t>(i >> 8);
    a[14] = static_cast<uint8_t>(i);
    a[15] = 1;
    hosts.push_back(make_host_v6(a, sl_rep_value{2, 0}));
  }
  const Snapshot t = Snapshot::from_entries({}, {}, hosts, {});
  Delta d;
  uint8_t added[16] = {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02};
  d.hosts_v6.added.push_back(make_host_v6(added, sl_rep_value{5, 0}));
  d.hosts_v6.changed.push_back(make_host_v6(hosts.back().addr, sl_rep_value{7, 0}));

  const HostV6 *first = nullptr;
  uint64_t expected = 0;
  {
    const Snapshot c = apply(t, d);
    first = c.hosts_v6().data();
    expected = c.checksum();
    ASSERT_EQ(c.hosts_v6().size(), hosts.size() + 1);
  }
  // An allocation of the same size in between: the allocator alone would hand it the freed
  // memory.
  std::vector<HostV6> other(hosts.size() + 1);
  const Snapshot again = apply(t, d);
  EXPECT_NE(other.data(), first);
  EXPECT_EQ(again.hosts_v6().data(), first) << "the freed table's array was not taken again";
  EXPECT_EQ(again.checksum(), expected);
  EXPECT_EQ(again.lookup_v6(added)->score, 5);
  EXPECT_EQ(again.lookup_v6(hosts.back().addr)->score, 7);
  EXPECT_EQ(again.lookup_v6(hosts.front().addr)->score, 2);
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
