#include "policy_server.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace sluice::sluiced::policy {
namespace {

constexpr int kEventsPerCall = 256;
constexpr int kAcceptsPerCall = 64;
constexpr int kListenBacklog = 256;
constexpr size_t kReadChunk = 16384;
constexpr size_t kCompactAt = 4096;  // drop consumed input once this much of it piles up

std::string errstr(int e) {
  return std::strerror(e);
}

// Whether something accepts connections at the unix address (another sluiced).
bool unix_socket_live(const sockaddr_un &addr, int &err) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    err = errno;
    return false;
  }
  const int r = ::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr));
  err = r == 0 ? 0 : errno;
  ::close(fd);
  return r == 0 || err == EAGAIN || err == EINPROGRESS;
}

std::string peer_of_inet(const sockaddr_storage &ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto *s4 = reinterpret_cast<const sockaddr_in *>(&ss);
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto *s6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
  inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
  port = ntohs(s6->sin6_port);
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
  // "[" + std::string(...).
  std::string out = "[";
  out.append(host).append("]:").append(std::to_string(port));
  return out;
}

}  // namespace

PolicyServer::PolicyServer(const Listen &listen, mode_t mode, std::optional<gid_t> group,
                           ServerLimits limits, Handler handler, RefusalFn on_refusal)
    : listen_(listen),
      group_(group),
      limits_(limits),
      handler_(std::move(handler)),
      on_refusal_(std::move(on_refusal)) {
  const std::string where = "policy service " + listen_.text();
  auto fail = [&](const std::string &what, int e) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    throw ServerError(where + ": " + what + ": " + errstr(e));
  };
  if (listen_.kind == Listen::Kind::kUnix) {
    if ((mode & ~mode_t{0777}) != 0) throw ServerError(where + ": mode must be within 0777");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listen_.path.empty() || listen_.path.size() >= sizeof(addr.sun_path))
      throw ServerError(where + ": path empty or too long");
    std::memcpy(addr.sun_path, listen_.path.c_str(), listen_.path.size() + 1);
    const std::string dir = std::filesystem::path(listen_.path).parent_path().string();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
    }
    struct stat st {};
    if (::lstat(listen_.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw ServerError(where + ": exists and is not a socket; not replacing it");
      int err = 0;
      if (unix_socket_live(addr, err))
        throw ServerError(where + ": another process is listening there; not replacing it");
      if (err != ECONNREFUSED)
        throw ServerError(where + ": cannot tell whether it is in use (" + errstr(err) +
                          "); not replacing it");
      if (::unlink(listen_.path.c_str()) != 0 && errno != ENOENT)
        throw ServerError(where + ": cannot remove the stale socket: " + errstr(errno));
    } else if (errno != ENOENT) {
      throw ServerError(where + ": " + errstr(errno));
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) fail("socket", errno);
    // The mode before bind caps the file's mode, so it is never more open than asked.
    if (::fchmod(listen_fd_, mode) != 0) fail("fchmod", errno);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) != 0)
      fail("bind", errno);
    struct stat mine {};
    if (::lstat(listen_.path.c_str(), &mine) != 0 || !S_ISSOCK(mine.st_mode))
      fail("lstat after bind", errno);
    dev_ = mine.st_dev;
    ino_ = mine.st_ino;
    auto unlink_and_fail = [&](const std::string &what) {
      const int e = errno;
      struct stat now {};
      if (::lstat(listen_.path.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) && now.st_dev == dev_ &&
          now.st_ino == ino_)
        ::unlink(listen_.path.c_str());
      fail(what, e);
    };
    // Not listening yet: nobody connects while the group and mode are set.
    if (group_ && ::lchown(listen_.path.c_str(), static_cast<uid_t>(-1), *group_) != 0)
      unlink_and_fail("chown");
    if (::chmod(listen_.path.c_str(), mode) != 0) unlink_and_fail("chmod");
    if (::listen(listen_fd_, kListenBacklog) != 0) unlink_and_fail("listen");
  } else {
    const bool v6 = listen_.host.find(':') != std::string::npos;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v6) {
      auto *s6 = reinterpret_cast<sockaddr_in6 *>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(listen_.port);
      inet_pton(AF_INET6, listen_.host.c_str(), &s6->sin6_addr);
      len = sizeof(*s6);
    } else {
      auto *s4 = reinterpret_cast<sockaddr_in *>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(listen_.port);
      inet_pton(AF_INET, listen_.host.c_str(), &s4->sin_addr);
      len = sizeof(*s4);
    }
    listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) fail("socket", errno);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&ss), len) != 0) fail("bind", errno);
    if (::listen(listen_fd_, kListenBacklog) != 0) fail("listen", errno);
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&bound), &blen);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                     : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    const int e = errno;
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    epoll_fd_ = -1;
    if (listen_.kind == Listen::Kind::kUnix) ::unlink(listen_.path.c_str());
    fail("epoll", e);
  }
}

PolicyServer::~PolicyServer() {
  for (auto &[fd, c] : clients_) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (listen_.kind == Listen::Kind::kUnix) {
    struct stat st {};
    if (::lstat(listen_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ &&
        st.st_ino == ino_)
      ::unlink(listen_.path.c_str());
  }
}

bool PolicyServer::peer_allowed(uid_t uid, gid_t gid) const {
  if (uid == 0 || uid == ::geteuid()) return true;
  if (!group_) return false;
  if (gid == *group_) return true;
  // Supplementary groups of the peer's user (SO_PEERCRED carries only the primary group).
  passwd pw{}, *res = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) return false;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  }
  groups.resize(static_cast<size_t>(n));
  return std::find(groups.begin(), groups.end(), *group_) != groups.end();
}

