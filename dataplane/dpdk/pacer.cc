#include "pacer.h"

namespace sluice::dataplane {

Pacer::Pacer(const PacerConfig &cfg, uint64_t start_ns)
    : cfg_(cfg),
      items_(cfg.capacity == 0 ? 1 : cfg.capacity),
      slots_(size_t{1} << cfg.slots_log2),
      nslots_(1u << cfg.slots_log2),
      mask_(nslots_ - 1),
      cursor_(start_ns >> cfg.slot_shift) {
  for (uint32_t i = static_cast<uint32_t>(items_.size()); i-- > 0;) {
    items_[i].next = free_head_;
    free_head_ = i;
  }
}

void Pacer::append(uint64_t tick, uint32_t i) {
  Slot &s = slots_[tick & mask_];
  items_[i].next = kNil;
  if (s.tail == kNil)
    s.head = i;
  else
    items_[s.tail].next = i;
  s.tail = i;
}

// Files item i in the slot of its release tick, or in the farthest slot if that is beyond the
// horizon, or in the current slot if it is already due.
void Pacer::file(uint32_t i) {
  uint64_t tick = items_[i].release_ns >> cfg_.slot_shift;
  if (tick < cursor_) tick = cursor_;
  if (tick > cursor_ + nslots_ - 1) tick = cursor_ + nslots_ - 1;
  append(tick, i);
}

bool Pacer::insert(uint64_t release_ns, void *payload, uint32_t flow_idx, uint32_t flow_gen,
                   uint32_t aux) {
  if (free_head_ == kNil) {
    counters_.refused++;
    return false;
  }
  const uint32_t i = free_head_;
  free_head_ = items_[i].next;
  items_[i] = PacerItem{release_ns, payload, flow_idx, flow_gen, kNil, aux};
  file(i);
  ++depth_;
  counters_.inserted++;
  return true;
}

}  // namespace sluice::dataplane
