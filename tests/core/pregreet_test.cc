// Pregreet (core/sl_greet.h) through the product sequence with the native runner's environment:
// which connections are reported, how the greeting slots behave, and what the candidate table
// and its readers make of the reports.
#include <gtest/gtest.h>

#include <cstring>

#include "common/pregreet_frames.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "heavy_merge.h"

namespace sluice::testing {
namespace {

constexpr uint64_t kNow = uint64_t{40} << 30;  // window 40

sl_policy pregreet_policy(bool on = true) {
  sl_policy p = fixture_policy();
  p.pregreet = on ? 1 : 0;
  return p;
}

// Sends the frames in order; returns the pregreet count of the last one.
uint64_t send(NativeHeavy &h, const sl_policy &pol,
              std::initializer_list<std::pair<Bytes, sl_dir>> frames) {
  uint64_t n = 0;
  for (const auto &[f, dir] : frames) n = run_native_counted(h, f, dir, pol).stats.pregreet;
  return n;
}

std::vector<heavy::HeavyCount> pregreeters(const NativeHeavy &h, uint64_t now_ns) {
  heavy::HeavyMerge m(sl_heavy_epoch(now_ns));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  m.add_sketch(*h.sketch);
  return m.pregreet(100);
}

constexpr sl_dir kIn = SL_DIR_FROM_INSIDE, kOut = SL_DIR_FROM_OUTSIDE;

TEST(Pregreet, DataAcknowledgingOnlyTheSynAckIsReportedOnce) {
  NativeHeavy h(11);
  h.now_ns = kNow;
  const PregreetConn c;
  EXPECT_EQ(send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {c.client_ack(), kOut}}), 0u)
      << "the handshake's ACK carries no payload";
  EXPECT_EQ(send(h, pregreet_policy(), {{c.client_data(0), kOut}}), 1u);
  EXPECT_EQ(send(h, pregreet_policy(), {{c.client_data(0), kOut}}), 0u)
      << "the slot was taken: a retransmission is not a second connection";
  const auto top = pregreeters(h, kNow);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(heavy::address_text(top[0].key), "198.18.0.7");
  EXPECT_EQ(top[0].key.prefix_len, 32u);
  EXPECT_EQ(top[0].syns, 1u);
  heavy::HeavyMerge m(sl_heavy_epoch(kNow));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  EXPECT_TRUE(m.top(10).empty()) << "a pregreet entry is no SYN heavy hitter";
}

TEST(Pregreet, DataAfterTheGreetingIsNot) {
  NativeHeavy h(11);
  h.now_ns = kNow;
  const PregreetConn c;
  EXPECT_EQ(send(h, pregreet_policy(),
                 {{c.syn_ack(), kIn}, {c.greeting(24), kIn}, {c.client_data(24), kOut}}),
            0u);
  // Acknowledging part of the greeting: the client has heard the server.
  EXPECT_EQ(send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {c.client_data(1), kOut}}), 0u);
  EXPECT_TRUE(pregreeters(h, kNow).empty());
}

TEST(Pregreet, NeedsTheServersSynAckOfThatFlow) {
  NativeHeavy h(11);
  h.now_ns = kNow;
  PregreetConn c;
  EXPECT_EQ(send(h, pregreet_policy(), {{c.client_data(0), kOut}}), 0u) << "no SYN-ACK seen";
  PregreetConn other = c;
  other.client_port = 40001;
  EXPECT_EQ(send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {other.client_data(0), kOut}}), 0u)
      << "another flow's slot";
  PregreetConn wrong_isn = c;
  wrong_isn.server_isn += 7;
  EXPECT_EQ(send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {wrong_isn.client_data(0), kOut}}), 0u)
      << "an acknowledgement the server's ISN does not explain";
}

TEST(Pregreet, OffInThePolicyNothingIsRecordedOrReported) {
  NativeHeavy h(11);
  h.now_ns = kNow;
  const PregreetConn c;
  EXPECT_EQ(send(h, pregreet_policy(false), {{c.syn_ack(), kIn}, {c.client_data(0), kOut}}), 0u);
  EXPECT_EQ(send(h, pregreet_policy(), {{c.client_data(0), kOut}}), 0u)
      << "the SYN-ACK passed while the test was off: no slot";
  for (uint64_t s : h.greet->slot) ASSERT_EQ(s, 0u);
}

