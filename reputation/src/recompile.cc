// recompile(): the delta of a small change, walking only the changed regions (compile.h).
#include <algorithm>
#include <tuple>

#include "compile_walk.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/error.h"

namespace sluice::reputation {
namespace {

// What compile() reads of an entry, for comparing two versions of a source.
template <class A>
auto compiled_fields(const Entry<A> &e) {
  return std::make_tuple(e.addr, e.len, static_cast<bool>(e.exclude), e.line, e.weight,
                         static_cast<unsigned>(e.flags));
}

template <class A>
void add_changed(const std::vector<Entry<A>> &before, const std::vector<Entry<A>> &after,
                 std::vector<std::pair<A, uint8_t>> &out) {
  using Fields = decltype(compiled_fields(std::declval<Entry<A>>()));
  auto fields = [](const std::vector<Entry<A>> &v) {
    std::vector<Fields> f;
    f.reserve(v.size());
    for (const auto &e : v) f.push_back(compiled_fields(e));
    std::sort(f.begin(), f.end());
    return f;
  };
  const std::vector<Fields> a = fields(before), b = fields(after);
  std::vector<Fields> only;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only));
  for (const auto &f : only) out.emplace_back(std::get<0>(f), std::get<1>(f));
}

template <class A>
struct Region {
  A addr;
  uint8_t len;
  A last;
  std::vector<Entry<A>> entries;  // every entry at, inside or enclosing the region
};

// The changed prefixes that no other changed prefix encloses, sorted and disjoint.
template <class A>
std::vector<Region<A>> regions_of(std::vector<std::pair<A, uint8_t>> changed) {
  std::sort(changed.begin(), changed.end());
  std::vector<Region<A>> out;
  for (const auto &[addr, len] : changed) {
    // Sorted by (address, len), an enclosing prefix comes first, and the regions kept so far
    // are disjoint and ordered: only the last one can enclose this prefix.
    if (!out.empty() && len >= out.back().len &&
        prefix_contains<A>(out.back().addr, out.back().len, addr))
      continue;
    out.push_back({addr, len, prefix_last<A>(addr, len), {}});
  }
  return out;
}

// Hands every entry of every source to the regions it concerns: the one region that encloses
// it (or is it), or the regions it encloses. One binary search per entry.
template <class A>
void gather(std::vector<Region<A>> &regions, std::span<const ParsedSource *const> sources,
            std::vector<Entry<A>> ParsedSource::*member) {
  for (size_t k = 0; k < sources.size(); ++k) {
    for (Entry<A> e : (*sources[k]).*member) {
      e.source = static_cast<uint16_t>(k);
      const A last = prefix_last<A>(e.addr, e.len);
      // The first region starting after e.addr; the one before it may enclose e.
      auto it = std::upper_bound(regions.begin(), regions.end(), e.addr,
                                 [](A a, const Region<A> &r) { return a < r.addr; });
      if (it != regions.begin()) {
        Region<A> &r = *std::prev(it);
        if (e.addr <= r.last && e.len >= r.len) {
          r.entries.push_back(e);  // inside the region (or the region itself)
          continue;
        }
      }
      // Regions starting within e's range at e's length or longer are inside e.
      if (it != regions.begin() && std::prev(it)->addr == e.addr) --it;
      for (; it != regions.end() && it->addr <= last; ++it)
        if (it->len >= e.len) it->entries.push_back(e);
    }
  }
}

// The entries of one snapshot array whose address lies in [first, last] and whose length is
// at least min_len (prefixes that start at `first` but are shorter enclose the region).
template <class E, class A, class KeyFn>
std::vector<E> entries_within(std::span<const E> all, A first, A last, int min_len, KeyFn key) {
  auto lo =
      std::lower_bound(all.begin(), all.end(), first, [&](const E &e, A a) { return key(e) < a; });
  auto hi = std::upper_bound(lo, all.end(), last, [&](A a, const E &e) { return a < key(e); });
  std::vector<E> out;
  for (auto it = lo; it != hi; ++it) {
    if constexpr (requires { it->len; })
      if (it->len < min_len) continue;
    out.push_back(*it);
  }
  return out;
}

