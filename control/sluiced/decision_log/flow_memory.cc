#include "flow_memory.h"

#include <unordered_set>

namespace sluice::sluiced::decision_log {

std::string FlowMemory::key_of(const control::DataplaneFlow &f) {
  return f.client + "|" + std::to_string(f.client_port) + "|" + f.server + "|" +
         std::to_string(f.server_port) + "|" + std::to_string(f.created_ns);
}

void FlowMemory::forget_oldest() {
  while (!order_.empty()) {
    const std::string k = std::move(order_.front());
    order_.pop_front();
    if (by_key_.erase(k) != 0) return;
  }
}

bool FlowMemory::seen(const control::DataplaneFlow &f) {
  std::string k = key_of(f);
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    it->second = generation_;
    return false;
  }
  if (capacity_ == 0) return true;
  while (by_key_.size() >= capacity_) forget_oldest();
  by_key_.emplace(k, generation_);
  order_.push_back(std::move(k));
  return true;
}

void FlowMemory::end_poll(bool complete) {
  if (complete) {
    for (auto it = by_key_.begin(); it != by_key_.end();)
      it = it->second != generation_ ? by_key_.erase(it) : std::next(it);
  }
  // Keep the order queue from growing past what it indexes (it holds forgotten keys too).
  if (order_.size() > 2 * by_key_.size() + 64) {
    std::deque<std::string> kept;
    std::unordered_set<std::string> in_kept;
    for (auto &k : order_)
      if (by_key_.count(k) != 0 && in_kept.insert(k).second) kept.push_back(std::move(k));
    order_.swap(kept);
  }
}

}  // namespace sluice::sluiced::decision_log
