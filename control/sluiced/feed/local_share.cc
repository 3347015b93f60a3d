#include "local_share.h"

#include <algorithm>
#include <cmath>

namespace sluice::sluiced {
namespace {

// An observation that waited this close to the schema's oldest observed_at is dropped rather
// than refused by every consumer.
constexpr int64_t kOldestObservedMs = feed::kObservedBeforeSentMs - 3600000;

int64_t unix_ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::optional<feed::Kind> feed_kind(LocalKind k) {
  switch (k) {
    case LocalKind::kConnRate:
      return feed::Kind::kConnRate;
    case LocalKind::kPregreet:
      return feed::Kind::kPregreet;
    case LocalKind::kTrapHit:
      return feed::Kind::kTrapHit;
    case LocalKind::kComplaint:
      return feed::Kind::kComplaint;
    case LocalKind::kShaped:
      return feed::Kind::kShaped;
    case LocalKind::kBlocked:
      return feed::Kind::kBlocked;
    case LocalKind::kFanOut:
      return feed::Kind::kFanOut;
    case LocalKind::kUnknownRecipient:
    case LocalKind::kRblReject:
    case LocalKind::kProtocolError:
      return std::nullopt;
  }
  return std::nullopt;
}

ShareSettings default_share_settings() {
  ShareSettings s;
  for (size_t k = 0; k < kLocalKindCount; ++k)
    s.kinds[k] = feed_kind(static_cast<LocalKind>(k)).has_value();
  // Fan-out is about this operator's own subscribers: shared only when the operator lists it.
  s.kinds[static_cast<size_t>(LocalKind::kFanOut)] = false;
  return s;
}

LocalShare::LocalShare(ShareSettings s) : s_(s), tokens_(s.per_second) {}

void LocalShare::offer(const LocalObservation &o, int64_t now_ms) {
  const auto k = static_cast<size_t>(o.kind);
  if (k >= kLocalKindCount || !s_.kinds[k] || !feed_kind(o.kind)) {
    ++counters_.not_shared;
    return;
  }
  ++counters_.offered[k];
  const int64_t observed = std::min(unix_ms_of(o.observed_at), now_ms);
  if (observed < now_ms - kOldestObservedMs) {
    ++counters_.dropped_old;
    return;
  }
  const Key key{o.subject.family, o.subject.family == 4 ? o.subject.v4 : 0,
                o.subject.family == 6 ? o.subject.v6 : reputation::U128{0},
                static_cast<uint8_t>(k)};
  const uint64_t count = std::max<uint64_t>(o.count, 1);
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    if (slots_.size() >= s_.max_entries) {
      ++counters_.dropped_full;
      return;
    }
    Slot slot{true, count, observed, observed, now_ms};
    slots_.emplace(key, slot);
    queue_.emplace(now_ms, key);
    return;
  }
  Slot &slot = it->second;
  if (!slot.pending) {  // quiet since its last publish: waits for the interval's end
    slot.pending = true;
    slot.count = count;
    slot.first_observed_ms = slot.last_observed_ms = observed;
    return;
  }
  ++counters_.merged;
  slot.count = is_rate(o.kind) ? std::max(slot.count, count) : slot.count + count;
  slot.first_observed_ms = std::min(slot.first_observed_ms, observed);
  slot.last_observed_ms = std::max(slot.last_observed_ms, observed);
}

void LocalShare::refill(int64_t now_ms) {
  if (now_ms > refilled_ms_)
    tokens_ = std::min<double>(s_.per_second, tokens_ + static_cast<double>(now_ms - refilled_ms_) *
                                                            s_.per_second / 1000.0);
  refilled_ms_ = now_ms;
}

feed::Observation LocalShare::to_feed(const Key &k, const Slot &s, int64_t now_ms) const {
  feed::Observation o;
  o.subject.family = std::get<0>(k);
  o.subject.v4 = std::get<1>(k);
  o.subject.v6 = std::get<2>(k);
  o.subject.len = o.subject.family == 4 ? 32 : 128;
  const auto local = static_cast<LocalKind>(std::get<3>(k));
  o.kind = *feed_kind(local);
  o.count = static_cast<uint32_t>(std::clamp<uint64_t>(s.count, 1, feed::kMaxCount));
  // A rate is SYNs per minute (docs/learning.md): COUNT over a 60 s window. Events span the
  // observations merged, at least one second.
  const int64_t span_s = (s.last_observed_ms - s.first_observed_ms + 999) / 1000;
  o.window_s = is_rate(local) ? 60
                              : static_cast<uint32_t>(std::clamp<int64_t>(
                                    span_s, 1, static_cast<int64_t>(feed::kMaxWindowSeconds)));
  o.ttl_s = s_.ttl_s;
  o.observed_at_ms = std::min(s.last_observed_ms, now_ms);
  return o;
}

std::vector<feed::Observation> LocalShare::take_due(int64_t now_ms) {
  refill(now_ms);
  std::vector<feed::Observation> out;
  while (!queue_.empty() && queue_.begin()->first <= now_ms) {
    const auto q = queue_.begin();
    const Key key = q->second;
    const auto it = slots_.find(key);
    Slot &slot = it->second;
    if (!slot.pending) {  // a whole interval without news: forget the sender
      queue_.erase(q);
      slots_.erase(it);
      continue;
    }
    if (slot.last_observed_ms < now_ms - kOldestObservedMs) {
      ++counters_.dropped_old;
    } else {
      if (tokens_ < 1) {
        ++counters_.waited_for_budget;
        break;
      }
      tokens_ -= 1;
      out.push_back(to_feed(key, slot, now_ms));
      ++counters_.published[std::get<3>(key)];
    }
    queue_.erase(q);
    slot.pending = false;
    slot.count = 0;
    slot.due_ms = now_ms + s_.interval_ms;
    queue_.emplace(slot.due_ms, key);
  }
  return out;
}

std::optional<int64_t> LocalShare::next_due_ms() const {
  if (queue_.empty()) return std::nullopt;
  int64_t t = queue_.begin()->first;
  const Slot &front = slots_.at(queue_.begin()->second);
  if (front.pending && tokens_ < 1)  // the budget has one again then
    t = std::max(
        t, refilled_ms_ + static_cast<int64_t>(std::ceil((1 - tokens_) * 1000.0 / s_.per_second)));
  return t;
}

}  // namespace sluice::sluiced
