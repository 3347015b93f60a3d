// The compiler's walk, shared by compile() (every entry) and recompile() (the entries of a
// changed region and its ancestors): one sort of the entries by (address, len), then one walk
// in that order, which visits prefixes as a pre-order walk of their nesting tree. A stack
// holds the prefixes enclosing the current one; per source, `cur` holds the contribution of its
// most specific entry on that stack, with an undo log to restore it when the walk leaves a
// prefix. O(n log n) for the sort, O(n) for the walk.
//
// An output's value depends only on the entries at its own prefix and the prefixes enclosing
// it, and whether it is emitted only on the outputs enclosing it: so walking a prefix's
// entries together with every entry that encloses it gives exactly the outputs a walk of the
// whole table gives inside that prefix (what recompile() relies on).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "sluice/reputation/address.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/reputation/source.h"
#include "sluice/reputation/sources_file.h"

namespace sluice::reputation::detail {

template <class A>
inline bool entry_less(const Entry<A> &a, const Entry<A> &b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  if (a.len != b.len) return a.len < b.len;
  if (a.source != b.source) return a.source < b.source;
  if (a.exclude != b.exclude) return a.exclude;  // an exclusion wins at equal specificity
  return a.line < b.line;                        // then the earliest line
}

struct Contribution {
  bool present = false;
  int32_t weight = 0;
  uint32_t flags = 0;  // SL_REP_ALLOW | SL_REP_DENY
};

template <class A>
struct Out {
  A addr;
  uint8_t len;
  sl_rep_value value;
};

template <class A>
void walk(std::vector<Entry<A>> &entries, std::span<const SourceConfig> configs,
          std::vector<Out<A>> &out) {
  constexpr int bits = Family<A>::kBits;
  // A lambda, not the function's address: std::sort then inlines the comparison.
  std::sort(entries.begin(), entries.end(),
            [](const Entry<A> &a, const Entry<A> &b) { return entry_less(a, b); });
  std::vector<Contribution> cur(configs.size());
  struct Undo {
    uint16_t source;
    Contribution old;
  };
  std::vector<Undo> undo;
  struct Frame {
    A last;
    size_t undo_mark;
    int64_t score;
    uint32_t allows;
    uint32_t denies;
    sl_rep_value visible;  // what a lookup in the output answers inside this prefix
  };
  std::vector<Frame> stack;
  int64_t score = 0;
  uint32_t allows = 0;  // sources whose deciding entry allows the address
  uint32_t denies = 0;  // sources whose deciding entry denies it

  auto set = [&](uint16_t s, Contribution c) {
    Contribution &old = cur[s];
    undo.push_back({s, old});
    if (old.present) score -= old.weight;
    if (c.present) score += c.weight;
    allows += ((c.flags & SL_REP_ALLOW) ? 1 : 0) - ((old.flags & SL_REP_ALLOW) ? 1 : 0);
    denies += ((c.flags & SL_REP_DENY) ? 1 : 0) - ((old.flags & SL_REP_DENY) ? 1 : 0);
    old = c;
  };
  auto pop = [&] {
    Frame &f = stack.back();
    while (undo.size() > f.undo_mark) {
      cur[undo.back().source] = undo.back().old;
      undo.pop_back();
    }
    score = f.score;
    allows = f.allows;
    denies = f.denies;
    stack.pop_back();
  };

  size_t i = 0;
  while (i < entries.size()) {
    const A addr = entries[i].addr;
    const int len = entries[i].len;
    while (!stack.empty() && addr > stack.back().last) pop();
    sl_rep_value visible = stack.empty() ? sl_rep_value{0, 0} : stack.back().visible;
    stack.push_back({prefix_last<A>(addr, len), undo.size(), score, allows, denies, visible});
    // Every entry at exactly this prefix; per source the first (after sorting) decides.
    size_t j = i;
    while (j < entries.size() && entries[j].addr == addr && entries[j].len == len) {
      const Entry<A> &e = entries[j];
      if (j == i || entries[j - 1].source != e.source)
        set(e.source, e.exclude
                          ? Contribution{}
                          : Contribution{true, e.weight,
                                         e.flags | (configs[e.source].allow ? SL_REP_ALLOW : 0u)});
      ++j;
    }
    i = j;
    int64_t clamped = std::clamp<int64_t>(score, INT32_MIN, INT32_MAX);
    sl_rep_value v{static_cast<__s32>(clamped),
                   (allows > 0 ? SL_REP_ALLOW : 0u) | (denies > 0 ? SL_REP_DENY : 0u)};
    if (!(v == visible)) {
      out.push_back({addr, static_cast<uint8_t>(len), v});
      stack.back().visible = v;
    }
    (void)bits;
  }
}

// A walk output as the snapshot entry it becomes, appended to the array of its kind.
inline void put_output(const Out<uint32_t> &o, std::vector<HostV4> &hosts,
                       std::vector<PrefixV4> &prefixes) {
  if (o.len == 32)
    hosts.push_back({sl_htonl(o.addr), o.value});
  else
    prefixes.push_back(make_prefix_v4(sl_htonl(o.addr), o.len, o.value));
}
inline void put_output(const Out<U128> &o, std::vector<HostV6> &hosts,
                       std::vector<PrefixV6> &prefixes) {
  uint8_t bytes[16];
  v6_to_bytes(o.addr, bytes);
  if (o.len == 128)
    hosts.push_back(make_host_v6(bytes, o.value));
  else
    prefixes.push_back(make_prefix_v6(bytes, o.len, o.value));
}

}  // namespace sluice::reputation::detail
