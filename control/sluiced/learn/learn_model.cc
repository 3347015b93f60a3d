#include "learn_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice::sluiced::learn {
namespace rep = sluice::reputation;

namespace {

constexpr int64_t kMinute = 60000, kHour = 60 * kMinute;
// A record whose points without thresholds fall below this is forgotten.
constexpr double kForgetPoints = 0.01;

int32_t whole(double points) {
  return static_cast<int32_t>(std::lround(std::min(points, 1e9)));
}

}  // namespace

std::array<KindSettings, kLocalKindCount> ModelSettings::default_kinds() {
  std::array<KindSettings, kLocalKindCount> k{};
  // Order of LocalKind; docs/learning.md says why each.
  // conn_rate is a rate (SYN/min): 600 SYN/min are +6 (tarpit) at the first observation, 412
  // are +4, anything below 120 SYN/min nothing.
  k[static_cast<size_t>(LocalKind::kConnRate)] = {0.01, 8, 120, 30 * kMinute};
  k[static_cast<size_t>(LocalKind::kPregreet)] = {3, 6, 0.5, 6 * kHour};
  k[static_cast<size_t>(LocalKind::kTrapHit)] = {12, 24, 0.5, 24 * kHour};
  k[static_cast<size_t>(LocalKind::kComplaint)] = {4, 16, 0.5, 6 * kHour};
  k[static_cast<size_t>(LocalKind::kUnknownRecipient)] = {0.5, 8, 5, 1 * kHour};
  k[static_cast<size_t>(LocalKind::kRblReject)] = {0.5, 3, 1.5, 6 * kHour};
  k[static_cast<size_t>(LocalKind::kProtocolError)] = {1, 6, 3, 1 * kHour};
  // A verdict follows from the score: weighted, it would hold a sender at its level for as long
  // as it keeps connecting, whatever put it there. Off unless the operator gives it a weight.
  k[static_cast<size_t>(LocalKind::kShaped)] = {0, 4, 0.5, 1 * kHour};
  k[static_cast<size_t>(LocalKind::kBlocked)] = {0, 8, 0.5, 1 * kHour};
  // A subscriber's fan-out: +1 per remote MTA new to it in a minute, so a spam engine reaching
  // 50 MTAs a minute passes 20 points within its first half-minute while a subscriber sending
  // its own few mails stays near 3; halves every 10 minutes once it stops.
  k[static_cast<size_t>(LocalKind::kFanOut)] = {1, 64, 0.5, 10 * kMinute};
  return k;
}

