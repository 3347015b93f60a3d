// How fuzz_packet_core reads its input: a 6-byte header that picks direction, state and
// random number, then the frame. Shared with make_packet_core_seeds so seeds use the layout.
//
//   byte 0: bit 0 direction (0 outside, 1 inside); bits 1..4 flow flags seeded for segments;
//           bits 5..7 the policy's low bits (fuzz_policy_index)
//   byte 1: bits 0..2 level (mod SL_MAX_LEVELS; a level the policy lacks makes the flow stale):
//           the SYN's score is that level's threshold, a segment's flow state has that level;
//           bit 3 the policy's high bit: fixture_policy(FixturePolicy(value % kFixturePolicies));
//           bit 4 set = the frame's greeting slot is primed (the pregreet check);
//           bit 6 set = the table or policy changed since the flow's level was decided (the
//           flow carries another generation: its sender is looked up again);
//           bit 7 set = no flow state / no reputation
//   bytes 2..5: rnd handed to sl_act_*_seg (little-endian)
//   bytes 6..: the frame
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::testing {

inline constexpr size_t kFuzzHeaderSize = 6;

// The fixture policy a header picks (before % kFixturePolicies), and the header bits for one.
inline unsigned fuzz_policy_index(const uint8_t *header) {
  return static_cast<unsigned>(header[0] >> 5) | static_cast<unsigned>((header[1] >> 3) & 1) << 3;
}
inline void set_fuzz_policy_index(uint8_t *header, unsigned policy) {
  header[0] = static_cast<uint8_t>((header[0] & 0x1f) | (policy & 7) << 5);
  header[1] = static_cast<uint8_t>((header[1] & ~0x08u) | ((policy >> 3) & 1) << 3);
}

}  // namespace sluice::testing
