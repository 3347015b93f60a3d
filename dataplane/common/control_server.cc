#include "control_server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <stdexcept>
#include <vector>

namespace sluice::dataplane {
namespace {

using Clock = std::chrono::steady_clock;

std::string errstr(int e) {
  return std::strerror(e);
}

sockaddr_un address_of(const std::string &path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    throw std::runtime_error("control socket path empty or too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Whether something accepts connections at `path` (a live socket).
bool socket_is_live(const sockaddr_un &addr, int &err) {
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

std::string frame_of(const std::string &body) {
  std::string frame(4, '\0');
  const auto n = static_cast<uint32_t>(body.size());
  frame[0] = static_cast<char>(n >> 24);
  frame[1] = static_cast<char>(n >> 16);
  frame[2] = static_cast<char>(n >> 8);
  frame[3] = static_cast<char>(n);
  return frame + body;
}

// A frame written without waiting (the socket is non-blocking): for a refusal before closing.
void send_now(int fd, const std::string &body) {
  const std::string frame = frame_of(body);
  [[maybe_unused]] const ssize_t r =
      ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

struct Client {
  int fd = -1;
  proto::FrameDecoder in;
  std::string out;  // encoded reply frame still to send
  size_t out_off = 0;
  int file_fd = -1;          // file passed with the request being read
  bool close_after = false;  // close once `out` is sent
  Clock::time_point since;   // start of the current phase (partial request, reply, idle)

  explicit Client(int f, uint32_t max) : fd(f), in(max), since(Clock::now()) {}
  ~Client() {
    if (file_fd >= 0) ::close(file_fd);
    if (fd >= 0) ::close(fd);
  }
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;
};

}  // namespace

ControlServer::ControlServer(std::string path, Handler handler, ControlAccess access,
                             ControlLimits limits, std::function<void()> on_thread_start)
    : path_(std::move(path)), handler_(std::move(handler)), access_(access), limits_(limits) {
  if ((access_.mode & ~mode_t{0777}) != 0)
    throw std::runtime_error("control socket mode must be within 0777");
  const sockaddr_un addr = address_of(path_);
  // Never take over or delete what is not a stale socket.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("control socket " + path_ +
                               ": exists and is not a socket; not replacing it");
    int err = 0;
    if (socket_is_live(addr, err))
      throw std::runtime_error("control socket " + path_ +
                               ": another process is listening there (a second sluice-dp?)");
    if (err != ECONNREFUSED)
      throw std::runtime_error("control socket " + path_ + ": cannot tell whether it is in use (" +
                               errstr(err) + "); not replacing it");
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error("control socket " + path_ +
                               ": cannot remove the stale socket: " + errstr(errno));
  } else if (errno != ENOENT) {
    throw std::runtime_error("control socket " + path_ + ": " + errstr(errno));
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error("control socket: " + errstr(errno));
  auto fail = [&](const std::string &what) {
    const std::string err = errstr(errno);
    ::close(listen_fd_);
    throw std::runtime_error("control socket " + path_ + ": " + what + ": " + err);
  };
  // The socket inode's mode before bind caps the file's mode (the umask still applies), so the
  // file is never more open than asked, even for an instant.
  if (::fchmod(listen_fd_, access_.mode) != 0) fail("fchmod");
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) != 0)
    fail("bind");
  struct stat mine {};
  if (::lstat(path_.c_str(), &mine) != 0 || !S_ISSOCK(mine.st_mode)) fail("lstat after bind");
  dev_ = mine.st_dev;
  ino_ = mine.st_ino;
  auto unlink_ours = [&] {
    struct stat now {};
    if (::lstat(path_.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) && now.st_dev == dev_ &&
        now.st_ino == ino_)
      ::unlink(path_.c_str());
  };
  // Not listening yet: nobody can connect while the group and mode are set.
  if (access_.group && ::lchown(path_.c_str(), static_cast<uid_t>(-1), *access_.group) != 0) {
    const int e = errno;
    unlink_ours();
    errno = e;
    fail("chown");
  }
  if (::chmod(path_.c_str(), access_.mode) != 0 || ::lstat(path_.c_str(), &mine) != 0 ||
      mine.st_ino != ino_ || mine.st_dev != dev_) {
    const int e = errno;
    unlink_ours();
    errno = e;
    fail("chmod");
  }
  if (::listen(listen_fd_, 64) != 0) {
    const int e = errno;
    unlink_ours();
    errno = e;
    fail("listen");
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int e = errno;
    unlink_ours();
    errno = e;
    fail("eventfd");
  }
  thread_ = std::thread([this, start = std::move(on_thread_start)] {
    if (start) start();
    loop();
  });
}

ControlServer::~ControlServer() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev_ &&
      st.st_ino == ino_)
    ::unlink(path_.c_str());
}

std::string ControlServer::handle_body(const std::string &body, int file_fd) {
  return dispatch_request(handler_, body, file_fd, proto::kMaxMessage);
}

nlohmann::json ControlServer::counters_json() const {
  return {{"accepted", counters_.accepted.load()},   {"refused", counters_.refused.load()},
          {"too_many", counters_.too_many.load()},   {"timeouts", counters_.timeouts.load()},
          {"oversized", counters_.oversized.load()}, {"requests", counters_.requests.load()}};
}

