// The control plane's view of a data plane: one interface, one implementation per data plane.
//   dpdk:PATH  sluice-dp's control socket (dpdk_client.h)
//   xdp:NAME   the XDP data plane's pinned maps (xdp_client.h, on bpf/'s loader)
// sluicectl --dataplane SPEC and sluiced use connect_dataplane(SPEC).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice_error.h"
#include "dp_stats.h"

namespace sluice::control {

// How long a client waits for a data plane to accept and answer one request.
inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

class DataplaneError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// A data plane spec that names no data plane at all (not SCHEME:ARG, or an unknown scheme): the
// caller's mistake, not the data plane's, so a command line reports it as a usage error.
class DataplaneSpecError : public DataplaneError {
 public:
  using DataplaneError::DataplaneError;
};

// The counters of a data plane: one model for both (dp_stats.h).
using DataplaneStats = sluice::stats::DataplaneStats;
using RunningVersions = sluice::stats::RunningVersions;

// What a table load or delta did.
struct TableChange {
  uint64_t entries = 0;  // entries of the table running now
  std::string note;      // what the operator should know (entries it could not take), or ""
};

struct DataplaneFlow {
  std::string client, server;  // addresses as text
  uint16_t client_port = 0, server_port = 0;
  uint32_t level = 0, flags = 0;  // SL_FLOW_* flags
  uint64_t created_ns = 0, last_seen_ns = 0;
  uint32_t pending = 0;   // packets held by the pacer
  bool outbound = false;  // a subscriber's outbound connection (client inside)
};

// A sender the data plane saw open many connections: an entry of its SYN heavy-hitter table
// (docs/observations.md says how it is counted and what the count may over-estimate).
struct HeavySender {
  std::string prefix;      // "198.18.0.7/32", "198.18.0.0/24", "2001:2::7/128", "2001:2::/64"
  uint64_t syns = 0;       // SYNs counted for it in the window below
  uint64_t window_ns = 0;  // the length of the window those SYNs fell in
  uint64_t syns_per_minute() const {
    return window_ns == 0 ? 0
                          : static_cast<uint64_t>(static_cast<double>(syns) * 60e9 /
                                                  static_cast<double>(window_ns));
  }
};

// A sender whose clients talked before the server's greeting (docs/observations.md#pregreet):
// how many of its connections did, counted by the data plane since its entry last started. An
// entry starts again after 64 counting windows (about 69 s) without a pregreet, and a reader
// stops seeing it then; so a reader that polls more often than that adds what a count grew by
// since its last answer, and takes a count of a sender missing from that answer, or smaller
// than it was, as all new.
struct PregreetSender {
  std::string address;  // "198.18.0.7", "2001:2::7"
  uint64_t connections = 0;
};

// A sender whose SYNs the data plane shaped or blocked at one level
// (docs/observations.md#shaped-and-blocked): counted since its entry last started, as a
// PregreetSender's connections (the same 64-window rule, the same reading).
struct VerdictSender {
  std::string address;   // "198.18.0.7", "2001:2::7"
  uint32_t level = 0;    // 1 .. SL_MAX_LEVELS - 1
  uint64_t shaped = 0;   // SYNs let through shaped (or answered by a stateless tarpit)
  uint64_t blocked = 0;  // SYNs dropped or answered with RST (by the level or its caps)
};

// A subscriber's fan-out (docs/observations.md#fan-out): the remote MTAs new to it in each
// fan-out window (about a minute), summed since its entry last started, as a PregreetSender's
// connections (the same 64-window rule, the same reading).
struct FanoutSender {
  std::string address;        // the subscriber: "198.18.0.7", "2001:2::7"
  uint64_t destinations = 0;  // remote MTAs, each counted once per fan-out window
};

class DataplaneClient {
 public:
  virtual ~DataplaneClient() = default;
  virtual std::string describe() const = 0;  // the spec it was made from
  // Each throws DataplaneError with the data plane's reason; on error nothing changed.
  virtual TableChange load_table(const std::string &snapshot_path) = 0;
  virtual TableChange apply_delta(const std::string &delta_path) = 0;
  virtual uint32_t set_policy(const std::string &policy_path) = 0;  // the new generation
  virtual DataplaneStats stats() = 0;
  // The table version and policy generation stats() reports, which a control plane checks
  // before every push. A data plane that can read them alone more cheaply answers this itself.
  virtual RunningVersions versions() {
    const DataplaneStats s = stats();
    return {s.table.version, s.policy.generation};
  }
  virtual std::vector<DataplaneFlow> flows(size_t limit) = 0;
  // The heaviest SYN senders of the data plane's current window, heaviest first, at most
  // `limit`. A data plane that does not count them throws DataplaneError.
  virtual std::vector<HeavySender> heavy_senders(size_t limit) {
    (void)limit;
    throw DataplaneError(describe() + ": this data plane does not count heavy SYN senders");
  }
  // The `limit` senders with the most pregreet connections, most first (PregreetSender).
  virtual std::vector<PregreetSender> pregreet_senders(size_t limit) {
    (void)limit;
    throw DataplaneError(describe() + ": this data plane does not test for pregreet");
  }
  // The `limit` senders (per level) with the most SYNs shaped and blocked, most first.
  virtual std::vector<VerdictSender> verdict_senders(size_t limit) {
    (void)limit;
    throw DataplaneError(describe() + ": this data plane does not count shaped senders");
  }
  // The `limit` subscribers with the most fan-out, most first (FanoutSender); none when the
  // policy has no [outbound] section.
  virtual std::vector<FanoutSender> fanout_senders(size_t limit) {
    (void)limit;
    throw DataplaneError(describe() + ": this data plane does not count fan-out");
  }
};

struct ConnectOptions {
  std::chrono::milliseconds timeout = kDefaultTimeout;  // per request (dpdk:)
};

using DataplaneFactory = std::function<std::unique_ptr<DataplaneClient>(const std::string &arg)>;

// Adds a scheme ("xdp") whose factory receives what follows "scheme:". "dpdk" is built in.
void register_dataplane_scheme(const std::string &scheme, DataplaneFactory factory);
// "dpdk:/run/sluice/sluice-dp.sock" -> a connected client. Throws DataplaneSpecError for a
// malformed spec or an unknown scheme, DataplaneError for a data plane that cannot be reached.
std::unique_ptr<DataplaneClient> connect_dataplane(const std::string &spec,
                                                   const ConnectOptions &options = {});

}  // namespace sluice::control
