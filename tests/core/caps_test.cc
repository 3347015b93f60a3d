// Aggregate caps (core/sl_caps.h): the GCRA rate, the open-flow count and its idle reset, the
// plain-memory caps table's bounds, and a sender's connections through the native runner.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "core/sl_caps.h"

namespace sluice::testing {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

sl_caps rate_caps(uint32_t per_min, uint32_t burst) {
  sl_caps c{};
  c.syn_interval_us = 60'000'000u / per_min;
  c.syn_tolerance_us = (burst - 1) * c.syn_interval_us;
  return c;
}

// 60 SYNs a minute with a burst of 2, offered one a millisecond for a minute: the burst, then
// one a second.
TEST(CapsRate, AdmitsTheBurstThenOnePerInterval) {
  const sl_caps c = rate_caps(60, 2);
  sl_cap_entry e{};
  unsigned admitted = 0;
  for (uint64_t t = 0; t < 60 * kSecond; t += 1'000'000)
    if (!sl_cap_rate_take(&e, &c, t)) admitted++;
  EXPECT_EQ(admitted, 2u + 59u);
}

TEST(CapsRate, AnIdleSenderGetsItsBurstBackButNoMore) {
  const sl_caps c = rate_caps(6, 3);  // one per 10 s, burst 3
  sl_cap_entry e{};
  const uint64_t t0 = 1000 * kSecond;
  for (int i = 0; i < 3; i++) EXPECT_FALSE(sl_cap_rate_take(&e, &c, t0)) << i;
  EXPECT_TRUE(sl_cap_rate_take(&e, &c, t0)) << "the fourth at once is over";
  // An hour later: the burst again, not an hour's worth.
  const uint64_t t1 = t0 + 3600 * kSecond;
  for (int i = 0; i < 3; i++) EXPECT_FALSE(sl_cap_rate_take(&e, &c, t1)) << i;
  EXPECT_TRUE(sl_cap_rate_take(&e, &c, t1));
}

TEST(CapsFlows, AnEntryIdleLongerThanTheIdleTimeForgetsItsCount) {
  sl_cap_entry e{};
  e.flows = 5;
  e.touched_ns = 10 * kSecond;
  sl_cap_touch(&e, 10 * kSecond + SL_CAPS_IDLE_NS);
  EXPECT_EQ(e.flows, 5u) << "exactly the idle time: kept";
  sl_cap_touch(&e, 10 * kSecond + 2 * SL_CAPS_IDLE_NS + 1);
  EXPECT_EQ(e.flows, 0u);
}

TEST(CapsFlows, AReleaseNeverGoesBelowZero) {
  sl_cap_entry e{};
  sl_cap_flow_add(&e);
  sl_cap_flow_release(&e);
  sl_cap_flow_release(&e);
  EXPECT_EQ(e.flows, 0u);
}

sl_heavy_key v4_host(uint32_t n) {
  sl_heavy_key k{};
  k.family = SL_AF_INET;
  k.prefix_len = 32;
  const uint32_t a = sl_htonl(0xc6120000u + n);  // 198.18.0.0 + n
  std::memcpy(k.addr, &a, 4);
  return k;
}

TEST(CapsTable, FindsWhatItCreatedAndNothingElse) {
  auto t = std::make_unique<sl_caps_table>();
  std::memset(t.get(), 0, sizeof(*t));
  t->seed = 0x1234;
  __u64 evicted = 0;
  const sl_heavy_key a = v4_host(1), b = v4_host(2);
  EXPECT_EQ(sl_caps_table_get(t.get(), &a, 0, &evicted), nullptr);
  sl_cap_entry *ea = sl_caps_table_get(t.get(), &a, 1, &evicted);
  ASSERT_NE(ea, nullptr);
  ea->flows = 7;
  EXPECT_EQ(sl_caps_table_get(t.get(), &a, 0, &evicted), ea);
  EXPECT_EQ(sl_caps_table_get(t.get(), &b, 0, &evicted), nullptr);
  sl_heavy_key net = a;
  sl_heavy_key_to_net(&net);
  EXPECT_EQ(sl_caps_table_get(t.get(), &net, 0, &evicted), nullptr) << "/24 is its own key";
  EXPECT_EQ(evicted, 0u);
}

// A flood of distinct senders: the table stays its size, every one gets an entry, the ones
// pushed out are counted, and the most recently used survive.
TEST(CapsTable, AFloodOfSendersEvictsTheLeastRecentlyUsedAndCountsThem) {
  auto t = std::make_unique<sl_caps_table>();
  std::memset(t.get(), 0, sizeof(*t));
  t->seed = 0x5678;
  __u64 evicted = 0;
  const uint32_t slots = SL_CAPS_TABLE_BUCKETS * SL_CAPS_TABLE_WAYS;
  const uint32_t n = 4 * slots;
  for (uint32_t i = 0; i < n; i++) {
    const sl_heavy_key k = v4_host(i);
    sl_cap_entry *e = sl_caps_table_get(t.get(), &k, 1, &evicted);
    ASSERT_NE(e, nullptr);
    e->touched_ns = 1 + i;
  }
  uint32_t used = 0;
  for (const auto &bucket : t->s)
    for (const sl_cap_slot &s : bucket) used += s.used;
  EXPECT_EQ(used + evicted, n);
  EXPECT_GE(evicted, n - slots);
  const sl_heavy_key last = v4_host(n - 1);
  EXPECT_NE(sl_caps_table_get(t.get(), &last, 0, &evicted), nullptr);
}

// A SYN of the fixtures' client to the MTA, from a client port of its own.
std::vector<uint8_t> syn_from(uint16_t port) {
  return PacketBuilder()
      .ipv4(kClient4, kServer4)
      .tcp(port, kSmtpPort)
      .flags(0x02)
      .seq(1000)
      .window(64240)
      .build();
}

// The client's address and network entries, in use now (the native runner's clock is 1) and
// holding `flows` open flows each.
NativeState live_caps(uint32_t flows) {
  NativeState caps;
  caps.host = sl_cap_entry{};
  caps.host->touched_ns = 1;
  caps.host->flows = flows;
  caps.net = caps.host;
  return caps;
}

// One sender at a level with max_flows 2 (kCapped's level 1) through the native runner, its
// caps entries carried from packet to packet: two connections pass, the third SYN is dropped;
// a FIN on one lets the next one in.
TEST(CapsSequence, ASendersThirdConnectionWaitsForOneToClose) {
  const sl_policy pol = fixture_policy(FixturePolicy::kCapped);
  const sl_rep_value listed{3, 0};
  NativeState caps = live_caps(0);
  std::optional<sl_flow_state> flows[3];
  sl_verdict verdicts[3];
  for (int i = 0; i < 3; i++) {
    caps.host->tat = 0;  // the rate is not what is tested here
    const FixtureResult r =
        run_native_packet(syn_from(static_cast<uint16_t>(40000 + i)), SL_DIR_FROM_OUTSIDE, pol,
                          listed, std::nullopt, 0, SIZE_MAX, caps);
    verdicts[i] = r.verdict;
    flows[i] = r.flow_after;
    caps = r.state_after;
  }
  EXPECT_EQ(verdicts[0], SL_VERDICT_PASS);
  EXPECT_EQ(verdicts[1], SL_VERDICT_PASS);
  EXPECT_EQ(verdicts[2], SL_VERDICT_DROP);
  EXPECT_EQ(caps.host->flows, 2u);
  EXPECT_EQ(caps.net->flows, 2u);
  ASSERT_TRUE(flows[0].has_value());

  const auto fin = PacketBuilder()
                       .ipv4(kClient4, kServer4)
                       .tcp(40000, kSmtpPort)
                       .flags(0x11)
                       .seq(1001)
                       .ack(1)
                       .window(64240)
                       .build();
  const FixtureResult closed =
      run_native_packet(fin, SL_DIR_FROM_OUTSIDE, pol, listed, flows[0], 0, SIZE_MAX, caps);
  caps = closed.state_after;
  EXPECT_EQ(caps.host->flows, 1u);
  ASSERT_TRUE(closed.flow_after.has_value());
  EXPECT_EQ(closed.flow_after->flags & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET), 0)
      << "released once: a second FIN releases nothing";
  const FixtureResult again = run_native_packet(fin, SL_DIR_FROM_OUTSIDE, pol, listed,
                                                closed.flow_after, 0, SIZE_MAX, caps);
  EXPECT_EQ(again.state_after.host->flows, 1u);

