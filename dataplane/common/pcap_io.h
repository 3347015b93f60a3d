// Capture files for both replays (`sluice-dp replay`, `sluice-xdp replay`), on libpcap.
//
// Reading: classic pcap with microsecond or nanosecond timestamps, either byte order, and
// pcapng; Ethernet link type only. Timestamps come back in nanoseconds whatever the file held.
// Writing: classic pcap with the nanosecond magic, so a nanosecond input keeps its timestamps.
// The output appears atomically: frames go to a fresh temporary (mkstemp, O_EXCL) in the
// target's directory, renamed over the target by commit(); a planted symlink at the target is
// replaced, never followed, and a failed run leaves the target as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice_error.h"

namespace sluice::pcap {

// A capture file that cannot be read or written: "PATH: reason".
class PcapError : public Error {
 public:
  using Error::Error;
};

struct Frame {
  uint64_t ts_ns = 0;  // capture time, nanoseconds since the epoch
  std::vector<uint8_t> data;
};

class Reader {
 public:
  explicit Reader(const std::string &path);  // throws PcapError (missing, not pcap, not Ethernet)
  ~Reader();
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;

  // The next frame (caplen bytes); false at the end of the file. Throws PcapError on a
  // truncated or corrupt record.
  bool next(Frame &out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Writer {
 public:
  explicit Writer(const std::string &path);  // throws PcapError (directory not writable, ...)
  ~Writer();  // without commit(): the temporary is removed, the target untouched
  Writer(const Writer &) = delete;
  Writer &operator=(const Writer &) = delete;

  void write(uint64_t ts_ns, const uint8_t *data, size_t len);
  // Flushes, syncs and renames the temporary over the target. Throws PcapError.
  void commit();
  uint64_t written() const { return written_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t written_ = 0;
};

std::vector<Frame> read_file(const std::string &path);
void write_file(const std::string &path, const std::vector<Frame> &frames);

}  // namespace sluice::pcap
