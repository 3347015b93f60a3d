// The senders' verdict events (core/sl_heavy.h: SL_HEAVY_KIND_SHAPED, SL_HEAVY_KIND_BLOCKED):
// counted by the sequence into the native runner's candidate table and read back per address
// and level through heavy::HeavyMerge, as sluice-dp's control thread and the XDP loader read
// theirs. Which SYN gives which event is the fixture table's (fixtures.h, expected_event).
#include <gtest/gtest.h>

#include <cstring>

#include "common/tcp_frame.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "heavy_merge.h"

namespace sluice::testing {
namespace {

constexpr uint32_t kEpoch = 40;

sl_heavy_key event_key(const char *addr, uint8_t kind, uint8_t level) {
  sl_heavy_key k{};
  k.family = SL_AF_INET;
  k.prefix_len = 32;
  k.kind = kind;
  k.level = level;
  const auto a = address(addr);
  std::memcpy(k.addr, a.data(), 4);
  return k;
}

void events(sl_heavy_table &t, const sl_heavy_key &k, int n, uint32_t epoch = kEpoch) {
  for (int i = 0; i < n; ++i) sl_heavy_table_event_in(&t, sl_heavy_table_bucket(&t, &k), &k, epoch);
}

heavy::HeavyMerge merged(std::initializer_list<const sl_heavy_table *> tables, uint32_t epoch) {
  heavy::HeavyMerge m(epoch);
  for (const sl_heavy_table *t : tables)
    for (const auto &b : t->e)
      for (const sl_heavy_entry &e : b) m.add_entry(e);
  return m;
}

TEST(VerdictEvents, MergedPerAddressAndLevelOverLcoresMostFirst) {
  NativeHeavy a(11), b(12);
  events(*a.table, event_key("198.18.0.7", SL_HEAVY_KIND_SHAPED, 1), 3);
  events(*b.table, event_key("198.18.0.7", SL_HEAVY_KIND_SHAPED, 1), 2);
  events(*b.table, event_key("198.18.0.7", SL_HEAVY_KIND_BLOCKED, 1), 1);
  events(*a.table, event_key("198.18.0.7", SL_HEAVY_KIND_BLOCKED, 5), 1);
  events(*b.table, event_key("198.18.0.9", SL_HEAVY_KIND_BLOCKED, 6), 4);
  const auto m = merged({a.table.get(), b.table.get()}, kEpoch);
  const auto v = m.verdicts(10);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(heavy::address_text(v[0].key), "198.18.0.7");
  EXPECT_EQ(v[0].key.level, 1u);
  EXPECT_EQ(v[0].shaped, 5u);
  EXPECT_EQ(v[0].blocked, 1u);
  EXPECT_EQ(heavy::address_text(v[1].key), "198.18.0.9");
  EXPECT_EQ(v[1].key.level, 6u);
  EXPECT_EQ(v[1].shaped, 0u);
  EXPECT_EQ(v[1].blocked, 4u);
  EXPECT_EQ(heavy::address_text(v[2].key), "198.18.0.7");
  EXPECT_EQ(v[2].key.level, 5u);
  EXPECT_EQ(v[2].blocked, 1u);
  EXPECT_EQ(m.verdicts(1).size(), 1u) << "the limit holds";
  EXPECT_TRUE(m.pregreet(10).empty()) << "verdicts are not pregreet clients";
  EXPECT_TRUE(m.top(10).empty()) << "nor SYN heavy hitters";
}

TEST(VerdictEvents, AnEntryIsReadUntil64WindowsWithoutAnEventThenStartsAgain) {
  NativeHeavy h(11);
  const sl_heavy_key k = event_key("198.18.0.7", SL_HEAVY_KIND_BLOCKED, 6);
  events(*h.table, k, 2);
  EXPECT_EQ(merged({h.table.get()}, kEpoch + SL_HEAVY_EVENT_WINDOWS - 1).verdicts(10).size(), 1u);
  EXPECT_TRUE(merged({h.table.get()}, kEpoch + SL_HEAVY_EVENT_WINDOWS).verdicts(10).empty());
  events(*h.table, k, 1, kEpoch + SL_HEAVY_EVENT_WINDOWS);
  const auto v = merged({h.table.get()}, kEpoch + SL_HEAVY_EVENT_WINDOWS).verdicts(10);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].blocked, 1u) << "a new count, which a reader takes whole";
}

// Through the sequence: an unlisted sender under a policy whose level 1 opens at score 0 is
// shaped, SYN after SYN, each one event of its address at level 1; a SYN from inside is none.
TEST(VerdictEvents, EveryShapedSynOfASenderCounts) {
  NativeHeavy h(11);
  h.now_ns = uint64_t{kEpoch} << SL_HEAVY_WINDOW_SHIFT;
  const sl_policy pol = fixture_policy(FixturePolicy::kOpenThreshold);
  TcpFrame syn = linux_syn("198.18.0.7", "198.18.2.25");
  for (uint16_t port = 40000; port < 40003; ++port) {
    syn.sport = port;
    const FixtureResult r = run_native_counted(h, syn.build(), SL_DIR_FROM_OUTSIDE, pol);
    EXPECT_EQ(events_text(r.events), "shaped 1 198.18.0.7");
  }
  EXPECT_TRUE(run_native_counted(h, syn.build(), SL_DIR_FROM_INSIDE, pol).events.empty());
  const auto v = merged({h.table.get()}, kEpoch).verdicts(10);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].shaped, 3u);
  EXPECT_EQ(v[0].blocked, 0u);
}

}  // namespace
}  // namespace sluice::testing
