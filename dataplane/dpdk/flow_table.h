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
#include <type_traits>
#include <cstring>
#include <vector>

#include "core/sl_shared.h"
#include "hash_mix.h"
#include "line_alloc.h"

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
  FlowEntry *find(const sl_flow_key &key) { return find(key, hash(key)); }
  // The same with the key's hash already computed (hash(key)).
  FlowEntry *find(const sl_flow_key &key, uint32_t hash);
  // Brings the index slot a lookup of this hash starts at into the cache (bulk lookups:
  // prefetch a burst's slots, then look each up).
  void prefetch(uint32_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  // Marks the entry used now: moves it to the hot end of its list (closing list if
  // SL_FLOW_CLOSING is set) and stamps state.last_seen_ns.
  void touch(FlowEntry *e, uint64_t now_ns);
  // Inserts or replaces the flow; evicts the coldest flow if the table is full. Never fails.
  FlowEntry *insert(const sl_flow_key &key, const sl_flow_state &state, uint64_t now_ns) {
    return insert(key, hash(key), state, now_ns);
  }
  FlowEntry *insert(const sl_flow_key &key, uint32_t hash, const sl_flow_state &state,
                    uint64_t now_ns);
  void erase(FlowEntry *e);
  // Removes up to `budget` flows whose timeout has passed; returns how many.
  uint32_t expire(uint64_t now_ns, uint32_t budget);

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return static_cast<uint32_t>(pool_.size()); }
  const FlowTableCounters &counters() const { return counters_; }
  uint32_t index_of(const FlowEntry *e) const { return static_cast<uint32_t>(e - pool_.data()); }
  // Entry by index if it still holds the same flow generation (for the pacer), else nullptr.
  FlowEntry *at(uint32_t idx, uint32_t generation);
  // Visits live entries (for `sluicectl flows`): fn(const FlowEntry&), hottest first. If fn
  // returns bool, false stops the walk.
  template <class Fn>
  void for_each(Fn &&fn) const {
    for (int l = 0; l < 2; ++l)
      for (uint32_t i = head_[l]; i != kNil; i = pool_[i].next) {
        if constexpr (std::is_same_v<std::invoke_result_t<Fn &, const FlowEntry &>, bool>) {
          if (!fn(pool_[i])) return;
        } else {
          fn(pool_[i]);
        }
      }
  }

  // Never 0 (an empty index slot's tag).
  uint32_t hash(const sl_flow_key &key) const;

 private:
  struct Slot {
    uint32_t tag;  // hash of the key (never 0); 0 marks an empty slot
    uint32_t idx;
  };
  uint32_t find_slot(const sl_flow_key &key, uint32_t tag) const;
  void unlink(uint32_t i);
  void link_head(uint32_t i, int list);
  void remove(uint32_t i);

  FlowTableConfig cfg_;
  uint64_t key_[6];             // hash secrets, random per table
  LineVector<FlowEntry> pool_;  // both on lines of their own: this lcore writes them
  LineVector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t free_head_ = kNil;  // free list threaded through FlowEntry::next
  uint32_t head_[2] = {kNil, kNil}, tail_[2] = {kNil, kNil};
  uint32_t size_ = 0;
  FlowTableCounters counters_;
};

// The per-packet operations are defined here, inline: out of line, their calls, register saves
// and reloads were a fifth of the instructions of a shaped-flow packet.

namespace flow_key_detail {

// Word i of a key. Keys are five 64-bit words written whole by sl_flow_key_make, so an 8-byte
// load is forwarded from its store; a wider (vector) load spanning two stores would not be
// (it stalls until they reach the cache), hence one scalar load per word, never a copy of the
// whole key.
inline uint64_t word(const sl_flow_key &k, int i) {
  uint64_t w;
  std::memcpy(&w, reinterpret_cast<const uint8_t *>(&k) + 8 * i, sizeof(w));
  return w;
}

inline bool same(const sl_flow_key &a, const sl_flow_key &b) {
  return ((word(a, 0) ^ word(b, 0)) | (word(a, 1) ^ word(b, 1)) | (word(a, 2) ^ word(b, 2)) |
          (word(a, 3) ^ word(b, 3)) | (word(a, 4) ^ word(b, 4))) == 0;
}

}  // namespace flow_key_detail

inline uint32_t FlowTable::hash(const sl_flow_key &key) const {
  using flow_key_detail::word;
  // The key is 40 bytes = 5 words, each mixed with its own per-table secret. Two independent
  // folded 64x64->128 multiplies over word pairs, then one over their XOR and the fifth word:
  // three multiplies where a multiply per word plus a finaliser took seven, and every output bit
  // still depends on every key bit and on secrets a sender cannot see.
  const uint64_t x = mul_fold(word(key, 0) ^ key_[0], word(key, 1) ^ key_[1]) ^
                     mul_fold(word(key, 2) ^ key_[2], word(key, 3) ^ key_[3]);
  const uint64_t h = mul_fold(x ^ key_[4], word(key, 4) ^ key_[5]);
  // Never 0 (an empty slot's tag). The top bit never reaches a slot index (tables are far
  // below 2^31 slots), so setting it costs the index nothing.
  return static_cast<uint32_t>(h ^ (h >> 32)) | 0x80000000u;
}

inline uint32_t FlowTable::find_slot(const sl_flow_key &key, uint32_t tag) const {
  for (uint32_t s = tag & mask_;; s = (s + 1) & mask_) {
    const Slot &slot = slots_[s];
    if (slot.tag == 0) return kNil;
    if (slot.tag == tag && flow_key_detail::same(pool_[slot.idx].key, key)) return s;
  }
}

inline FlowEntry *FlowTable::find(const sl_flow_key &key, uint32_t hash) {
  const uint32_t s = find_slot(key, hash);
  return s == kNil ? nullptr : &pool_[slots_[s].idx];
}

inline void FlowTable::unlink(uint32_t i) {
  FlowEntry &e = pool_[i];
  if (e.prev != kNil)
    pool_[e.prev].next = e.next;
  else
    head_[e.list] = e.next;
  if (e.next != kNil)
    pool_[e.next].prev = e.prev;
  else
    tail_[e.list] = e.prev;
  e.prev = e.next = kNil;
}

inline void FlowTable::link_head(uint32_t i, int list) {
  FlowEntry &e = pool_[i];
  e.list = static_cast<uint8_t>(list);
  e.prev = kNil;
  e.next = head_[list];
  if (head_[list] != kNil) pool_[head_[list]].prev = i;
  head_[list] = i;
  if (tail_[list] == kNil) tail_[list] = i;
}

inline void FlowTable::touch(FlowEntry *e, uint64_t now_ns) {
  e->state.last_seen_ns = now_ns;
  const int list = (e->state.flags & SL_FLOW_CLOSING) ? 1 : 0;
  // Consecutive packets of one flow (a burst, a data transfer) find it at the head of its
  // list already (no predecessor): no relinking, no writes to its neighbours' cache lines.
  if (e->prev == kNil && e->list == list) return;
  const uint32_t i = index_of(e);
  unlink(i);
  link_head(i, list);
}

}  // namespace sluice::dataplane
