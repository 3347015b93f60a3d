// diff / apply / encode / decode of table deltas.
#include "sluice/reputation/delta.h"

#include <algorithm>
#include <utility>
#include <cstring>

#include "file_io.h"
#include "fmt/format.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/error.h"
#include "table_memory.h"

namespace sluice::reputation {
namespace {

// Sort keys; hosts compare by address, prefixes by (address, len).
struct Key4 {
  uint32_t a;
  uint8_t len;
  auto operator<=>(const Key4 &) const = default;
};
struct Key6 {
  U128 a;
  uint8_t len;
  auto operator<=>(const Key6 &) const = default;
};
inline Key4 key(const HostV4 &e) {
  return {sl_ntohl(e.addr_be), 32};
}
inline Key4 key(const PrefixV4 &e) {
  return {sl_ntohl(e.addr_be), e.len};
}
inline Key6 key(const HostV6 &e) {
  return {v6_from_bytes(e.addr), 128};
}
inline Key6 key(const PrefixV6 &e) {
  return {v6_from_bytes(e.addr), e.len};
}

template <class E>
void diff_arrays(std::span<const E> a, std::span<const E> b, EntryChanges<E> &out) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && key(a[i]) < key(b[j]))) {
      out.removed.push_back(a[i++]);
    } else if (i == a.size() || key(b[j]) < key(a[i])) {
      out.added.push_back(b[j++]);
    } else {
      if (!(a[i].value == b[j].value)) out.changed.push_back(b[j]);
      ++i;
      ++j;
    }
  }
}

// The keys any of `touched` adds, changes or removes, sorted, each once.
template <class E>
auto touched_keys(std::span<const EntryChanges<E> *const> touched) {
  using K = decltype(key(std::declval<const E &>()));
  std::vector<K> keys;
  for (const EntryChanges<E> *c : touched)
    for (const std::vector<E> *list : {&c->added, &c->changed, &c->removed})
      for (const E &e : *list) keys.push_back(key(e));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// diff_arrays(a, b) where a and b can differ only at the touched keys: each looked up in both.
template <class E>
void diff_arrays_within(std::span<const E> a, std::span<const E> b,
                        std::span<const EntryChanges<E> *const> touched, EntryChanges<E> &out) {
  using K = decltype(key(std::declval<const E &>()));
  const auto find = [](std::span<const E> t, const K &k) -> const E * {
    const auto it =
        std::lower_bound(t.begin(), t.end(), k, [](const E &e, const K &v) { return key(e) < v; });
    return it != t.end() && key(*it) == k ? &*it : nullptr;
  };
  for (const K &k : touched_keys<E>(touched)) {
    const E *was = find(a, k), *now = find(b, k);
    if (was && !now)
      out.removed.push_back(*was);
    else if (!was && now)
      out.added.push_back(*now);
    else if (was && now && !(was->value == now->value))
      out.changed.push_back(*now);
  }
}

template <class E>
std::vector<E> apply_arrays(std::span<const E> table, const EntryChanges<E> &c, const char *what) {
  // Every change list is sorted: the three are walked in key order, and the table's entries
  // between two changes are found by binary search and copied as one run. A one-entry change to
  // a million-entry table is then a copy at memory speed, not a million compares.
  std::vector<E> out = detail::table_array<E>(table.size() + c.added.size());
  using K = decltype(key(table[0]));
  auto fail = [what](const char *why) {
    throw Error(fmt::format("delta does not fit the table: {} ({})", why, what));
  };
  size_t pos = 0;  // the first table entry not yet copied or consumed
  size_t ia = 0, ir = 0, ic = 0;
  while (ia < c.added.size() || ir < c.removed.size() || ic < c.changed.size()) {
    // The next change in key order; on equal keys an addition comes first (so adding an entry
    // the table has fails as such), then a removal, then a value change.
    enum { kAdd, kRemove, kChange } next = kAdd;
    K k{};
    bool have = false;
    auto consider = [&](size_t i, const std::vector<E> &list, decltype(next) kind) {
      if (i < list.size() && (!have || key(list[i]) < k)) {
        k = key(list[i]);
        next = kind;
        have = true;
      }
    };
    consider(ia, c.added, kAdd);
    consider(ir, c.removed, kRemove);
    consider(ic, c.changed, kChange);
    const auto run_end = std::lower_bound(table.begin() + static_cast<ptrdiff_t>(pos), table.end(),
                                          k, [](const E &e, const K &v) { return key(e) < v; });
    out.insert(out.end(), table.begin() + static_cast<ptrdiff_t>(pos), run_end);
    pos = static_cast<size_t>(run_end - table.begin());
    const bool present = pos < table.size() && key(table[pos]) == k;
    switch (next) {
      case kAdd:
        if (present) fail("adds an entry the table has");
        out.push_back(c.added[ia++]);
        break;
      case kRemove:
        if (!present) fail("removes a missing entry");
        ++pos;
        ++ir;
        break;
      case kChange:
        if (!present) fail("changes a missing entry");
        out.push_back(c.changed[ic++]);
        ++pos;
        break;
    }
  }
  out.insert(out.end(), table.begin() + static_cast<ptrdiff_t>(pos), table.end());
  return out;
}

constexpr size_t align8(size_t n) {
  return (n + 7) & ~size_t{7};
}

template <class E>
void put(std::vector<uint8_t> &out, size_t &pos, const std::vector<E> &v) {
  if (!v.empty()) std::memcpy(out.data() + pos, v.data(), v.size() * sizeof(E));
  pos = align8(pos + v.size() * sizeof(E));
}

template <class E>
void take(std::span<const uint8_t> in, size_t &pos, uint64_t n, std::vector<E> &v) {
  v.resize(static_cast<size_t>(n));
  if (n) std::memcpy(v.data(), in.data() + pos, v.size() * sizeof(E));
  pos = align8(pos + v.size() * sizeof(E));
}

template <class E>
bool sorted_unique(const std::vector<E> &v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (!(key(v[i - 1]) < key(v[i]))) return false;
  return true;
}

}  // namespace

