// Reputation lookup structures of sluice-dp, built from a compiled snapshot off the packet
// path and then only read (shared by every lcore; replaced whole under RCU, never modified).
//
// Exact hosts: open-addressing hash tables (load <= 50%, linear probing) for IPv4 and IPv6.
// Prefixes: one hash table per family keyed by (masked address, length), probed from the
// longest length present down to the shortest (a bitmap says which lengths exist), so a lookup
// costs one probe per distinct prefix length in the table, at most 33 (IPv4) or 129 (IPv6),
// and typically a handful. The snapshot already folds covering prefixes into every entry
// (docs/sources.md), so the answer is the exact host if present, else the longest prefix.
//
// Small changes (a delta of a few entries beside a large table) do not rebuild those tables: a
// table can be a base (shared, immutable, the hash tables above) plus an overlay, small hash
// tables of the same form holding every key changed since the base, each with its new entry or
// a removal mark. A lookup in such a table asks the overlay first at every step (the host, then
// each prefix length longest first): an entry there is the answer, a removal mark means "not
// in the table" at that step (the walk goes on to shorter prefixes), and only a key the overlay
// does not hold is looked up in the base. As the changes are compiled entries too, that gives
// exactly the answer of the whole table rebuilt with the changes applied. A table without an
// overlay takes the plain path above, unchanged.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/sl_shared.h"
#include "huge_alloc.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

// What a table is built from (a snapshot, a test, a benchmark): the reputation library's entry
// arrays (addresses in network order).
using RepTableInput = reputation::TableEntries;

class RepTable {
 public:
  // Builds the lookup structures; throws std::invalid_argument on a prefix length out of range.
  explicit RepTable(const RepTableInput &in);

  // Changes on top of a base table: keys whose entry is now `upserts`' (added or changed), and
  // keys no longer in the table (`removals`: only the address and length count). A key is in
  // at most one of them.
  struct Changes {
    RepTableInput upserts;
    RepTableInput removals;
    size_t size() const;
  };
  // A table answering as `base`'s base with `changes` applied (every change since that base,
  // not only the latest: any overlay `base` has is replaced). The base's hash tables are shared,
  // not copied; the cost is that of the changes. `entries` is the resulting entry count.
  // Throws std::invalid_argument on a prefix length out of range.
  static std::unique_ptr<RepTable> overlaid(const RepTable &base, const Changes &changes,
                                            size_t entries);
  // This table's base alone (no overlay), sharing its hash tables.
  std::unique_ptr<RepTable> base_only() const;
  // The same table (base and overlay shared, nothing copied), e.g. for the control thread to
  // read while the lcores read the published one; generation 0.
  std::unique_ptr<RepTable> share() const;
  size_t overlay_entries() const { return overlay_ ? overlay_->size : 0; }

  std::optional<sl_rep_value> lookup_v4(uint32_t addr_be) const;
  std::optional<sl_rep_value> lookup_v6(const uint8_t addr[16]) const;

  // Exact keys (not longest-prefix matches): the entry this table holds for that host, or that
  // prefix (address with no bits beyond len), if any. For checking a delta against the table.
  std::optional<sl_rep_value> find_host_v4(uint32_t addr_be) const;
  std::optional<sl_rep_value> find_prefix_v4(uint32_t addr_be, uint8_t len) const;
  std::optional<sl_rep_value> find_host_v6(const uint8_t addr[16]) const;
  std::optional<sl_rep_value> find_prefix_v6(const uint8_t addr[16], uint8_t len) const;

  // Brings into the cache the slots a lookup of this address starts at: the host table's and
  // one per prefix length present. For bursts (the lcore's stage 1): prefetch every SYN's
  // slots, then look each up, so a large table's cache misses overlap instead of following
  // one another. Does nothing for a table small enough to stay cached (kPrefetchFromBytes),
  // where computing the slots would only double the lookup's work. Only the base's slots: an
  // overlay is small and stays cached.
  void prefetch_v4(uint32_t addr_be) const;
  void prefetch_v6(const uint8_t addr[16]) const;
  static constexpr size_t kPrefetchFromBytes = size_t{4} << 20;
  bool worth_prefetching() const { return prefetch_; }

  size_t entries() const { return entries_; }
  size_t memory_bytes() const;  // the base's and the overlay's

  // Which table this is: Published::set_rep numbers the tables it publishes 1, 2, ... (0: never
  // published). A flow whose level came from another generation looks its sender up again
  // (core/sl_sequence.h), so a load or delta reaches live flows on their next packet.
  uint32_t generation() const { return generation_; }
  void set_generation(uint32_t g) { generation_ = g; }

 private:
  static constexpr uint8_t kEntry = 1, kRemoved = 2;  // Slot::used (0: free slot)
  struct Slot4 {
    uint32_t addr;  // masked, network order
    uint8_t len;    // 32 for hosts
    uint8_t used;
    uint16_t pad;
    sl_rep_value value;
  };
  struct Slot6 {
    uint8_t addr[16];
    uint8_t len;
    uint8_t used;
    uint8_t pad[6];
    sl_rep_value value;
  };
  // The hash tables of one entry set: a whole table, or an overlay (with removal marks).
  struct Index {
    // On huge pages (huge_alloc.h): building a table writes all of them, and lookups land
    // anywhere in them.
    HugeVector<Slot4> hosts4, prefixes4;
    HugeVector<Slot6> hosts6, prefixes6;
    std::bitset<33> lens4;  // prefix lengths present
    std::bitset<129> lens6;
    size_t size = 0;  // keys held
    Index(const RepTableInput &entries, const RepTableInput *removals);
    size_t memory_bytes() const;
  };
  RepTable() = default;
  static const Slot4 *find4(const HugeVector<Slot4> &t, uint32_t addr, uint8_t len);
  static const Slot6 *find6(const HugeVector<Slot6> &t, const uint8_t *addr, uint8_t len);
  static void put4(HugeVector<Slot4> &t, uint32_t addr, uint8_t len, uint8_t used, sl_rep_value v);
  static void put6(HugeVector<Slot6> &t, const uint8_t *addr, uint8_t len, uint8_t used,
                   sl_rep_value v);
  void set_lens();
  std::optional<sl_rep_value> lookup_v4_overlaid(uint32_t addr_be) const;
  std::optional<sl_rep_value> lookup_v6_overlaid(const uint8_t addr[16]) const;

  std::shared_ptr<const Index> base_;     // never null
  std::shared_ptr<const Index> overlay_;  // null: none (the plain lookup)
  const Index *b_ = nullptr;              // base_.get(), for the packet path
  std::vector<uint8_t> lens4_, lens6_;    // prefix lengths in base or overlay, longest first
  size_t entries_ = 0;
  bool prefetch_ = false;  // the base's memory >= kPrefetchFromBytes
  uint32_t generation_ = 0;
};

}  // namespace sluice::dataplane
