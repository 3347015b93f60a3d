// Client of sluice-dp's control socket (protocol: docs/dataplane-dpdk.md, "Control socket").
// Files (tables, deltas, policies) are opened here, with the caller's rights, and sent as open
// descriptors: sluice-dp never opens a path a client names. Every call has a deadline.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "dataplane_client.h"

namespace sluice::control {

class DpdkClient : public DataplaneClient {
 public:
  // Connects to the socket; throws DataplaneError if sluice-dp is not listening there (or does
  // not accept within `timeout`). Each later call must be answered within `timeout` too.
  explicit DpdkClient(std::string socket_path, std::chrono::milliseconds timeout = kDefaultTimeout);
  ~DpdkClient() override;
  DpdkClient(const DpdkClient &) = delete;
  DpdkClient &operator=(const DpdkClient &) = delete;

  std::string describe() const override { return "dpdk:" + path_; }
  TableChange load_table(const std::string &snapshot_path) override;
  TableChange apply_delta(const std::string &delta_path) override;
  uint32_t set_policy(const std::string &policy_path) override;
  DataplaneStats stats() override;
  // Pages through sluice-dp's replies ("skip"/"more") until `limit` flows or no more.
  std::vector<DataplaneFlow> flows(size_t limit) override;
  // The "heavy" command; `limit` above what sluice-dp answers in one reply (kMaxHeavyLimit) asks
  // for that many (the heaviest come first either way). 0 answers an empty list unasked.
  std::vector<HeavySender> heavy_senders(size_t limit) override;
  std::vector<PregreetSender> pregreet_senders(size_t limit) override;
  std::vector<FanoutSender> fanout_senders(size_t limit) override;
  std::vector<VerdictSender> verdict_senders(size_t limit) override;
  static constexpr size_t kMaxHeavyLimit = 10000;  // sluice-dp's DpControl::kMaxHeavyLimit

  // One raw request/reply, optionally with an open file; throws DataplaneError on transport
  // errors, on a timeout or on {"ok": false}.
  nlohmann::json call(const nlohmann::json &request, int file_fd = -1);

 private:
  nlohmann::json send_file_request(const char *cmd, const std::string &path);
  // The "heavy" command's reply, which must hold the array `list` ("senders", "pregreet").
  nlohmann::json heavy_reply(size_t limit, const char *list);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
};

}  // namespace sluice::control
