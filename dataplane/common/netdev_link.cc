#include "netdev_link.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
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

namespace {

// The attributes of one rtnetlink message, walked by hand: RTA_OK compares a signed with an
// unsigned length (clang -Wsign-compare). f(type, payload, length) for each, the payload
// bounded by the message.
template <typename F>
void for_each_attr(const char *p, size_t left, F f) {
  while (left >= sizeof(rtattr)) {
    const auto *a = reinterpret_cast<const rtattr *>(p);
    if (a->rta_len < sizeof(rtattr) || a->rta_len > left) return;
    f(a->rta_type & NLA_TYPE_MASK, p + RTA_LENGTH(0), a->rta_len - RTA_LENGTH(0));
    const size_t step = RTA_ALIGN(a->rta_len);
    if (step >= left) return;
    p += step;
    left -= step;
  }
}

}  // namespace

std::optional<uint32_t> netdev_veth_peer(uint32_t ifindex) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw Error(std::string("netlink socket: ") + std::strerror(errno));
  struct {
    nlmsghdr h;
    ifinfomsg i;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = 1;
  req.i.ifi_family = AF_UNSPEC;
  req.i.ifi_index = static_cast<int>(ifindex);
  // One reply, within a second; nothing on the packet path waits for it.
  const timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  alignas(nlmsghdr) char buf[16384];
  ssize_t got = -1;
  if (::send(fd, &req, sizeof req, 0) == static_cast<ssize_t>(sizeof req))
    got = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  if (got < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(ifinfomsg)))) return std::nullopt;
  const auto *h = reinterpret_cast<const nlmsghdr *>(buf);
  if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len > static_cast<size_t>(got) ||
      h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg)))
    return std::nullopt;  // NLMSG_ERROR: no such interface
  const auto *info = reinterpret_cast<const ifinfomsg *>(NLMSG_DATA(h));
  if (info->ifi_index != static_cast<int>(ifindex)) return std::nullopt;
  std::optional<uint32_t> link;
  bool other_namespace = false, veth = false;
  const char *attrs = buf + NLMSG_LENGTH(sizeof(ifinfomsg));
  for_each_attr(attrs, h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)),
                [&](unsigned type, const char *data, size_t len) {
                  if (type == IFLA_LINK && len >= sizeof(uint32_t)) {
                    uint32_t v;
                    std::memcpy(&v, data, sizeof v);
                    link = v;
                  } else if (type == IFLA_LINK_NETNSID) {
                    other_namespace = true;  // the peer's ifindex is another namespace's
                  } else if (type == IFLA_LINKINFO) {
                    for_each_attr(data, len, [&](unsigned t, const char *d, size_t l) {
                      veth = veth || (t == IFLA_INFO_KIND && l >= 4 &&
                                      std::memcmp(d, "veth", 4) == 0 && (l == 4 || d[4] == '\0'));
                    });
                  }
                });
  if (!veth || other_namespace || !link || *link == 0 || *link == ifindex) return std::nullopt;
  return link;
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
