// SYN heavy hitters in the packet core (core/sl_heavy.h) through the native runner: the sketch's
// guarantees, the report points, the candidate table, the shared SYN stream and a flood of a
// million unique sources.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "core/heavy_stream.h"
#include "core/native_pipeline.h"
#include "heavy_merge.h"

namespace sluice::testing {
namespace {

sl_heavy_key key4(uint32_t addr_host_order, uint8_t len) {
  sl_heavy_key k{};
  const uint32_t masked = len == 32 ? addr_host_order : addr_host_order & (~0u << (32 - len));
  const uint32_t be = htonl(masked);
  std::memcpy(k.addr, &be, 4);
  k.family = SL_AF_INET;
  k.prefix_len = len;
  return k;
}

std::map<std::string, uint64_t> as_map(const std::vector<heavy::HeavyCount> &v) {
  std::map<std::string, uint64_t> out;
  for (const auto &c : v) out[heavy::prefix_text(c.key)] = c.syns;
  return out;
}

TEST(HeavySketch, NeverUndercountsAndResetsPerWindow) {
  NativeHeavy h(42);
  std::mt19937 rng(7);
  std::map<uint32_t, uint32_t> truth;
  for (int i = 0; i < 200000; ++i) {
    const uint32_t a = rng() % 50000;
    truth[a]++;
    sl_heavy_key k = key4(a, 32);
    sl_heavy_add(h.sketch.get(), &k, 3);
  }
  for (const auto &[a, n] : truth) {
    sl_heavy_key k = key4(a, 32);
    ASSERT_GE(sl_heavy_estimate(h.sketch.get(), &k, 3), n) << a;
    // Another window: nothing counted there yet.
    ASSERT_EQ(sl_heavy_estimate(h.sketch.get(), &k, 4), 0u) << a;
  }
  // A cell of an old window restarts from 0 on its next update.
  sl_heavy_key k = key4(1, 32);
  EXPECT_EQ(sl_heavy_add(h.sketch.get(), &k, 4), 1u);
}

TEST(HeavySketch, ConservativeUpdateGrowsTheEstimateByOne) {
  NativeHeavy h(1);
  sl_heavy_key k = key4(0xc6120507, 32);
  for (uint32_t i = 1; i <= 1000; ++i) ASSERT_EQ(sl_heavy_add(h.sketch.get(), &k, 9), i);
}

TEST(HeavySketch, ReportPointsAreBoundedPerDoubling) {
  for (uint32_t t : {1u, 5u, 100u, 1000u}) {
    uint32_t reports = 0, first = 0;
    std::map<uint32_t, uint32_t> per_doubling;
    for (uint32_t est = 1; est <= SL_HEAVY_COUNT_MAX; ++est) {
      if (!sl_heavy_report_point(est, t)) continue;
      if (first == 0) first = est;
      reports++;
      per_doubling[31u - static_cast<uint32_t>(__builtin_clz(est))]++;
    }
    EXPECT_EQ(first, t);
    for (const auto &[bit, n] : per_doubling) EXPECT_LE(n, 17u) << "t " << t << " bit " << bit;
    EXPECT_LE(reports, 16u * SL_HEAVY_COUNT_BITS + 16u);
  }
}

// The report grid by its definition (T, then multiples of 2^(floor(log2 est) - 4)), with clz:
// the core's test (no log2, for BPF) must say the same for every estimate and a few thresholds.
TEST(HeavySketch, ReportPointsMatchTheirDefinition) {
  for (uint32_t t : {1u, 2u, 5u, 31u, 32u, 33u, 100u, 1000u, SL_HEAVY_COUNT_MAX}) {
    for (uint32_t est = 0; est <= SL_HEAVY_COUNT_MAX; ++est) {
      bool want = est == t;
      if (est > t && est < SL_HEAVY_COUNT_MAX) {
        const uint32_t top = 31u - static_cast<uint32_t>(__builtin_clz(est));
        want = top <= 4 || (est & ((1u << (top - 4)) - 1)) == 0;
      }
      ASSERT_EQ(sl_heavy_report_point(est, t) != 0, want) << "t " << t << " est " << est;
    }
  }
}

// The counting path hashes a client's two prefixes from its flow key without building keys:
// the hashes must be the keys' own (the reader re-reads counts through sl_heavy_estimate), and a
// SYN counted that way must leave the sketch as two sl_heavy_add calls would.
TEST(HeavySketch, FlowKeyHashesAreTheKeysHashes) {
  std::mt19937_64 rng(11);
  NativeHeavy a(5), b(5);
  for (int i = 0; i < 20000; ++i) {
    sl_flow_key fk{};
    const uint64_t r1 = rng(), r2 = rng();
    if (i % 2 == 0) {
      const uint32_t v4 = static_cast<uint32_t>(r1 % 5000);  // shared /24s and repeats
      std::memcpy(fk.client, &v4, 4);
      fk.family = SL_AF_INET;
    } else {
      std::memcpy(fk.client, &r1, 8);
      std::memcpy(fk.client + 8, &r2, 8);
      fk.client[0] = 0x20;
      fk.client[1] = 0x01;
      fk.client[2] = 0x00;
      fk.client[3] = 0x02;
      fk.client[7] &= 1;  // two /64s only: many hosts share one
      fk.family = SL_AF_INET6;
    }
    sl_heavy_key host, net;
    sl_heavy_keys(&fk, &host, &net);
    __u64 h_host = 0, h_net = 0;
    sl_heavy_hashes(a.sketch->seed, &fk, &h_host, &h_net);
    ASSERT_EQ(h_host, sl_heavy_hash(a.sketch->seed, &host)) << i;
    ASSERT_EQ(h_net, sl_heavy_hash(a.sketch->seed, &net)) << i;
    uint32_t est_host = 0, est_net = 0;
    sl_heavy_count_syn(a.sketch.get(), &fk, 6, &est_host, &est_net);
    ASSERT_EQ(est_host, sl_heavy_add(b.sketch.get(), &host, 6)) << i;
    ASSERT_EQ(est_net, sl_heavy_add(b.sketch.get(), &net, 6)) << i;
  }
  ASSERT_EQ(std::memcmp(a.sketch.get(), b.sketch.get(), sizeof(*a.sketch)), 0);
}

TEST(HeavySketch, SaturatesAtTheCellCap) {
  NativeHeavy h(3);
  sl_heavy_key k = key4(5, 32);
  const uint32_t tag = (11u & SL_HEAVY_EPOCH_MASK) << SL_HEAVY_COUNT_BITS;
  const uint64_t hash = sl_heavy_hash(h.sketch->seed, &k);
  for (uint32_t r = 0; r < SL_HEAVY_DEPTH; ++r)
    h.sketch->line[sl_heavy_line_index(hash, 0, r / SL_HEAVY_LINE_ROWS)][sl_heavy_slot(hash, r)] =
        tag | (SL_HEAVY_COUNT_MAX - 1);
  EXPECT_EQ(sl_heavy_add(h.sketch.get(), &k, 11), SL_HEAVY_COUNT_MAX);
  EXPECT_EQ(sl_heavy_add(h.sketch.get(), &k, 11), SL_HEAVY_COUNT_MAX);
  EXPECT_FALSE(sl_heavy_report_point(SL_HEAVY_COUNT_MAX, 5));
}

#ifdef SL_HEAVY_SSE4
// sluice-dp runs the SSE4.1 form of the update (this file is compiled for SSE4.1 on x86-64, as
// the pipeline is), XDP the scalar one: over the same stream they must return the same
// estimates and leave the same sketch. The stream mixes a few heavy keys with many light ones,
// counts in three windows (stale cells of an older window among current ones), and starts one
// key just below the cell cap.
TEST(HeavySketch, TheSse4UpdateIsTheScalarOne) {
  NativeHeavy a(77), b(77);
  const sl_heavy_key sat = key4(0xc6120909, 32);
  const uint64_t sat_hash = sl_heavy_hash(a.sketch->seed, &sat);
  const uint32_t sat_tag = (1u & SL_HEAVY_EPOCH_MASK) << SL_HEAVY_COUNT_BITS;  // the first window
  for (uint32_t r = 0; r < SL_HEAVY_DEPTH; ++r) {
    const uint32_t line = sl_heavy_line_index(sat_hash, 0, r / SL_HEAVY_LINE_ROWS);
    const uint32_t slot = sl_heavy_slot(sat_hash, r);
    a.sketch->line[line][slot] = b.sketch->line[line][slot] =
        sat_tag | (SL_HEAVY_COUNT_MAX - 3 + r);
  }
  std::mt19937 rng(11);
  uint32_t saturated = 0, stale = 0;
  for (int i = 0; i < 300000; ++i) {
    const uint32_t epoch = 1 + static_cast<uint32_t>(i / 100000);
    const uint32_t pick = rng();
    const uint32_t addr = (pick & 7) == 0 ? 0xc6120000u + (pick >> 3) % 16  // heavy
                                          : 0xc6120000u + (pick >> 3) % 200000;
    sl_heavy_key k = i % 1000 == 0 ? sat : key4(addr, (pick & 0x100) ? 24 : 32);
    const uint64_t h = sl_heavy_hash(a.sketch->seed, &k);
    const uint32_t net = sl_heavy_is_net(&k);
    const uint32_t before = sl_heavy_estimate_h(a.sketch.get(), h, net, epoch);
    const uint32_t ea = sl_heavy_add_h_scalar(a.sketch.get(), h, net, epoch);
    const uint32_t eb = sl_heavy_add_h_sse4(b.sketch.get(), h, net, epoch);
    ASSERT_EQ(ea, eb) << i;
    saturated += ea == SL_HEAVY_COUNT_MAX;
    stale += before == 0;
  }
  ASSERT_EQ(std::memcmp(a.sketch.get(), b.sketch.get(), sizeof(*a.sketch)), 0);
  // The stream reached what it is meant to cover.
  EXPECT_GT(saturated, 0u);
  EXPECT_GT(stale, 1000u);
}
#endif

// Keys that fall in bucket 0 of the table.
std::vector<sl_heavy_key> keys_in_bucket0(const sl_heavy_table &t, size_t n) {
  std::vector<sl_heavy_key> out;
  for (uint32_t a = 1; out.size() < n; ++a) {
    sl_heavy_key k = key4(a, 32);
    if (sl_heavy_table_bucket(&t, &k) == 0) out.push_back(k);
  }
  return out;
}

TEST(HeavyTable, ReplacesTheSmallestOfAFullBucket) {
  NativeHeavy h(5);
  sl_heavy_table &t = *h.table;
  const auto keys = keys_in_bucket0(t, SL_HEAVY_TABLE_WAYS + 2);
  for (size_t i = 0; i < SL_HEAVY_TABLE_WAYS; ++i)
    sl_heavy_table_offer(&t, &keys[i], static_cast<uint32_t>(10 + i), 1);
  // Smaller than every entry: refused.
  sl_heavy_table_offer(&t, &keys[SL_HEAVY_TABLE_WAYS], 9, 1);
  EXPECT_EQ(t.refused, 1u);
  // Larger: takes the smallest's slot (keys[0], 10).
  sl_heavy_table_offer(&t, &keys[SL_HEAVY_TABLE_WAYS + 1], 50, 1);
  EXPECT_EQ(t.replaced, 1u);
  std::set<uint32_t> values;
  bool has0 = false, has_new = false;
  for (const sl_heavy_entry &e : t.e[0]) {
    values.insert(e.estimate);
    has0 |= sl_heavy_key_eq(&e.key, &keys[0]) != 0;
    has_new |= sl_heavy_key_eq(&e.key, &keys[SL_HEAVY_TABLE_WAYS + 1]) != 0;
  }
  EXPECT_FALSE(has0);
  EXPECT_TRUE(has_new);
  EXPECT_EQ(values.count(10), 0u);
  // An entry already there is updated in place, whatever its value.
  sl_heavy_table_offer(&t, &keys[1], 12, 1);
  EXPECT_EQ(t.replaced, 1u);
  // Two windows later every entry is stale: a new key takes a slot without replacing.
  sl_heavy_table_offer(&t, &keys[0], 5, 3);
  EXPECT_EQ(t.replaced, 1u);
}

// A prefix the bucket holds is updated where it is, even when a slot before it is free (a victim
// chosen before the whole bucket was searched would hold the prefix twice).
TEST(HeavyTable, AKeyHeldPastAFreeSlotIsUpdatedNotCopied) {
  NativeHeavy h(6);
  sl_heavy_table &t = *h.table;
  const auto keys = keys_in_bucket0(t, SL_HEAVY_TABLE_WAYS);
  for (size_t i = 0; i < SL_HEAVY_TABLE_WAYS; ++i)
    sl_heavy_table_offer(&t, &keys[i], static_cast<uint32_t>(20 + i), 1);
  // Slot 2 goes stale (an entry of neither this window nor the last counts as 0, like a free
  // one); keys[5] is offered again in the next window.
  t.e[0][2].epoch = 0;
  t.e[0][2].estimate = 1;
  ASSERT_TRUE(sl_heavy_key_eq(&t.e[0][5].key, &keys[5]));
  sl_heavy_table_offer(&t, &keys[5], 40, 2);
  EXPECT_EQ(t.e[0][5].estimate, 40u);
  EXPECT_FALSE(sl_heavy_key_eq(&t.e[0][2].key, &keys[5]));
  int copies = 0;
  for (const sl_heavy_entry &e : t.e[0]) copies += sl_heavy_key_eq(&e.key, &keys[5]);
  EXPECT_EQ(copies, 1);
  EXPECT_EQ(t.replaced, 0u);
}

// Every slot of the table taken by heavier networks: addresses still get in (they have their
// own half of the buckets). With one shared set of buckets, the /24s of a botnet spread over
// thousands of networks pushed its heaviest addresses out.
TEST(HeavyTable, NetworksCannotCrowdOutAddresses) {
  NativeHeavy h(5);
  sl_heavy_table &t = *h.table;
  const uint32_t slots = SL_HEAVY_TABLE_BUCKETS * SL_HEAVY_TABLE_WAYS;
  for (uint32_t i = 0; i < 4 * slots; ++i) {
    const sl_heavy_key net = key4(0x0b000000u + (i << 8), 24);
    sl_heavy_table_offer(&t, &net, 1000 + i % 7, 1);
  }
  const uint32_t kHosts = 64;
  for (uint32_t i = 0; i < kHosts; ++i) {
    const sl_heavy_key host = key4(0xc6120000u + i * 977, 32);
    sl_heavy_table_offer(&t, &host, 50, 1);
  }
  uint32_t hosts = 0, nets = 0;
  for (const auto &b : t.e)
    for (const sl_heavy_entry &e : b) {
      if (e.estimate == 0) continue;
      (e.key.prefix_len == 32 ? hosts : nets)++;
    }
  EXPECT_EQ(hosts, kHosts);
  EXPECT_GT(nets, 0u);
}

// An update writes only inside the key's SL_HEAVY_KEY_LINES lines (the blocked layout), and
// addresses and networks count in separate halves of the lines.
TEST(HeavySketch, AnUpdateTouchesOnlyTheKeysLines) {
  NativeHeavy h(21);
  std::mt19937 rng(3);
  auto before = std::make_unique<sl_heavy_sketch>();
  for (int i = 0; i < 2000; ++i) {
    const uint32_t a = 0xc6120000u + rng() % 100000;
    for (uint8_t len : {uint8_t{32}, uint8_t{24}}) {
      const sl_heavy_key k = key4(a, len);
      std::memcpy(before.get(), h.sketch.get(), sizeof(*before));
      sl_heavy_add(h.sketch.get(), &k, 2);
      std::set<uint32_t> lines;
      for (uint32_t l = 0; l < SL_HEAVY_LINES; ++l)
        if (std::memcmp(before->line[l], h.sketch->line[l], sizeof(before->line[l])) != 0)
          lines.insert(l);
      ASSERT_FALSE(lines.empty());
      ASSERT_LE(lines.size(), size_t{SL_HEAVY_KEY_LINES});
      for (uint32_t l : lines) ASSERT_EQ(l >= SL_HEAVY_LINES / 2, len == 24) << l;
    }
  }
}

TEST(HeavyTable, TheLastWindowStaysReadable) {
  NativeHeavy h(6);
  sl_heavy_key k = key4(0xc6120507, 32);
  sl_heavy_table_offer(h.table.get(), &k, 80, 20);
  sl_heavy_table_offer(h.table.get(), &k, 5, 21);  // the next window starts
  heavy::HeavyMerge m(21);
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  const auto top = m.top(10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].syns, 80u);  // the whole last window beats the new one's start
  heavy::HeavyMerge later(23);  // two windows on: gone
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) later.add_entry(e);
  EXPECT_TRUE(later.top(10).empty());
}

