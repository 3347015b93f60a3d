// The SYN heavy hitters as sluice-dp's control thread reads them: each lcore's candidate table
// copied under its per-bucket seqlock (heavy_seqlock.h) while the lcore writes it, and merged
// over lcores (heavy_merge.h). No DPDK: pipelines driven directly. The command and a real SYN
// stream through an lcore on DPDK ports: control_test.cc.
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/tcp_frame.h"
#include "core/heavy_stream.h"
#include "heavy_merge.h"
#include "heavy_seqlock.h"
#include "pipeline.h"
#include "policy_file.h"

namespace sluice::dataplane {
namespace {

using sluice::testing::linux_syn;
using sluice::testing::TcpFrame;

sl_policy policy(const std::string &text) {
  std::istringstream in(text);
  return parse_policy(in, "test").policy;
}

// Runs `n` SYNs from `src` through the pipeline at `now_ns`.
void syns(Pipeline &p, const sl_policy &pol, const char *src, int n, uint64_t now_ns,
          uint16_t first_port = 30000) {
  for (int i = 0; i < n; ++i) {
    TcpFrame f = linux_syn(src, "198.18.0.2");
    f.sport = static_cast<uint16_t>(first_port + i);
    std::vector<uint8_t> b = f.build();
    p.process(b.data(), static_cast<uint32_t>(b.size()), SL_DIR_FROM_OUTSIDE, now_ns, 0, pol,
              nullptr);
  }
}

std::map<std::string, uint64_t> counts(const std::vector<heavy::HeavyCount> &top) {
  std::map<std::string, uint64_t> m;
  for (const auto &c : top) m[heavy::prefix_text(c.key)] = c.syns;
  return m;
}

constexpr uint64_t kNow = uint64_t{1000} << SL_HEAVY_WINDOW_SHIFT;  // window 1000, its start

TEST(HeavyExport, TheBucketTheReaderGuardsIsTheOneTheOfferWrites) {
  sl_heavy_table t;
  std::memset(&t, 0, sizeof(t));
  t.seed = 0x1234;
  for (uint32_t i = 0; i < 2000; ++i) {
    sl_heavy_key k{};
    k.family = SL_AF_INET;
    k.prefix_len = 32;
    const uint32_t a = htonl(0xC6120000u + i * 7919u);
    std::memcpy(k.addr, &a, 4);
    sl_heavy_table_offer(&t, &k, 10 + i, 1);  // larger than any entry: always taken
    bool found = false;
    for (const sl_heavy_entry &e : t.e[heavy_bucket(t, k)])
      found = found || (e.estimate != 0 && sl_heavy_key_eq(&e.key, &k));
    ASSERT_TRUE(found) << "key " << i << " is not in the bucket heavy_bucket() names";
  }
}

TEST(HeavyExport, TheSamePrefixOnTwoLcoresIsSummed) {
  const sl_policy pol = policy("[smtp]\nheavy_syn_threshold = 5\n");
  Pipeline a(FlowTableConfig{.max_flows = 1024}), b(FlowTableConfig{.max_flows = 1024});
  a.seed_heavy(1);
  b.seed_heavy(2);  // lcores draw their own seeds: the prefix sits in different cells
  syns(a, pol, "198.18.5.7", 12, kNow);
  syns(b, pol, "198.18.5.7", 9, kNow, 31000);
  syns(b, pol, "198.18.5.200", 6, kNow, 32000);  // same /24, another lcore only
  syns(a, pol, "198.18.9.9", 3, kNow);           // below the threshold everywhere

  heavy::HeavyMerge m(sl_heavy_epoch(kNow));
  EXPECT_EQ(a.read_heavy(m), 0u);
  EXPECT_EQ(b.read_heavy(m), 0u);
  const auto top = m.top(100);
  const auto c = counts(top);
  EXPECT_EQ(c.at("198.18.5.0/24"), 27u) << "12 + 9 + 6 over both lcores";
  EXPECT_EQ(c.at("198.18.5.7/32"), 21u) << "12 on one lcore, 9 on the other";
  EXPECT_EQ(c.at("198.18.5.200/32"), 6u);
  EXPECT_EQ(c.count("198.18.9.9/32"), 0u) << "never reached the threshold on any lcore";
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(heavy::prefix_text(top[0].key), "198.18.5.0/24") << "heaviest first";
  EXPECT_EQ(m.top(1).size(), 1u);

  // The next window still shows the last one's counts; the one after shows nothing.
  heavy::HeavyMerge next(sl_heavy_epoch(kNow) + 1);
  a.read_heavy(next);
  b.read_heavy(next);
  EXPECT_EQ(counts(next.top(100)).at("198.18.5.7/32"), 21u);
  heavy::HeavyMerge later(sl_heavy_epoch(kNow) + 2);
  a.read_heavy(later);
  b.read_heavy(later);
  EXPECT_TRUE(later.top(100).empty());
}

TEST(HeavyExport, IPv6SendersAreCountedPerAddressAndPer64) {
  const sl_policy pol = policy("[smtp]\nheavy_syn_threshold = 5\n");
  Pipeline a(FlowTableConfig{.max_flows = 1024});
  for (int i = 0; i < 7; ++i) {
    TcpFrame f = linux_syn("2001:2::7", "2001:2:0:1::2");
    f.sport = static_cast<uint16_t>(33000 + i);
    std::vector<uint8_t> b = f.build();
    a.process(b.data(), static_cast<uint32_t>(b.size()), SL_DIR_FROM_OUTSIDE, kNow, 0, pol,
              nullptr);
  }
  heavy::HeavyMerge m(sl_heavy_epoch(kNow));
  a.read_heavy(m);
  const auto c = counts(m.top(10));
  EXPECT_EQ(c.at("2001:2::7/128"), 7u);
  EXPECT_EQ(c.at("2001:2::/64"), 7u);
}

// The runners' shared SYN stream (tests/core/heavy_stream.h: every encoding of an inbound SYN,
// interleaved with packets that must not count) through sluice-dp's pipeline, read the way the
// control thread reads it: exactly the prefixes and counts the stream's table says.
TEST(HeavyExport, ThePipelineReportsTheSharedStreamsHeavyPrefixes) {
  for (uint32_t threshold : {1u, 5u, 13u, 30u}) {
    Pipeline p(FlowTableConfig{.max_flows = 1024});
    p.seed_heavy(sluice::testing::kHeavyTestSeed);
    const sl_policy pol = sluice::testing::heavy_policy(threshold);
    const auto stream = sluice::testing::heavy_stream();
    for (const sluice::testing::HeavyPacket &pk : stream) {
      std::vector<uint8_t> f(pk.frame.begin(), pk.frame.end());
      const PacketResult r = p.process(f.data(), static_cast<uint32_t>(f.size()), pk.dir,
                                       sluice::testing::kHeavyStreamNowNs, 0, pol, nullptr);
      EXPECT_EQ(r.cls == SL_CLASS_CLIENT_SYN, !pk.counted_client.empty());
    }
    heavy::HeavyMerge m(sl_heavy_epoch(sluice::testing::kHeavyStreamNowNs));
    EXPECT_EQ(p.read_heavy(m), 0u);
    const auto expected = sluice::testing::heavy_expected(stream, threshold);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(counts(m.top(100)), expected) << "threshold " << threshold;
  }
}

// The table's key for sender i of a test: 198.18.<i>.1/32.
sl_heavy_key key_of(uint32_t i) {
  sl_heavy_key k{};
  k.family = SL_AF_INET;
  k.prefix_len = 32;
  const uint32_t a = htonl(0xC6120001u + (i << 8));
  std::memcpy(k.addr, &a, 4);
  return k;
}

TEST(HeavyExport, ABucketBeingWrittenIsSkippedNotCopied) {
  sl_heavy_table t;
  std::memset(&t, 0, sizeof(t));
  t.seed = 99;
  auto seq = std::make_unique<std::atomic<uint32_t>[]>(SL_HEAVY_TABLE_BUCKETS);
  const sl_heavy_key k = key_of(1);
  heavy_offer(t, seq.get(), k, 40, 7);
  const uint32_t b = heavy_bucket(t, k);
  EXPECT_EQ(seq[b].load(), 2u) << "odd during the offer, even after";
  {
    heavy::HeavyMerge m(7);
    EXPECT_EQ(read_heavy_table(t, seq.get(), m), 0u);
    EXPECT_EQ(m.top(10).size(), 1u);
  }
  seq[b].store(3);  // as if the lcore were in the middle of an offer to that bucket
  heavy::HeavyMerge m(7);
  EXPECT_EQ(read_heavy_table(t, seq.get(), m), 1u);
  EXPECT_TRUE(m.top(10).empty()) << "a bucket that may be torn must not be read";
}

// The lcore offers while the control thread reads, both flat out, all in one bucket (every
// offer evicts or updates there). Every estimate offered for sender i ends in the byte i, so
// a copy that paired one sender's key with another's estimate shows. Bounded in reads.
TEST(HeavyExport, ConcurrentOffersNeverYieldATornEntry) {
  sl_heavy_table t;
  std::memset(&t, 0, sizeof(t));
  t.seed = 7;
  auto seq = std::make_unique<std::atomic<uint32_t>[]>(SL_HEAVY_TABLE_BUCKETS);
  // 48 senders of one bucket (six times its ways).
  std::vector<sl_heavy_key> keys;
  std::vector<uint32_t> index;
  const uint32_t bucket = heavy_bucket(t, key_of(0));
  for (uint32_t i = 0; keys.size() < 48 && i < 65536; ++i)
    if (heavy_bucket(t, key_of(i)) == bucket) {
      keys.push_back(key_of(i));
      index.push_back(static_cast<uint32_t>(keys.size() - 1));
    }
  ASSERT_EQ(keys.size(), 48u);
  std::map<std::string, uint32_t> which;
  for (uint32_t i = 0; i < keys.size(); ++i) which[heavy::prefix_text(keys[i])] = i;

  std::atomic<bool> done{false};
  std::thread lcore([&] {
    // Rounds raise every estimate (so offers keep replacing smaller entries); bounded.
    for (uint32_t round = 1; round < (1u << 23) && !done.load(std::memory_order_relaxed); ++round)
      for (uint32_t i = 0; i < keys.size(); ++i)
        heavy_offer(t, seq.get(), keys[(i * 7 + round) % keys.size()],
                    (round << 8) | ((i * 7 + round) % keys.size()), 5);
  });
  size_t entries = 0, skipped = 0;
  for (int r = 0; r < 20000; ++r) {
    heavy::HeavyMerge m(5);
    skipped += read_heavy_table(t, seq.get(), m);
    for (const heavy::HeavyCount &c : m.top(100)) {
      ++entries;
      const std::string p = heavy::prefix_text(c.key);
      ASSERT_EQ(which.count(p), 1u) << "a key no one offered: " << p;
      ASSERT_EQ(c.syns & 0xff, which[p]) << p << " carries another sender's estimate " << c.syns;
    }
  }
  done = true;
  lcore.join();
  EXPECT_GT(entries, 0u);
  RecordProperty("skipped_buckets", static_cast<int>(skipped));
}

}  // namespace
}  // namespace sluice::dataplane