std::string bounded_printable(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  for (char &c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

size_t LocalModel::KeyHash::operator()(const Key &k) const {
  const auto lo = static_cast<uint64_t>(k.bits), hi = static_cast<uint64_t>(k.bits >> 64);
  uint64_t h = lo * 0x9e3779b97f4a7c15ULL ^ (hi + 0x632be59bd9b4e019ULL + (lo << 6) + (lo >> 2));
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return static_cast<size_t>(h + static_cast<uint64_t>(k.family));
}

LocalModel::Key LocalModel::key_of(const rep::IpAddress &a) {
  return a.family == 4 ? Key{4, a.v4} : Key{6, a.v6};
}

rep::IpAddress LocalModel::address_of(const Key &k) {
  rep::IpAddress a;
  a.family = k.family;
  if (k.family == 4)
    a.v4 = static_cast<uint32_t>(k.bits);
  else
    a.v6 = k.bits;
  return a;
}

double LocalModel::decayed(LocalKind k, const KindRecord &r, int64_t now_ms) const {
  const auto &ks = s_.kinds[static_cast<size_t>(k)];
  const double age = static_cast<double>(std::max<int64_t>(0, now_ms - r.updated_ms));
  return r.count * std::exp2(-age / static_cast<double>(ks.half_life_ms));
}

KindView LocalModel::view(LocalKind k, const KindRecord &r, int64_t now_ms) const {
  const auto &ks = s_.kinds[static_cast<size_t>(k)];
  KindView v;
  v.kind = k;
  v.record = &r;
  v.count = decayed(k, r, now_ms);
  v.below_threshold = v.count < ks.threshold;
  const double raw = ks.weight * v.count;
  v.capped = raw > ks.cap;
  v.points = v.below_threshold ? 0 : std::min(raw, ks.cap);
  v.contribution = whole(v.points);
  return v;
}

std::pair<double, double> LocalModel::rank(const Slot &s, int64_t now_ms) const {
  double points = 0, would = 0;
  for (size_t i = 0; i < kLocalKindCount; ++i) {
    if (!s.kinds[i]) continue;
    const KindView v = view(static_cast<LocalKind>(i), *s.kinds[i], now_ms);
    points += v.points;
    would += std::min(s_.kinds[i].weight * v.count, s_.kinds[i].cap);
  }
  return {points, would};
}

void LocalModel::make_room(int64_t now_ms) {
  while (map_.size() >= s_.max_addresses && !map_.empty()) {
    if (next_candidate_ >= candidates_.size() || now_ms - candidates_ms_ >= s_.step_ms) {
      // One scan ranks every address; the lowest max_addresses/16 (at least one) are evicted
      // in turn by the next insertions, so a flood costs O(log n) per address, not O(n).
      struct Ranked {
        std::pair<double, double> rank;
        int64_t touched;
        Key key;
        uint64_t generation;
      };
      std::vector<Ranked> all;
      all.reserve(map_.size());
      for (const auto &[k, s] : map_)
        all.push_back({rank(s, now_ms), s.touched_ms, k, s.generation});
      const size_t n = std::min(all.size(), std::max<size_t>(1, s_.max_addresses / 16));
      auto less = [](const Ranked &a, const Ranked &b) {
        if (a.rank != b.rank) return a.rank < b.rank;
        if (a.touched != b.touched) return a.touched < b.touched;
        return a.key < b.key;
      };
      std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(n), all.end(), less);
      candidates_.clear();
      for (size_t i = 0; i < n; ++i) candidates_.emplace_back(all[i].key, all[i].generation);
      next_candidate_ = 0;
      candidates_ms_ = now_ms;
    }
    const auto [key, generation] = candidates_[next_candidate_++];
    auto it = map_.find(key);
    if (it == map_.end() || it->second.generation != generation) continue;  // gone or touched
    map_.erase(it);
    ++evictions_;
  }
}

bool LocalModel::observe(const LocalObservation &o, int64_t now_ms) {
  const size_t ki = static_cast<size_t>(o.kind);
  if (ki >= kLocalKindCount || o.count == 0) return false;
  ++observed_[ki];
  // A kind without weight is off: counted, not kept (a flood of them must not take the room of
  // addresses that score).
  if (s_.kinds[ki].weight == 0) return false;
  const Key key = key_of(o.subject);
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (s_.max_addresses == 0) return false;
    make_room(now_ms);
    it = map_.emplace(key, Slot{}).first;
  }
  Slot &slot = it->second;
  slot.generation = ++generation_;
  slot.touched_ms = now_ms;
  auto &rec = slot.kinds[ki];
  if (!rec) {
    rec.emplace();
    rec->updated_ms = now_ms;
  }
  // observed_at after now counts as now, before 1970 as 1970 (the state file keeps unix times).
  const int64_t at_ms = std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.observed_at.time_since_epoch())
          .count(),
      0, std::max<int64_t>(0, now_ms));
  const double age = static_cast<double>(std::max<int64_t>(0, now_ms - at_ms));
  const double fresh = static_cast<double>(o.count) *
                       std::exp2(-age / static_cast<double>(s_.kinds[ki].half_life_ms));
  const double before = decayed(o.kind, *rec, now_ms);
  // A gauge is raised to this rate; a lower one leaves the decaying peak, its time and its
  // evidence alone (explain shows "412 SYN/min at 10:02").
  const bool raised = !is_rate(o.kind) || fresh > before || rec->observations == 0;
  if (!is_rate(o.kind)) {
    rec->count = std::min(before + fresh, kMaxCount);
    rec->updated_ms = std::max<int64_t>(rec->updated_ms, std::max<int64_t>(0, now_ms));
  } else if (raised) {
    rec->count = std::min(fresh, kMaxCount);
    rec->updated_ms = std::max<int64_t>(0, now_ms);
  }
  rec->last_seen_ms = std::max(rec->last_seen_ms, at_ms);
  ++rec->observations;
  if (raised) {
    rec->origin = bounded_printable(o.origin, kMaxOrigin);
    rec->evidence = bounded_printable(o.evidence, kMaxEvidence);
  }
  return contribution_of(key, o.kind, now_ms) != published_of(key, o.kind);
}

int32_t LocalModel::contribution_of(const Key &k, LocalKind kind, int64_t now_ms) const {
  auto it = map_.find(k);
  if (it == map_.end() || !it->second.kinds[static_cast<size_t>(kind)]) return 0;
  return view(kind, *it->second.kinds[static_cast<size_t>(kind)], now_ms).contribution;
}

int32_t LocalModel::published_of(const Key &k, LocalKind kind) const {
  auto it = published_.find(k);
  return it == published_.end() ? 0 : it->second[static_cast<size_t>(kind)];
}

