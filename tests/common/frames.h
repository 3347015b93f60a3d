// Minimal Ethernet/VLAN/IPv4/IPv6/TCP frame builder for the data-plane tests, with checksums
// computed from scratch (so a test never trusts the code under test for them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::dataplane::testing {

struct TcpFrame {
  bool ipv6 = false;
  int vlan = -1;  // VLAN id, -1 = untagged
  std::string src = "198.18.1.10", dst = "198.18.0.2";
  uint16_t sport = 40000, dport = 25;
  uint32_t seq = 1000, ack = 0;
  uint8_t flags = 0x02;  // SYN
  uint16_t window = 64240;
  std::vector<uint8_t> options;  // raw TCP options (padded to 4 by build())
  std::vector<uint8_t> payload;
  std::vector<uint8_t> build() const;
};

// Options a Linux client puts in its SYN: MSS 1460, SACK-permitted, timestamps, NOP, wscale 7.
std::vector<uint8_t> linux_syn_options();
// An ARP request (not IP): must cross the bridge untouched.
std::vector<uint8_t> arp_frame();

// Field readers for assertions (offsets found by walking the frame the same way build() lays
// it out: Ethernet, optional VLAN, IPv4 (20 bytes) or IPv6 (40 bytes), TCP).
size_t tcp_offset(const std::vector<uint8_t> &f);
uint8_t tcp_flags(const std::vector<uint8_t> &f);
uint16_t tcp_window(const std::vector<uint8_t> &f);
// Value of the option of this kind in the TCP header, -1 if absent (MSS: 16-bit, wscale: 8).
int tcp_option(const std::vector<uint8_t> &f, uint8_t kind);
bool checksums_ok(const std::vector<uint8_t> &f);

}  // namespace sluice::dataplane::testing
