// `sluice-dp replay`: the sluice-dp pipeline over a capture, without DPDK. Packets are taken
// in order with their capture timestamps as the clock; a packet whose source address lies in
// an --inside-net prefix came in on the inside port, every other one on the outside port.
// The output capture holds what the data plane would emit, stamped with emission times:
// passed packets at their arrival, RST replies at the SYN's arrival, delayed packets at their
// release time (never earlier than the previous output packet, so the file stays ordered).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::dataplane {

struct ReplayOptions {
  std::string table;                     // snapshot; empty = empty table
  std::string policy;                    // policy file; empty = pass-only
  std::vector<std::string> inside_nets;  // "198.18.1.0/24", "2001:2::/48"
  std::optional<std::vector<uint16_t>> smtp_ports;
  std::string in, out;
  uint32_t pacer_size = 1u << 16;
  uint32_t flow_table_size = 1u << 16;
  uint64_t seed = 1;  // random numbers for drop rates: deterministic per seed
};

struct ReplayReport {
  uint64_t read = 0, written = 0, dropped = 0, replies = 0, delayed = 0;
};

// Throws std::runtime_error (file errors), PolicyError, reputation errors.
ReplayReport replay(const ReplayOptions &opt);
// Command line: parses options, runs, prints the report; returns the exit status.
int replay_main(int argc, char **argv);

}  // namespace sluice::dataplane
