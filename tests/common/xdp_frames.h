// Small frame builder for the XDP tests: Ethernet + IPv4/IPv6 + TCP with raw option bytes and
// payload, checksums computed from scratch; and from-scratch checksum verifiers.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace sluice::xdp::testing {

struct TcpFrame {
  bool v6 = false;
  uint8_t src[16] = {198, 18, 0, 1};  // IPv4 in the first 4 bytes
  uint8_t dst[16] = {198, 19, 0, 25};
  uint16_t sport = 40000, dport = 25;
  uint32_t seq = 1000, ack = 0;
  uint8_t flags = 0x02;  // SYN
  uint16_t window = 65535;
  std::vector<uint8_t> options;  // padded to 4 bytes with EOL by build()
  std::vector<uint8_t> payload;
};

inline uint32_t sum16(const uint8_t *p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  return s;
}
inline uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

inline std::vector<uint8_t> build(const TcpFrame &f) {
  std::vector<uint8_t> opts = f.options;
  while (opts.size() % 4) opts.push_back(0);
  const size_t thl = 20 + opts.size(), l4len = thl + f.payload.size();
  const size_t iphl = f.v6 ? 40 : 20;
  std::vector<uint8_t> b(14 + iphl + l4len, 0);
  const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02}, smac[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(&b[0], dmac, 6);
  std::memcpy(&b[6], smac, 6);
  b[12] = f.v6 ? 0x86 : 0x08;
  b[13] = f.v6 ? 0xdd : 0x00;
  uint8_t *ip = &b[14];
  uint32_t pseudo = 0;
  if (f.v6) {
    ip[0] = 0x60;
    ip[4] = static_cast<uint8_t>(l4len >> 8);
    ip[5] = static_cast<uint8_t>(l4len);
    ip[6] = 6;
    ip[7] = 64;
    std::memcpy(ip + 8, f.src, 16);
    std::memcpy(ip + 24, f.dst, 16);
    pseudo = sum16(ip + 8, 32) + 6 + static_cast<uint32_t>(l4len);
  } else {
    const size_t tot = 20 + l4len;
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(tot >> 8);
    ip[3] = static_cast<uint8_t>(tot);
    ip[8] = 64;
    ip[9] = 6;
    std::memcpy(ip + 12, f.src, 4);
    std::memcpy(ip + 16, f.dst, 4);
    const uint16_t c = fold(sum16(ip, 20));
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
    pseudo = sum16(ip + 12, 8) + 6 + static_cast<uint32_t>(l4len);
  }
  uint8_t *t = ip + iphl;
  t[0] = static_cast<uint8_t>(f.sport >> 8);
  t[1] = static_cast<uint8_t>(f.sport);
  t[2] = static_cast<uint8_t>(f.dport >> 8);
  t[3] = static_cast<uint8_t>(f.dport);
  for (int i = 0; i < 4; i++) {
    t[4 + i] = static_cast<uint8_t>(f.seq >> (24 - 8 * i));
    t[8 + i] = static_cast<uint8_t>(f.ack >> (24 - 8 * i));
  }
  t[12] = static_cast<uint8_t>((thl / 4) << 4);
  t[13] = f.flags;
  t[14] = static_cast<uint8_t>(f.window >> 8);
  t[15] = static_cast<uint8_t>(f.window);
  if (!opts.empty()) std::memcpy(t + 20, opts.data(), opts.size());
  if (!f.payload.empty()) std::memcpy(t + thl, f.payload.data(), f.payload.size());
  const uint16_t c = fold(sum16(t, l4len, pseudo));
  t[16] = static_cast<uint8_t>(c >> 8);
  t[17] = static_cast<uint8_t>(c);
  return b;
}

// TCP checksum of an untagged IPv4/IPv6 frame recomputed from scratch is valid.
inline bool tcp_checksum_ok(const std::vector<uint8_t> &b) {
  if (b.size() < 54) return false;
  const bool v6 = b[12] == 0x86;
  const uint8_t *ip = &b[14];
  size_t l4len;
  uint32_t pseudo;
  if (v6) {
    l4len = static_cast<size_t>(ip[4] << 8 | ip[5]);
    pseudo = sum16(ip + 8, 32) + 6 + static_cast<uint32_t>(l4len);
  } else {
    const size_t ihl = (ip[0] & 0xf) * 4u;
    l4len = static_cast<size_t>(ip[2] << 8 | ip[3]) - ihl;
    pseudo = sum16(ip + 12, 8) + 6 + static_cast<uint32_t>(l4len);
    if (fold(sum16(ip, ihl)) != 0) return false;
  }
  const uint8_t *t = ip + (v6 ? 40 : (ip[0] & 0xf) * 4u);
  if (t + l4len > b.data() + b.size()) return false;
  return fold(sum16(t, l4len, pseudo)) == 0;
}

// Offset of the TCP header in an untagged frame.
inline size_t tcp_off(const std::vector<uint8_t> &b) {
  return b[12] == 0x86 ? 14 + 40 : 14 + (b[14] & 0xf) * 4u;
}

}  // namespace sluice::xdp::testing
