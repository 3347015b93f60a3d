// The decision log's rate limit: a token bucket per sender and one for everything, so one noisy
// sender cannot fill the log and a storm of senders cannot flood it. What is refused is counted;
// summary() says how much once per interval ("N lines suppressed"). Memory is bounded: at most
// max_senders buckets, the least recently used one forgotten first (a forgotten sender starts
// again with a full bucket; the overall bucket still holds).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "token_bucket.h"

namespace sluice::sluiced::decision_log {

struct RateLimits {
  double per_sender_rate = 1;  // lines per second per sender
  double per_sender_burst = 5;
  double overall_rate = 50;  // lines per second in all
  double overall_burst = 200;
  size_t max_senders = 10000;
  std::chrono::seconds summary_interval{60};
};

struct Suppressed {
  uint64_t lines = 0;
  int64_t seconds = 0;  // since the previous summary (or the start)
};

class RateLimiter {
 public:
  RateLimiter(const RateLimits &limits, Clock::time_point now);

  // true: log this sender's line (a token taken from both buckets); false: suppressed.
  // An empty sender ("") is charged to the overall bucket only.
  bool admit(const std::string &sender, Clock::time_point now);

  // Once per summary_interval, when lines were suppressed since the last summary: how many.
  std::optional<Suppressed> summary(Clock::time_point now);

  uint64_t suppressed_total() const { return suppressed_total_; }
  size_t senders() const { return buckets_.size(); }

 private:
  struct Entry {
    TokenBucket bucket;
    std::list<std::string>::iterator lru;
  };
  RateLimits limits_;
  TokenBucket overall_;
  std::unordered_map<std::string, Entry> buckets_;
  std::list<std::string> lru_;  // front = most recently used
  uint64_t suppressed_since_summary_ = 0;
  uint64_t suppressed_total_ = 0;
  Clock::time_point last_summary_;
};

}  // namespace sluice::sluiced::decision_log
