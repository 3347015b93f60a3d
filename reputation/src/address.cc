#include "sluice/reputation/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "fmt/format.h"

namespace sluice::reputation {

std::optional<uint32_t> parse_ipv4(std::string_view t) {
  uint32_t out = 0;
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= t.size() || t[i] != '.') return std::nullopt;
      ++i;
    }
    uint32_t v = 0;
    size_t digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && digits < 4) {
      v = v * 10 + static_cast<uint32_t>(t[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return std::nullopt;
    out = (out << 8) | v;
  }
  if (i != t.size()) return std::nullopt;
  return out;
}

std::optional<U128> parse_ipv6(std::string_view t) {
  // inet_pton reads a C string: a NUL inside would cut "2001:db8::1\0junk" to "2001:db8::1".
  if (t.size() < 2 || t.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  if (t.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, t.data(), t.size());
  buf[t.size()] = '\0';
  uint8_t bytes[16];
  if (::inet_pton(AF_INET6, buf, bytes) != 1) return std::nullopt;
  return v6_from_bytes(bytes);
}

std::optional<IpAddress> parse_ip(std::string_view t) {
  IpAddress a;
  if (t.find(':') != std::string_view::npos) {
    auto v = parse_ipv6(t);
    if (!v) return std::nullopt;
    a.family = 6;
    a.v6 = *v;
    return a;
  }
  auto v = parse_ipv4(t);
  if (!v) return std::nullopt;
  a.family = 4;
  a.v4 = *v;
  return a;
}

std::string format_ipv4(uint32_t h) {
  return fmt::format("{}.{}.{}.{}", h >> 24, (h >> 16) & 255, (h >> 8) & 255, h & 255);
}

std::string format_ipv6(U128 v) {
  uint8_t bytes[16];
  v6_to_bytes(v, bytes);
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, bytes, buf, sizeof buf);
  return buf;
}

std::string format_ip(const IpAddress &a) {
  return a.family == 6 ? format_ipv6(a.v6) : format_ipv4(a.v4);
}

template <>
std::string format_prefix<uint32_t>(uint32_t addr, int len) {
  return fmt::format("{}/{}", format_ipv4(addr), len);
}
template <>
std::string format_prefix<U128>(U128 addr, int len) {
  return fmt::format("{}/{}", format_ipv6(addr), len);
}

}  // namespace sluice::reputation
