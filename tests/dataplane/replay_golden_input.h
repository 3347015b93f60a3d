// The input of the sluice-dp replay golden test: a capture exercising every action (IPv4 and
// IPv6, VLAN tagged and untagged) and the table it runs against. Shared by the test
// (replay_test.cc), which rebuilds it and compares with the checked-in files, and by the
// explicit update step (make_replay_golden.cc), which is the only thing that writes them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sluice::dataplane::golden {

struct Rec {
  uint64_t ns;
  std::vector<uint8_t> frame;
};

// One SMTP conversation per sender: SYN, SYN-ACK, greeting, client data, server ACK (five
// records, in this order), conversations 500 ms apart, then one ARP frame.
struct Conv {
  std::string client, server;  // IPv4 or IPv6, both the same family
  int vlan;
  uint16_t sport;
};
const std::vector<Conv> &conversations();
inline constexpr size_t kPerConv = 5;

// The checked-in files, in tests/dataplane/golden (SLUICE_DP_GOLDEN_DIR).
inline constexpr const char *kInput = "replay_actions.in.pcap";
inline constexpr const char *kOutput = "replay_actions.out.pcap";
inline constexpr const char *kTable = "replay_table.snap";
inline constexpr const char *kPolicy = "policy.ini";
inline const std::vector<std::string> kInsideNets = {"198.18.0.0/24", "2001:2::/64"};

// Writes `dir`/kInput and `dir`/kTable; returns the input records.
std::vector<Rec> write_inputs(const std::filesystem::path &dir);

void write_pcap(const std::string &path, const std::vector<Rec> &recs);
std::vector<Rec> read_pcap(const std::string &path);

}  // namespace sluice::dataplane::golden
