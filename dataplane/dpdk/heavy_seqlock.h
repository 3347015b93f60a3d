// The SYN heavy hitters' candidate table (core/sl_heavy.h) shared between its lcore, which
// writes it, and the control thread, which reads it while the lcore runs (the "heavy" command).
//
// A seqlock per bucket: an offer (sl_heavy_table_offer) writes entries of one bucket only, so
// the lcore makes that bucket's counter odd, offers, and makes it even again. The reader copies
// a bucket between two reads of its counter and keeps the copy only if both are the same even
// value; otherwise it tries again, a bounded number of times, then skips the bucket for this
// read. A torn copy (one sender's key with another's estimate) is never kept, and the lcore
// never waits: offers are rare (a prefix's report points, not every SYN), and cost two stores.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/sl_heavy.h"
#include "heavy_merge.h"

namespace sluice::dataplane {

// The bucket of the candidate table a prefix lives in: the one sl_heavy_table_offer picks
// (tests/dataplane/heavy_export_test.cc checks that they agree).
inline uint32_t heavy_bucket(const sl_heavy_table &t, const sl_heavy_key &k) {
  return sl_heavy_table_bucket(&t, &k);
}

// The writer (the lcore): sl_heavy_table_offer under the bucket's counter, the bucket hashed
// once for both. `seq` has SL_HEAVY_TABLE_BUCKETS counters.
inline void heavy_offer(sl_heavy_table &t, std::atomic<uint32_t> *seq, const sl_heavy_key &k,
                        uint32_t estimate, uint32_t epoch) {
  const uint32_t bucket = heavy_bucket(t, k);
  std::atomic<uint32_t> &c = seq[bucket];
  const uint32_t s = c.load(std::memory_order_relaxed);
  c.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // odd before any entry write
  sl_heavy_table_offer_in(&t, bucket, &k, estimate, epoch);
  c.store(s + 2, std::memory_order_release);  // every entry write before even
}

// The writer's event of an event kind (sl_heavy_table_event_in: a pregreet), under the bucket's
// counter like an offer.
inline void heavy_event(sl_heavy_table &t, std::atomic<uint32_t> *seq, const sl_heavy_key &k,
                        uint32_t epoch) {
  const uint32_t bucket = heavy_bucket(t, k);
  std::atomic<uint32_t> &c = seq[bucket];
  const uint32_t s = c.load(std::memory_order_relaxed);
  c.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  sl_heavy_table_event_in(&t, bucket, &k, epoch);
  c.store(s + 2, std::memory_order_release);
}

// Tries per bucket before the reader gives it up for this read.
inline constexpr int kHeavyReadTries = 8;

// The reader (any thread): every bucket whose copy was stable goes into `merge`. Returns the
// buckets skipped (written through every try; their candidates are missing from this read).
size_t read_heavy_table(const sl_heavy_table &t, const std::atomic<uint32_t> *seq,
                        heavy::HeavyMerge &merge);

}  // namespace sluice::dataplane
