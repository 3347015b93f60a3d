// Bounded table of shaped flows (one per lcore: with symmetric RSS both directions of a
// connection land on the same lcore, so no locking).
//
// Layout: a fixed pool of entries (indices stay stable, so the pacer can name a flow by index
// and generation) and an open-addressing index (linear probing, backward-shift deletion, so no
// tombstones) of 2x the pool size. Each index slot holds a 32-bit hash tag and the pool index,
// so a probe rarely touches an entry that is not the one sought.
//
// Ageing: two LRU lists, open flows and closing flows (FIN/RST seen), each ordered by last
// use. expire() takes from the cold end of each list while it is past its timeout, so expiry
// is O(expired). When the pool is full, insert() evicts the coldest flow (closing ones first)
// and counts it.
#pragma once

#include <cstdint>
#include <vector>

#include "core/sl_shared.h"

namespace sluice::dataplane {

struct FlowEntry {
  sl_flow_key key;
  sl_flow_state state;
  uint64_t last_release_ns;  // the pacer's latest release time for this flow (keeps order)
  uint32_t prev, next;       // LRU links (pool indices; kNil ends)
  uint32_t generation;       // bumped whenever the entry is freed
  uint16_t pending;          // packets of this flow held by the pacer
  uint8_t in_use;
  uint8_t list;  // which LRU list: 0 open, 1 closing
};

struct FlowTableConfig {
  uint32_t max_flows = 1u << 20;
  uint64_t idle_timeout_ns = 300ull * 1'000'000'000;    // open flows unused this long go
  uint64_t closing_timeout_ns = 10ull * 1'000'000'000;  // after FIN/RST
};

struct FlowTableCounters {
  uint64_t inserts = 0;
  uint64_t evictions = 0;  // live flows pushed out because the table was full
  uint64_t expired = 0;    // flows removed by their timeout
  uint64_t removed = 0;    // explicit erase()
};

class FlowTable {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;

  explicit FlowTable(const FlowTableConfig &cfg = {});

  // The flow's entry or nullptr. Does not touch the LRU order (call touch() when the packet
  // is actually processed, after the core may have set SL_FLOW_CLOSING).
  FlowEntry *find(const sl_flow_key &key);
  // Marks the entry used now: moves it to the hot end of its list (closing list if
  // SL_FLOW_CLOSING is set) and stamps state.last_seen_ns.
  void touch(FlowEntry *e, uint64_t now_ns);
  // Inserts or replaces the flow; evicts the coldest flow if the table is full. Never fails.
  FlowEntry *insert(const sl_flow_key &key, const sl_flow_state &state, uint64_t now_ns);
  void erase(FlowEntry *e);
  // Removes up to `budget` flows whose timeout has passed; returns how many.
  uint32_t expire(uint64_t now_ns, uint32_t budget);

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return static_cast<uint32_t>(pool_.size()); }
  const FlowTableCounters &counters() const { return counters_; }
  uint32_t index_of(const FlowEntry *e) const { return static_cast<uint32_t>(e - pool_.data()); }
  // Entry by index if it still holds the same flow generation (for the pacer), else nullptr.
  FlowEntry *at(uint32_t idx, uint32_t generation);
  // Visits live entries (for `sluicectl flows`): fn(const FlowEntry&), hottest first.
  template <class Fn>
  void for_each(Fn &&fn) const {
    for (int l = 0; l < 2; ++l)
      for (uint32_t i = head_[l]; i != kNil; i = pool_[i].next) fn(pool_[i]);
  }

  static uint32_t hash(const sl_flow_key &key);

 private:
  struct Slot {
    uint32_t tag;  // hash of the key; 0 marks an empty slot (hash 0 is mapped to 1)
    uint32_t idx;
  };
  uint32_t find_slot(const sl_flow_key &key, uint32_t tag) const;
  void unlink(uint32_t i);
  void link_head(uint32_t i, int list);
  void remove(uint32_t i);

  FlowTableConfig cfg_;
  std::vector<FlowEntry> pool_;
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t free_head_ = kNil;  // free list threaded through FlowEntry::next
  uint32_t head_[2] = {kNil, kNil}, tail_[2] = {kNil, kNil};
  uint32_t size_ = 0;
  FlowTableCounters counters_;
};

}  // namespace sluice::dataplane