  caps.host->tat = 0;
  const FixtureResult fourth = run_native_packet(syn_from(40003), SL_DIR_FROM_OUTSIDE, pol, listed,
                                                 std::nullopt, 0, SIZE_MAX, caps);
  EXPECT_EQ(fourth.verdict, SL_VERDICT_PASS);
  EXPECT_EQ(fourth.state_after.host->flows, 2u);
}

// A SYN the caps admit is counted at once; when its flow cannot be stored (no room), the count
// goes back, so a sender is never held by connections that exist nowhere.
TEST(CapsSequence, AnAdmittedSynWhoseFlowIsNotStoredLeavesNoCount) {
  const sl_policy pol = fixture_policy(FixturePolicy::kCapped);
  const sl_rep_value listed{3, 0};
  NativeState caps = live_caps(1);
  const auto syn = syn_from(40000);
  caps.no_flow_room = true;
  const FixtureResult full =
      run_native_packet(syn, SL_DIR_FROM_OUTSIDE, pol, listed, std::nullopt, 0, SIZE_MAX, caps);
  EXPECT_EQ(full.verdict, SL_VERDICT_PASS) << "forwarded, as any SYN without room for its flow";
  EXPECT_EQ(full.stats.flow_table_full, 1u);
  EXPECT_FALSE(full.flow_after.has_value());
  ASSERT_TRUE(full.state_after.host.has_value() && full.state_after.net.has_value());
  EXPECT_EQ(full.state_after.host->flows, 1u);
  EXPECT_EQ(full.state_after.net->flows, 1u);
  EXPECT_NE(full.state_after.host->tat, 0u) << "the rate was taken: the SYN was sent on";

  caps.no_flow_room = false;
  const FixtureResult stored =
      run_native_packet(syn, SL_DIR_FROM_OUTSIDE, pol, listed, std::nullopt, 0, SIZE_MAX, caps);
  EXPECT_EQ(stored.state_after.host->flows, 2u);
  EXPECT_EQ(stored.state_after.net->flows, 2u);
  ASSERT_TRUE(stored.flow_after.has_value());
  EXPECT_EQ(stored.flow_after->flags & (SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET),
            SL_FLOW_CAP_HOST | SL_FLOW_CAP_NET);
}

}  // namespace
}  // namespace sluice::testing
