// The ACK/response pacer: holds packets until their release time, in a timer wheel.
//
// Wheel of 2^k slots of 2^s ns each (defaults: 2^16 slots of 2^14 ns = 16.4 us, a 1.07 s
// horizon). Insert hashes the release time to a slot and appends to that slot's FIFO: O(1).
// poll(now) walks the slots between the last poll and now and releases everything due: O(1)
// per packet plus O(1) per elapsed tick. A packet leaves at the first poll after the end of its
// slot: never before its release time, at most one slot (16.4 us) plus the poll interval after. A
// release time beyond the horizon is parked in the farthest slot and re-filed when reached (rare:
// delays are seconds at most).
//
// Memory is a fixed pool of items allocated up front; when it is empty insert() refuses and
// the caller drops the packet and counts it. Order per flow: the caller gives a release time
// that is never earlier than that flow's previous one (FlowEntry::last_release_ns), and items
// with the same slot leave in insertion order, so a flow's packets leave in arrival order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "line_alloc.h"

namespace sluice::dataplane {

struct PacerConfig {
  uint32_t capacity = 1u << 18;  // packets held at most, all flows together
  uint32_t slot_shift = 14;      // slot width 2^slot_shift ns
  uint32_t slots_log2 = 16;      // number of slots
};

struct PacerItem {
  uint64_t release_ns;
  void *payload;  // the held packet (rte_mbuf * in sluice-dp, a capture record in replay)
  uint32_t flow_idx, flow_gen;
  uint32_t next;
  uint32_t aux;  // caller's (output port in sluice-dp)
};

struct PacerCounters {
  uint64_t inserted = 0;
  uint64_t released = 0;
  uint64_t refused = 0;  // pool full: the caller dropped the packet
};

class Pacer {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;

  explicit Pacer(const PacerConfig &cfg = {}, uint64_t start_ns = 0);

  // Holds `payload` until release_ns. False when the pool is full (nothing is stored).
  bool insert(uint64_t release_ns, void *payload, uint32_t flow_idx, uint32_t flow_gen,
              uint32_t aux = 0);
  // Releases every item due at now_ns, in release order (FIFO within a slot): fn(const
  // PacerItem&). At most `budget` items per call; returns how many were released.
  template <class Fn>
  uint32_t poll(uint64_t now_ns, uint32_t budget, Fn &&fn);

  uint32_t depth() const { return depth_; }
  uint32_t capacity() const { return static_cast<uint32_t>(items_.size()); }
  const PacerCounters &counters() const { return counters_; }
  uint64_t horizon_ns() const { return uint64_t{nslots_ - 1} << cfg_.slot_shift; }

 private:
  struct Slot {
    uint32_t head = kNil, tail = kNil;
  };
  void append(uint64_t tick, uint32_t i);
  void file(uint32_t i);

  PacerConfig cfg_;
  LineVector<PacerItem> items_;  // both on lines of their own: this lcore writes them
  LineVector<Slot> slots_;
  uint32_t nslots_, mask_;
  uint32_t free_head_ = kNil;
  uint64_t cursor_;  // the next tick to look at; everything before it has been released
  uint32_t depth_ = 0;
  PacerCounters counters_;
};

template <class Fn>
uint32_t Pacer::poll(uint64_t now_ns, uint32_t budget, Fn &&fn) {
  const uint64_t now_tick = now_ns >> cfg_.slot_shift;
  uint32_t n = 0;
  // A slot is released once it has wholly passed (now_tick > its tick): never early, at most
  // one slot width plus the polling interval late.
  while (cursor_ < now_tick && n < budget) {
    if (depth_ == 0) {  // nothing held: jump instead of walking empty slots
      cursor_ = now_tick;
      break;
    }
    Slot &slot = slots_[cursor_ & mask_];
    // Detach the slot's list, then release what is due and re-file what is parked.
    uint32_t i = slot.head;
    slot.head = slot.tail = kNil;
    while (i != kNil) {
      PacerItem &it = items_[i];
      const uint32_t next = it.next;
      if ((it.release_ns >> cfg_.slot_shift) > cursor_ || n >= budget) {
        file(i);  // parked beyond the horizon, or over budget: keep it (order preserved)
      } else {
        fn(static_cast<const PacerItem &>(it));
        it.next = free_head_;
        free_head_ = i;
        --depth_;
        ++n;
        counters_.released++;
      }
      i = next;
    }
    if (n >= budget && slot.head != kNil) break;  // come back to this slot next time
    ++cursor_;
  }
  return n;
}

}  // namespace sluice::dataplane