TEST(Pregreet, Ipv6AndEveryConnectionOfAnAddressCount) {
  NativeHeavy h(11);
  h.now_ns = kNow;
  PregreetConn c;
  c.v6 = true;
  for (uint16_t port = 41000; port < 41005; ++port) {
    c.client_port = port;
    c.server_isn += 1000;
    EXPECT_EQ(send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {c.client_data(0), kOut}}), 1u);
  }
  const auto top = pregreeters(h, kNow);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(heavy::address_text(top[0].key), "2001:2::7");
  EXPECT_EQ(top[0].key.prefix_len, 128u);
  EXPECT_EQ(top[0].syns, 5u);
}

// An entry's count restarts after SL_HEAVY_EVENT_WINDOWS windows without a pregreet, and readers
// stop seeing it then: what a reader adds up since its last read counts each connection once.
TEST(Pregreet, ACountRestartsAfterIdleWindows) {
  NativeHeavy h(11);
  PregreetConn c;
  auto once = [&](uint64_t now) {
    h.now_ns = now;
    c.client_port++;
    c.server_isn += 99;
    return send(h, pregreet_policy(), {{c.syn_ack(), kIn}, {c.client_data(0), kOut}});
  };
  const uint64_t w = uint64_t{1} << SL_HEAVY_WINDOW_SHIFT;
  const uint64_t idle = SL_HEAVY_EVENT_WINDOWS * w;
  EXPECT_EQ(once(kNow), 1u);
  EXPECT_EQ(once(kNow + w), 1u);  // the next window: counted on
  ASSERT_EQ(pregreeters(h, kNow + w).at(0).syns, 2u);
  EXPECT_EQ(pregreeters(h, kNow + w + idle - w).at(0).syns, 2u) << "seen while live";
  EXPECT_TRUE(pregreeters(h, kNow + w + idle).empty()) << "idle too long: not seen";
  EXPECT_EQ(once(kNow + w + idle - w), 1u);  // still live: counted on
  ASSERT_EQ(pregreeters(h, kNow + w + idle - w).at(0).syns, 3u);
  EXPECT_EQ(once(kNow + 2 * idle), 1u);
  EXPECT_EQ(pregreeters(h, kNow + 2 * idle).at(0).syns, 1u) << "started again";
}

// A bucket full of current SYN heavy hitters refuses a new pregreet address (counted), and the
// hitters stay.
TEST(Pregreet, AFullBucketOfHeavyHittersRefusesAnEvent) {
  NativeHeavy h(11);
  const uint32_t epoch = 40;
  sl_heavy_key ev{};
  ev.family = SL_AF_INET;
  ev.prefix_len = 32;
  ev.kind = SL_HEAVY_KIND_PREGREET;
  std::memcpy(ev.addr, "\xc6\x12\x00\x07", 4);
  const uint32_t bucket = sl_heavy_table_bucket(h.table.get(), &ev);
  for (uint32_t i = 0; i < SL_HEAVY_TABLE_WAYS; ++i) {
    sl_heavy_entry &e = h.table->e[bucket][i];
    e.key = ev;
    e.key.kind = SL_HEAVY_KIND_SYN;
    e.key.addr[3] = static_cast<uint8_t>(100 + i);
    e.estimate = 50;
    e.epoch = epoch;
  }
  sl_heavy_table_event_in(h.table.get(), bucket, &ev, epoch);
  EXPECT_EQ(h.table->refused, 1u);
  for (const sl_heavy_entry &e : h.table->e[bucket]) EXPECT_EQ(e.key.kind, SL_HEAVY_KIND_SYN);
  // Two windows on, the hitters are stale and the event takes a slot.
  sl_heavy_table_event_in(h.table.get(), bucket, &ev, epoch + 2);
  int events = 0;
  for (const sl_heavy_entry &e : h.table->e[bucket])
    events += e.key.kind == SL_HEAVY_KIND_PREGREET && e.estimate == 1;
  EXPECT_EQ(events, 1);
}

}  // namespace
}  // namespace sluice::testing
