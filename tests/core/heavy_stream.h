// A table of SYN streams for the heavy hitters (core/sl_heavy.h), the same for every runner:
// the native one, sluice-dp's pipeline and the XDP program under BPF_PROG_TEST_RUN each run the
// stream and must report the same heavy prefixes with the same counts, which are the exact
// counts the stream's table says (computed from it, not written down).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/packet_builder.h"
#include "core/sl_shared.h"

namespace sluice::testing {

struct HeavyPacket {
  Bytes frame;
  sl_dir dir;
  // The SYN's client, when the packet must count (a CLIENT_SYN); "" when it must not.
  std::string counted_client;
};

// The stream: several senders in two IPv4 /24s and one IPv6 /64, their SYNs in every encoding
// the core accepts as a CLIENT_SYN (VLAN tags, IP options, IPv6 extension headers, malformed
// TCP options, a first fragment), interleaved with packets that must not count (ACKs, RSTs,
// SYN-ACKs, SYNs from inside or to an unwatched port). All fall in one window.
std::vector<HeavyPacket> heavy_stream();

// The policy the stream runs under: the fixtures' standard one with counting on at `threshold`.
sl_policy heavy_policy(uint32_t threshold);

// What a reader must report for the stream at `threshold`: prefix text -> SYNs, every prefix
// with at least `threshold` SYNs (counted from the table, /32 and /24 or /128 and /64).
std::map<std::string, uint64_t> heavy_expected(const std::vector<HeavyPacket> &stream,
                                               uint32_t threshold);

// A time in the middle of a window, for runners to set their clock to.
inline constexpr uint64_t kHeavyStreamNowNs = (uint64_t{7} << 30) + (uint64_t{1} << 29);

// The sketch seed every runner uses in these tests (so collisions, if any, are the same).
inline constexpr uint64_t kHeavyTestSeed = 0x0123456789abcdefull;

}  // namespace sluice::testing