bool operator==(const HostV4 &a, const HostV4 &b) {
  return a.addr_be == b.addr_be && a.value == b.value;
}
bool operator==(const PrefixV4 &a, const PrefixV4 &b) {
  return a.addr_be == b.addr_be && a.len == b.len && a.value == b.value;
}
bool operator==(const HostV6 &a, const HostV6 &b) {
  return std::memcmp(a.addr, b.addr, 16) == 0 && a.value == b.value;
}
bool operator==(const PrefixV6 &a, const PrefixV6 &b) {
  return std::memcmp(a.addr, b.addr, 16) == 0 && a.len == b.len && a.value == b.value;
}

Delta diff(const Snapshot &a, const Snapshot &b) {
  Delta d;
  diff_arrays(a.hosts_v4(), b.hosts_v4(), d.hosts_v4);
  diff_arrays(a.prefixes_v4(), b.prefixes_v4(), d.prefixes_v4);
  diff_arrays(a.hosts_v6(), b.hosts_v6(), d.hosts_v6);
  diff_arrays(a.prefixes_v6(), b.prefixes_v6(), d.prefixes_v6);
  return d;
}

Delta diff_within(const Snapshot &a, const Snapshot &b, std::span<const Delta *const> touched) {
  // One list of change sets per entry kind, pointing into the deltas.
  std::vector<const EntryChanges<HostV4> *> h4;
  std::vector<const EntryChanges<PrefixV4> *> p4;
  std::vector<const EntryChanges<HostV6> *> h6;
  std::vector<const EntryChanges<PrefixV6> *> p6;
  for (const Delta *d : touched) {
    h4.push_back(&d->hosts_v4);
    p4.push_back(&d->prefixes_v4);
    h6.push_back(&d->hosts_v6);
    p6.push_back(&d->prefixes_v6);
  }
  Delta d;
  diff_arrays_within<HostV4>(a.hosts_v4(), b.hosts_v4(), h4, d.hosts_v4);
  diff_arrays_within<PrefixV4>(a.prefixes_v4(), b.prefixes_v4(), p4, d.prefixes_v4);
  diff_arrays_within<HostV6>(a.hosts_v6(), b.hosts_v6(), h6, d.hosts_v6);
  diff_arrays_within<PrefixV6>(a.prefixes_v6(), b.prefixes_v6(), p6, d.prefixes_v6);
  return d;
}

Snapshot apply(const Snapshot &t, const Delta &d) {
  // A kind the delta leaves alone keeps the table's own array (shared, not copied).
  auto kind = [](auto table, const auto &changes, const char *what) {
    using E = typename decltype(table)::value_type;
    std::optional<std::vector<std::remove_const_t<E>>> out;
    if (changes.size() != 0) out = apply_arrays(table, changes, what);
    return out;
  };
  return Snapshot::replacing(t, {kind(t.hosts_v4(), d.hosts_v4, "hosts_v4"),
                                 kind(t.prefixes_v4(), d.prefixes_v4, "prefixes_v4"),
                                 kind(t.hosts_v6(), d.hosts_v6, "hosts_v6"),
                                 kind(t.prefixes_v6(), d.prefixes_v6, "prefixes_v6")});
}

