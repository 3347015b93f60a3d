// Link state of kernel network interfaces, for link-state propagation on ports the kernel owns
// (XDP on any interface; sluice-dp's net_af_packet and net_af_xdp ports). Interfaces are named
// by ifindex (stable across renames) in the calling process's network namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::link {

// Up: administratively up (IFF_UP) with carrier (IFF_LOWER_UP). False if the interface is gone.
bool netdev_link_up(uint32_t ifindex);

// Administratively up (IFF_UP), whatever the carrier. False if the interface is gone.
bool netdev_admin_up(uint32_t ifindex);

// Sets the interface administratively up or down (its peer, across a cable or a veth pair,
// then sees carrier come or go). Throws sluice::Error naming the interface and the reason.
void netdev_set_admin(uint32_t ifindex, bool up);

// When the interface is one end of a veth pair whose other end is in the same namespace: that
// end's ifindex. nullopt for any other interface (or one that is gone). Throws sluice::Error
// when the kernel cannot be asked (no netlink socket).
std::optional<uint32_t> netdev_veth_peer(uint32_t ifindex);

// A subscription to the kernel's link notifications (rtnetlink RTM_NEWLINK/RTM_DELLINK, group
// RTNLGRP_LINK). It only wakes the caller: the states are read afresh with netdev_link_up().
class LinkEvents {
 public:
  LinkEvents();  // throws sluice::Error
  ~LinkEvents();
  LinkEvents(const LinkEvents &) = delete;
  LinkEvents &operator=(const LinkEvents &) = delete;

  // Waits up to timeout_ms for notifications and drains them. True if any arrived (or the
  // socket overran, which may have lost some: the caller re-reads every state either way).
  bool wait(int timeout_ms);

 private:
  int fd_ = -1;
};

}  // namespace sluice::link
