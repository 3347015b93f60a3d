#include "netdev_link.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sluice_error.h"

namespace sluice::link {
namespace {

struct Sock {
  int fd;
  Sock() : fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Sock() {
    if (fd >= 0) ::close(fd);
  }
};

std::string name_of(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) != nullptr ? std::string(buf) : std::string();
}

// The interface's flags; 0 if it is gone.
unsigned flags_of(uint32_t ifindex) {
  const std::string name = name_of(ifindex);
  Sock s;
  if (name.empty() || s.fd < 0) return 0;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);  // an interface name: < IF_NAMESIZE
  if (::ioctl(s.fd, SIOCGIFFLAGS, &ifr) != 0) return 0;
  return static_cast<unsigned short>(ifr.ifr_flags);
}

}  // namespace

bool netdev_admin_up(uint32_t ifindex) {
  return (flags_of(ifindex) & IFF_UP) != 0;
}

bool netdev_link_up(uint32_t ifindex) {
  const unsigned flags = flags_of(ifindex);
  // IFF_LOWER_UP is not in the 16-bit ifr_flags; IFF_RUNNING (operstate up) follows the
  // carrier for the devices we run on (veth, physical NICs) and needs IFF_UP.
  return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

void netdev_set_admin(uint32_t ifindex, bool up) {
  const std::string name = name_of(ifindex);
  if (name.empty())
    throw Error("interface with ifindex " + std::to_string(ifindex) + " does not exist");
  Sock s;
  if (s.fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);  // an interface name: < IF_NAMESIZE
  if (::ioctl(s.fd, SIOCGIFFLAGS, &ifr) != 0)
    throw Error("cannot read the flags of " + name + ": " + std::strerror(errno));
  if (up)
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  else
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
  if (::ioctl(s.fd, SIOCSIFFLAGS, &ifr) != 0)
    throw Error("cannot set " + name + (up ? " up: " : " down: ") + std::strerror(errno));
}

LinkEvents::LinkEvents() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd_ < 0) throw Error(std::string("netlink socket: ") + std::strerror(errno));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (::bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd_);
    throw Error(std::string("netlink bind (RTMGRP_LINK): ") + std::strerror(e));
  }
}

LinkEvents::~LinkEvents() {
  if (fd_ >= 0) ::close(fd_);
}

bool LinkEvents::wait(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  const int n = ::poll(&p, 1, timeout_ms);
  if (n <= 0) return false;
  bool any = false;
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == ENOBUFS) {  // overrun: some lost, the caller re-reads every state
        any = true;
        continue;
      }
      break;  // EAGAIN: drained
    }
    // Only link messages are subscribed to; any of them is a reason to look.
    // Walked by hand: NLMSG_OK compares a signed with an unsigned length (clang -Wsign-compare).
    size_t left = static_cast<size_t>(got);
    for (const char *p = buf; left >= sizeof(nlmsghdr);) {
      const auto *h = reinterpret_cast<const nlmsghdr *>(p);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > left) break;
      if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) any = true;
      const size_t step = NLMSG_ALIGN(h->nlmsg_len);
      if (step >= left) break;
      p += step;
      left -= step;
    }
  }
  return any;
}

}  // namespace sluice::link
