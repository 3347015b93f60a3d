#include "rep_live.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "sluice/reputation/error.h"

namespace sluice::dataplane {

namespace rep = reputation;

struct LiveRep::Next::Pending {
  std::optional<rep::Snapshot> base;     // set: a rebuild, the new base (changes cleared)
  std::unique_ptr<RepTable> base_table;  // with `base`
  std::unique_ptr<RepTable> view;        // the table published, shared
  Changes staged;                        // otherwise: this delta's changes
  size_t entries = 0;
};

namespace {

using Key4 = LiveRep::Key4;
using Key6 = LiveRep::Key6;

Key4 key_of(const rep::HostV4 &e) {
  return (uint64_t{sl_ntohl(e.addr_be)} << 8) | 32;
}
Key4 key_of(const rep::PrefixV4 &e) {
  return (uint64_t{sl_ntohl(e.addr_be)} << 8) | e.len;
}
Key6 key_of(const rep::HostV6 &e) {
  Key6 k;
  std::memcpy(k.data(), e.addr, 16);
  k[16] = 128;
  return k;
}
Key6 key_of(const rep::PrefixV6 &e) {
  Key6 k;
  std::memcpy(k.data(), e.addr, 16);
  k[16] = e.len;
  return k;
}

// Whether the table (base + changes) holds the key: the exact entry, not a covering prefix.
bool held(const RepTable &t, const rep::HostV4 &e) {
  return t.find_host_v4(e.addr_be).has_value();
}
bool held(const RepTable &t, const rep::PrefixV4 &e) {
  return t.find_prefix_v4(e.addr_be, e.len).has_value();
}
bool held(const RepTable &t, const rep::HostV6 &e) {
  return t.find_host_v6(e.addr).has_value();
}
bool held(const RepTable &t, const rep::PrefixV6 &e) {
  return t.find_prefix_v6(e.addr, e.len).has_value();
}

// A prefix as a snapshot holds it: length in range, no bits set beyond it (apply() refuses
// anything else when it builds the table).
void check_entry(const rep::HostV4 &, const char *) {}
void check_entry(const rep::HostV6 &, const char *) {}
void check_entry(const rep::PrefixV4 &p, const char *what) {
  const uint32_t a = sl_ntohl(p.addr_be);
  if (p.len > 32 || (p.len < 32 && (a & (0xffffffffu >> p.len)) != 0))
    throw rep::Error(std::string("invalid delta: a ") + what +
                     " entry has host bits set or a length above 32");
}
void check_entry(const rep::PrefixV6 &p, const char *what) {
  bool bad = p.len > 128;
  for (int i = 0; i < 16 && !bad; ++i) {
    const int bits = p.len - i * 8;
    const uint8_t mask = bits >= 8   ? 0xff
                         : bits <= 0 ? 0
                                     : static_cast<uint8_t>(0xff << (8 - bits));
    bad = (p.addr[i] & ~mask) != 0;
  }
  if (bad)
    throw rep::Error(std::string("invalid delta: a ") + what +
                     " entry has host bits set or a length above 128");
}

// One kind's lists of a delta checked against the table now (`view`: the base with the changes
// kept so far) and staged: what reputation::apply() accepts, an error for what it refuses.
template <class E, class K>
void stage(const rep::EntryChanges<E> &c, const RepTable &view, const RepTable &base,
           std::map<K, LiveRep::Change<E>> &staged, size_t &entries, const char *what) {
  auto fail = [what](const char *why) {
    throw rep::Error(std::string("delta does not fit the table: ") + why + " (" + what + ")");
  };
  auto put = [&](const E &e, bool removed) {
    check_entry(e, what);
    if (!staged.emplace(key_of(e), LiveRep::Change<E>{e, removed, held(base, e)}).second)
      fail("lists an entry twice");
  };
  for (const E &e : c.removed) {
    if (!held(view, e)) fail("removes a missing entry");
    put(e, true);
    --entries;
  }
  for (const E &e : c.changed) {
    if (!held(view, e)) fail("changes a missing entry");
    put(e, false);
  }
  for (const E &e : c.added) {
    if (held(view, e)) fail("adds an entry the table has");
    put(e, false);
    ++entries;
  }
}

// The overlay's input: every change, later ones (`staged`) over earlier ones; a key that is
// neither in the base nor in the table now needs no mark.
template <class E, class K>
void overlay_input(const std::map<K, LiveRep::Change<E>> &kept,
                   const std::map<K, LiveRep::Change<E>> &staged, std::vector<E> &upserts,
                   std::vector<E> &removals) {
  auto add = [&](const LiveRep::Change<E> &c) {
    if (!c.removed)
      upserts.push_back(c.entry);
    else if (c.in_base)
      removals.push_back(c.entry);
  };
  for (const auto &[k, c] : kept)
    if (!staged.contains(k)) add(c);
  for (const auto &[k, c] : staged) add(c);
}

// The table's array of one kind: base entries in order, changed keys replaced or dropped,
// added keys at their place. `run` gets unchanged stretches of the base, `one` single entries.
template <class E, class K, class Run, class One>
void walk(std::span<const E> base, const std::map<K, LiveRep::Change<E>> &changes, Run run,
          One one) {
  size_t i = 0;
  for (const auto &[k, c] : changes) {
    const size_t j = static_cast<size_t>(
        std::lower_bound(base.begin() + static_cast<std::ptrdiff_t>(i), base.end(), k,
                         [](const E &e, const K &key) { return key_of(e) < key; }) -
        base.begin());
    if (j > i) run(base.data() + i, j - i);
    i = j;
    if (i < base.size() && key_of(base[i]) == k) ++i;
    if (!c.removed) one(c.entry);
  }
  if (i < base.size()) run(base.data() + i, base.size() - i);
}

template <class E, class K>
size_t count_after(size_t base_count, const std::map<K, LiveRep::Change<E>> &changes) {
  for (const auto &[k, c] : changes) base_count = base_count + !c.removed - c.in_base;
  return base_count;
}

template <class E, class K>
std::vector<E> materialize(std::span<const E> base, const std::map<K, LiveRep::Change<E>> &ch) {
  std::vector<E> out;
  out.reserve(count_after(base.size(), ch));
  walk(
      base, ch, [&](const E *p, size_t n) { out.insert(out.end(), p, p + n); },
      [&](const E &e) { out.push_back(e); });
  return out;
}

// Merges a delta's changes into the kept ones; a key back to "absent from base and table"
// is forgotten.
template <class E, class K>
void merge(std::map<K, LiveRep::Change<E>> &kept, std::map<K, LiveRep::Change<E>> &staged) {
  for (auto &[k, c] : staged) {
    if (c.removed && !c.in_base)
      kept.erase(k);
    else
      kept.insert_or_assign(k, std::move(c));
  }
}

}  // namespace

LiveRep::LiveRep(size_t max_overlay)
    : max_overlay_(max_overlay),
      base_table_(std::make_unique<RepTable>(RepTableInput{})),
      view_(base_table_->share()) {}

size_t LiveRep::overlay_entries() const {
  return changes_.size();
}

LiveRep::Next LiveRep::with_snapshot(rep::Snapshot snap) const {
  Next n;
  n.p = std::make_shared<Next::Pending>();
  n.table = std::make_unique<RepTable>(snap.entries());
  n.rebuilt = true;
  n.p->base_table = n.table->base_only();
  n.p->view = n.table->share();
  n.p->entries = n.table->entries();
  n.p->base = std::move(snap);
  return n;
}

LiveRep::Next LiveRep::with_delta(const rep::Delta &d) const {
  if (changes_.size() + d.size() > max_overlay_) return with_snapshot(rep::apply(snapshot(), d));
  Next n;
  n.p = std::make_shared<Next::Pending>();
  Changes &s = n.p->staged;
  // Checked against the table now (view_: the published one's structures, only read here).
  size_t entries = entries_;
  stage(d.hosts_v4, *view_, *base_table_, s.h4, entries, "hosts_v4");
  stage(d.prefixes_v4, *view_, *base_table_, s.p4, entries, "prefixes_v4");
  stage(d.hosts_v6, *view_, *base_table_, s.h6, entries, "hosts_v6");
  stage(d.prefixes_v6, *view_, *base_table_, s.p6, entries, "prefixes_v6");
  RepTable::Changes all;
  overlay_input(changes_.h4, s.h4, all.upserts.hosts_v4, all.removals.hosts_v4);
  overlay_input(changes_.p4, s.p4, all.upserts.prefixes_v4, all.removals.prefixes_v4);
  overlay_input(changes_.h6, s.h6, all.upserts.hosts_v6, all.removals.hosts_v6);
  overlay_input(changes_.p6, s.p6, all.upserts.prefixes_v6, all.removals.prefixes_v6);
  n.table = RepTable::overlaid(*base_table_, all, entries);
  n.p->view = n.table->share();
  n.p->entries = entries;
  return n;
}

void LiveRep::commit(Next &&next) {
  Next::Pending &p = *next.p;
  if (p.base) {
    base_ = std::move(*p.base);
    base_table_ = std::move(p.base_table);
    changes_ = Changes{};
  } else {
    merge(changes_.h4, p.staged.h4);
    merge(changes_.p4, p.staged.p4);
    merge(changes_.h6, p.staged.h6);
    merge(changes_.p6, p.staged.p6);
  }
  view_ = std::move(p.view);
  entries_ = p.entries;
  version_.reset();
  next.p.reset();
}

rep::Snapshot LiveRep::snapshot() const {
  if (changes_.size() == 0) return base_;
  return rep::Snapshot::from_entries(
      materialize(base_.hosts_v4(), changes_.h4), materialize(base_.prefixes_v4(), changes_.p4),
      materialize(base_.hosts_v6(), changes_.h6), materialize(base_.prefixes_v6(), changes_.p6),
      base_.created_unix());
}

uint64_t LiveRep::version() const {
  if (version_) return *version_;
  if (changes_.size() == 0) {
    version_ = base_.checksum();
    return *version_;
  }
  // The checksum Snapshot::checksum() gives snapshot(), without building it: the header, and
  // each array's sum, the base's own for a kind with no changes (kept with the base), else
  // streamed from the base's unchanged stretches and the changed entries.
  const rep::SnapshotHeader h =
      rep::snapshot_header({count_after(base_.hosts_v4().size(), changes_.h4),
                            count_after(base_.prefixes_v4().size(), changes_.p4),
                            count_after(base_.hosts_v6().size(), changes_.h6),
                            count_after(base_.prefixes_v6().size(), changes_.p6)},
                           base_.created_unix());
  auto array = [this](size_t kind, auto base, const auto &changes) {
    if (changes.empty()) return base_.array_checksum(kind);
    using E = typename decltype(base)::element_type;
    rep::ImageChecksum sum = rep::ImageChecksum::block();
    walk(
        base, changes, [&](const E *p, size_t n) { sum.update(p, n * sizeof(E)); },
        [&](const E &e) { sum.update(&e, sizeof e); });
    return sum.finish();
  };
  const uint64_t sums[4] = {
      array(0, base_.hosts_v4(), changes_.h4), array(1, base_.prefixes_v4(), changes_.p4),
      array(2, base_.hosts_v6(), changes_.h6), array(3, base_.prefixes_v6(), changes_.p6)};
  version_ = rep::table_checksum(h, sums);
  return *version_;
}

}  // namespace sluice::dataplane
