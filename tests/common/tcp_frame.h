// A TCP segment described field by field, for table-driven data-plane tests (both data
// planes): the fields a test varies, with defaults for the rest. build() lays it out through
// PacketBuilder (checksums from scratch) as an untagged or single-VLAN Ethernet frame with
// IPv4 id 0 and no DF bit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::testing {

// IPv4 text fills the first 4 bytes, IPv6 text all 16; throws std::invalid_argument otherwise.
std::array<uint8_t, 16> address(const std::string &text);

struct TcpFrame {
  bool v6 = false;
  int vlan = -1;                                  // VLAN id, -1 = untagged
  std::array<uint8_t, 16> src = {198, 18, 0, 1};  // IPv4 in the first 4 bytes
  std::array<uint8_t, 16> dst = {198, 19, 0, 25};
  uint16_t sport = 40000, dport = 25;
  uint32_t seq = 1000, ack = 0;
  uint8_t flags = 0x02;  // SYN
  uint16_t window = 65535;
  std::vector<uint8_t> options;  // raw TCP options, padded to 4 bytes with EOL by build()
  std::vector<uint8_t> payload;
  std::vector<uint8_t> build() const;
};

// A Linux client's SYN from `src` to `dst` (both IPv4 or IPv6): window 64240 and the options
// MSS 1460, SACK-permitted, timestamps, NOP, wscale 7.
TcpFrame linux_syn(const std::string &src, const std::string &dst);
// An ARP request (not IP), padded to Ethernet's 60-byte minimum.
std::vector<uint8_t> arp_frame();

}  // namespace sluice::testing
