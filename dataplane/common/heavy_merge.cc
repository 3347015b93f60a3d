#include "heavy_merge.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sluice::heavy {

std::string prefix_text(const sl_heavy_key &key) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(key.family == SL_AF_INET ? AF_INET : AF_INET6, key.addr, buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(key.prefix_len);
}

std::string address_text(const sl_heavy_key &key) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(key.family == SL_AF_INET ? AF_INET : AF_INET6, key.addr, buf, sizeof(buf));
  return buf;
}

void HeavyMerge::add_entry(const sl_heavy_entry &e) {
  if (e.estimate == 0) return;
  const Key k{e.key.family, e.key.prefix_len,
              std::string(reinterpret_cast<const char *>(e.key.addr), sizeof(e.key.addr))};
  if (e.key.kind == SL_HEAVY_KIND_SHAPED || e.key.kind == SL_HEAVY_KIND_BLOCKED) {
    if (sl_heavy_entry_value(&e, epoch_) == 0) return;
    VerdictCount &v = verdicts_[{k, e.key.level}];
    v.key = e.key;
    v.key.kind = SL_HEAVY_KIND_SHAPED;
    (e.key.kind == SL_HEAVY_KIND_SHAPED ? v.shaped : v.blocked) += e.estimate;
    return;
  }
  if (e.key.kind == SL_HEAVY_KIND_PREGREET || e.key.kind == SL_HEAVY_KIND_FANOUT) {
    // An event entry: while live, its count since it last started (sl_heavy_entry_event),
    // summed.
    if (sl_heavy_entry_value(&e, epoch_) == 0) return;
    Sum &s = (e.key.kind == SL_HEAVY_KIND_PREGREET ? pregreets_ : fanouts_)[k];
    s.key = e.key;
    s.current += e.estimate;
    return;
  }
  if (e.key.kind != SL_HEAVY_KIND_SYN) return;
  const bool now = e.epoch == epoch_, last = e.epoch + 1 == epoch_;
  if (!now && !last) return;
  Sum &s = sums_[k];
  s.key = e.key;
  if (now) {
    s.current += e.estimate;
    s.previous += e.prev_estimate;
  } else {
    s.previous += e.estimate;
  }
}

namespace {

bool heavier(const HeavyCount &a, const HeavyCount &b) {
  if (a.syns != b.syns) return a.syns > b.syns;
  return std::tie(a.key.family, a.key.prefix_len) < std::tie(b.key.family, b.key.prefix_len) ||
         (std::tie(a.key.family, a.key.prefix_len) == std::tie(b.key.family, b.key.prefix_len) &&
          std::lexicographical_compare(a.key.addr, a.key.addr + 16, b.key.addr, b.key.addr + 16));
}

}  // namespace

std::vector<HeavyCount> HeavyMerge::largest(const std::map<Key, Sum> &sums, size_t limit) {
  std::vector<HeavyCount> out;
  out.reserve(sums.size());
  for (const auto &[k, s] : sums) out.push_back({s.key, s.current});
  std::sort(out.begin(), out.end(), heavier);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<HeavyCount> HeavyMerge::pregreet(size_t limit) const {
  return largest(pregreets_, limit);
}

std::vector<HeavyCount> HeavyMerge::fanout(size_t limit) const {
  return largest(fanouts_, limit);
}

std::vector<VerdictCount> HeavyMerge::verdicts(size_t limit) const {
  std::vector<VerdictCount> out;
  out.reserve(verdicts_.size());
  for (const auto &[k, v] : verdicts_) out.push_back(v);
  const auto more = [](const VerdictCount &a, const VerdictCount &b) {
    const uint64_t na = a.shaped + a.blocked, nb = b.shaped + b.blocked;
    if (na != nb) return na > nb;
    if (a.key.family != b.key.family) return a.key.family < b.key.family;
    const int c = std::memcmp(a.key.addr, b.key.addr, sizeof(a.key.addr));
    return c != 0 ? c < 0 : a.key.level < b.key.level;
  };
  std::sort(out.begin(), out.end(), more);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<HeavyCount> HeavyMerge::top(size_t limit) const {
  std::vector<HeavyCount> out;
  out.reserve(sums_.size());
  for (const auto &[k, s] : sums_) {
    uint64_t current = s.current;
    if (!sketches_.empty()) {
      uint64_t counted = 0;
      for (const sl_heavy_sketch *sk : sketches_) counted += sl_heavy_estimate(sk, &s.key, epoch_);
      current = std::max(current, counted);
    }
    const uint64_t syns = std::max(current, s.previous);
    if (syns > 0) out.push_back({s.key, syns});
  }
  std::sort(out.begin(), out.end(), heavier);
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace sluice::heavy
