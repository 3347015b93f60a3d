#include "liveness.h"

#include <algorithm>

namespace sluice::feed {

Liveness::Liveness(const TrustConfig &cfg, int64_t started_ms) : started_ms_(started_ms) {
  for (const auto &p : cfg.participants) {
    order_.push_back(p.name);
    State s;
    s.max_silence_ms = p.max_silence_ms;
    s.second.fill(-1);
    state_.emplace(p.name, s);
  }
}

void Liveness::accepted(const std::string &participant, int64_t sent_at_ms, size_t observations,
                        int64_t now_ms) {
  auto it = state_.find(participant);
  if (it == state_.end()) return;
  State &s = it->second;
  s.last_ms = std::max(s.last_ms, now_ms);
  s.lag_ms = std::max<int64_t>(0, now_ms - sent_at_ms);
  ++s.batches;
  s.observations += observations;
  const int64_t sec = now_ms / 1000;
  const size_t slot = static_cast<size_t>(sec % 60);
  if (s.second[slot] != sec) s.second[slot] = sec, s.per_second[slot] = 0;
  s.per_second[slot] += observations;
}

std::vector<ParticipantLiveness> Liveness::view(int64_t now_ms) const {
  std::vector<ParticipantLiveness> out;
  const int64_t sec = now_ms / 1000;
  for (const auto &name : order_) {
    const State &s = state_.at(name);
    ParticipantLiveness v;
    v.name = name;
    v.last_accepted_ms = s.last_ms;
    v.last_lag_ms = s.lag_ms;
    v.batches = s.batches;
    v.observations = s.observations;
    for (size_t i = 0; i < 60; ++i)
      if (s.second[i] > sec - 60 && s.second[i] <= sec)
        v.observations_last_minute += s.per_second[i];
    v.max_silence_ms = s.max_silence_ms;
    v.silent_for_ms = std::max<int64_t>(0, now_ms - (s.last_ms != 0 ? s.last_ms : started_ms_));
    v.silent = s.max_silence_ms > 0 && v.silent_for_ms > s.max_silence_ms;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sluice::feed