std::vector<heavy::HeavyCount> run_stream(NativeHeavy &h, uint32_t threshold) {
  const sl_policy pol = heavy_policy(threshold);
  h.now_ns = kHeavyStreamNowNs;
  for (const HeavyPacket &p : heavy_stream()) {
    const FixtureResult r = run_native_counted(h, p.frame, p.dir, pol);
    EXPECT_EQ(r.cls == SL_CLASS_CLIENT_SYN, !p.counted_client.empty());
  }
  heavy::HeavyMerge m(sl_heavy_epoch(h.now_ns));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  m.add_sketch(*h.sketch);
  return m.top(100);
}

TEST(HeavyStream, NativeReportsTheStreamsHeavyPrefixes) {
  for (uint32_t threshold : {1u, 5u, 13u, 30u}) {
    NativeHeavy h(kHeavyTestSeed);
    const auto top = run_stream(h, threshold);
    const auto expected = heavy_expected(heavy_stream(), threshold);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(as_map(top), expected) << "threshold " << threshold;
    for (size_t i = 1; i < top.size(); ++i) EXPECT_GE(top[i - 1].syns, top[i].syns);
  }
}

TEST(HeavyStream, OffCountsNothing) {
  NativeHeavy h(kHeavyTestSeed);
  const auto top = run_stream(h, 0);
  EXPECT_TRUE(top.empty());
  EXPECT_EQ(h.reports, 0u);
  sl_heavy_sketch zero{};
  zero.seed = h.sketch->seed;
  EXPECT_EQ(std::memcmp(&zero, h.sketch.get(), sizeof(zero)), 0);
}

