// A token bucket: `rate` tokens per second up to `burst`; starts full. Time is passed in, so the
// logic is tested without a clock. A clock that goes backwards adds nothing (and takes nothing).
#pragma once

#include <algorithm>
#include <chrono>

namespace sluice::sluiced::decision_log {

using Clock = std::chrono::steady_clock;

class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst, Clock::time_point now)
      : rate_(rate_per_s), burst_(burst), tokens_(burst), last_(now) {}

  void refill(Clock::time_point now) {
    if (now <= last_) return;
    const double dt = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + dt * rate_);
    last_ = now;
  }
  bool has_token() const { return tokens_ >= 1.0; }
  void take() { tokens_ -= 1.0; }
  // Full: as good as a new bucket (the rate limiter forgets these first).
  bool full() const { return tokens_ >= burst_; }

 private:
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

}  // namespace sluice::sluiced::decision_log
