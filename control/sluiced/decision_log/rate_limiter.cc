#include "rate_limiter.h"

namespace sluice::sluiced::decision_log {

RateLimiter::RateLimiter(const RateLimits &limits, Clock::time_point now)
    : limits_(limits),
      overall_(limits.overall_rate, limits.overall_burst, now),
      last_summary_(now) {}

bool RateLimiter::admit(const std::string &sender, Clock::time_point now) {
  overall_.refill(now);
  TokenBucket *mine = nullptr;
  if (!sender.empty()) {
    auto it = buckets_.find(sender);
    if (it == buckets_.end()) {
      if (limits_.max_senders == 0) {
        ++suppressed_since_summary_;
        ++suppressed_total_;
        return false;
      }
      if (buckets_.size() >= limits_.max_senders) {
        buckets_.erase(lru_.back());
        lru_.pop_back();
      }
      lru_.push_front(sender);
      it = buckets_
               .emplace(sender,
                        Entry{TokenBucket(limits_.per_sender_rate, limits_.per_sender_burst, now),
                              lru_.begin()})
               .first;
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    mine = &it->second.bucket;
    mine->refill(now);
  }
  if (!overall_.has_token() || (mine != nullptr && !mine->has_token())) {
    ++suppressed_since_summary_;
    ++suppressed_total_;
    return false;
  }
  overall_.take();
  if (mine != nullptr) mine->take();
  return true;
}

std::optional<Suppressed> RateLimiter::summary(Clock::time_point now) {
  if (suppressed_since_summary_ == 0 || now < last_summary_ + limits_.summary_interval)
    return std::nullopt;
  const Suppressed n{suppressed_since_summary_,
                     std::chrono::duration_cast<std::chrono::seconds>(now - last_summary_).count()};
  suppressed_since_summary_ = 0;
  last_summary_ = now;
  return n;
}

}  // namespace sluice::sluiced::decision_log
