// Flow table: lookups by key, LRU eviction when full (counted), idle and closing timeouts,
// deletion that keeps every other flow findable.
#include "flow_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

namespace sluice::dataplane {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

sl_flow_key key_n(uint32_t n) {
  sl_flow_key k{};
  std::memcpy(k.client, &n, 4);
  k.server[0] = 198;
  k.server[1] = 18;
  k.client_port = static_cast<__be16>(1024 + (n & 0x7fff));
  k.server_port = sl_htons(25);
  k.family = SL_AF_INET;
  return k;
}

sl_flow_state state_level(uint8_t level) {
  sl_flow_state s{};
  s.level = level;
  return s;
}

TEST(FlowTable, FindsWhatWasInserted) {
  FlowTable t({.max_flows = 64});
  for (uint32_t i = 0; i < 64; ++i) t.insert(key_n(i), state_level(i % 7 + 1), i);
  EXPECT_EQ(t.size(), 64u);
  for (uint32_t i = 0; i < 64; ++i) {
    FlowEntry *e = t.find(key_n(i));
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->state.level, i % 7 + 1);
  }
  EXPECT_EQ(t.find(key_n(1000)), nullptr);
  EXPECT_EQ(t.counters().evictions, 0u);
}

TEST(FlowTable, FullTableEvictsLeastRecentlyUsedAndCountsIt) {
  FlowTable t({.max_flows = 4});
  for (uint32_t i = 0; i < 4; ++i) t.insert(key_n(i), state_level(1), i);
  t.touch(t.find(key_n(0)), 10);  // 0 is now the most recent; 1 the coldest
  t.insert(key_n(4), state_level(1), 11);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.counters().evictions, 1u);
  EXPECT_EQ(t.find(key_n(1)), nullptr);
  EXPECT_NE(t.find(key_n(0)), nullptr);
  EXPECT_NE(t.find(key_n(4)), nullptr);
}

TEST(FlowTable, ClosingFlowsAreEvictedFirst) {
  FlowTable t({.max_flows = 3});
  for (uint32_t i = 0; i < 3; ++i) t.insert(key_n(i), state_level(1), i);
  FlowEntry *e = t.find(key_n(2));  // the hottest, but closing
  e->state.flags |= SL_FLOW_CLOSING;
  t.touch(e, 5);
  t.insert(key_n(3), state_level(1), 6);
  EXPECT_EQ(t.find(key_n(2)), nullptr);
  EXPECT_NE(t.find(key_n(0)), nullptr);
}

TEST(FlowTable, IdleAndClosingTimeouts) {
  FlowTable t({.max_flows = 16, .idle_timeout_ns = 100 * kSec, .closing_timeout_ns = 5 * kSec});
  t.insert(key_n(1), state_level(1), 0);
  t.insert(key_n(2), state_level(1), 0);
  FlowEntry *c = t.find(key_n(2));
  c->state.flags |= SL_FLOW_CLOSING;
  t.touch(c, 1 * kSec);
  EXPECT_EQ(t.expire(5 * kSec, 100), 0u);
  EXPECT_EQ(t.expire(6 * kSec, 100), 1u);  // the closing flow, 5 s after its last packet
  EXPECT_EQ(t.find(key_n(2)), nullptr);
  EXPECT_NE(t.find(key_n(1)), nullptr);
  t.touch(t.find(key_n(1)), 50 * kSec);
  EXPECT_EQ(t.expire(149 * kSec, 100), 0u);
  EXPECT_EQ(t.expire(150 * kSec, 100), 1u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.counters().expired, 2u);
}

TEST(FlowTable, ExpiryRespectsBudgetAndPendingPackets) {
  FlowTable t({.max_flows = 16, .idle_timeout_ns = kSec, .closing_timeout_ns = kSec});
  for (uint32_t i = 0; i < 10; ++i) t.insert(key_n(i), state_level(1), 0);
  EXPECT_EQ(t.expire(2 * kSec, 3), 3u);
  EXPECT_EQ(t.size(), 7u);
  // The coldest remaining flow still has packets in the pacer: it stays.
  FlowEntry *cold = t.find(key_n(3));
  ASSERT_NE(cold, nullptr);
  cold->pending = 1;
  EXPECT_EQ(t.expire(2 * kSec, 100), 0u);
  cold->pending = 0;
  EXPECT_EQ(t.expire(2 * kSec, 100), 7u);
}

TEST(FlowTable, GenerationInvalidatesStaleIndices) {
  FlowTable t({.max_flows = 1});
  FlowEntry *e = t.insert(key_n(1), state_level(1), 0);
  const uint32_t idx = t.index_of(e), gen = e->generation;
  EXPECT_EQ(t.at(idx, gen), e);
  t.insert(key_n(2), state_level(1), 1);  // evicts flow 1, reuses its entry
  EXPECT_EQ(t.at(idx, gen), nullptr);
}

// Random inserts, erases and lookups against std::set as the model: backward-shift deletion
// must never lose a flow.
TEST(FlowTable, MatchesModelUnderRandomChurn) {
  FlowTable t({.max_flows = 512});
  std::set<uint32_t> model;
  std::mt19937 rng(42);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t n = rng() % 700;
    if (rng() % 3 == 0) {
      if (FlowEntry *e = t.find(key_n(n))) t.erase(e);
      model.erase(n);
    } else if (model.size() < 512 || model.count(n)) {
      t.insert(key_n(n), state_level(1), step);
      model.insert(n);
    }
    ASSERT_EQ(t.size(), model.size());
  }
  for (uint32_t n = 0; n < 700; ++n) EXPECT_EQ(t.find(key_n(n)) != nullptr, model.count(n) == 1);
}

}  // namespace
}  // namespace sluice::dataplane
