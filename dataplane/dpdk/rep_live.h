// sluice-dp's reputation table as loads and deltas change it: the snapshot last loaded whole
// (the base, with its lookup structures) and every change since, keyed. What it publishes per
// change is a RepTable: after a load or a large delta the whole table rebuilt; after a small
// delta the base's lookup structures shared plus an overlay of the changes since the base
// (rep_table.h), whose cost is that of the changes, not of the table.
//
// The version sluiced compares (stats' table.version) is the checksum of the table's snapshot
// image, which no change updates in place: it is computed when asked (stats), from the base's
// entries and the changes, without building the image, and kept until the next change.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "rep_table.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

class LiveRep {
 public:
  // Changes kept on top of the base before a delta rebuilds the whole table with them (and
  // they become the new base). Each small delta rebuilds the overlay whole, in O(changes), so
  // the bound is what a delta may cost (~0.1 us per change); the rebuild past it costs what a
  // load does (about a second at 1M entries). A delta larger than the bound alone goes
  // straight to the rebuild.
  static constexpr size_t kMaxOverlay = 16384;

  explicit LiveRep(size_t max_overlay = kMaxOverlay);

  // A load or delta checked and built, not yet in place: publish `table` (move it out), then
  // commit() the rest. Nothing changes if building it throws.
  struct Next {
    std::unique_ptr<RepTable> table;
    bool rebuilt = false;  // the whole table was rebuilt (a load, or a delta past the bound)

   private:
    friend class LiveRep;
    struct Pending;
    std::shared_ptr<Pending> p;
  };
  // A whole table. Throws std::invalid_argument as RepTable does.
  Next with_snapshot(reputation::Snapshot snap) const;
  // The current table with `delta` applied; throws reputation::Error when the delta does not fit
  // it (as reputation::apply: adds an entry the table has, removes or changes one it lacks, an
  // entry listed twice, a prefix with host bits set or too long).
  Next with_delta(const reputation::Delta &delta) const;
  void commit(Next &&next);

  size_t entries() const { return entries_; }
  uint64_t created_unix() const { return base_.created_unix(); }
  // The checksum of the current table's snapshot image (reputation::Snapshot::checksum()).
  uint64_t version() const;
  size_t overlay_entries() const;  // changes kept on top of the base
  // The current table as a snapshot (built from the base and the changes: O(entries)).
  reputation::Snapshot snapshot() const;

  // Change keys, ordered like the snapshot arrays: IPv4 (host-order address << 8) | len;
  // IPv6 the address bytes then len.
  using Key4 = uint64_t;
  using Key6 = std::array<uint8_t, 17>;
  template <class E>
  struct Change {
    E entry;               // the new entry; when removed, the key's old one (for its key)
    bool removed = false;  // the key is no longer in the table
    bool in_base = false;  // the base holds this key
  };
  struct Changes {
    std::map<Key4, Change<reputation::HostV4>> h4;
    std::map<Key4, Change<reputation::PrefixV4>> p4;
    std::map<Key6, Change<reputation::HostV6>> h6;
    std::map<Key6, Change<reputation::PrefixV6>> p6;
    size_t size() const { return h4.size() + p4.size() + h6.size() + p6.size(); }
  };

 private:
  size_t max_overlay_;
  reputation::Snapshot base_;
  std::unique_ptr<RepTable> base_table_;  // base_'s lookup structures, no overlay
  std::unique_ptr<RepTable> view_;        // what was last published (shares its structures)
  Changes changes_;                       // since base_
  size_t entries_ = 0;
  mutable std::optional<uint64_t> version_;
};

}  // namespace sluice::dataplane
