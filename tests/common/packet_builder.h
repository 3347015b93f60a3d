// Crafts Ethernet / VLAN / IPv4 / IPv6 / TCP (or UDP) frames for tests, with arbitrary TCP
// options, IPv4 options, IPv6 extension headers and payload. Checksums are computed from
// scratch here (never with the packet core's incremental code), and every length field can be
// overridden to build malformed packets.
//
//   Bytes syn = PacketBuilder()
//                   .ipv4("198.18.1.10", "198.18.2.25")
//                   .tcp(40000, 25)
//                   .flags(kSyn)
//                   .tcp_options(tcpopt::cat({tcpopt::mss(1460), tcpopt::nop(),
//                   tcpopt::wscale(7)})) .build();
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

// TCP flag bits (byte 13 of the header).
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;

// IPv6 extension header types for PacketBuilder::ipv6_ext.
inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6DestOpts = 60;
inline constexpr uint8_t kIpv6Fragment = 44;  // added by ipv6_frag()

// TCP option encodings.
namespace tcpopt {
Bytes mss(uint16_t value);
Bytes wscale(uint8_t shift);
Bytes sack_perm();
Bytes timestamps(uint32_t value, uint32_t echo);
Bytes nop(size_t count = 1);
Bytes eol();
// Any kind with any length byte and body (for malformed options).
Bytes raw(uint8_t kind, uint8_t length, const Bytes &body = {});
Bytes cat(std::initializer_list<Bytes> parts);
}  // namespace tcpopt

// Parses dotted-quad IPv4 / RFC 4291 IPv6 text; throws std::invalid_argument on bad input.
std::array<uint8_t, 4> ipv4_address(const std::string &text);
std::array<uint8_t, 16> ipv6_address(const std::string &text);

class PacketBuilder {
 public:
  PacketBuilder();

  // ---- L2 ----
  PacketBuilder &eth_src(const Mac &mac);
  PacketBuilder &eth_dst(const Mac &mac);
  // Adds a VLAN tag; call order = wire order (outermost first). tpid 0x8100 or 0x88a8.
  PacketBuilder &vlan(uint16_t tci, uint16_t tpid = 0x8100);
  // A non-IP frame: this EtherType followed by `body` (ARP, ...). Replaces any L3/L4.
  PacketBuilder &raw_l3(uint16_t ethertype, const Bytes &body);

  // ---- L3 ----
  PacketBuilder &ipv4(const std::string &src, const std::string &dst);
  PacketBuilder &ipv6(const std::string &src, const std::string &dst);
  PacketBuilder &ipv4(const std::array<uint8_t, 4> &src, const std::array<uint8_t, 4> &dst);
  PacketBuilder &ipv6(const std::array<uint8_t, 16> &src, const std::array<uint8_t, 16> &dst);
  PacketBuilder &ttl(uint8_t ttl);  // IPv4 TTL or IPv6 hop limit (default 64)
  PacketBuilder &tos(uint8_t tos);  // IPv4 TOS or IPv6 traffic class
  PacketBuilder &ip_id(uint16_t id);
  PacketBuilder &ipv4_flags(bool dont_fragment, bool more_fragments);
  PacketBuilder &ipv4_frag_offset(uint16_t units_of_8);
  // Raw option bytes, zero-padded (EOL) to a multiple of 4.
  PacketBuilder &ipv4_options(const Bytes &options);
  // Overrides for malformed packets (otherwise computed).
  PacketBuilder &ipv4_version(uint8_t version);
  PacketBuilder &ipv4_ihl(uint8_t words);
  PacketBuilder &ipv4_total_length(uint16_t length);
  PacketBuilder &ipv4_checksum(uint16_t checksum);
  // Hop-by-hop / routing / destination options header; body zero-padded so the header is a
  // multiple of 8 bytes. Call order = wire order.
  PacketBuilder &ipv6_ext(uint8_t type, const Bytes &body = {});
  PacketBuilder &ipv6_frag(uint16_t offset_units_of_8, bool more_fragments, uint32_t id = 1);
  PacketBuilder &ipv6_payload_length(uint16_t length);
  // Overrides the protocol / last next-header (e.g. 17 with a TCP-shaped body).
  PacketBuilder &ip_protocol(uint8_t protocol);

