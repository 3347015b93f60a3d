// Reputation lookup structures of sluice-dp, built from a compiled snapshot off the packet
// path and then only read (shared by every lcore; replaced whole under RCU, never modified).
//
// Exact hosts: open-addressing hash tables (load <= 50%, linear probing) for IPv4 and IPv6.
// Prefixes: one hash table per family keyed by (masked address, length), probed from the
// longest length present down to the shortest (a bitmap says which lengths exist), so a lookup
// costs one probe per distinct prefix length in the table, at most 33 (IPv4) or 129 (IPv6),
// and typically a handful. The snapshot already folds covering prefixes into every entry
// (docs/sources.md), so the answer is the exact host if present, else the longest prefix.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

// What a table is built from (a snapshot, a test, a benchmark): the reputation library's entry
// arrays (addresses in network order).
using RepTableInput = reputation::TableEntries;

class RepTable {
 public:
  // Builds the lookup structures; throws std::invalid_argument on a prefix length out of range.
  explicit RepTable(const RepTableInput &in);

  std::optional<sl_rep_value> lookup_v4(uint32_t addr_be) const;
  std::optional<sl_rep_value> lookup_v6(const uint8_t addr[16]) const;

  // Brings into the cache the slots a lookup of this address starts at: the host table's and
  // one per prefix length present. For bursts (the lcore's stage 1): prefetch every SYN's
  // slots, then look each up, so a large table's cache misses overlap instead of following
  // one another. Does nothing for a table small enough to stay cached (kPrefetchFromBytes),
  // where computing the slots would only double the lookup's work.
  void prefetch_v4(uint32_t addr_be) const;
  void prefetch_v6(const uint8_t addr[16]) const;
  static constexpr size_t kPrefetchFromBytes = size_t{4} << 20;
  bool worth_prefetching() const { return prefetch_; }

  size_t entries() const { return entries_; }
  size_t memory_bytes() const;

  // Which table this is: Published::set_rep numbers the tables it publishes 1, 2, ... (0: never
  // published). A flow whose level came from another generation looks its sender up again
  // (core/sl_sequence.h), so a load or delta reaches live flows on their next packet.
  uint32_t generation() const { return generation_; }
  void set_generation(uint32_t g) { generation_ = g; }

 private:
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
  static const Slot4 *find4(const std::vector<Slot4> &t, uint32_t addr, uint8_t len);
  static const Slot6 *find6(const std::vector<Slot6> &t, const uint8_t *addr, uint8_t len);
  static void put4(std::vector<Slot4> &t, uint32_t addr, uint8_t len, sl_rep_value v);
  static void put6(std::vector<Slot6> &t, const uint8_t *addr, uint8_t len, sl_rep_value v);

  std::vector<Slot4> hosts4_, prefixes4_;
  std::vector<Slot6> hosts6_, prefixes6_;
  std::vector<uint8_t> lens4_, lens6_;  // prefix lengths present, longest first
  size_t entries_ = 0;
  bool prefetch_ = false;  // memory_bytes() >= kPrefetchFromBytes
  uint32_t generation_ = 0;
};

}  // namespace sluice::dataplane
