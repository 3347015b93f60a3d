// Contribution providers: whatever adds entries to the table besides the list sources (the
// dynamic store's `host set` entries, the collaboration feed, local learning).
//
// The table sluiced pushes is compile(last good version of every list source in the sources
// file, then every provider's contributions, in registration order). Each contribution is a
// source of its own for the score model (docs/sources.md): its entries contribute once per
// address, its most specific entry decides, `config.allow` makes it an allowlist.
//
// A provider tells the daemon when it changed (Daemon::contributions_changed: rebuild and push
// soon; Daemon::rebuild_now: before returning) and when it will change by itself
// (next_change(): the daemon rebuilds then, e.g. at the earliest expiry).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/reputation/source.h"

namespace sluice::sluiced {

using WallClock = std::chrono::system_clock;

// A wall-clock time as unix seconds and as unix milliseconds (toward zero).
inline int64_t unix_s(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline int64_t unix_ms(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
// Now, in unix milliseconds.
inline int64_t wall_now_ms() {
  return unix_ms(WallClock::now());
}

struct Contribution {
  // name: shown by explain and status (e.g. "dynamic", "feed:peer-a"); weight: the default
  // weight of entries without their own; allow: an allowlist. type and path are informative.
  reputation::SourceConfig config;
  // The entries (Entry::source is set by the daemon; Entry::line may index the provider's own
  // records, for explain).
  reputation::ParsedSource parsed;
};

class ContributionProvider {
 public:
  virtual ~ContributionProvider() = default;
  virtual std::string provider_name() const = 0;
  // Everything this provider contributes at `now`, expired entries left out. Called on the
  // event loop for every build.
  virtual std::vector<Contribution> contributions(WallClock::time_point now) = 0;
  // When contributions() will next differ without any call from outside (the earliest
  // expiry or decay step), or nullopt.
  virtual std::optional<WallClock::time_point> next_change() const { return std::nullopt; }
};

}  // namespace sluice::sluiced