  // ---- L4 ----
  PacketBuilder &tcp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder &udp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder &flags(uint8_t flags);
  PacketBuilder &seq(uint32_t seq);
  PacketBuilder &ack(uint32_t ack);
  PacketBuilder &window(uint16_t window);
  PacketBuilder &urgent(uint16_t urgent_pointer);
  // Raw option bytes, zero-padded (EOL) to a multiple of 4.
  PacketBuilder &tcp_options(const Bytes &options);
  // Raw option bytes exactly as given (no padding); the data offset, unless overridden, is
  // (20 + size) / 4 rounded down, so trailing bytes beyond it read as payload.
  PacketBuilder &tcp_options_unpadded(const Bytes &options);
  PacketBuilder &data_offset(uint8_t words);       // override
  PacketBuilder &tcp_checksum(uint16_t checksum);  // override (a bad checksum)

  PacketBuilder &payload(const Bytes &data);
  PacketBuilder &payload(std::string_view text);
  // Ethernet padding: zero bytes after the datagram up to this frame length.
  PacketBuilder &pad_to(size_t frame_length);

  Bytes build() const;

 private:
  enum class L3 { kNone, kIpv4, kIpv6, kRaw };
  enum class L4 { kNone, kTcp, kUdp };
  struct Ext {
    uint8_t type;
    Bytes body;
    bool fragment;
    uint16_t frag_offset;
    bool more;
    uint32_t id;
  };

  Bytes build_l4(const uint8_t *src, const uint8_t *dst, size_t addr_len) const;

  Mac eth_src_;
  Mac eth_dst_;
  std::vector<std::pair<uint16_t, uint16_t>> vlans_;  // tpid, tci
  L3 l3_ = L3::kNone;
  uint16_t raw_ethertype_ = 0;
  Bytes raw_body_;
  std::array<uint8_t, 16> src_{};
  std::array<uint8_t, 16> dst_{};
  uint8_t ttl_ = 64;
  uint8_t tos_ = 0;
  uint16_t ip_id_ = 1;
  bool df_ = true;
  bool mf_ = false;
  uint16_t frag_offset_ = 0;
  Bytes ipv4_options_;
  std::optional<uint8_t> ipv4_version_;
  std::optional<uint8_t> ipv4_ihl_;
  std::optional<uint16_t> ipv4_total_length_;
  std::optional<uint16_t> ipv4_checksum_;
  std::vector<Ext> exts_;
  std::optional<uint16_t> ipv6_payload_length_;
  std::optional<uint8_t> protocol_;
  L4 l4_ = L4::kNone;
  uint16_t sport_ = 0;
  uint16_t dport_ = 0;
  uint8_t flags_ = 0;
  uint32_t seq_ = 0;
  uint32_t ack_ = 0;
  uint16_t window_ = 65535;
  uint16_t urgent_ = 0;
  Bytes tcp_options_;
  std::optional<uint8_t> data_offset_;
  std::optional<uint16_t> tcp_checksum_;
  Bytes payload_;
  size_t pad_to_ = 0;
};

// From-scratch verifiers over a whole frame (Ethernet, any VLAN tags). False when the frame is
// not IPv4 (resp. not TCP over IPv4/IPv6 with consistent lengths) or the checksum is wrong.
bool ipv4_checksum_ok(const Bytes &frame);
bool tcp_checksum_ok(const Bytes &frame);

// Internet checksum (RFC 1071) of a byte range, folded and complemented.
uint16_t internet_checksum(const uint8_t *data, size_t length, uint32_t initial = 0);

// Hex dump for test failure messages.
std::string hex(const Bytes &bytes);

}  // namespace sluice::testing
