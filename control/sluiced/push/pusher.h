// Keeping one data plane at sluiced's table (and policy), exactly once.
//
// sync() asks the data plane for its table version (stats().table.version) and then:
//   equal to the current table's      nothing to do
//   a version in the history          one delta from that version (push/table_state.h)
//   anything else (0 after a restart, a table loaded by hand)   a full load
// A delta or load either applies whole or not at all (both data planes swap tables
// atomically); after an error or a timeout the next sync asks the version again, so a push
// whose reply was lost is never applied twice.
//
// The policy likewise: pushed when sluiced's policy file changed since it last set it, or when
// the data plane's policy generation is not the one sluiced's set returned (it restarted).
//
// A data plane that cannot be reached or answers garbage is retried with exponential back-off
// (backoff_min doubling up to backoff_max); every request has the configured timeout, so one
// sync blocks the loop for at most a few timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/status.h"
#include "dataplane_client.h"
#include "push/table_state.h"

namespace sluice::sluiced {

using ClientFactory =
    std::function<std::unique_ptr<control::DataplaneClient>(const std::string &spec)>;

// connect_dataplane with `timeout` per request.
ClientFactory default_client_factory(std::chrono::milliseconds timeout);

struct PushOptions {
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
};

// The policy sluiced pushes: its file and a hash of its content (what "changed" means).
struct PolicyTarget {
  std::string path;
  uint64_t hash = 0;
};

class DataplanePusher {
 public:
  using Clock = std::chrono::steady_clock;

  DataplanePusher(std::string spec, ClientFactory factory, PushOptions options = {});

  const std::string &spec() const { return spec_; }

  // Brings the data plane to table.current() (and `policy`, if given). Skipped (nullopt)
  // while backing off unless `now_regardless`. Returns what was pushed, or the failure.
  // Never throws.
  std::optional<PushEvent> sync(TableState &table, const PolicyTarget *policy,
                                bool now_regardless = false);

  DataplaneStatus status() const { return status_; }
  bool backing_off() const { return Clock::now() < retry_at_; }
  bool known_down() const { return !status_.reachable && status_.failures > 0; }

  // What survives a restart of sluiced: the policy generation and hash it set.
  nlohmann::json saved_state() const;
  void restore_state(const nlohmann::json &j);

 private:
  void fail(const std::string &error);

  std::string spec_;
  ClientFactory factory_;
  PushOptions options_;
  std::unique_ptr<control::DataplaneClient> client_;
  DataplaneStatus status_;
  uint64_t policy_hash_ = 0;  // of the policy sluiced last set here
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
};

// FNV-1a of a file's bytes (the policy's "changed"); throws sluice::Error if unreadable.
uint64_t file_hash(const std::string &path);

}  // namespace sluice::sluiced
