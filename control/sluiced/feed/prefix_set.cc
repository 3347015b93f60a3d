#include "prefix_set.h"

#include "sluice/reputation/address.h"

namespace sluice::feed {

void PrefixSet::add_v4(uint32_t addr, uint8_t len) {
  if (len > 32) return;
  v4_.insert({addr & reputation::prefix_mask<uint32_t>(len), len});
}

void PrefixSet::add_v6(reputation::U128 addr, uint8_t len) {
  if (len > 128) return;
  v6_.insert({addr & reputation::prefix_mask<reputation::U128>(len), len});
}

bool PrefixSet::covers(const Prefix &p) const {
  if (p.family == 4) {
    for (int len = 0; len <= p.len && len <= 32; ++len)
      if (v4_.count({p.v4 & reputation::prefix_mask<uint32_t>(len), static_cast<uint8_t>(len)}))
        return true;
    return false;
  }
  for (int len = 0; len <= p.len && len <= 128; ++len)
    if (v6_.count(
            {p.v6 & reputation::prefix_mask<reputation::U128>(len), static_cast<uint8_t>(len)}))
      return true;
  return false;
}

}  // namespace sluice::feed
