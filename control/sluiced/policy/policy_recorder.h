// What the policy service remembers: the last `capacity` requests it answered (client address,
// HELO name, envelope-sender domain, the answer), for `sluicectl policy recent`, and counters for
// the metrics. Bounded: the ring never holds more than `capacity` entries, each field cut to
// kMaxRecordedBytes. Not thread-safe: the daemon's loop owns it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy_request.h"

namespace sluice::sluiced::policy {

inline constexpr size_t kMaxRecordedBytes = 128;

struct RecentRequest {
  int64_t unix_s = 0;
  std::string client_address, helo_name, sender_domain, protocol_state;
  int32_t score = 0;
  unsigned level = 0;
  std::string verb;  // the answer's first word: DUNNO, PREPEND, ...
  bool trap = false;
};

struct PolicyCounters {
  uint64_t requests = 0;
  std::map<std::string, uint64_t> replies;  // by the answer's verb
  std::array<uint64_t, kRefusalKinds> refusals{};
  uint64_t trap_hits = 0;        // requests whose recipient is a trap
  uint64_t trap_entries = 0;     // dynamic entries written for them
  uint64_t trap_errors = 0;      // entries that could not be written (the store said why)
  uint64_t unknown_clients = 0;  // client_address missing or not an address: level 0
};

class Recorder {
 public:
  explicit Recorder(size_t capacity) : capacity_(capacity) {}
  void record(const PolicyRequest &req, int64_t now_unix_s, int32_t score, unsigned level,
              const std::string &verb, bool trap);
  void refused(Refusal r) { ++counters_.refusals[static_cast<size_t>(r)]; }
  PolicyCounters &counters() { return counters_; }
  const PolicyCounters &counters() const { return counters_; }
  // The recent requests, oldest first, at most `limit` (the newest ones).
  std::vector<RecentRequest> recent(size_t limit) const;
  static nlohmann::json to_json(const RecentRequest &r);

 private:
  size_t capacity_;
  std::vector<RecentRequest> ring_;
  size_t next_ = 0;  // where the next record goes once the ring is full
  PolicyCounters counters_;
};

}  // namespace sluice::sluiced::policy
