// Which of this site's own observations (the daemon's ObservationBus: data-plane heavy hitters,
// pregreet clients and verdicts, the policy service's trap hits, complaints) the feed publishes,
// and how
// often (docs/feed.md, "Sharing this site's observations").
//
// Per sender and kind, the first observation is published at once, so a new abuser reaches the
// other participants within one publish; later ones inside `interval` are merged (events summed,
// a rate kept at its highest) and published together when the interval ends. A token bucket caps
// what the site publishes per second: what exceeds it waits, merged, rather than being lost. At
// most `max_entries` senders and kinds are kept; beyond that new ones are dropped and counted.
//
// Pure: the caller gives the time. Everything runs on the daemon's loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "daemon/local_observation.h"
#include "feed/observation.h"

namespace sluice::sluiced {

// The local kinds the feed's schema v1 has a kind for (conn_rate, pregreet, trap_hit,
// complaint, shaped, blocked); nullopt for the MTA log's kinds, which stay local.
std::optional<feed::Kind> feed_kind(LocalKind k);

struct ShareSettings {
  std::array<bool, kLocalKindCount> kinds{};  // by LocalKind; only kinds feed_kind() maps
  int64_t interval_ms = 60000;                // one publish per sender and kind per interval
  uint32_t ttl_s = 3600;                      // the suggested ttl published
  size_t max_entries = 100000;                // senders x kinds kept at once
  uint32_t per_second = 1000;                 // observations published per second, at most
};

// By default every kind the schema can carry is shared.
ShareSettings default_share_settings();

struct ShareCounters {
  std::array<uint64_t, kLocalKindCount> offered{};    // observations of a shared kind
  std::array<uint64_t, kLocalKindCount> published{};  // feed observations handed out
  uint64_t not_shared = 0;         // observations of a kind the settings leave local
  uint64_t merged = 0;             // offered observations merged into one already waiting
  uint64_t dropped_full = 0;       // a new sender and kind while max_entries were kept
  uint64_t dropped_old = 0;        // observed more than the schema allows before publishing
  uint64_t waited_for_budget = 0;  // take_due() calls that left due observations for lack of it
};

class LocalShare {
 public:
  explicit LocalShare(ShareSettings s);

  // An observation from the bus. Kinds the settings do not share are counted and ignored.
  void offer(const LocalObservation &o, int64_t now_ms);
  // What is due by now_ms, within the per-second budget: publish these.
  std::vector<feed::Observation> take_due(int64_t now_ms);
  // When take_due() next has something to hand out (or forget); nullopt when nothing is kept.
  std::optional<int64_t> next_due_ms() const;

  size_t entries() const { return slots_.size(); }
  const ShareCounters &counters() const { return counters_; }

 private:
  // family, v4, v6, kind
  using Key = std::tuple<int, uint32_t, reputation::U128, uint8_t>;
  struct Slot {
    bool pending = false;           // something waits to be published
    uint64_t count = 0;             // events summed, or a rate kind's highest rate
    int64_t first_observed_ms = 0;  // of what waits
    int64_t last_observed_ms = 0;
    int64_t due_ms = 0;  // its one event in queue_: publish (pending) or forget (not)
  };

  feed::Observation to_feed(const Key &k, const Slot &s, int64_t now_ms) const;
  void refill(int64_t now_ms);

  ShareSettings s_;
  std::map<Key, Slot> slots_;
  std::multimap<int64_t, Key> queue_;  // each slot's due_ms, exactly once
  double tokens_;
  int64_t refilled_ms_ = 0;
  ShareCounters counters_;
};

}  // namespace sluice::sluiced
