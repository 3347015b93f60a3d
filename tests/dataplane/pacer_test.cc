// Pacer: nothing leaves before its release time, everything leaves once due, a flow's packets
// keep their order, long delays beyond the wheel's horizon still work, a full pool refuses.
#include "pacer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace sluice::dataplane {
namespace {

constexpr uint64_t kUs = 1000, kMs = 1'000'000;

void *tag(uintptr_t n) {
  return reinterpret_cast<void *>(n);
}

TEST(Pacer, ReleasesAtTheRightTimeNotBefore) {
  Pacer p({.capacity = 16}, 0);
  ASSERT_TRUE(p.insert(200 * kMs, tag(1), 0, 0));
  std::vector<uintptr_t> out;
  auto collect = [&](const PacerItem &it) {
    out.push_back(reinterpret_cast<uintptr_t>(it.payload));
  };
  p.poll(199 * kMs, 100, collect);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.depth(), 1u);
  p.poll(200 * kMs + 20 * kUs, 100, collect);  // one slot (16.4 us) of granularity
  EXPECT_EQ(out, std::vector<uintptr_t>{1});
  EXPECT_EQ(p.depth(), 0u);
}

TEST(Pacer, KeepsInsertionOrderForEqualReleaseTimes) {
  Pacer p({.capacity = 64}, 0);
  for (uintptr_t i = 1; i <= 50; ++i) ASSERT_TRUE(p.insert(5 * kMs, tag(i), 7, 0));
  std::vector<uintptr_t> out;
  p.poll(6 * kMs, 1000,
         [&](const PacerItem &it) { out.push_back(reinterpret_cast<uintptr_t>(it.payload)); });
  ASSERT_EQ(out.size(), 50u);
  for (uintptr_t i = 0; i < 50; ++i) EXPECT_EQ(out[i], i + 1);
}

TEST(Pacer, BudgetLimitsAPollWithoutLosingOrder) {
  Pacer p({.capacity = 64}, 0);
  for (uintptr_t i = 1; i <= 10; ++i) ASSERT_TRUE(p.insert(kMs, tag(i), 0, 0));
  std::vector<uintptr_t> out;
  auto collect = [&](const PacerItem &it) {
    out.push_back(reinterpret_cast<uintptr_t>(it.payload));
  };
  EXPECT_EQ(p.poll(2 * kMs, 4, collect), 4u);
  EXPECT_EQ(p.poll(2 * kMs, 4, collect), 4u);
  EXPECT_EQ(p.poll(2 * kMs, 4, collect), 2u);
  ASSERT_EQ(out.size(), 10u);
  for (uintptr_t i = 0; i < 10; ++i) EXPECT_EQ(out[i], i + 1);
}

TEST(Pacer, DelaysBeyondTheHorizon) {
  Pacer p({.capacity = 4, .slot_shift = 10, .slots_log2 = 4}, 0);  // 16 slots of 1 us
  ASSERT_LT(p.horizon_ns(), 100 * kUs);
  ASSERT_TRUE(p.insert(100 * kUs, tag(1), 0, 0));
  int released = 0;
  uint64_t t = 0;
  for (; t < 200 * kUs && released == 0; t += kUs)
    p.poll(t, 10, [&](const PacerItem &it) {
      ++released;
      EXPECT_GE(t, it.release_ns);
    });
  EXPECT_EQ(released, 1);
  EXPECT_LE(t, 100 * kUs + 3 * kUs);
}

TEST(Pacer, FullPoolRefusesAndCounts) {
  Pacer p({.capacity = 3}, 0);
  EXPECT_TRUE(p.insert(kMs, tag(1), 0, 0));
  EXPECT_TRUE(p.insert(kMs, tag(2), 0, 0));
  EXPECT_TRUE(p.insert(kMs, tag(3), 0, 0));
  EXPECT_FALSE(p.insert(kMs, tag(4), 0, 0));
  EXPECT_EQ(p.counters().refused, 1u);
  p.poll(2 * kMs, 10, [](const PacerItem &) {});
  EXPECT_TRUE(p.insert(3 * kMs, tag(5), 0, 0)) << "released items are reused";
}

// Random release times, polled at random steps: every item leaves exactly once, never early,
// and at most one slot late relative to the poll that first could release it.
TEST(Pacer, RandomScheduleReleasesEverythingOnTimeAndInOrder) {
  Pacer p({.capacity = 4096}, 0);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> release(3000);
  uint64_t now = 0;
  std::vector<int> seen(release.size(), 0);
  std::vector<uint64_t> last_per_flow(10, 0);
  // Order: within a flow, packets leave in the order they were inserted (index i); over all
  // flows, in the order of their release slots (2^14 ns, the default slot width).
  std::vector<int64_t> flow_last(10, -1);
  uint64_t last_slot = 0;
  size_t released = 0;
  size_t next = 0;
  while (next < release.size() || p.depth() > 0) {
    if (next < release.size()) {
      const uint64_t flow = next % 10;
      // Per flow the caller never asks for an earlier release than the previous one.
      uint64_t r = now + rng() % (300 * kMs);
      if (r < last_per_flow[flow]) r = last_per_flow[flow];
      last_per_flow[flow] = r;
      release[next] = r;
      ASSERT_TRUE(p.insert(r, tag(next), static_cast<uint32_t>(flow), 0));
      ++next;
    }
    now += rng() % (200 * kUs);
    p.poll(now, 1u << 20, [&](const PacerItem &it) {
      const auto i = reinterpret_cast<uintptr_t>(it.payload);
      EXPECT_LE(release[i], now) << "released early";
      EXPECT_LT(now - release[i], (2u << 14) + 200 * kUs) << "released late";
      EXPECT_EQ(it.flow_idx, i % 10);
      EXPECT_GT(static_cast<int64_t>(i), flow_last[it.flow_idx])
          << "packet " << i << " of flow " << it.flow_idx << " left after packet "
          << flow_last[it.flow_idx] << " of the same flow";
      flow_last[it.flow_idx] = static_cast<int64_t>(i);
      EXPECT_GE(release[i] >> 14, last_slot) << "packet " << i << " left after a later slot";
      last_slot = release[i] >> 14;
      seen[i]++;
      ++released;
    });
  }
  for (size_t i = 0; i < release.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_EQ(released, release.size());
  for (size_t f = 0; f < flow_last.size(); ++f)
    EXPECT_EQ(flow_last[f], static_cast<int64_t>(release.size() - 10 + f)) << "flow " << f;
}

TEST(Pacer, PerFlowOrderUnderInterleaving) {
  Pacer p({.capacity = 1024}, 0);
  std::mt19937 rng(3);
  uint64_t now = 0;
  uint64_t last[4] = {};
  uint32_t seq[4] = {};
  for (int i = 0; i < 800; ++i) {
    const uint32_t f = rng() % 4;
    uint64_t r = now + (f + 1) * 3 * kMs;
    if (r < last[f]) r = last[f];
    last[f] = r;
    ASSERT_TRUE(p.insert(r, tag(seq[f]++), f, 0));
    now += rng() % (50 * kUs);
  }
  int64_t expect[4] = {};
  p.poll(now + kMs * 1000, 1u << 20, [&](const PacerItem &it) {
    EXPECT_EQ(static_cast<int64_t>(reinterpret_cast<uintptr_t>(it.payload)), expect[it.flow_idx]);
    expect[it.flow_idx]++;
  });
  for (int f = 0; f < 4; ++f) EXPECT_EQ(expect[f], static_cast<int64_t>(seq[f]));
}

}  // namespace
}  // namespace sluice::dataplane
