// The path-delay emulator's line (bench/delayline/delay_queue.h): a frame leaves exactly its
// delay after it arrived, never before, in arrival order and unaltered; a full line and a frame
// larger than a slot drop and count; the lateness histogram's quantiles bound the values added.
#include "delay_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using sluice::delayline::DelayQueue;
using sluice::delayline::LatenessHistogram;

std::vector<uint8_t> frame(uint8_t tag, size_t len) {
  return std::vector<uint8_t>(len, tag);
}

TEST(DelayQueue, AFrameIsDueExactlyItsDelayAfterItArrived) {
  DelayQueue line(20'000, 4, 64);
  auto f = frame(7, 60);
  ASSERT_TRUE(line.push(1'000, f));
  EXPECT_EQ(line.next_due(), 21'000u);
  EXPECT_FALSE(line.due(20'999).has_value());
  auto out = line.due(21'000);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), f);
  line.pop();
  EXPECT_EQ(line.size(), 0u);
  EXPECT_FALSE(line.next_due().has_value());
  EXPECT_EQ(line.counters().sent, 1u);
}

TEST(DelayQueue, ZeroDelayReleasesAtOnce) {
  DelayQueue line(0, 2, 64);
  ASSERT_TRUE(line.push(5, frame(1, 10)));
  EXPECT_TRUE(line.due(5).has_value());
}

TEST(DelayQueue, FramesLeaveInArrivalOrderThroughTheRingManyTimes) {
  DelayQueue line(100, 3, 16);
  uint64_t now = 0;
  uint8_t next_in = 0, next_out = 0;
  // Fill and drain a 3-slot ring 50 times over, a frame's length and bytes naming its order.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 3; ++i, ++next_in)
      ASSERT_TRUE(line.push(now++, frame(next_in, 1 + next_in % 16)));
    now += 100;
    while (auto out = line.due(now)) {
      ASSERT_EQ(out->size(), 1u + next_out % 16);
      EXPECT_EQ((*out)[0], next_out);
      line.pop();
      ++next_out;
    }
  }
  EXPECT_EQ(next_out, next_in);
  EXPECT_EQ(line.counters().accepted, 150u);
  EXPECT_EQ(line.counters().sent, 150u);
}

TEST(DelayQueue, TheHeadHoldsBackLaterFramesOnlyUntilTheirOwnTime) {
  DelayQueue line(10, 4, 16);
  ASSERT_TRUE(line.push(0, frame(1, 1)));
  ASSERT_TRUE(line.push(5, frame(2, 1)));
  ASSERT_TRUE(line.due(10).has_value());
  line.pop();
  EXPECT_FALSE(line.due(14).has_value());  // the second arrived at 5: due at 15
  EXPECT_TRUE(line.due(15).has_value());
}

TEST(DelayQueue, AFullLineDropsAndCounts) {
  DelayQueue line(1'000, 2, 16);
  EXPECT_TRUE(line.push(0, frame(1, 4)));
  EXPECT_TRUE(line.push(0, frame(2, 4)));
  EXPECT_FALSE(line.push(0, frame(3, 4)));
  EXPECT_EQ(line.counters().dropped_full, 1u);
  EXPECT_EQ(line.size(), 2u);
  auto out = line.due(1'000);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ((*out)[0], 1);  // the dropped frame did not overwrite anything
  line.pop();
  EXPECT_TRUE(line.push(1'000, frame(4, 4)));  // room again
}

TEST(DelayQueue, AFrameLargerThanASlotIsDroppedAndCounted) {
  DelayQueue line(0, 2, 16);
  EXPECT_FALSE(line.push(0, frame(1, 17)));
  EXPECT_TRUE(line.push(0, frame(2, 16)));
  EXPECT_EQ(line.counters().dropped_large, 1u);
  EXPECT_EQ(line.counters().accepted, 1u);
}

TEST(DelayQueue, PopOnAnEmptyLineChangesNothing) {
  DelayQueue line(0, 2, 16);
  line.pop();
  EXPECT_EQ(line.size(), 0u);
  EXPECT_EQ(line.counters().sent, 0u);
}

TEST(LatenessHistogram, QuantilesBoundTheValuesAdded) {
  LatenessHistogram h;
  EXPECT_EQ(h.quantile_ns(0.5), 0u);
  // 90 values of 3 us, 10 of 250 us.
  for (int i = 0; i < 90; ++i) h.add(3'000);
  for (int i = 0; i < 10; ++i) h.add(250'000);
  EXPECT_EQ(h.total(), 100u);
  EXPECT_EQ(h.quantile_ns(0.5), 10'000u);    // the 10 us bucket's upper edge
  EXPECT_EQ(h.quantile_ns(0.9), 10'000u);    // the 90th value is still 3 us
  EXPECT_EQ(h.quantile_ns(0.99), 250'000u);  // capped at the maximum, not the 260 us edge
  EXPECT_EQ(h.max_ns(), 250'000u);
}

TEST(LatenessHistogram, BeyondTheLastBucketTheMaximumIsTheBound) {
  LatenessHistogram h;
  h.add(5'000'000'000ull);  // 5 s late
  EXPECT_EQ(h.quantile_ns(0.5), 5'000'000'000ull);
}

}  // namespace
