// The control plane's client for the XDP data plane: `--dataplane xdp:NAME` works on the pinned
// maps of the instance attached by `sluice-xdp attach --name NAME`. No daemon in between: each
// call opens the pins, changes the maps and closes them.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "dataplane_client.h"

namespace sluice::control {

class XdpClient : public DataplaneClient {
 public:
  // Throws DataplaneError if no instance of that name is attached.
  explicit XdpClient(std::string name);
  ~XdpClient() override;  // waits for a standby preparation under way
  XdpClient(const XdpClient &) = delete;
  XdpClient &operator=(const XdpClient &) = delete;
  std::string describe() const override { return "xdp:" + name_; }
  TableChange load_table(const std::string &snapshot_path) override;
  TableChange apply_delta(const std::string &delta_path) override;
  uint32_t set_policy(const std::string &policy_path) override;
  DataplaneStats stats() override;
  RunningVersions versions() override;
  std::vector<DataplaneFlow> flows(size_t limit) override;
  // The instance's heavy_table and heavy_sketch maps, every CPU's entries and sketch summed
  // (xdp::heavy_senders, heavy::HeavyMerge): the `limit` heaviest prefixes, heaviest first.
  std::vector<HeavySender> heavy_senders(size_t limit) override;
  // The event entries of the same maps (xdp::pregreet_senders), summed over CPUs.
  std::vector<PregreetSender> pregreet_senders(size_t limit) override;
  // The fan-out entries of verdict_table (xdp::fanout_senders), summed over CPUs.
  std::vector<FanoutSender> fanout_senders(size_t limit) override;
  // The entries of verdict_table (xdp::verdict_senders), summed over CPUs.
  std::vector<VerdictSender> verdict_senders(size_t limit) override;

 private:
  std::string name_;
  // After each full load, xdp::prepare_standby in this thread: the load is acknowledged at its
  // flip, and the next delta (which waits for the preparation if it comes sooner) writes only
  // its own entries instead of the whole inactive set.
  std::thread standby_;
};

// Registers the "xdp" scheme with connect_dataplane (also done at start-up by xdp_client.cc).
void register_xdp_dataplane();

}  // namespace sluice::control
