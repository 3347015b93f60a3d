// The request handler behind sluice-dp's control socket: table load / delta, policy set / get,
// stats, flows. Table and policy changes are built here, off the packet path, and published
// through RCU (dp_published.h); flows are fetched from each lcore through its mailbox.
//
// Files come from clients as open descriptors (SCM_RIGHTS), never as paths: sluice-dp opens
// nothing a client names, so a client reads only what its own rights allow. Every file is
// checked (regular, size-limited) and copied into memory sluice-dp owns (bounded_file.h).
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
#include "rep_live.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

class DpControl {
 public:
  DpControl(Published &pub, std::vector<Worker *> workers,
            std::optional<std::vector<uint16_t>> smtp_ports_override);

  // Each throws (reputation::Error, PolicyError, FileError, std::exception) with a message for
  // the operator; nothing is published on failure. The path forms are for the command line
  // (--table, --policy); the fd forms read a file a client sent, `name` is for messages.
  void load_table(const std::string &path);
  void apply_delta(const std::string &path);
  void load_policy(const std::string &path);
  void load_table_fd(int fd, const std::string &name);
  void apply_delta_fd(int fd, const std::string &name);
  void load_policy_fd(int fd, const std::string &name);
  void set_policy_text(const std::string &text, const std::string &name);

  // One request; `file_fd` is the file sent with it or -1. Throws for a bad request.
  nlohmann::json handle(const nlohmann::json &request, int file_fd = -1);
  // Every lcore's counters summed, with each lcore's share, the table and the policy.
  stats::DataplaneStats stats_model() const;
  nlohmann::json stats() const;  // the "stats" reply: stats::to_json(stats_model()) + "ok"
  // Flows after skipping `skip` (lcore by lcore, hottest first), at most `limit`, and at most
  // what fits in one reply; "more" tells whether another page may follow.
  nlohmann::json flows(size_t limit, size_t skip = 0) const;
  // The "heavy" reply: the SYN heavy hitters of every lcore merged (heavy_merge.h), heaviest
  // first, at most `limit` (1..kMaxHeavyLimit). `now_ns` picks the window (the lcores' clock,
  // tsc_now_ns()). With heavy_hitters = off in the policy the list is empty and "enabled" false.
  // The bound keeps the reply under the socket's message limit: a sender is at most ~75 bytes of
  // JSON (an IPv6 /128 with a 20-digit count), 10000 of them ~750 KB < proto::kMaxMessage.
  static constexpr size_t kMaxHeavyLimit = 10000;
  nlohmann::json heavy(size_t limit, uint64_t now_ns) const;

 private:
  void publish_policy(struct PolicyFile &&pf);
  void publish_table(LiveRep::Next next);

  Published &pub_;
  std::vector<Worker *> workers_;
  std::optional<std::vector<uint16_t>> ports_override_;
  mutable std::mutex mu_;  // serialises writers; held while reading the policy (never freed then)
  LiveRep table_;          // the last snapshot plus deltas
  std::string policy_text_;
  std::chrono::steady_clock::time_point table_changed_ = std::chrono::steady_clock::now();
  uint32_t generation_ = 0;
  // The last policy published (for its tarpit cookie key, kept across policy changes).
  sl_policy last_policy_{};
  bool have_policy_ = false;
};

}  // namespace sluice::dataplane