// A million unique sources, one SYN each, around one sender with 300: memory stays what it was
// (the sketch and the table are fixed arrays; the table never holds more than its slots) and
// the real sender is still the heaviest host.
TEST(HeavyStream, MillionUniqueSourcesKeepTheRealHeavyHitter) {
  NativeHeavy h(kHeavyTestSeed);
  h.now_ns = kHeavyStreamNowNs;
  const sl_policy pol = heavy_policy(5);
  Bytes frame = PacketBuilder().ipv4("198.18.0.1", kServer4).tcp(40000, 25).flags(kSyn).build();
  const size_t src_off = 14 + 12;
  const auto heavy_src = ipv4_address("198.18.200.9");
  std::mt19937 rng(11);
  const uint32_t kFlood = 1'000'000, kHeavy = 300;
  for (uint32_t i = 0; i < kFlood + kHeavy; ++i) {
    if (i % ((kFlood + kHeavy) / kHeavy) == 0 && i / ((kFlood + kHeavy) / kHeavy) < kHeavy) {
      std::memcpy(&frame[src_off], heavy_src.data(), 4);
    } else {
      const uint32_t a = htonl(0x0b000000u + i);  // 11.0.0.0 + i: a million distinct sources
      std::memcpy(&frame[src_off], &a, 4);
    }
    (void)rng;
    const FixtureResult r = run_native_counted(h, frame, SL_DIR_FROM_OUTSIDE, pol);
    ASSERT_EQ(r.cls, SL_CLASS_CLIENT_SYN);
  }
  size_t used = 0;
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) used += e.estimate != 0;
  EXPECT_LE(used, size_t{SL_HEAVY_TABLE_WAYS} * SL_HEAVY_TABLE_BUCKETS);
  heavy::HeavyMerge m(sl_heavy_epoch(h.now_ns));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  m.add_sketch(*h.sketch);
  const auto top = m.top(SIZE_MAX);
  const heavy::HeavyCount *first_host = nullptr;
  for (const auto &c : top)
    if (c.key.prefix_len == 32) {
      first_host = &c;
      break;
    }
  ASSERT_NE(first_host, nullptr);
  EXPECT_EQ(heavy::prefix_text(first_host->key), "198.18.200.9/32");
  EXPECT_GE(first_host->syns, kHeavy);  // never under
}

}  // namespace
}  // namespace sluice::testing
