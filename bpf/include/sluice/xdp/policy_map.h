// The policy as the XDP program reads it: an array-of-maps "policy" whose one slot holds a
// single-element array with the sl_policy (bpf/progs/sluice_maps.bpf.h). A write fills a new
// inner map and swaps it into the slot, so a packet reads either the whole old policy or the
// whole new one, never a mix; no map a packet can be reading is ever written.
#pragma once

#include "core/sl_shared.h"

namespace sluice::xdp {

// Swaps `policy` in (the generation is written as given). Throws Error.
void write_policy(int policy_map_fd, const sl_policy &policy);
// The policy in force. Throws Error.
sl_policy read_policy(int policy_map_fd);

}  // namespace sluice::xdp
