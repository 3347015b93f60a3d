// `sluice-xdp replay`: every frame of a capture through the XDP program with BPF_PROG_TEST_RUN,
// on a private copy of the maps (flows carry over from frame to frame, as on the wire).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/xdp/rep_tables.h"

namespace sluice::xdp {

struct ReplayOptions {
  std::string input;
  std::string output;        // frames the program emits (forwarded or answered), in order
  bool from_inside = false;  // which port the frames arrive on
  // When not empty, each frame's port is chosen by its source address instead, as
  // `sluice-dp replay --inside-net` does: a source in one of these prefixes ("198.18.0.0/24",
  // "2001:2::/64") arrives on the inside port, any other frame on the outside port.
  std::vector<std::string> inside_nets;
  std::optional<sl_policy> policy;  // none: all-zero policy (watches nothing)
  std::optional<RepTable> table;    // none: empty table
};

struct ReplayResult {
  uint64_t frames = 0, forwarded = 0, dropped = 0, tx = 0, other = 0;
};

ReplayResult replay(const ReplayOptions &opts);

}  // namespace sluice::xdp
