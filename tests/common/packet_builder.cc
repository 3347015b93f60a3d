#include "common/packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace sluice::testing {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

void put16(Bytes &b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void put32(Bytes &b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

void set16(Bytes &b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

uint16_t get16(const Bytes &b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

void pad4(Bytes &b) {
  while (b.size() % 4 != 0) b.push_back(0);
}

// Plain RFC 1071 accumulation: big-endian 16-bit words, odd trailing byte padded with zero.
uint32_t sum_bytes(const uint8_t *data, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2 == 1) sum += static_cast<uint32_t>(data[length - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint32_t pseudo_header_sum(const uint8_t *src, const uint8_t *dst, size_t addr_len,
                           uint8_t protocol, size_t l4_length) {
  uint32_t sum = sum_bytes(src, addr_len, 0);
  sum = sum_bytes(dst, addr_len, sum);
  sum += protocol;
  sum += static_cast<uint32_t>(l4_length & 0xffff) + static_cast<uint32_t>(l4_length >> 16);
  return sum;
}

}  // namespace

uint16_t internet_checksum(const uint8_t *data, size_t length, uint32_t initial) {
  return static_cast<uint16_t>(~fold(sum_bytes(data, length, initial)));
}

std::string hex(const Bytes &bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); i++) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
    out += buf;
    if (i + 1 < bytes.size()) out += (i % 16 == 15) ? '\n' : ' ';
  }
  return out;
}

namespace tcpopt {
Bytes mss(uint16_t value) {
  return {2, 4, static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
}
Bytes wscale(uint8_t shift) {
  return {3, 3, shift};
}
Bytes sack_perm() {
  return {4, 2};
}
Bytes timestamps(uint32_t value, uint32_t echo) {
  Bytes b{8, 10};
  put32(b, value);
  put32(b, echo);
  return b;
}
Bytes nop(size_t count) {
  return Bytes(count, 1);
}
Bytes eol() {
  return {0};
}
Bytes raw(uint8_t kind, uint8_t length, const Bytes &body) {
  // push_back rather than insert: GCC 12 -O3 reports a false -Warray-bounds on the insert.
  Bytes b;
  b.reserve(2 + body.size());
  b.push_back(kind);
  b.push_back(length);
  for (uint8_t x : body) b.push_back(x);
  return b;
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes &p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
}  // namespace tcpopt

std::array<uint8_t, 4> ipv4_address(const std::string &text) {
  std::array<uint8_t, 4> a{};
  if (inet_pton(AF_INET, text.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv4 address: " + text);
  return a;
}

std::array<uint8_t, 16> ipv6_address(const std::string &text) {
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1)
    throw std::invalid_argument("bad IPv6 address: " + text);
  return a;
}

PacketBuilder::PacketBuilder()
    : eth_src_{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, eth_dst_{0x02, 0x00, 0x00, 0x00, 0x00, 0x02} {}

PacketBuilder &PacketBuilder::eth_src(const Mac &mac) {
  eth_src_ = mac;
  return *this;
}
PacketBuilder &PacketBuilder::eth_dst(const Mac &mac) {
  eth_dst_ = mac;
  return *this;
}
PacketBuilder &PacketBuilder::vlan(uint16_t tci, uint16_t tpid) {
  vlans_.emplace_back(tpid, tci);
  return *this;
}
PacketBuilder &PacketBuilder::raw_l3(uint16_t ethertype, const Bytes &body) {
  l3_ = L3::kRaw;
  raw_ethertype_ = ethertype;
  raw_body_ = body;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4(const std::string &src, const std::string &dst) {
  return ipv4(ipv4_address(src), ipv4_address(dst));
}
PacketBuilder &PacketBuilder::ipv6(const std::string &src, const std::string &dst) {
  return ipv6(ipv6_address(src), ipv6_address(dst));
}
PacketBuilder &PacketBuilder::ipv4(const std::array<uint8_t, 4> &src,
                                   const std::array<uint8_t, 4> &dst) {
  l3_ = L3::kIpv4;
  src_ = {};
  dst_ = {};
  std::copy(src.begin(), src.end(), src_.begin());
  std::copy(dst.begin(), dst.end(), dst_.begin());
  return *this;
}
PacketBuilder &PacketBuilder::ipv6(const std::array<uint8_t, 16> &src,
                                   const std::array<uint8_t, 16> &dst) {
  l3_ = L3::kIpv6;
  src_ = src;
  dst_ = dst;
  return *this;
}
PacketBuilder &PacketBuilder::ttl(uint8_t ttl) {
  ttl_ = ttl;
  return *this;
}
PacketBuilder &PacketBuilder::tos(uint8_t tos) {
  tos_ = tos;
  return *this;
}
PacketBuilder &PacketBuilder::ip_id(uint16_t id) {
  ip_id_ = id;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_flags(bool dont_fragment, bool more_fragments) {
  df_ = dont_fragment;
  mf_ = more_fragments;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_frag_offset(uint16_t units_of_8) {
  frag_offset_ = units_of_8;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_options(const Bytes &options) {
  ipv4_options_ = options;
  pad4(ipv4_options_);
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_version(uint8_t version) {
  ipv4_version_ = version;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_ihl(uint8_t words) {
  ipv4_ihl_ = words;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_total_length(uint16_t length) {
  ipv4_total_length_ = length;
  return *this;
}
PacketBuilder &PacketBuilder::ipv4_checksum(uint16_t checksum) {
  ipv4_checksum_ = checksum;
  return *this;
}
PacketBuilder &PacketBuilder::ipv6_ext(uint8_t type, const Bytes &body) {
  exts_.push_back(Ext{type, body, false, 0, false, 0});
  return *this;
}
PacketBuilder &PacketBuilder::ipv6_frag(uint16_t offset_units_of_8, bool more_fragments,
                                        uint32_t id) {
  exts_.push_back(Ext{kIpv6Fragment, {}, true, offset_units_of_8, more_fragments, id});
  return *this;
}
PacketBuilder &PacketBuilder::ipv6_payload_length(uint16_t length) {
  ipv6_payload_length_ = length;
  return *this;
}
PacketBuilder &PacketBuilder::ip_protocol(uint8_t protocol) {
  protocol_ = protocol;
  return *this;
}
PacketBuilder &PacketBuilder::tcp(uint16_t src_port, uint16_t dst_port) {
  l4_ = L4::kTcp;
  sport_ = src_port;
  dport_ = dst_port;
  return *this;
}
PacketBuilder &PacketBuilder::udp(uint16_t src_port, uint16_t dst_port) {
  l4_ = L4::kUdp;
  sport_ = src_port;
  dport_ = dst_port;
  return *this;
}
PacketBuilder &PacketBuilder::flags(uint8_t flags) {
  flags_ = flags;
  return *this;
}
PacketBuilder &PacketBuilder::seq(uint32_t seq) {
  seq_ = seq;
  return *this;
}
PacketBuilder &PacketBuilder::ack(uint32_t ack) {
  ack_ = ack;
  return *this;
}
PacketBuilder &PacketBuilder::window(uint16_t window) {
  window_ = window;
  return *this;
}
PacketBuilder &PacketBuilder::urgent(uint16_t urgent_pointer) {
  urgent_ = urgent_pointer;
  return *this;
}
PacketBuilder &PacketBuilder::tcp_options(const Bytes &options) {
  tcp_options_ = options;
  pad4(tcp_options_);
  return *this;
}
PacketBuilder &PacketBuilder::tcp_options_unpadded(const Bytes &options) {
  tcp_options_ = options;
  return *this;
}
PacketBuilder &PacketBuilder::data_offset(uint8_t words) {
  data_offset_ = words;
  return *this;
}
PacketBuilder &PacketBuilder::tcp_checksum(uint16_t checksum) {
  tcp_checksum_ = checksum;
  return *this;
}
PacketBuilder &PacketBuilder::payload(const Bytes &data) {
  payload_ = data;
  return *this;
}
PacketBuilder &PacketBuilder::payload(std::string_view text) {
  payload_.assign(text.begin(), text.end());
  return *this;
}
PacketBuilder &PacketBuilder::pad_to(size_t frame_length) {
  pad_to_ = frame_length;
  return *this;
}

// The L4 segment with its checksum over the given pseudo-header addresses.
Bytes PacketBuilder::build_l4(const uint8_t *src, const uint8_t *dst, size_t addr_len) const {
  Bytes seg;
  if (l4_ == L4::kTcp) {
    put16(seg, sport_);
    put16(seg, dport_);
    put32(seg, seq_);
    put32(seg, ack_);
    const size_t hlen = 20 + tcp_options_.size();
    const uint8_t doff = data_offset_.value_or(static_cast<uint8_t>(hlen / 4));
    seg.push_back(static_cast<uint8_t>(doff << 4));
    seg.push_back(flags_);
    put16(seg, window_);
    put16(seg, 0);
    put16(seg, urgent_);
    seg.insert(seg.end(), tcp_options_.begin(), tcp_options_.end());
    seg.insert(seg.end(), payload_.begin(), payload_.end());
    const uint32_t pseudo = pseudo_header_sum(src, dst, addr_len, kProtoTcp, seg.size());
    set16(seg, 16, tcp_checksum_.value_or(internet_checksum(seg.data(), seg.size(), pseudo)));
  } else if (l4_ == L4::kUdp) {
    put16(seg, sport_);
    put16(seg, dport_);
    put16(seg, static_cast<uint16_t>(8 + payload_.size()));
    put16(seg, 0);
    seg.insert(seg.end(), payload_.begin(), payload_.end());
    const uint32_t pseudo = pseudo_header_sum(src, dst, addr_len, kProtoUdp, seg.size());
    uint16_t c = internet_checksum(seg.data(), seg.size(), pseudo);
    set16(seg, 6, c == 0 ? 0xffff : c);
  } else {
    seg = payload_;
  }
  return seg;
}

Bytes PacketBuilder::build() const {
  Bytes f;
  f.insert(f.end(), eth_dst_.begin(), eth_dst_.end());
  f.insert(f.end(), eth_src_.begin(), eth_src_.end());
  for (const auto &[tpid, tci] : vlans_) {
    put16(f, tpid);
    put16(f, tci);
  }
  const uint8_t l4_proto =
      protocol_.value_or(l4_ == L4::kUdp ? kProtoUdp : (l4_ == L4::kTcp ? kProtoTcp : 59));

  if (l3_ == L3::kRaw || l3_ == L3::kNone) {
    put16(f, l3_ == L3::kRaw ? raw_ethertype_ : 0x88b5);  // 0x88b5: local experimental
    f.insert(f.end(), raw_body_.begin(), raw_body_.end());
  } else if (l3_ == L3::kIpv4) {
    put16(f, kEthIpv4);
    const Bytes seg = build_l4(src_.data(), dst_.data(), 4);
    const size_t l3 = f.size();
    const size_t hlen = 20 + ipv4_options_.size();
    f.push_back(static_cast<uint8_t>(ipv4_version_.value_or(4) << 4 |
                                     (ipv4_ihl_.value_or(static_cast<uint8_t>(hlen / 4)) & 0x0f)));
    f.push_back(tos_);
    put16(f, ipv4_total_length_.value_or(static_cast<uint16_t>(hlen + seg.size())));
    put16(f, ip_id_);
    put16(f,
          static_cast<uint16_t>((df_ ? 0x4000 : 0) | (mf_ ? 0x2000 : 0) | (frag_offset_ & 0x1fff)));
    f.push_back(ttl_);
    f.push_back(l4_proto);
    put16(f, 0);
    f.insert(f.end(), src_.begin(), src_.begin() + 4);
    f.insert(f.end(), dst_.begin(), dst_.begin() + 4);
    f.insert(f.end(), ipv4_options_.begin(), ipv4_options_.end());
    set16(f, l3 + 10, ipv4_checksum_.value_or(internet_checksum(f.data() + l3, hlen)));
    f.insert(f.end(), seg.begin(), seg.end());
  } else {
    put16(f, kEthIpv6);
    const Bytes seg = build_l4(src_.data(), dst_.data(), 16);
    Bytes exts;
    for (size_t i = 0; i < exts_.size(); i++) {
      const uint8_t next = i + 1 < exts_.size() ? exts_[i + 1].type : l4_proto;
      const Ext &e = exts_[i];
      if (e.fragment) {
        exts.push_back(next);
        exts.push_back(0);
        put16(exts, static_cast<uint16_t>(e.frag_offset << 3 | (e.more ? 1 : 0)));
        put32(exts, e.id);
      } else {
        size_t len = 2 + e.body.size();
        len = (len + 7) / 8 * 8;
        exts.push_back(next);
        exts.push_back(static_cast<uint8_t>(len / 8 - 1));
        exts.insert(exts.end(), e.body.begin(), e.body.end());
        exts.resize(exts.size() + (len - 2 - e.body.size()), 0);
      }
    }
    put32(f, 0x60000000u | static_cast<uint32_t>(tos_) << 20);
    put16(f, ipv6_payload_length_.value_or(static_cast<uint16_t>(exts.size() + seg.size())));
    f.push_back(exts_.empty() ? l4_proto : exts_[0].type);
    f.push_back(ttl_);
    f.insert(f.end(), src_.begin(), src_.end());
    f.insert(f.end(), dst_.begin(), dst_.end());
    f.insert(f.end(), exts.begin(), exts.end());
    f.insert(f.end(), seg.begin(), seg.end());
  }
  if (f.size() < pad_to_) f.resize(pad_to_, 0);
  return f;
}

namespace {

// Independent walk to the L3 header: Ethernet, then any number of 802.1Q/802.1ad tags.
bool find_l3(const Bytes &f, size_t &off, uint16_t &proto) {
  if (f.size() < 14) return false;
  off = 12;
  proto = get16(f, off);
  off += 2;
  while (proto == 0x8100 || proto == 0x88a8) {
    if (f.size() < off + 4) return false;
    proto = get16(f, off + 2);
    off += 4;
  }
  return true;
}

}  // namespace

bool ipv4_checksum_ok(const Bytes &frame) {
  size_t off;
  uint16_t proto;
  if (!find_l3(frame, off, proto) || proto != kEthIpv4) return false;
  if (frame.size() < off + 20) return false;
  const size_t hlen = static_cast<size_t>(frame[off] & 0x0f) * 4;
  if (hlen < 20 || frame.size() < off + hlen) return false;
  return fold(sum_bytes(frame.data() + off, hlen, 0)) == 0xffff;
}

bool tcp_checksum_ok(const Bytes &frame) {
  size_t off;
  uint16_t proto;
  if (!find_l3(frame, off, proto)) return false;
  const uint8_t *src;
  const uint8_t *dst;
  size_t addr_len;
  size_t seg_off;
  size_t seg_len;
  if (proto == kEthIpv4) {
    if (frame.size() < off + 20) return false;
    const size_t hlen = static_cast<size_t>(frame[off] & 0x0f) * 4;
    const size_t total = get16(frame, off + 2);
    if (frame[off + 9] != kProtoTcp || hlen < 20 || total < hlen + 20) return false;
    if (frame.size() < off + total) return false;
    src = frame.data() + off + 12;
    dst = frame.data() + off + 16;
    addr_len = 4;
    seg_off = off + hlen;
    seg_len = total - hlen;
  } else if (proto == kEthIpv6) {
    if (frame.size() < off + 40) return false;
    const size_t end = off + 40 + get16(frame, off + 4);
    if (frame.size() < end) return false;
    uint8_t next = frame[off + 6];
    size_t p = off + 40;
    while (next == kIpv6HopByHop || next == kIpv6Routing || next == kIpv6DestOpts ||
           next == kIpv6Fragment) {
      if (end < p + 8) return false;
      const bool fragment = next == kIpv6Fragment;
      next = frame[p];
      p += fragment ? 8 : (static_cast<size_t>(frame[p + 1]) + 1) * 8;
    }
    if (next != kProtoTcp || end < p + 20) return false;
    src = frame.data() + off + 8;
    dst = frame.data() + off + 24;
    addr_len = 16;
    seg_off = p;
    seg_len = end - p;
  } else {
    return false;
  }
  const uint32_t pseudo = pseudo_header_sum(src, dst, addr_len, kProtoTcp, seg_len);
  return fold(sum_bytes(frame.data() + seg_off, seg_len, pseudo)) == 0xffff;
}

}  // namespace sluice::testing
