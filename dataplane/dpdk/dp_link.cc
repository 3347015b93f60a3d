#include "dp_link.h"

#include <pthread.h>
#include <rte_ethdev.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "link_mirror.h"
#include "netdev_link.h"
#include "sluice_error.h"

namespace sluice::dataplane {
namespace {

bool kernel_owned(const char *driver) {
  return std::strcmp(driver, "net_af_packet") == 0 || std::strcmp(driver, "net_af_xdp") == 0;
}

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

PortLinks::PortLinks(uint16_t outside, uint16_t inside, uint32_t settle_ms, Log log)
    : settle_ms_(settle_ms), log_(std::move(log)) {
  const uint16_t ids[2] = {outside, inside};
  const char *roles[2] = {"outside", "inside"};
  for (int i = 0; i < 2; ++i) {
    LinkPort &p = ports_[i];
    p.port = ids[i];
    p.role = roles[i];
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(p.port, &info) != 0)
      throw std::runtime_error(std::string("port ") + std::to_string(p.port) + ": device info");
    if (kernel_owned(info.driver_name)) {
      if (info.if_index == 0)
        throw std::runtime_error(std::string(p.role) + " port (" + info.driver_name +
                                 ") names no kernel interface: cannot watch its link");
      p.ifindex = info.if_index;
      if (!link::netdev_admin_up(p.ifindex)) {
        link::netdev_set_admin(p.ifindex, true);
        log_(std::string(p.role) + " interface was administratively down: brought up");
      }
    } else {
      // Already up after start: asking again only tells whether the PMD can do it at all.
      const int rc = rte_eth_dev_set_link_up(p.port);
      p.can_set = rc != -ENOTSUP;
      if (!p.can_set)
        log_(std::string(p.role) + " port (" + info.driver_name +
             ") cannot set its link down: it is never taken down (no propagation towards it)");
    }
  }
}

PortLinks::~PortLinks() {
  stop();
}

bool PortLinks::link_up(int i) const {
  const LinkPort &p = ports_[i];
  if (p.ifindex != 0) return link::netdev_link_up(p.ifindex);
  rte_eth_link l{};
  if (rte_eth_link_get_nowait(p.port, &l) != 0) return true;  // unknown: no action
  return l.link_status == RTE_ETH_LINK_UP;
}

void PortLinks::set(int i, bool up) {
  const LinkPort &p = ports_[i];
  if (p.ifindex != 0) {
    link::netdev_set_admin(p.ifindex, up);
    return;
  }
  if (!p.can_set) return;
  const int rc = up ? rte_eth_dev_set_link_up(p.port) : rte_eth_dev_set_link_down(p.port);
  if (rc != 0)
    throw std::runtime_error(std::string("cannot set the ") + p.role + " port's link " +
                             (up ? "up: " : "down: ") + rte_strerror(-rc));
}

void PortLinks::start(const cpu_set_t &cpus) {
  thread_ = std::thread([this, cpus] {
    pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
    pthread_setname_np(pthread_self(), "sluice-links");
    loop();
  });
}

void PortLinks::stop() {
  quit_.store(true);
  if (thread_.joinable()) thread_.join();
}

void PortLinks::loop() {
  const bool any_kernel = ports_[0].ifindex != 0 || ports_[1].ifindex != 0;
  // Kernel-owned ports wake us on a notification; DPDK-owned ones are polled. Either way the
  // states are re-read at least every 100 ms, which also bounds how long stop() waits.
  constexpr int kWaitMs = 100;
  std::unique_ptr<link::LinkEvents> events;
  if (any_kernel) events = std::make_unique<link::LinkEvents>();
  link::LinkMirror mirror(uint64_t{settle_ms_} * 1'000'000);
  while (!quit_.load()) {
    try {
      for (int guard = 0; guard < 4; ++guard) {
        const bool up[2] = {link_up(0), link_up(1)};
        const auto step = mirror.update(up, now_ns());
        if (!step) break;
        set(step->port, step->up);
        const LinkPort &o = ports_[1 - step->port];
        log_(std::string(o.role) + " link " + (step->up ? "up: " : "down: ") +
             ports_[step->port].role + (step->up ? " brought back up" : " taken down"));
      }
    } catch (const std::exception &e) {
      log_(std::string("link propagation: ") + e.what());
    }
    if (events)
      events->wait(kWaitMs);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(kWaitMs));
  }
  for (int i = 0; i < 2; ++i)
    if (mirror.held(i)) {
      try {
        set(i, true);
        log_(std::string(ports_[i].role) + " brought back up (sluice-dp stops)");
      } catch (const std::exception &e) {
        log_(e.what());
      }
    }
}

}  // namespace sluice::dataplane
