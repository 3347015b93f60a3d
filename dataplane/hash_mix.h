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

}  // namespace sluice::dataplane
