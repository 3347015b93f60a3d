// Capture files written byte by byte for tests, independently of the code under test (which
// reads them through libpcap): classic pcap with the microsecond or the nanosecond magic, and
// pcapng with a nanosecond or the default microsecond timestamp resolution.
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::testing {

struct CaptureFrame {
  uint64_t ts_ns = 0;  // written truncated to microseconds in microsecond files
  std::vector<uint8_t> data;
};

enum class CaptureFormat { kPcapMicro, kPcapNano, kPcapngMicro, kPcapngNano };

namespace capture_detail {
inline void put32(std::vector<uint8_t> &b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));  // little endian
}
inline void put16(std::vector<uint8_t> &b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline void pad4(std::vector<uint8_t> &b) {
  while (b.size() % 4) b.push_back(0);
}
// A pcapng block: type, total length, body, total length again.
inline void block(std::vector<uint8_t> &out, uint32_t type, std::vector<uint8_t> body) {
  pad4(body);
  put32(out, type);
  put32(out, static_cast<uint32_t>(body.size() + 12));
  out.insert(out.end(), body.begin(), body.end());
  put32(out, static_cast<uint32_t>(body.size() + 12));
}
}  // namespace capture_detail

inline std::vector<uint8_t> capture_bytes(CaptureFormat fmt,
                                          const std::vector<CaptureFrame> &frames) {
  using namespace capture_detail;
  std::vector<uint8_t> out;
  const bool nano = fmt == CaptureFormat::kPcapNano || fmt == CaptureFormat::kPcapngNano;
  if (fmt == CaptureFormat::kPcapMicro || fmt == CaptureFormat::kPcapNano) {
    put32(out, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16(out, 2);
    put16(out, 4);
    put32(out, 0);      // thiszone
    put32(out, 0);      // sigfigs
    put32(out, 65535);  // snaplen
    put32(out, 1);      // LINKTYPE_ETHERNET
    for (const auto &f : frames) {
      put32(out, static_cast<uint32_t>(f.ts_ns / 1'000'000'000u));
      const uint64_t frac = f.ts_ns % 1'000'000'000u;
      put32(out, static_cast<uint32_t>(nano ? frac : frac / 1000));
      put32(out, static_cast<uint32_t>(f.data.size()));
      put32(out, static_cast<uint32_t>(f.data.size()));
      out.insert(out.end(), f.data.begin(), f.data.end());
    }
    return out;
  }
  std::vector<uint8_t> shb;  // section header: byte-order magic, version 1.0, length unknown
  put32(shb, 0x1a2b3c4du);
  put16(shb, 1);
  put16(shb, 0);
  put32(shb, 0xffffffffu);
  put32(shb, 0xffffffffu);
  block(out, 0x0a0d0d0au, shb);
  std::vector<uint8_t> idb;  // interface description: Ethernet, if_tsresol when nanoseconds
  put16(idb, 1);
  put16(idb, 0);
  put32(idb, 0);
  if (nano) {
    put16(idb, 9);  // if_tsresol
    put16(idb, 1);
    idb.push_back(9);  // 10^-9
    pad4(idb);
    put16(idb, 0);  // opt_endofopt
    put16(idb, 0);
  }
  block(out, 1, idb);
  for (const auto &f : frames) {
    std::vector<uint8_t> epb;  // enhanced packet block
    const uint64_t ts = nano ? f.ts_ns : f.ts_ns / 1000;
    put32(epb, 0);  // interface 0
    put32(epb, static_cast<uint32_t>(ts >> 32));
    put32(epb, static_cast<uint32_t>(ts));
    put32(epb, static_cast<uint32_t>(f.data.size()));
    put32(epb, static_cast<uint32_t>(f.data.size()));
    epb.insert(epb.end(), f.data.begin(), f.data.end());
    block(out, 6, epb);
  }
  return out;
}

inline void write_capture(const std::string &path, CaptureFormat fmt,
                          const std::vector<CaptureFrame> &frames) {
  const std::vector<uint8_t> b = capture_bytes(fmt, frames);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out) throw std::runtime_error(path + ": cannot write the test capture");
}

}  // namespace sluice::testing
