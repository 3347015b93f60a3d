// The sluice-dp control protocol framing (docs/dataplane-dpdk.md, "Control socket"): over a
// Unix stream socket, each message is a 4-byte big-endian length followed by that many bytes
// of UTF-8 JSON. One request, one reply, in order. Shared by the server (sluice-dp) and the
// client library (control/dpdk_client).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

namespace sluice::dataplane::proto {

inline constexpr uint32_t kMaxMessage = 1u << 20;  // larger requests are refused

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

}  // namespace sluice::dataplane::proto