std::vector<LocalModel::Entry> LocalModel::evaluate(int64_t now_ms) {
  std::vector<std::pair<Key, std::array<int32_t, kLocalKindCount>>> live;
  for (auto it = map_.begin(); it != map_.end();) {
    Slot &s = it->second;
    std::array<int32_t, kLocalKindCount> pts{};
    bool any_record = false, any_points = false;
    for (size_t i = 0; i < kLocalKindCount; ++i) {
      if (!s.kinds[i]) continue;
      const KindView v = view(static_cast<LocalKind>(i), *s.kinds[i], now_ms);
      if (s_.kinds[i].weight * v.count < kForgetPoints) {
        s.kinds[i].reset();
        continue;
      }
      any_record = true;
      pts[i] = v.contribution;
      any_points = any_points || pts[i] != 0;
    }
    if (any_points) live.emplace_back(it->first, pts);
    if (!any_record)
      it = map_.erase(it);
    else
      ++it;
  }
  std::sort(live.begin(), live.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  published_.clear();
  std::vector<Entry> out;
  for (const auto &[k, pts] : live) {
    published_.emplace(k, pts);
    for (size_t i = 0; i < kLocalKindCount; ++i)
      if (pts[i] != 0) out.push_back({address_of(k), static_cast<LocalKind>(i), pts[i]});
  }
  evaluated_ms_ = now_ms;
  return out;
}

std::optional<int64_t> LocalModel::next_change() const {
  if (published_.empty() || !evaluated_ms_) return std::nullopt;
  double earliest = std::numeric_limits<double>::infinity();
  for (const auto &[k, pts] : published_) {
    auto it = map_.find(k);
    for (size_t i = 0; i < kLocalKindCount; ++i) {
      if (pts[i] == 0) continue;
      const std::optional<KindRecord> *rec = it == map_.end() ? nullptr : &it->second.kinds[i];
      if (rec == nullptr || !*rec) return *evaluated_ms_ + s_.step_ms;  // forgotten: now
      const KindSettings &ks = s_.kinds[i];
      // Decaying, the points round to pts - 1 once weight x count < pts - 0.5, and vanish
      // once count < threshold: whichever comes first.
      const double floor_count =
          std::max(ks.threshold, ks.weight > 0 ? (pts[i] - 0.5) / ks.weight : 0.0);
      const KindRecord &r = **rec;
      if (r.count <= floor_count) return *evaluated_ms_ + s_.step_ms;
      const double at = static_cast<double>(r.updated_ms) +
                        static_cast<double>(ks.half_life_ms) * std::log2(r.count / floor_count);
      earliest = std::min(earliest, at);
    }
  }
  const int64_t soonest = *evaluated_ms_ + s_.step_ms;
  if (!std::isfinite(earliest)) return soonest;
  // At `earliest` the count is exactly at the boundary (still the same contribution); the first
  // millisecond after it is the first that differs.
  const double capped = std::min(earliest, 9.0e15);
  return std::max(soonest, static_cast<int64_t>(std::floor(capped)) + 1);
}

std::vector<KindView> LocalModel::explain(const rep::IpAddress &a, int64_t now_ms) const {
  std::vector<KindView> out;
  auto it = map_.find(key_of(a));
  if (it == map_.end()) return out;
  for (size_t i = 0; i < kLocalKindCount; ++i)
    if (it->second.kinds[i])
      out.push_back(view(static_cast<LocalKind>(i), *it->second.kinds[i], now_ms));
  return out;
}

std::array<int32_t, kLocalKindCount> LocalModel::published(const rep::IpAddress &a) const {
  auto it = published_.find(key_of(a));
  return it == published_.end() ? std::array<int32_t, kLocalKindCount>{} : it->second;
}

std::vector<LocalKind> LocalModel::forget(const rep::IpAddress &a) {
  std::vector<LocalKind> out;
  auto it = map_.find(key_of(a));
  if (it == map_.end()) return out;
  for (size_t i = 0; i < kLocalKindCount; ++i)
    if (it->second.kinds[i]) out.push_back(static_cast<LocalKind>(i));
  map_.erase(it);
  return out;
}

std::vector<SavedRecord> LocalModel::records() const {
  std::vector<std::pair<Key, const Slot *>> slots;
  slots.reserve(map_.size());
  for (const auto &[k, s] : map_) slots.emplace_back(k, &s);
  std::sort(slots.begin(), slots.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<SavedRecord> out;
  for (const auto &[k, s] : slots)
    for (size_t i = 0; i < kLocalKindCount; ++i)
      if (s->kinds[i]) out.push_back({address_of(k), static_cast<LocalKind>(i), *s->kinds[i]});
  return out;
}

void LocalModel::restore(const std::vector<SavedRecord> &recs, int64_t now_ms) {
  map_.clear();
  published_.clear();
  candidates_.clear();
  next_candidate_ = 0;
  evaluated_ms_.reset();
  for (const SavedRecord &r : recs) {
    const Key key = key_of(r.address);
    auto it = map_.find(key);
    if (it == map_.end()) {
      if (s_.max_addresses == 0) return;
      make_room(now_ms);
      it = map_.emplace(key, Slot{}).first;
    }
    Slot &slot = it->second;
    slot.generation = ++generation_;
    slot.touched_ms = std::max(slot.touched_ms, r.record.updated_ms);
    KindRecord rec = r.record;
    rec.origin = bounded_printable(rec.origin, kMaxOrigin);
    rec.evidence = bounded_printable(rec.evidence, kMaxEvidence);
    slot.kinds[static_cast<size_t>(r.kind)] = std::move(rec);
  }
}

std::array<size_t, kLocalKindCount> LocalModel::published_per_kind() const {
  std::array<size_t, kLocalKindCount> n{};
  for (const auto &[k, pts] : published_)
    for (size_t i = 0; i < kLocalKindCount; ++i) n[i] += pts[i] != 0;
  return n;
}

}  // namespace sluice::sluiced::learn
