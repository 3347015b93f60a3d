// Client of sluice-dp's control socket (protocol: docs/dataplane-dpdk.md, "Control socket").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dataplane_client.h"

namespace sluice::control {

class DpdkClient : public DataplaneClient {
 public:
  // Connects to the socket; throws DataplaneError if sluice-dp is not listening there.
  explicit DpdkClient(std::string socket_path);
  ~DpdkClient() override;
  DpdkClient(const DpdkClient &) = delete;
  DpdkClient &operator=(const DpdkClient &) = delete;

  std::string describe() const override { return "dpdk:" + path_; }
  TableChange load_table(const std::string &snapshot_path) override;
  TableChange apply_delta(const std::string &delta_path) override;
  uint32_t set_policy(const std::string &policy_path) override;
  DataplaneStats stats() override;
  std::vector<DataplaneFlow> flows(size_t limit) override;

  // One raw request/reply; throws DataplaneError on transport errors or {"ok": false}.
  nlohmann::json call(const nlohmann::json &request);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace sluice::control
