// A Prometheus histogram: fixed upper bounds, a count per bucket, the sum and the count of
// every observation. Exposition::add renders it (cumulative buckets, le="+Inf", _sum, _count).
// Not thread-safe: sluiced's loop is its one user.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace sluice::sluiced::metrics {

class Histogram {
 public:
  // Upper bounds: finite, strictly increasing, at least one. Throws ExpositionError otherwise.
  explicit Histogram(std::vector<double> upper_bounds);

  // NaN is not counted (it belongs to no bucket); +-Inf lands in the last / first bucket.
  void observe(double v);

  const std::vector<double> &bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; index bounds().size() is le="+Inf".
  uint64_t cumulative(size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // per bucket (not cumulative), last = above every bound
  uint64_t count_ = 0;
  double sum_ = 0;
};

// The push-latency histogram sluiced feeds with the time from "change ready" to "every data
// plane has it" (seconds): 100 us .. 10 s, denser around the goals (10 ms, 100 ms, 1 s).
Histogram make_push_latency_histogram();

// Observes a duration in seconds.
inline void observe(Histogram &h, std::chrono::nanoseconds d) {
  h.observe(std::chrono::duration<double>(d).count());
}

}  // namespace sluice::sluiced::metrics
