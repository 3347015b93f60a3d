// Deltas between two compiled tables, for live updates of a running data plane.
//
// For each of the four entry kinds: entries added, entries whose value changed (both carry the
// NEW value) and entries removed (carrying the OLD value, for display; a data plane uses only
// the key). Applying a delta to the old table gives exactly the new one: upsert added and
// changed, delete removed. All vectors are sorted like the snapshot arrays.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sluice/reputation/snapshot.h"

namespace sluice::reputation {

template <class E>
struct EntryChanges {
  std::vector<E> added;
  std::vector<E> changed;
  std::vector<E> removed;
  size_t size() const { return added.size() + changed.size() + removed.size(); }
  bool operator==(const EntryChanges &) const = default;
};

struct Delta {
  EntryChanges<HostV4> hosts_v4;
  EntryChanges<PrefixV4> prefixes_v4;
  EntryChanges<HostV6> hosts_v6;
  EntryChanges<PrefixV6> prefixes_v6;

  size_t size() const {
    return hosts_v4.size() + prefixes_v4.size() + hosts_v6.size() + prefixes_v6.size();
  }
  bool empty() const { return size() == 0; }

  // Delta files: temp file + rename like snapshots; load throws FormatError on a bad file.
  static Delta load(const std::string &path);
  void save(const std::string &path, Durability durability = Durability::kDurable) const;
};

bool operator==(const HostV4 &a, const HostV4 &b);
bool operator==(const PrefixV4 &a, const PrefixV4 &b);
bool operator==(const HostV6 &a, const HostV6 &b);
bool operator==(const PrefixV6 &a, const PrefixV6 &b);
inline bool operator==(const Delta &a, const Delta &b) {
  return a.hosts_v4 == b.hosts_v4 && a.prefixes_v4 == b.prefixes_v4 && a.hosts_v6 == b.hosts_v6 &&
         a.prefixes_v6 == b.prefixes_v6;
}

// One merge walk over the sorted arrays of both tables: O(old + new).
Delta diff(const Snapshot &old_table, const Snapshot &new_table);
// The same delta, for tables known to differ only at keys the `touched` deltas add, change or
// remove (new_table was made from old_table by applying them, one after the other, or from a
// table each of them leads to or from): each such key is looked up in both tables by binary
// search, O(k log n) for k keys, instead of a walk over both. Tables that differ elsewhere too
// give a delta that misses those differences.
Delta diff_within(const Snapshot &old_table, const Snapshot &new_table,
                  std::span<const Delta *const> touched);

// Applies a delta to a table (what a data plane does to its own tables); throws Error if the
// delta does not fit (removes or changes an entry the table lacks, adds one it has).
Snapshot apply(const Snapshot &table, const Delta &delta);

// Binary form: a DeltaHeader, then the 12 arrays in the order hosts_v4 added/changed/removed,
// prefixes_v4 ..., hosts_v6 ..., prefixes_v6 ..., each starting on an 8-byte boundary.
// Little-endian, entry layouts as in snapshot.h.
inline constexpr char kDeltaMagic[8] = {'S', 'L', 'R', 'E', 'P', 'D', 'L', 'T'};
inline constexpr uint32_t kDeltaVersion = 1;
struct DeltaHeader {
  char magic[8];         // kDeltaMagic
  uint32_t version;      // kDeltaVersion
  uint32_t header_size;  // sizeof(DeltaHeader) = 160
  uint64_t reserved[5];  // zero
  uint64_t checksum;     // image_checksum() of the whole image (offset 56, like snapshots)
  uint64_t counts[12];
};
static_assert(sizeof(DeltaHeader) == 160, "DeltaHeader layout");
std::vector<uint8_t> encode(const Delta &delta);
Delta decode(std::span<const uint8_t> bytes);  // throws FormatError on bad input

}  // namespace sluice::reputation
