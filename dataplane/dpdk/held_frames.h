// One lcore's held tarpit ACKs (core/sl_sequence.h, sl_seq_tarpit_keep): the server's last pure
// ACK of each tarpitted connection, kept as it arrived so that the lcore can send it on when
// the sender is released (Worker::replay_held), instead of leaving the client to find out at
// its next zero-window probe.
//
// Direct-mapped by the flow's hash (FlowTable::hash): bounded, no allocation after start, and a
// collision replaces the older connection's ACK (that connection is then released at its
// client's next probe, as without this table).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/sl_shared.h"
#include "line_alloc.h"

namespace sluice::dataplane {

class HeldFrames {
 public:
  static constexpr uint32_t kDefaultSlots = 4096;

  // slots: a power of two.
  explicit HeldFrames(uint32_t slots = kDefaultSlots) : slots_(slots), mask_(slots - 1) {}

  // Keeps data[0, len) (len <= SL_HELD_FRAME_MAX) as the flow's held ACK.
  void hold(const sl_flow_key &key, uint32_t hash, const void *data, uint32_t len) {
    if (len == 0 || len > SL_HELD_FRAME_MAX) return;
    Slot &s = slots_[hash & mask_];
    if (!s.used) ++used_;
    s.used = true;
    s.key = key;
    s.frame.len = static_cast<uint16_t>(len);
    std::memcpy(s.frame.bytes, data, len);
  }
  void unhold(const sl_flow_key &key, uint32_t hash) {
    Slot &s = slots_[hash & mask_];
    if (!s.used || std::memcmp(&s.key, &key, sizeof(key)) != 0) return;
    s.used = false;
    --used_;
  }
  // The flow's held ACK, or nullptr.
  const sl_held_frame *find(const sl_flow_key &key, uint32_t hash) const {
    const Slot &s = slots_[hash & mask_];
    if (!s.used || std::memcmp(&s.key, &key, sizeof(key)) != 0) return nullptr;
    return &s.frame;
  }
  size_t size() const { return used_; }
  struct Held {
    sl_flow_key key;
    sl_held_frame frame;
  };
  // Copies of every held ACK with its flow (a replay may hold or forget entries while it runs).
  void copy_all(LineVector<Held> &out) const {
    out.clear();
    if (used_ == 0) return;
    for (const Slot &s : slots_)
      if (s.used) out.push_back({s.key, s.frame});
  }

 private:
  struct Slot {
    sl_flow_key key{};
    sl_held_frame frame{};
    bool used = false;
  };
  LineVector<Slot> slots_;  // on lines of its own: this lcore writes it
  uint32_t mask_;
  size_t used_ = 0;
};

}  // namespace sluice::dataplane