template <class E>
void append(EntryChanges<E> &to, EntryChanges<E> &&from) {
  to.added.insert(to.added.end(), from.added.begin(), from.added.end());
  to.changed.insert(to.changed.end(), from.changed.begin(), from.changed.end());
  to.removed.insert(to.removed.end(), from.removed.begin(), from.removed.end());
}

uint32_t key_of(const HostV4 &e) {
  return sl_ntohl(e.addr_be);
}
uint32_t key_of(const PrefixV4 &e) {
  return sl_ntohl(e.addr_be);
}
U128 key_of(const HostV6 &e) {
  return v6_from_bytes(e.addr);
}
U128 key_of(const PrefixV6 &e) {
  return v6_from_bytes(e.addr);
}

// Walks each region again and appends what changed in it to `delta` (regions are disjoint and
// in order, so every change list stays sorted).
template <class A, class Host, class Prefix>
void recompile_family(std::vector<Region<A>> &regions, std::span<const Host> hosts,
                      std::span<const Prefix> prefixes, std::span<const SourceConfig> configs,
                      EntryChanges<Host> &host_changes, EntryChanges<Prefix> &prefix_changes) {
  constexpr int bits = Family<A>::kBits;
  auto key = [](const auto &e) { return key_of(e); };
  for (Region<A> &r : regions) {
    std::vector<detail::Out<A>> outs;
    detail::walk(r.entries, configs, outs);
    std::vector<Host> new_hosts;
    std::vector<Prefix> new_prefixes;
    for (const auto &o : outs)
      if (o.len >= r.len && prefix_contains<A>(r.addr, r.len, o.addr))
        detail::put_output(o, new_hosts, new_prefixes);
    std::vector<Host> old_hosts = entries_within<Host>(hosts, r.addr, r.last, bits, key);
    std::vector<Prefix> old_prefixes = entries_within<Prefix>(prefixes, r.addr, r.last, r.len, key);
    // Two small tables, the region as it was and as it is: the library's own diff.
    Snapshot before, after;
    if constexpr (bits == 32) {
      before = Snapshot::from_entries(std::move(old_hosts), std::move(old_prefixes), {}, {});
      after = Snapshot::from_entries(std::move(new_hosts), std::move(new_prefixes), {}, {});
      Delta d = diff(before, after);
      append(host_changes, std::move(d.hosts_v4));
      append(prefix_changes, std::move(d.prefixes_v4));
    } else {
      before = Snapshot::from_entries({}, {}, std::move(old_hosts), std::move(old_prefixes));
      after = Snapshot::from_entries({}, {}, std::move(new_hosts), std::move(new_prefixes));
      Delta d = diff(before, after);
      append(host_changes, std::move(d.hosts_v6));
      append(prefix_changes, std::move(d.prefixes_v6));
    }
  }
}

}  // namespace

void add_changed_prefixes(const ParsedSource &before, const ParsedSource &after,
                          ChangedPrefixes &out) {
  add_changed(before.v4, after.v4, out.v4);
  add_changed(before.v6, after.v6, out.v6);
}

Delta recompile(const Snapshot &current, std::span<const ParsedSource *const> sources,
                std::span<const SourceConfig> configs, const ChangedPrefixes &changed) {
  if (sources.size() != configs.size()) throw Error("recompile: sources and configs differ");
  if (sources.size() > 0x10000) throw Error("recompile: more than 65536 sources");
  Delta delta;
  if (!changed.v4.empty()) {
    auto regions = regions_of<uint32_t>(changed.v4);
    gather<uint32_t>(regions, sources, &ParsedSource::v4);
    recompile_family<uint32_t>(regions, current.hosts_v4(), current.prefixes_v4(), configs,
                               delta.hosts_v4, delta.prefixes_v4);
  }
  if (!changed.v6.empty()) {
    auto regions = regions_of<U128>(changed.v6);
    gather<U128>(regions, sources, &ParsedSource::v6);
    recompile_family<U128>(regions, current.hosts_v6(), current.prefixes_v6(), configs,
                           delta.hosts_v6, delta.prefixes_v6);
  }
  return delta;
}

}  // namespace sluice::reputation
