// Which connections of one data plane the decision log has already logged. A connection is its
// 4-tuple and the data plane's creation time, so a reused port is a new connection. Bounded:
// at most `capacity` connections, the oldest forgotten first; after a poll that saw every flow
// of the data plane, connections it no longer has are forgotten at once.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane_client.h"

namespace sluice::sluiced::decision_log {

class FlowMemory {
 public:
  explicit FlowMemory(size_t capacity) : capacity_(capacity) {}

  // Starts a poll; then seen() for each flow of the poll, then end_poll().
  void begin_poll() { ++generation_; }
  // true when the flow is new (not logged before); it is remembered from now on.
  bool seen(const control::DataplaneFlow &f);
  // complete: the poll returned every flow of the data plane (not cut at the request's limit).
  void end_poll(bool complete);

  size_t size() const { return by_key_.size(); }

 private:
  static std::string key_of(const control::DataplaneFlow &f);
  void forget_oldest();

  size_t capacity_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, uint64_t> by_key_;  // key -> generation last seen
  std::deque<std::string> order_;  // insertion order (may hold keys already forgotten)
};

}  // namespace sluice::sluiced::decision_log
