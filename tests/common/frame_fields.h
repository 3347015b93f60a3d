// Field readers for assertions on TCP frames (built by PacketBuilder or sent by a data plane):
// Ethernet, any 802.1Q/802.1ad tags, IPv4 (its IHL) or IPv6 (fixed header, no extension
// headers), TCP. Each reads the bytes itself, never through the code under test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::testing {

size_t tcp_offset(const std::vector<uint8_t> &f);
uint8_t tcp_flags(const std::vector<uint8_t> &f);
uint16_t tcp_window(const std::vector<uint8_t> &f);
// Value of the option of this kind in the TCP header, -1 if absent (MSS: 16-bit, wscale: 8,
// other kinds: 0).
int tcp_option(const std::vector<uint8_t> &f, uint8_t kind);
// The IPv4 header checksum (for IPv4) and the TCP checksum, recomputed from scratch, hold.
bool checksums_ok(const std::vector<uint8_t> &f);

}  // namespace sluice::testing
