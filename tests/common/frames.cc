#include "frames.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <stdexcept>

namespace sluice::dataplane::testing {
namespace {

uint32_t sum16(const uint8_t *p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  return s;
}

uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

void put16(std::vector<uint8_t> &v, size_t off, uint16_t x) {
  v[off] = static_cast<uint8_t>(x >> 8);
  v[off + 1] = static_cast<uint8_t>(x);
}

size_t l3_offset(const std::vector<uint8_t> &f, bool *v6) {
  size_t off = 12;
  uint16_t type = static_cast<uint16_t>(f.at(off) << 8 | f.at(off + 1));
  if (type == 0x8100) {
    off += 4;
    type = static_cast<uint16_t>(f.at(off) << 8 | f.at(off + 1));
  }
  *v6 = type == 0x86dd;
  return off + 2;
}

}  // namespace

std::vector<uint8_t> TcpFrame::build() const {
  std::vector<uint8_t> opts = options;
  while (opts.size() % 4) opts.push_back(0);  // EOL padding
  const size_t tcp_len = 20 + opts.size() + payload.size();
  // Built byte by byte into reserved room: inserting a braced list after the 12 MAC bytes trips
  // GCC 12's -Warray-bounds at -O2 (a false positive inside std::vector's reallocation).
  std::vector<uint8_t> f;
  f.reserve(14 + 4 + 40 + tcp_len);
  for (int b : {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}) f.push_back(static_cast<uint8_t>(b));
  if (vlan >= 0) {
    for (int b : {0x81, 0x00, vlan >> 8, vlan & 0xff}) f.push_back(static_cast<uint8_t>(b));
  }
  f.push_back(ipv6 ? 0x86 : 0x08);
  f.push_back(ipv6 ? 0xdd : 0x00);
  const size_t l3 = f.size();
  uint8_t sa[16] = {}, da[16] = {};
  const int fam = ipv6 ? AF_INET6 : AF_INET;
  if (inet_pton(fam, src.c_str(), sa) != 1 || inet_pton(fam, dst.c_str(), da) != 1)
    throw std::invalid_argument("bad address");
  const size_t alen = ipv6 ? 16 : 4;
  if (!ipv6) {
    f.resize(l3 + 20);
    f[l3] = 0x45;
    put16(f, l3 + 2, static_cast<uint16_t>(20 + tcp_len));
    f[l3 + 8] = 64;
    f[l3 + 9] = 6;
    std::memcpy(&f[l3 + 12], sa, 4);
    std::memcpy(&f[l3 + 16], da, 4);
    put16(f, l3 + 10, fold(sum16(&f[l3], 20)));
  } else {
    f.resize(l3 + 40);
    f[l3] = 0x60;
    put16(f, l3 + 4, static_cast<uint16_t>(tcp_len));
    f[l3 + 6] = 6;
    f[l3 + 7] = 64;
    std::memcpy(&f[l3 + 8], sa, 16);
    std::memcpy(&f[l3 + 24], da, 16);
  }
  const size_t t = f.size();
  f.resize(t + tcp_len);
  put16(f, t, sport);
  put16(f, t + 2, dport);
  for (int i = 0; i < 4; ++i) f[t + 4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) f[t + 8 + i] = static_cast<uint8_t>(ack >> (24 - 8 * i));
  f[t + 12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
  f[t + 13] = flags;
  put16(f, t + 14, window);
  std::copy(opts.begin(), opts.end(), f.begin() + static_cast<long>(t + 20));
  std::copy(payload.begin(), payload.end(), f.begin() + static_cast<long>(t + 20 + opts.size()));
  uint32_t s = sum16(sa, alen);
  s = sum16(da, alen, s);
  s += 6 + static_cast<uint32_t>(tcp_len);
  s = sum16(&f[t], tcp_len, s);
  put16(f, t + 16, fold(s));
  return f;
}

std::vector<uint8_t> linux_syn_options() {
  return {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
}

std::vector<uint8_t> arp_frame() {
  // The request's 42 bytes, then zero padding to Ethernet's 60-byte minimum. Copied into a
  // vector made at full size: GCC 12 at -O2/-O3 misreads a resize after an initializer list
  // as an out-of-bounds copy (-Werror=array-bounds).
  static const uint8_t kArp[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,  0, 0, 0,
                                 1,    0x08, 0x06, 0,    1,    0x08, 0,    6,  4, 0, 1,
                                 0x02, 0,    0,    0,    0,    1,    198,  18, 0, 1, 0,
                                 0,    0,    0,    0,    0,    198,  18,   0,  2};
  std::vector<uint8_t> f(60, 0);
  std::copy(std::begin(kArp), std::end(kArp), f.begin());
  return f;
}

size_t tcp_offset(const std::vector<uint8_t> &f) {
  bool v6;
  const size_t l3 = l3_offset(f, &v6);
  return l3 + (v6 ? 40 : 20);
}

uint8_t tcp_flags(const std::vector<uint8_t> &f) {
  return f.at(tcp_offset(f) + 13);
}

uint16_t tcp_window(const std::vector<uint8_t> &f) {
  const size_t t = tcp_offset(f);
  return static_cast<uint16_t>(f.at(t + 14) << 8 | f.at(t + 15));
}

int tcp_option(const std::vector<uint8_t> &f, uint8_t kind) {
  const size_t t = tcp_offset(f);
  const size_t end = t + (f.at(t + 12) >> 4) * 4;
  for (size_t o = t + 20; o < end;) {
    const uint8_t k = f.at(o);
    if (k == 0) break;
    if (k == 1) {
      ++o;
      continue;
    }
    const uint8_t len = f.at(o + 1);
    if (k == kind) {
      if (len == 4) return f.at(o + 2) << 8 | f.at(o + 3);
      if (len == 3) return f.at(o + 2);
      return 0;
    }
    if (len < 2) break;
    o += len;
  }
  return -1;
}

bool checksums_ok(const std::vector<uint8_t> &f) {
  bool v6;
  const size_t l3 = l3_offset(f, &v6);
  const size_t t = tcp_offset(f);
  size_t tcp_len;
  uint32_t s;
  if (!v6) {
    if (fold(sum16(&f[l3], 20)) != 0) return false;
    tcp_len = static_cast<size_t>(f[l3 + 2] << 8 | f[l3 + 3]) - 20;
    s = sum16(&f[l3 + 12], 8);
  } else {
    tcp_len = static_cast<size_t>(f[l3 + 4] << 8 | f[l3 + 5]);
    s = sum16(&f[l3 + 8], 32);
  }
  if (t + tcp_len > f.size()) return false;
  s += 6 + static_cast<uint32_t>(tcp_len);
  return fold(sum16(&f[t], tcp_len, s)) == 0;
}

}  // namespace sluice::dataplane::testing