bool ControlServer::peer_allowed(uid_t uid, gid_t gid) const {
  if (uid == 0 || uid == ::geteuid()) return true;
  if (!access_.group) return false;
  if (gid == *access_.group) return true;
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
  return std::find(groups.begin(), groups.end(), *access_.group) != groups.end();
}

void ControlServer::loop() {
  std::list<Client> clients;
  std::vector<pollfd> fds;
  std::vector<Client *> polled;
  std::vector<char> buf(64 * 1024);

  auto accept_one = [&] {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return false;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        !peer_allowed(cred.uid, cred.gid)) {
      ++counters_.refused;
      send_now(fd,
               error_reply("permission denied: uid " + std::to_string(cred.uid) + " is not root" +
                           (access_.group ? " and not in the control group" : "")));
      ::close(fd);
      return true;
    }
    if (clients.size() >= limits_.max_clients) {
      ++counters_.too_many;
      send_now(fd, error_reply("too many control clients (" + std::to_string(limits_.max_clients) +
                               "); try again"));
      ::close(fd);
      return true;
    }
    ++counters_.accepted;
    clients.emplace_back(fd, limits_.max_request);
    return true;
  };

  // Handles every complete request buffered for `c` while no reply is pending.
  auto serve = [&](Client &c) {
    std::string body;
    bool handled = false;
    while (c.out.empty() && !c.close_after) {
      const proto::ReadStatus st = c.in.next(body);
      if (st == proto::ReadStatus::kClosed) break;
      if (st == proto::ReadStatus::kTooLarge) {
        ++counters_.oversized;
        c.out = frame_of(error_reply("request of " + std::to_string(c.in.announced()) +
                                     " bytes exceeds the " + std::to_string(limits_.max_request) +
                                     "-byte limit; closing the connection"));
        c.close_after = true;
        handled = true;
        break;
      }
      ++counters_.requests;
      handled = true;
      const int file = c.file_fd;
      c.file_fd = -1;
      c.out = frame_of(dispatch_request(handler_, body, file, proto::kMaxMessage));
      if (file >= 0) ::close(file);
      if (stop_) break;
    }
    c.out_off = 0;
    if (handled) c.since = Clock::now();  // the reply's time starts (or the next request's)
  };

  // Reads what is there (and any file passed with it); false when the client is gone.
  auto read_some = [&](Client &c) {
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    const ssize_t r = ::recvmsg(c.fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (r < 0) return errno == EAGAIN || errno == EINTR;
    for (cmsghdr *h = CMSG_FIRSTHDR(&msg); h != nullptr; h = CMSG_NXTHDR(&msg, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      const size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
        if (c.file_fd < 0)
          c.file_fd = fd;  // one file per request; extras are closed
        else
          ::close(fd);
      }
    }
    if (r == 0) return false;
    if (!c.in.partial()) c.since = Clock::now();  // a new request starts: its time runs
    c.in.feed(std::string_view(buf.data(), static_cast<size_t>(r)));
    serve(c);
    return true;
  };

  auto write_some = [&](Client &c) {
    while (c.out_off < c.out.size()) {
      const ssize_t w = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) return errno == EAGAIN || errno == EINTR;
      c.out_off += static_cast<size_t>(w);
    }
    c.out.clear();
    c.out_off = 0;
    if (c.close_after) return false;
    c.since = Clock::now();
    serve(c);  // requests that arrived while the reply was pending
    return true;
  };

  // When the client's current phase ends: partial request, reply pending, or idle.
  auto deadline = [&](const Client &c) {
    if (!c.out.empty()) return c.since + limits_.reply_timeout;
    if (c.in.partial()) return c.since + limits_.request_timeout;
    return c.since + limits_.idle_timeout;
  };

  while (!stop_) {
    fds.clear();
    polled.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    auto next = Clock::now() + std::chrono::seconds(1);
    for (Client &c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      polled.push_back(&c);
      next = std::min(next, deadline(c));
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count() + 1;
    const int r =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<int64_t>(wait, 0, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (stop_) break;
    if (r > 0 && (fds[1].revents & POLLIN) != 0)
      for (int i = 0; i < 16 && accept_one(); ++i) {
      }
    std::vector<Client *> gone;
    for (size_t i = 0; i < polled.size(); ++i) {
      Client &c = *polled[i];
      const short ev = fds[i + 2].revents;
      bool keep = true;
      if ((ev & (POLLERR | POLLNVAL)) != 0)
        keep = false;
      else if (!c.out.empty() && (ev & (POLLOUT | POLLHUP)) != 0)
        keep = write_some(c);
      else if (c.out.empty() && (ev & (POLLIN | POLLHUP)) != 0)
        keep = read_some(c);
      if (keep && !c.out.empty() && (ev & POLLOUT) == 0) keep = write_some(c);  // fresh reply
      if (keep && Clock::now() >= deadline(c)) {
        if (!c.out.empty() || c.in.partial()) {
          ++counters_.timeouts;
          if (c.out.empty())
            send_now(c.fd, error_reply("request not completed within the time limit"));
        }
        keep = false;
      }
      if (!keep) gone.push_back(&c);
    }
    for (Client *g : gone) clients.remove_if([g](const Client &c) { return &c == g; });
  }
}

}  // namespace sluice::dataplane
