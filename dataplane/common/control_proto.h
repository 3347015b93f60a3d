// The sluice-dp control protocol framing (docs/dataplane-dpdk.md, "Control socket"): over a
// Unix stream socket, each message is a 4-byte big-endian length followed by that many bytes
// of UTF-8 JSON. One request, one reply, in order. A request that names a file carries the open
// file itself as SCM_RIGHTS ancillary data on its bytes (at most one per request). Shared by
// the server (sluice-dp) and the client library (control/dpdk_client).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::dataplane::proto {

inline constexpr uint32_t kMaxMessage = 1u << 20;  // larger requests are refused, replies never

// Waits until a non-blocking fd is ready for `events` (POLLIN, POLLOUT) or the deadline passes
// (false). EINTR is retried. The clients' deadline-bound request loops (sluice-dp's, sluiced's).
inline bool wait_ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// A non-blocking stream socket connected to the Unix socket at `path`, or -1 with `why` set:
// "path empty or too long", "timed out" or the error. A full backlog (EAGAIN: the server is
// alive but busy) is retried every 10 ms until the deadline. Both clients' connect (sluice-dp's,
// sluiced's); each words its own error around `why`.
inline int connect_unix(const std::string &path, std::chrono::steady_clock::time_point deadline,
                        std::string &why) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    why = "path empty or too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  for (;;) {
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0) return fd;
    if (errno == EAGAIN && std::chrono::steady_clock::now() < deadline) {
      ::usleep(10000);
      continue;
    }
    why = errno == EAGAIN ? "timed out" : std::strerror(errno);
    ::close(fd);
    return -1;
  }
}

// Full read/write or false (EOF, error). EINTR is retried.
inline bool read_all(int fd, void *buf, size_t n) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

inline bool write_all(int fd, const void *buf, size_t n) {
  const auto *p = static_cast<const char *>(buf);
  while (n > 0) {
    const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

inline bool write_frame(int fd, const std::string &body) {
  if (body.size() > kMaxMessage) return false;
  const auto n = static_cast<uint32_t>(body.size());
  const unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                                static_cast<unsigned char>(n >> 16),
                                static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  return write_all(fd, len, 4) && write_all(fd, body.data(), body.size());
}

enum class ReadStatus { kOk, kClosed, kTooLarge };

inline ReadStatus read_frame(int fd, std::string &body, uint32_t max = kMaxMessage) {
  unsigned char len[4];
  if (!read_all(fd, len, 4)) return ReadStatus::kClosed;
  const uint32_t n =
      (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
  if (n > max) return ReadStatus::kTooLarge;
  body.resize(n);
  return read_all(fd, body.data(), n) ? ReadStatus::kOk : ReadStatus::kClosed;
}

// Incremental decoder for a non-blocking reader: feed() whatever bytes arrived, then take
// complete frames with next(). A length over `max` puts it in the kTooLarge state for good (the
// stream cannot be resynchronised).
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max = kMaxMessage) : max_(max) {}

  void feed(std::string_view bytes) { buf_.append(bytes); }

  // kOk with the next complete body, kClosed when no complete frame is buffered yet, kTooLarge
  // when the next frame's length exceeds the limit (announced() says how large).
  ReadStatus next(std::string &body) {
    if (too_large_) return ReadStatus::kTooLarge;
    if (buf_.size() - pos_ < 4) return ReadStatus::kClosed;
    const auto *p = reinterpret_cast<const unsigned char *>(buf_.data() + pos_);
    const uint32_t n =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (n > max_) {
      too_large_ = true;
      announced_ = n;
      return ReadStatus::kTooLarge;
    }
    if (buf_.size() - pos_ - 4 < n) return ReadStatus::kClosed;
    body.assign(buf_, pos_ + 4, n);
    pos_ += 4 + size_t{n};
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > (1u << 16)) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return ReadStatus::kOk;
  }

  bool partial() const { return buf_.size() > pos_; }  // bytes of an unfinished frame held
  size_t buffered() const { return buf_.size() - pos_; }
  uint32_t announced() const { return announced_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  uint32_t max_;
  uint32_t announced_ = 0;
  bool too_large_ = false;
};

// How a client's wait for one reply ended.
enum class ReplyStatus { kOk, kTooLarge, kTimeout, kClosed };

// One framed reply read from socket `fd` (read without blocking, waiting in poll) before
// `deadline`: kOk with its body, kTooLarge (in.announced() says how large), kTimeout, or
// kClosed when the peer closed or the read failed.
inline ReplyStatus read_reply(int fd, FrameDecoder &in, std::string &body,
                              std::chrono::steady_clock::time_point deadline) {
  char buf[65536];
  for (;;) {
    const ReadStatus st = in.next(body);
    if (st == ReadStatus::kOk) return ReplyStatus::kOk;
    if (st == ReadStatus::kTooLarge) return ReplyStatus::kTooLarge;
    const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0) {
      in.feed(std::string_view(buf, static_cast<size_t>(r)));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) {
      if (wait_ready(fd, POLLIN, deadline)) continue;
      return ReplyStatus::kTimeout;
    }
    return ReplyStatus::kClosed;
  }
}

}  // namespace sluice::dataplane::proto
