// 64-bit integer mixing for sluice-dp's open-addressing tables (flows, reputation).
#pragma once

#include <cstdint>

namespace sluice::dataplane {

// The MurmurHash3 finaliser: every input bit affects every output bit, so masking the result
// to a power-of-two table size spreads clustered keys (adjacent addresses, ports).
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// The 128-bit product of a and b, its halves folded by XOR (wyhash's "mum"): one multiply
// instruction that mixes every bit of both inputs into the high half.
inline uint64_t mul_fold(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

}  // namespace sluice::dataplane
