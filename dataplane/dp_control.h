// The request handler behind sluice-dp's control socket: table load / delta, policy set / get,
// stats, flows. Table and policy changes are built here, off the packet path, and published
// through RCU (dp_published.h); flows are fetched from each lcore through its mailbox.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dp_published.h"
#include "dp_stats.h"
#include "dp_worker.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

class DpControl {
 public:
  DpControl(Published &pub, std::vector<Worker *> workers,
            std::optional<std::vector<uint16_t>> smtp_ports_override);

  // Each throws (reputation::Error, PolicyError, std::exception) with a message for the
  // operator; nothing is published on failure.
  void load_table(const std::string &path);
  void apply_delta(const std::string &path);
  void load_policy(const std::string &path);
  void set_policy_text(const std::string &text, const std::string &name);

  nlohmann::json handle(const nlohmann::json &request);
  // Every lcore's counters summed, with each lcore's share, the table and the policy.
  stats::DataplaneStats stats_model() const;
  nlohmann::json stats() const;  // the "stats" reply: stats::to_json(stats_model()) + "ok"
  nlohmann::json flows(size_t limit) const;

 private:
  void publish_policy(struct PolicyFile &&pf);
  void publish_table(reputation::Snapshot snap);

  Published &pub_;
  std::vector<Worker *> workers_;
  std::optional<std::vector<uint16_t>> ports_override_;
  mutable std::mutex mu_;  // serialises writers; held while reading the policy (never freed then)
  reputation::Snapshot table_;
  std::string policy_text_;
  std::chrono::steady_clock::time_point table_changed_ = std::chrono::steady_clock::now();
  uint32_t generation_ = 0;
};

}  // namespace sluice::dataplane