void PolicyServer::on_ready(Clock::time_point now) {
  epoll_event events[kEventsPerCall];
  const int n = ::epoll_wait(epoll_fd_, events, kEventsPerCall, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd_)
      accept_all(now);
    else if (clients_.count(fd) != 0)
      on_client(fd, events[i].events, now);
  }
}

void PolicyServer::expire(Clock::time_point now) {
  std::vector<int> late;
  for (const auto &[fd, c] : clients_)
    if (c.deadline <= now) late.push_back(fd);
  for (int fd : late) {
    ++counters_.timeouts;
    close_client(fd);
  }
}

void PolicyServer::evict_one() {
  // The connection idle the longest; else the one whose request started the earliest.
  int victim = -1;
  Clock::time_point best = Clock::time_point::max();
  for (const auto &[fd, c] : clients_)
    if (!c.busy && c.last_active < best) {
      best = c.last_active;
      victim = fd;
    }
  if (victim < 0)
    for (const auto &[fd, c] : clients_)
      if (c.busy_since < best) {
        best = c.busy_since;
        victim = fd;
      }
  if (victim < 0) return;
  ++counters_.evicted;
  close_client(victim);
}

void PolicyServer::accept_all(Clock::time_point now) {
  for (int i = 0; i < kAcceptsPerCall; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr *>(&ss), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or an error the next readiness retries
    std::string peer;
    if (listen_.kind == Listen::Kind::kUnix) {
      ucred cred{};
      socklen_t clen = sizeof cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
          !peer_allowed(cred.uid, cred.gid)) {
        ++counters_.refused_peer;
        ::close(fd);
        continue;
      }
      peer = "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
    } else {
      peer = peer_of_inet(ss);
    }
    ++counters_.connections;
    if (clients_.size() >= limits_.max_clients) evict_one();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    Client c;
    c.deadline = now + limits_.idle_timeout;
    c.last_active = now;
    c.peer = std::move(peer);
    clients_.emplace(fd, std::move(c));
  }
}

void PolicyServer::on_client(int fd, uint32_t events, Clock::time_point now) {
  Client &c = clients_.at(fd);
  if ((events & EPOLLOUT) && c.writing) {
    if (!flush(fd, c)) {
      close_client(fd);
      return;
    }
  }
  bool eof = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (c.reading && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
    size_t got = 0;
    char buf[kReadChunk];
    while (got < kReadPerCall) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
        // Never hold more than one request's limit of unparsed input.
        if (c.in.size() - c.in_off > limits_.request.max_request_bytes) break;
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
      break;
    }
    if (got > 0) c.last_active = now;
  }
  if (!serve(fd, c, now)) {
    close_client(fd);
    return;
  }
  if (eof) {
    // The peer is gone (or half-closed): what it sent whole was answered above.
    close_client(fd);
    return;
  }
  update_interest(fd, c);
}

bool PolicyServer::serve(int fd, Client &c, Clock::time_point now) {
  bool completed = false;
  while (c.out.size() - c.out_off < kMaxPendingReply) {
    const std::string_view pending(c.in.data() + c.in_off, c.in.size() - c.in_off);
    if (pending.empty()) break;
    ParseResult r =
        parse_policy_request(pending, limits_.request, c.resume ? &c.progress : nullptr);
    if (r.status == ParseStatus::kNeedMore) {
      // Only the unfinished line is read again when more arrives.
      c.progress = std::move(r.progress);
      c.resume = true;
      break;
    }
    c.resume = false;
    if (r.status == ParseStatus::kRefused) {
      ++counters_.refused_requests;
      if (on_refusal_) on_refusal_(r.refusal, r.detail, c.peer);
      flush(fd, c);  // the replies to its earlier requests, if the socket takes them now
      return false;
    }
    handler_(r.request, c.out);
    c.in_off += r.consumed;
    completed = true;
  }
  if (c.in_off == c.in.size()) {
    c.in.clear();
    c.in_off = 0;
  } else if (c.in_off >= kCompactAt) {
    c.in.erase(0, c.in_off);
    c.in_off = 0;
  }
  if (c.out_off < c.out.size() && !flush(fd, c)) return false;
  const bool busy = !c.in.empty() || c.out_off < c.out.size();
  if (busy && (!c.busy || completed)) {
    c.busy_since = now;
    c.deadline = now + limits_.request_timeout;
  } else if (!busy) {
    c.deadline = now + limits_.idle_timeout;
  }
  c.busy = busy;
  return true;
}

bool PolicyServer::flush(int fd, Client &c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n =
        ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  return true;
}

void PolicyServer::update_interest(int fd, Client &c) {
  // Too many replies waiting: stop reading until they are taken.
  const bool want_out = c.out_off < c.out.size();
  const bool want_in = c.out.size() - c.out_off < kMaxPendingReply;
  if (want_out == c.writing && want_in == c.reading) return;
  c.writing = want_out;
  c.reading = want_in;
  epoll_event ev{};
  ev.events =
      (want_in ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (want_out ? uint32_t{EPOLLOUT} : 0u);
  ev.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void PolicyServer::close_client(int fd) {
  const auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  clients_.erase(it);
}

}  // namespace sluice::sluiced::policy
