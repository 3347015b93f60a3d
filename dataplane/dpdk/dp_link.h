// sluice-dp's link-state propagation (docs/deployment.md, "Link state"): a housekeeping
// thread, never the lcores, watches both ports' links and takes the other port down when one
// loses its link, and back up when it returns (link::LinkMirror decides).
//
// How a port's link is read and set depends on who owns the device:
//   - kernel-owned (net_af_packet, net_af_xdp: the PMD names a kernel interface): the
//     interface's flags (IFF_UP, IFF_RUNNING), woken by rtnetlink link notifications, and
//     set administratively down/up. DPDK 22.11's net_af_packet neither reports the interface's
//     carrier (its link is "up" from start to stop) nor implements rte_eth_dev_set_link_down.
//   - DPDK-owned (vfio-pci NICs): rte_eth_link_get_nowait, polled every 100 ms, and
//     rte_eth_dev_set_link_down/up. A PMD without set_link_down is reported at start-up and
//     its port is never taken down (propagation towards it is off; the other way still works).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace sluice::dataplane {

struct LinkPort {
  uint16_t port = 0;
  const char *role = "";  // "outside" / "inside", for the log
  uint32_t ifindex = 0;   // kernel-owned: its interface; 0: DPDK-owned
  bool can_set = true;    // DPDK-owned: the PMD implements set_link_down/up
};

class PortLinks {
 public:
  using Log = std::function<void(const std::string &)>;
  // Finds how each port's link is read and set, and brings up a kernel-owned port left
  // administratively down (by a sluice-dp killed while holding it). Throws std::runtime_error.
  PortLinks(uint16_t outside, uint16_t inside, uint32_t settle_ms, Log log);
  ~PortLinks();  // stop()
  PortLinks(const PortLinks &) = delete;
  PortLinks &operator=(const PortLinks &) = delete;

  // Starts the housekeeping thread on `cpus` (not the lcores').
  void start(const cpu_set_t &cpus);
  // Ends it and brings back up any port it took down.
  void stop();

  const LinkPort &port(int i) const { return ports_[i]; }

 private:
  bool link_up(int i) const;
  void set(int i, bool up);
  void loop();

  LinkPort ports_[2];
  uint32_t settle_ms_;
  Log log_;
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace sluice::dataplane
