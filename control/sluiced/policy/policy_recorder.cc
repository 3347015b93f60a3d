#include "policy_recorder.h"

#include <algorithm>

namespace sluice::sluiced::policy {

void Recorder::record(const PolicyRequest &req, int64_t now_unix_s, int32_t score, unsigned level,
                      const std::string &verb, bool trap) {
  ++counters_.requests;
  ++counters_.replies[verb];
  if (trap) ++counters_.trap_hits;
  if (capacity_ == 0) return;
  RecentRequest *slot;
  if (ring_.size() < capacity_) {
    slot = &ring_.emplace_back();
  } else {
    slot = &ring_[next_];
    next_ = (next_ + 1) % capacity_;
  }
  slot->unix_s = now_unix_s;
  slot->client_address = cut_utf8(req.client_address, kMaxRecordedBytes);
  slot->helo_name = cut_utf8(req.helo_name, kMaxRecordedBytes);
  slot->sender_domain = cut_utf8(address_domain(req.sender), kMaxRecordedBytes);
  slot->protocol_state = cut_utf8(req.protocol_state, kMaxRecordedBytes);
  slot->score = score;
  slot->level = level;
  slot->verb = verb;
  slot->trap = trap;
}

std::vector<RecentRequest> Recorder::recent(size_t limit) const {
  std::vector<RecentRequest> out;
  const size_t n = ring_.size();
  const size_t take = std::min(limit, n);
  out.reserve(take);
  // Oldest first: the ring starts at next_ once it is full.
  const size_t start = n < capacity_ ? 0 : next_;
  for (size_t i = n - take; i < n; ++i) out.push_back(ring_[(start + i) % n]);
  return out;
}

nlohmann::json Recorder::to_json(const RecentRequest &r) {
  return {{"time_unix", r.unix_s},
          {"client_address", r.client_address},
          {"helo_name", r.helo_name},
          {"sender_domain", r.sender_domain},
          {"protocol_state", r.protocol_state},
          {"score", r.score},
          {"level", r.level},
          {"action", r.verb},
          {"trap", r.trap}};
}

}  // namespace sluice::sluiced::policy
