#include "heavy_seqlock.h"

#include <cstddef>

namespace sluice::dataplane {

size_t read_heavy_table(const sl_heavy_table &t, const std::atomic<uint32_t> *seq,
                        heavy::HeavyMerge &merge) {
  constexpr size_t kBucketBytes = sizeof(sl_heavy_entry) * SL_HEAVY_TABLE_WAYS;
  constexpr size_t kWords = kBucketBytes / sizeof(uint64_t);
  static_assert(kBucketBytes % sizeof(uint64_t) == 0 && offsetof(sl_heavy_table, e) % 8 == 0);
  size_t skipped = 0;
  for (uint32_t b = 0; b < SL_HEAVY_TABLE_BUCKETS; ++b) {
    alignas(8) sl_heavy_entry copy[SL_HEAVY_TABLE_WAYS];
    bool stable = false;
    for (int i = 0; i < kHeavyReadTries && !stable; ++i) {
      const uint32_t s1 = seq[b].load(std::memory_order_acquire);
      if (s1 & 1u) continue;  // being written
      // Word by word with atomic loads: the lcore may be writing (the copy is then thrown away).
      const auto *src = reinterpret_cast<const uint64_t *>(t.e[b]);
      auto *dst = reinterpret_cast<uint64_t *>(copy);
      for (size_t w = 0; w < kWords; ++w) dst[w] = __atomic_load_n(&src[w], __ATOMIC_RELAXED);
      std::atomic_thread_fence(std::memory_order_acquire);  // the copy before the second read
      stable = seq[b].load(std::memory_order_relaxed) == s1;
    }
    if (!stable) {
      ++skipped;
      continue;
    }
    for (const sl_heavy_entry &e : copy) merge.add_entry(e);
  }
  return skipped;
}

}  // namespace sluice::dataplane
