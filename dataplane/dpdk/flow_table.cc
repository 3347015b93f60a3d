#include "flow_table.h"

#include <cstring>
#include <random>

namespace sluice::dataplane {
namespace {

// Per table, so senders cannot precompute colliding 5-tuples.
uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

uint32_t round_up_pow2(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return static_cast<uint32_t>(p);
}

}  // namespace

FlowTable::FlowTable(const FlowTableConfig &cfg) : cfg_(cfg) {
  for (uint64_t &k : key_) k = random_seed();
  if (cfg_.max_flows == 0) cfg_.max_flows = 1;
  pool_.resize(cfg_.max_flows);
  slots_.assign(round_up_pow2(uint64_t{cfg_.max_flows} * 2), Slot{0, 0});
  mask_ = static_cast<uint32_t>(slots_.size() - 1);
  for (uint32_t i = cfg_.max_flows; i-- > 0;) {
    pool_[i] = FlowEntry{};
    pool_[i].next = free_head_;
    free_head_ = i;
  }
}

FlowEntry *FlowTable::at(uint32_t idx, uint32_t generation) {
  if (idx >= pool_.size()) return nullptr;
  FlowEntry &e = pool_[idx];
  return e.in_use && e.generation == generation ? &e : nullptr;
}

void FlowTable::remove(uint32_t i) {
  FlowEntry &e = pool_[i];
  uint32_t s = find_slot(e.key, hash(e.key));
  // Backward-shift deletion: pull later members of the probe run into the hole so lookups
  // never need tombstones.
  for (uint32_t j = (s + 1) & mask_;; j = (j + 1) & mask_) {
    const Slot cur = slots_[j];
    if (cur.tag == 0) break;
    const uint32_t home = cur.tag & mask_;
    // cur may move to the hole s if its home is not cyclically in (s, j].
    const bool home_in_range = s <= j ? (home > s && home <= j) : (home > s || home <= j);
    if (!home_in_range) {
      slots_[s] = cur;
      s = j;
    }
  }
  slots_[s] = Slot{0, 0};
  unlink(i);
  e.in_use = 0;
  e.generation++;
  e.pending = 0;
  e.next = free_head_;
  free_head_ = i;
  --size_;
}

void FlowTable::erase(FlowEntry *e) {
  remove(index_of(e));
  counters_.removed++;
}

FlowEntry *FlowTable::insert(const sl_flow_key &key, uint32_t tag, const sl_flow_state &state,
                             uint64_t now_ns) {
  if (const uint32_t s = find_slot(key, tag); s != kNil) {
    FlowEntry &e = pool_[slots_[s].idx];
    e.state = state;
    touch(&e, now_ns);
    return &e;
  }
  if (free_head_ == kNil) {
    const uint32_t victim = tail_[1] != kNil ? tail_[1] : tail_[0];
    remove(victim);
    counters_.evictions++;
  }
  const uint32_t i = free_head_;
  FlowEntry &e = pool_[i];
  free_head_ = e.next;
  const uint32_t gen = e.generation;
  e = FlowEntry{};
  e.key = key;
  e.state = state;
  e.generation = gen;
  e.in_use = 1;
  e.prev = e.next = kNil;
  link_head(i, (state.flags & SL_FLOW_CLOSING) ? 1 : 0);
  e.state.last_seen_ns = now_ns;
  uint32_t s = tag & mask_;
  while (slots_[s].tag != 0) s = (s + 1) & mask_;
  slots_[s] = Slot{tag, i};
  ++size_;
  counters_.inserts++;
  return &e;
}

uint32_t FlowTable::expire(uint64_t now_ns, uint32_t budget) {
  uint32_t n = 0;
  const uint64_t timeout[2] = {cfg_.idle_timeout_ns, cfg_.closing_timeout_ns};
  for (int l = 0; l < 2; ++l) {
    while (n < budget && tail_[l] != kNil) {
      const FlowEntry &e = pool_[tail_[l]];
      if (now_ns < e.state.last_seen_ns + timeout[l]) break;
      // Keep a flow while the pacer still holds its packets: they need its order bookkeeping.
      if (e.pending != 0) break;
      remove(tail_[l]);
      counters_.expired++;
      ++n;
    }
  }
  return n;
}

}  // namespace sluice::dataplane
