// A fixed-delay first-in first-out line of frames: every frame leaves `delay` after it arrived,
// in arrival order. This is the whole of the path-delay emulator's logic; the program around it
// (delayline_main.cc) only moves bytes between two sockets and a clock.
//
// Why a FIFO is enough: with one fixed delay and a clock that never goes back, due times are
// arrival times plus a constant, so they never decrease along the line and the head is always
// the next frame to leave. Nothing is reordered, nothing is duplicated, and a frame never
// leaves before its time (the emulator's one promise: it may be late, never early).
//
// Memory is fixed at construction: `slots` frames of at most `slot_bytes` each. A frame that
// does not fit (line full, or longer than a slot) is dropped and counted, as a full router queue
// would drop it; the sender's TCP sees a loss, never a stall of the emulator.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace sluice::delayline {

struct LineCounters {
  uint64_t accepted = 0;       // frames taken into the line
  uint64_t sent = 0;           // frames handed back out (pop)
  uint64_t dropped_full = 0;   // the line held `slots` frames already
  uint64_t dropped_large = 0;  // longer than a slot
};

class DelayQueue {
 public:
  DelayQueue(uint64_t delay_ns, size_t slots, size_t slot_bytes)
      : delay_ns_(delay_ns),
        slot_bytes_(slot_bytes),
        lens_(slots),
        due_(slots),
        bytes_(slots * slot_bytes) {}

  // Copies a frame that arrived at now_ns into the line. False (and counted) when it cannot.
  bool push(uint64_t now_ns, std::span<const uint8_t> frame) {
    if (frame.size() > slot_bytes_) {
      ++counters_.dropped_large;
      return false;
    }
    if (size_ == lens_.size()) {
      ++counters_.dropped_full;
      return false;
    }
    size_t tail = (head_ + size_) % lens_.size();
    std::memcpy(bytes_.data() + tail * slot_bytes_, frame.data(), frame.size());
    lens_[tail] = static_cast<uint32_t>(frame.size());
    due_[tail] = now_ns + delay_ns_;
    ++size_;
    ++counters_.accepted;
    return true;
  }

  // When the head frame is due, or nothing when the line is empty.
  std::optional<uint64_t> next_due() const {
    if (size_ == 0) return std::nullopt;
    return due_[head_];
  }

  // The head frame when it is due at now_ns; nothing when the line is empty or the head is not
  // due yet. The bytes stay valid until the next pop() or push().
  std::optional<std::span<const uint8_t>> due(uint64_t now_ns) const {
    if (size_ == 0 || due_[head_] > now_ns) return std::nullopt;
    return std::span<const uint8_t>(bytes_.data() + head_ * slot_bytes_, lens_[head_]);
  }

  // Removes the head frame (call after due() returned it). No-op on an empty line.
  void pop() {
    if (size_ == 0) return;
    head_ = (head_ + 1) % lens_.size();
    --size_;
    ++counters_.sent;
  }

  size_t size() const { return size_; }
  uint64_t delay_ns() const { return delay_ns_; }
  const LineCounters &counters() const { return counters_; }

 private:
  uint64_t delay_ns_;
  size_t slot_bytes_;
  std::vector<uint32_t> lens_;
  std::vector<uint64_t> due_;
  std::vector<uint8_t> bytes_;
  size_t head_ = 0;
  size_t size_ = 0;
  LineCounters counters_;
};

// How late frames left, against their due time: 10 us buckets up to 100 ms, then one overflow
// bucket. Fixed memory; percentiles are read back at the bucket's upper edge (an upper bound).
class LatenessHistogram {
 public:
  static constexpr uint64_t kBucketNs = 10'000;
  static constexpr size_t kBuckets = 10'000;  // 10 us x 10'000 = 100 ms

  void add(uint64_t late_ns) {
    size_t b = static_cast<size_t>(late_ns / kBucketNs);
    ++counts_[b < kBuckets ? b : kBuckets];
    ++total_;
    if (late_ns > max_ns_) max_ns_ = late_ns;
  }

  // Upper bound of the q-quantile (0 < q <= 1) in ns; 0 when empty. Beyond the last bucket the
  // exact maximum is the bound.
  uint64_t quantile_ns(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min<uint64_t>((b + 1) * kBucketNs, max_ns_);
    }
    return max_ns_;
  }

  uint64_t total() const { return total_; }
  uint64_t max_ns() const { return max_ns_; }

 private:
  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets + 1);
  uint64_t total_ = 0;
  uint64_t max_ns_ = 0;
};

}  // namespace sluice::delayline
