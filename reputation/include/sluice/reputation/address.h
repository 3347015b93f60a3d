// IPv4 and IPv6 addresses and prefixes as the reputation library handles them internally:
// IPv4 as a host-order uint32_t, IPv6 as a host-order 128-bit integer, so that both sort and
// mask with plain integer arithmetic. Conversions to the wire forms (network byte order) live
// here too.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::reputation {

__extension__ typedef unsigned __int128 U128;

// Address traits, so the compiler and the parsers are written once for both families.
template <class A>
struct Family;
template <>
struct Family<uint32_t> {
  static constexpr int kBits = 32;
  static constexpr int kNumber = 4;
};
template <>
struct Family<U128> {
  static constexpr int kBits = 128;
  static constexpr int kNumber = 6;
};

// The netmask of a prefix of length len (0..kBits), in host order.
template <class A>
constexpr A prefix_mask(int len) {
  constexpr int bits = Family<A>::kBits;
  if (len <= 0) return A{0};
  if (len >= bits) return ~A{0};
  return ~A{0} << (bits - len);
}

// The last address of a prefix.
template <class A>
constexpr A prefix_last(A addr, int len) {
  return addr | ~prefix_mask<A>(len);
}

template <class A>
constexpr bool prefix_contains(A net, int len, A addr) {
  return (addr & prefix_mask<A>(len)) == net;
}

// Network-order bytes <-> host-order integer. Inline, as two word loads and byte swaps: the
// compiler, the table diff and the snapshot checks call these once per IPv6 entry.
inline U128 v6_from_bytes(const uint8_t bytes[16]) {
  uint64_t hi, lo;
  std::memcpy(&hi, bytes, 8);
  std::memcpy(&lo, bytes + 8, 8);
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
  }
  return (static_cast<U128>(hi) << 64) | lo;
}
inline void v6_to_bytes(U128 v, uint8_t bytes[16]) {
  uint64_t hi = static_cast<uint64_t>(v >> 64), lo = static_cast<uint64_t>(v);
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
  }
  std::memcpy(bytes, &hi, 8);
  std::memcpy(bytes + 8, &lo, 8);
}

// A parsed address of either family.
struct IpAddress {
  int family = 4;   // 4 or 6
  uint32_t v4 = 0;  // host order, when family == 4
  U128 v6 = 0;      // host order, when family == 6
};

// Strict textual forms: dotted quad ("192.0.2.1") and RFC 4291 IPv6 ("2001:db8::1",
// "::ffff:192.0.2.1"). Anything else yields nullopt.
std::optional<uint32_t> parse_ipv4(std::string_view text);
std::optional<U128> parse_ipv6(std::string_view text);
std::optional<IpAddress> parse_ip(std::string_view text);

std::string format_ipv4(uint32_t host_order);
std::string format_ipv6(U128 v);
std::string format_ip(const IpAddress &a);
template <class A>
std::string format_prefix(A addr, int len);

}  // namespace sluice::reputation