std::vector<uint8_t> encode(const Delta &d) {
  DeltaHeader h{};
  std::memcpy(h.magic, kDeltaMagic, sizeof h.magic);
  h.version = kDeltaVersion;
  h.header_size = sizeof(DeltaHeader);
  const size_t sizes[12] = {
      d.hosts_v4.added.size(),    d.hosts_v4.changed.size(),    d.hosts_v4.removed.size(),
      d.prefixes_v4.added.size(), d.prefixes_v4.changed.size(), d.prefixes_v4.removed.size(),
      d.hosts_v6.added.size(),    d.hosts_v6.changed.size(),    d.hosts_v6.removed.size(),
      d.prefixes_v6.added.size(), d.prefixes_v6.changed.size(), d.prefixes_v6.removed.size()};
  static constexpr size_t kEntry[12] = {12, 12, 12, 16, 16, 16, 24, 24, 24, 32, 32, 32};
  size_t total = sizeof(DeltaHeader);
  for (int i = 0; i < 12; ++i) {
    h.counts[i] = sizes[i];
    total = align8(total + sizes[i] * kEntry[i]);
  }
  std::vector<uint8_t> out(total, 0);
  size_t pos = sizeof(DeltaHeader);
  put(out, pos, d.hosts_v4.added);
  put(out, pos, d.hosts_v4.changed);
  put(out, pos, d.hosts_v4.removed);
  put(out, pos, d.prefixes_v4.added);
  put(out, pos, d.prefixes_v4.changed);
  put(out, pos, d.prefixes_v4.removed);
  put(out, pos, d.hosts_v6.added);
  put(out, pos, d.hosts_v6.changed);
  put(out, pos, d.hosts_v6.removed);
  put(out, pos, d.prefixes_v6.added);
  put(out, pos, d.prefixes_v6.changed);
  put(out, pos, d.prefixes_v6.removed);
  std::memcpy(out.data(), &h, sizeof h);
  h.checksum = image_checksum(out.data(), out.size());
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

Delta decode(std::span<const uint8_t> in) {
  if (in.size() < sizeof(DeltaHeader))
    throw FormatError(
        fmt::format("not a sluice table delta: {} bytes, shorter than the header", in.size()));
  DeltaHeader h;
  std::memcpy(&h, in.data(), sizeof h);
  if (std::memcmp(h.magic, kDeltaMagic, sizeof h.magic) != 0)
    throw FormatError("not a sluice table delta (bad magic)");
  if (h.version != kDeltaVersion)
    throw FormatError(fmt::format("delta format version {} is not supported (this build reads {})",
                                  h.version, kDeltaVersion));
  if (h.header_size != sizeof(DeltaHeader))
    throw FormatError(fmt::format("delta: bad header size {}", h.header_size));
  static constexpr size_t kEntry[12] = {12, 12, 12, 16, 16, 16, 24, 24, 24, 32, 32, 32};
  size_t total = sizeof(DeltaHeader);
  for (int i = 0; i < 12; ++i) {
    if (h.counts[i] > in.size() / kEntry[i])
      throw FormatError("delta truncated or corrupt: a count exceeds the size");
    total = align8(total + static_cast<size_t>(h.counts[i]) * kEntry[i]);
  }
  if (total != in.size())
    throw FormatError(
        fmt::format("delta truncated or corrupt: {} bytes, its counts need {}", in.size(), total));
  uint64_t sum = image_checksum(in.data(), in.size());
  if (sum != h.checksum)
    throw FormatError(
        fmt::format("delta checksum mismatch (stored {:016x}, computed {:016x})", h.checksum, sum));
  Delta d;
  size_t pos = sizeof(DeltaHeader);
  take(in, pos, h.counts[0], d.hosts_v4.added);
  take(in, pos, h.counts[1], d.hosts_v4.changed);
  take(in, pos, h.counts[2], d.hosts_v4.removed);
  take(in, pos, h.counts[3], d.prefixes_v4.added);
  take(in, pos, h.counts[4], d.prefixes_v4.changed);
  take(in, pos, h.counts[5], d.prefixes_v4.removed);
  take(in, pos, h.counts[6], d.hosts_v6.added);
  take(in, pos, h.counts[7], d.hosts_v6.changed);
  take(in, pos, h.counts[8], d.hosts_v6.removed);
  take(in, pos, h.counts[9], d.prefixes_v6.added);
  take(in, pos, h.counts[10], d.prefixes_v6.changed);
  take(in, pos, h.counts[11], d.prefixes_v6.removed);
  auto check = [](bool ok) {
    if (!ok) throw FormatError("delta invalid: entries not sorted and unique");
  };
  check(sorted_unique(d.hosts_v4.added) && sorted_unique(d.hosts_v4.changed) &&
        sorted_unique(d.hosts_v4.removed) && sorted_unique(d.prefixes_v4.added) &&
        sorted_unique(d.prefixes_v4.changed) && sorted_unique(d.prefixes_v4.removed) &&
        sorted_unique(d.hosts_v6.added) && sorted_unique(d.hosts_v6.changed) &&
        sorted_unique(d.hosts_v6.removed) && sorted_unique(d.prefixes_v6.added) &&
        sorted_unique(d.prefixes_v6.changed) && sorted_unique(d.prefixes_v6.removed));
  return d;
}

Delta Delta::load(const std::string &path) {
  std::string bytes = detail::read_file(path);
  try {
    return decode({reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()});
  } catch (const FormatError &e) {
    throw FormatError(path + ": " + e.what());
  }
}

void Delta::save(const std::string &path, Durability durability) const {
  detail::write_file_atomic(path, encode(*this), durability);
}

}  // namespace sluice::reputation
