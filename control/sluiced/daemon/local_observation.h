// What this site saw about a sender, as one event: the data planes' heavy hitters and pregreet
// clients, the policy service's trap hits, the MTA's log rejects, users' and feedback loops'
// complaints. Producers publish on the daemon's ObservationBus (Daemon::observations()); the
// local score model (learn/) turns them into decayed per-address scores, and may hand them to
// the collaboration feed.
//
// Everything runs on the event loop's thread: publish() calls every subscriber before it
// returns, so a subscriber must not block and must bound what it keeps.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/reputation/address.h"

namespace sluice::sluiced {

enum class LocalKind : uint8_t {
  kConnRate,          // SYNs per minute from one address at or above the heavy-hitter minimum
  kPregreet,          // a client that spoke before the server's greeting
  kTrapHit,           // mail to a configured spam-trap recipient
  kComplaint,         // an ARF report or `sluicectl report --kind complaint`
  kUnknownRecipient,  // MTA log: RCPT rejected, user unknown
  kRblReject,         // MTA log: client rejected by a DNSBL
  kProtocolError,     // MTA log: pipelining before the greeting, too many errors, bad commands
  // The data planes' own verdicts: SYNs of the address they shaped / blocked. Consequences of a
  // score, not evidence: the local model gives them no weight by default (docs/learning.md).
  kShaped,
  kBlocked,
  // A subscriber's outbound SMTP: remote MTAs new to it, each counted once per fan-out window
  // of about a minute (the data planes' [outbound] policy; docs/observations.md#fan-out).
  kFanOut,
};
inline constexpr size_t kLocalKindCount = 10;

// "conn_rate", "pregreet", "trap_hit", "complaint", "unknown_recipient", "rbl_reject",
// "protocol_error", "shaped", "blocked", "fan_out": the names used in sluiced.ini keys, logs,
// metrics and explain.
constexpr std::string_view to_string(LocalKind k) {
  constexpr std::string_view kNames[kLocalKindCount] = {
      "conn_rate",  "pregreet",       "trap_hit", "complaint", "unknown_recipient",
      "rbl_reject", "protocol_error", "shaped",   "blocked",   "fan_out"};
  return kNames[static_cast<size_t>(k)];
}
inline std::optional<LocalKind> local_kind_from_string(std::string_view s) {
  for (size_t i = 0; i < kLocalKindCount; ++i)
    if (to_string(static_cast<LocalKind>(i)) == s) return static_cast<LocalKind>(i);
  return std::nullopt;
}

// A rate kind's observation carries a rate, not a number of events: conn_rate's count is the
// sender's SYNs per minute (the local model keeps it as a gauge, docs/learning.md).
constexpr bool is_rate(LocalKind k) {
  return k == LocalKind::kConnRate;
}

struct LocalObservation {
  reputation::IpAddress subject;  // one sender address
  LocalKind kind = LocalKind::kComplaint;
  // Events this observation stands for (a complaint, 3 unknown recipients), >= 1; for a rate
  // kind the rate (conn_rate: SYNs per minute).
  uint32_t count = 1;
  std::chrono::system_clock::time_point observed_at;
  // Where it came from, for explain and logs: "policy", "maillog", "arf", "sluicectl", "dp".
  std::string origin;
  // Short printable evidence (a report id, a log line's queue id, the trap recipient); may be
  // empty. Producers bound it to 128 bytes.
  std::string evidence;
};

class ObservationBus {
 public:
  using Subscriber = std::function<void(const LocalObservation &)>;
  // `scores`: the subscriber turns observations into this site's own scores (the local score
  // model); producers that otherwise write a table entry themselves ask scored().
  void subscribe(Subscriber s, bool scores = false) {
    subscribers_.push_back(std::move(s));
    scored_ = scored_ || scores;
  }
  void publish(const LocalObservation &o) {
    ++published_;
    for (auto &s : subscribers_) s(o);
  }
  bool scored() const { return scored_; }
  uint64_t published() const { return published_; }

 private:
  std::vector<Subscriber> subscribers_;
  bool scored_ = false;
  uint64_t published_ = 0;
};

}  // namespace sluice::sluiced
