#include "sources/guard.h"

#include <cmath>
#include <fmt/format.h>

namespace sluice::sluiced {

GuardDecision judge(const GuardInput &in) {
  if (!in.new_entries) return {GuardVerdict::kParseError, "does not parse: " + in.parse_error};
  if (in.force) return {};
  const size_t n = *in.new_entries;
  if (n == 0) return {GuardVerdict::kEmpty, "lists no entry"};
  if (in.live_entries && *in.live_entries > 0 && in.max_shrink < 100) {
    const double live = static_cast<double>(*in.live_entries);
    const double floor = live * (1.0 - in.max_shrink / 100.0);
    if (static_cast<double>(n) < floor) {
      const double shrink = 100.0 * (live - static_cast<double>(n)) / live;
      return {GuardVerdict::kShrink,
              fmt::format("shrinks from {} to {} entries ({:.0f}%, more than max_shrink {:.0f}%)",
                          *in.live_entries, n, std::floor(shrink), in.max_shrink)};
    }
  }
  return {};
}

}  // namespace sluice::sluiced
