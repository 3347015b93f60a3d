// Asks every configured data plane for its SYN heavy hitters (DataplaneClient::heavy_senders)
// and turns the answers into what sluiced believes (docs/learning.md, "Heavy hitters"):
//
//   - each plane is asked for at most max_per_poll entries; every entry is checked
//     (heavy_entry.h), refusals are counted by reason and dropped;
//   - the same prefix from several data planes is summed (each saw its own share);
//   - hosts (/32, /128) at or above min_rate become conn_rate observations (count: SYN/min),
//     heaviest first, at most max_per_poll per poll;
//   - networks (/24, /64) at or above min_rate are reported (status, metrics, a log line when
//     one starts or stops being heavy), not observed: the local model keeps single addresses;
//   - pregreet senders (DataplaneClient::pregreet_senders, asked of a plane that answered):
//     what each address's count grew by since that plane's last answer becomes a pregreet
//     observation (count: the new connections), a count that restarted or is new taken whole;
//   - verdicts (DataplaneClient::verdict_senders, the same way): what each address's SYNs shaped
//     and blocked at each level grew by become shaped and blocked observations (count: SYNs);
//   - fan-out (DataplaneClient::fanout_senders, the same way): what each subscriber's count of
//     new remote MTAs grew by becomes a fan_out observation (count: MTAs).
//
// A data plane that cannot be reached or throws (down, or it does not count heavy senders) is
// counted, its state change returned as a notice (logged once per change), and retried after a
// back-off that starts at poll_interval and doubles up to kMaxBackoff; it never stops the poll of
// the others. Pure apart from the clients: the caller passes the clock and logs the notices.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/local_observation.h"
#include "heavy_entry.h"

namespace sluice::sluiced::heavy {

// Makes a client of one data plane (the daemon's factory: Daemon::client_factory()).
using ClientFactory =
    std::function<std::unique_ptr<control::DataplaneClient>(const std::string &spec)>;

inline constexpr std::chrono::milliseconds kMaxBackoff{30000};
// New heavy hosts or networks logged per poll (the rest summed in one line).
inline constexpr size_t kNoticesPerPoll = 8;
inline constexpr size_t kMaxEvidence = 128;

struct HeavySettings {
  std::chrono::milliseconds poll_interval{1000};
  double min_rate = 120;  // SYN/min
  size_t max_per_poll = 256;
};

// One prefix at or above min_rate in one poll, summed over the data planes that reported it.
struct HeavyTotal {
  HeavyPrefix prefix;
  double per_minute = 0;
  std::vector<std::string> dataplanes;  // the specs that reported it, in configuration order
};

struct PollResult {
  // conn_rate of hosts, heaviest first; then pregreet; then verdicts
  std::vector<LocalObservation> observations;
  std::vector<HeavyTotal> hosts;           // the same hosts, with their data planes
  std::vector<HeavyTotal> networks;        // /24 and /64, heaviest first
  std::vector<LocalObservation> pregreet;  // new pregreet connections, per plane and address
  std::vector<LocalObservation> verdicts;  // new SYNs shaped / blocked, per plane, address, level
  std::vector<LocalObservation> fanout;    // new remote MTAs, per plane and subscriber
  std::vector<std::string> notices;        // state changes, for the log
  size_t asked = 0, answered = 0;          // data planes asked, and that answered
};

struct PlaneState {
  std::string spec;
  std::unique_ptr<control::DataplaneClient> client;  // null until connected
  bool answering = false;                            // the last attempt answered
  bool failed_once = false;
  std::string error;  // the last error ("" after an answer)
  uint64_t polls = 0, failures = 0, entries = 0;
  std::chrono::steady_clock::time_point retry_at{};
  std::chrono::milliseconds backoff{0};
  // Pregreet (DataplaneClient::pregreet_senders): each address's count in the last answer, and
  // why the last request failed ("" after an answer; a data plane that does not test for it
  // still counts SYNs).
  std::map<std::string, uint64_t> pregreet_seen;
  std::string pregreet_error;
  uint64_t pregreet_refused = 0;  // entries without a valid address
  // Verdicts (DataplaneClient::verdict_senders) the same way, by "ADDRESS LEVEL KIND".
  std::map<std::string, uint64_t> verdict_seen;
  std::string verdict_error;
  uint64_t verdict_refused = 0;  // entries without a valid address or level, or repeated
  // Fan-out (DataplaneClient::fanout_senders) the same way, by address.
  std::map<std::string, uint64_t> fanout_seen;
  std::string fanout_error;
  uint64_t fanout_refused = 0;  // entries without a valid address, or repeated
};

class HeavyPoller {
 public:
  using Clock = std::chrono::steady_clock;
  HeavyPoller(HeavySettings s, const std::vector<std::string> &specs, ClientFactory factory);

  PollResult poll(Clock::time_point now, std::chrono::system_clock::time_point wall);

  const std::vector<PlaneState> &planes() const { return planes_; }
  const std::array<uint64_t, kRefusalCount> &refused() const { return refused_; }
  uint64_t observations() const { return observations_; }
  const HeavySettings &settings() const { return s_; }

 private:
  void ask(PlaneState &p, Clock::time_point now, std::vector<HeavyTotal> &totals, PollResult &out);
  void ask_pregreet(PlaneState &p, std::chrono::system_clock::time_point wall, PollResult &out);
  void ask_verdicts(PlaneState &p, std::chrono::system_clock::time_point wall, PollResult &out);
  void ask_fanout(PlaneState &p, std::chrono::system_clock::time_point wall, PollResult &out);
  void failed(PlaneState &p, Clock::time_point now, const std::string &what, PollResult &out);
  void note_changes(PollResult &out);

  HeavySettings s_;
  ClientFactory factory_;
  std::vector<PlaneState> planes_;
  std::array<uint64_t, kRefusalCount> refused_{};
  uint64_t observations_ = 0;
  std::set<HeavyPrefix> heavy_;  // at or above min_rate at the last poll (for notices)
};

// "612 SYN/min on dpdk:/run/sluice/sluice-dp.sock + xdp:edge0" (at most kMaxEvidence bytes,
// the bus's bound:
// "... on 5 data planes" when the specs do not fit).
std::string evidence_of(const HeavyTotal &t);

}  // namespace sluice::sluiced::heavy
