// The decision log: one line per connection a data plane shaped, tarpitted or blocked, in the
// words an operator knows from postscreen, e.g.
//
//   TARPIT [198.18.0.10]:40112 to [198.18.1.2]:25: level tarpit, score 12 (dnsbl +3, drop +9), data
//   plane dpdk:/run/sluice/sluice-dp.sock SHAPE [2001:2::10]:40113 to [2001:2:1::2]:25: level
//   throttle, score 5 (dnsbl +5), data plane xdp:sl0 BLOCK 3 connection attempts at level block:
//   senders not recorded (a blocked SYN keeps no state), data plane xdp:sl0 SUPPRESSED 120 decision
//   log lines in the last 60 s (limits: 1/s per sender, 50/s overall)
//
// A level in observe mode (a dry run) is named "level tarpit (observe: forwarded unchanged)".
//
// Where the connections come from: each poll hands observe() one data plane's flows
// (DataplaneClient::flows(): every shaped connection has one, with its level) and its stats.
// A blocked SYN gets no flow, so blocked attempts are counted from the per-level counters
// (SYNs at the level minus flows created at it, since the last poll) and logged as one line
// per level and poll, without senders. The score and the contributing sources come from the
// Explain function (the daemon's compiled table); without it the line says "score unknown".
//
// Pure logic: time is passed in, lines are returned; sink.h writes them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane_client.h"
#include "flow_memory.h"
#include "rate_limiter.h"

namespace sluice::sluiced::decision_log {

// What a level does, for the line's first word.
enum class Action { shape, tarpit, block };
std::string_view verb(Action a);  // "SHAPE", "TARPIT", "BLOCK"
// From a level's profile: block if it blocks, tarpit if it tarpits, else shape.
Action action_of(const sl_profile &p);

struct Contribution {
  std::string source;
  int32_t weight = 0;
};
struct SenderVerdict {
  int32_t score = 0;
  bool allow = false, deny = false;
  std::vector<Contribution> sources;  // every source that contributed (non-zero or listed)
};
// The daemon's view of an address (text, as the data plane reports it); nullopt = unknown.
using Explain = std::function<std::optional<SenderVerdict>(const std::string &address)>;

struct LogLine {
  std::string message;
  // Structured fields for the journal (SLUICE_ACTION, SLUICE_SENDER, ...), name -> value.
  std::vector<std::pair<std::string, std::string>> fields;
};

struct DecisionLogConfig {
  RateLimits limits;
  size_t max_remembered_flows = 65536;  // per data plane
};

// Control bytes (< 0x20, 0x7f) replaced by '?': nothing a data plane or a source name says can
// forge a second log line.
std::string sanitize(std::string_view text);

class DecisionLog {
 public:
  DecisionLog(const DecisionLogConfig &config, Explain explain, Clock::time_point now);

  // The policy's actions by level (index = level), when the daemon knows the policy; levels
  // beyond it (or without it) are SHAPE. `observing` (index = level): the level is in observe
  // mode (decides and counts but forwards unchanged); its lines say so, and a journal field
  // SLUICE_OBSERVE=1, so a dry run is never read as enforcement.
  void set_level_actions(std::vector<Action> actions, std::vector<bool> observing = {}) {
    actions_ = std::move(actions);
    observing_ = std::move(observing);
  }

  // One poll of one data plane. `complete`: flows holds every flow (not cut at the limit).
  // `stats` (may be null) names the levels and counts blocked attempts. The first stats of a
  // data plane set its baseline (no BLOCK line for what happened before the daemon looked).
  std::vector<LogLine> observe(const std::string &dataplane,
                               const std::vector<control::DataplaneFlow> &flows, bool complete,
                               const control::DataplaneStats *stats, Clock::time_point now);

  // The "N lines suppressed" line, at most once per summary interval.
  std::optional<LogLine> summary(Clock::time_point now);

  uint64_t logged() const { return logged_; }
  uint64_t suppressed() const { return limiter_.suppressed_total(); }
  // Forgets a data plane (removed from the configuration).
  void forget(const std::string &dataplane) { planes_.erase(dataplane); }

 private:
  struct Plane {
    FlowMemory memory;
    std::vector<uint64_t> syns, flows;  // per level, at the last stats
    bool have_baseline = false;
  };
  LogLine flow_line(const std::string &dataplane, const control::DataplaneFlow &f,
                    const std::string &level_name, Action action, bool observing) const;
  bool observing(size_t level) const { return level < observing_.size() && observing_[level]; }

  DecisionLogConfig config_;
  Explain explain_;
  RateLimiter limiter_;
  std::vector<Action> actions_;
  std::vector<bool> observing_;
  std::map<std::string, Plane> planes_;
  uint64_t logged_ = 0;
};

}  // namespace sluice::sluiced::decision_log
