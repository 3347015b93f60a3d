// SYN heavy hitters as a reader sees them (docs/observations.md): the candidate entries and the
// sketches of every lcore / CPU (core/sl_heavy.h) merged into one list, heaviest first.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/sl_heavy.h"

namespace sluice::heavy {

// The length of a counting window.
inline constexpr uint64_t kWindowNs = uint64_t{1} << SL_HEAVY_WINDOW_SHIFT;

struct HeavyCount {
  sl_heavy_key key{};
  // SYN entries: the larger of this window's count so far and the last window's. Pregreet
  // entries: the address's connections that talked before the greeting; fan-out entries: the
  // remote MTAs new to the subscriber in each fan-out window, summed (core/sl_fanout.h); each
  // counted since the entry last started (core/sl_heavy.h, sl_heavy_entry_event).
  uint64_t syns = 0;
};

// One sender's SYNs shaped and blocked at one level (event entries SL_HEAVY_KIND_SHAPED and
// SL_HEAVY_KIND_BLOCKED), every lcore's / CPU's count summed, each since its entry last started
// (core/sl_heavy.h, sl_heavy_entry_event).
struct VerdictCount {
  sl_heavy_key key{};  // the address (kind SL_HEAVY_KIND_SHAPED; level as counted)
  uint64_t shaped = 0, blocked = 0;
};

// "198.18.0.7/32", "2001:2::/64".
std::string prefix_text(const sl_heavy_key &key);
// "198.18.0.7", "2001:2::7".
std::string address_text(const sl_heavy_key &key);

class HeavyMerge {
 public:
  // `epoch`: the window being read (sl_heavy_epoch of the runners' clock now).
  explicit HeavyMerge(uint32_t epoch) : epoch_(epoch) {}

  // One candidate entry of one lcore / CPU; entries of neither this window nor the last, and
  // empty ones, are ignored. Event entries are kept apart (pregreet(), verdicts(), fanout()),
  // summed.
  void add_entry(const sl_heavy_entry &e);
  // One lcore's / CPU's sketch: this window's count of every candidate is re-read from the
  // sketches (summed), so it is exact up to the sketch's error, not the last report's.
  void add_sketch(const sl_heavy_sketch &s) { sketches_.push_back(&s); }

  // The `limit` heaviest, heaviest first (ties: by prefix). The sketches must still be alive.
  std::vector<HeavyCount> top(size_t limit) const;
  // The pregreet senders: every lcore's / CPU's count summed, the `limit` largest first.
  std::vector<HeavyCount> pregreet(size_t limit) const;
  // The senders' SYNs shaped and blocked per level, the `limit` with the most (shaped + blocked)
  // first (ties: by address, then level).
  std::vector<VerdictCount> verdicts(size_t limit) const;
  // The subscribers' fan-out: every lcore's / CPU's count summed, the `limit` largest first.
  std::vector<HeavyCount> fanout(size_t limit) const;

 private:
  using Key = std::tuple<uint8_t, uint8_t, std::string>;  // family, length, address bytes
  struct Sum {
    sl_heavy_key key{};
    uint64_t current = 0, previous = 0;
  };
  // Event sums as a list, the `limit` largest first.
  static std::vector<HeavyCount> largest(const std::map<Key, Sum> &sums, size_t limit);
  uint32_t epoch_;
  std::map<Key, Sum> sums_;
  std::map<Key, Sum> pregreets_;
  std::map<Key, Sum> fanouts_;
  std::map<std::pair<Key, uint8_t>, VerdictCount> verdicts_;  // by address and level
  std::vector<const sl_heavy_sketch *> sketches_;
};

}  // namespace sluice::heavy
