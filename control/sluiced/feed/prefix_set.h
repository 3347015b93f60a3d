// A set of prefixes that answers "is this subject inside one of them?" (every shorter prefix of
// the subject looked up, at most 33 or 129 lookups). The feed module keeps two: the prefixes the
// operator decided locally (the feed adds nothing inside them) and the subjects the feed scores
// (this site does not share its own verdicts about them, which would echo the feed back).
#pragma once

#include <cstdint>
#include <set>
#include <utility>

#include "feed/observation.h"

namespace sluice::feed {

class PrefixSet {
 public:
  void add_v4(uint32_t addr, uint8_t len);
  void add_v6(reputation::U128 addr, uint8_t len);
  // Whether p lies inside (or is) one of the prefixes.
  bool covers(const Prefix &p) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }
  size_t size() const { return v4_.size() + v6_.size(); }

 private:
  std::set<std::pair<uint32_t, uint8_t>> v4_;
  std::set<std::pair<reputation::U128, uint8_t>> v6_;
};

}  // namespace sluice::feed
