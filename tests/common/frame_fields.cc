#include "common/frame_fields.h"

#include "common/packet_builder.h"

namespace sluice::testing {

namespace {

// Offset of the L3 header (after any VLAN tags) and its EtherType.
size_t l3_offset(const std::vector<uint8_t> &f, uint16_t &type) {
  size_t off = 12;
  type = static_cast<uint16_t>(f.at(off) << 8 | f.at(off + 1));
  while (type == 0x8100 || type == 0x88a8) {
    off += 4;
    type = static_cast<uint16_t>(f.at(off) << 8 | f.at(off + 1));
  }
  return off + 2;
}

}  // namespace

size_t tcp_offset(const std::vector<uint8_t> &f) {
  uint16_t type;
  const size_t l3 = l3_offset(f, type);
  return l3 + (type == 0x86dd ? 40 : (f.at(l3) & 0x0fu) * 4u);
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
  uint16_t type;
  l3_offset(f, type);
  return (type == 0x86dd || ipv4_checksum_ok(f)) && tcp_checksum_ok(f);
}

}  // namespace sluice::testing
