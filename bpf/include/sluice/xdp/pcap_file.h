// Minimal classic-pcap (not pcapng) reader and writer for replay: Ethernet link type,
// microsecond or nanosecond timestamps. No libpcap dependency for the data plane tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::xdp {

struct PcapFrame {
  uint32_t ts_sec = 0;
  uint32_t ts_frac = 0;  // microseconds (as read; written back unchanged)
  std::vector<uint8_t> data;
};

// Throws Error("FILE: reason") for anything that is not an Ethernet pcap.
std::vector<PcapFrame> read_pcap(const std::string &path);
void write_pcap(const std::string &path, const std::vector<PcapFrame> &frames);

}  // namespace sluice::xdp
