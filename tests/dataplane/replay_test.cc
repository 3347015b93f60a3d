// `sluice-dp replay` golden tests: a capture exercising every action, IPv4 and IPv6, VLAN
// tagged and untagged, runs through the replay; the output must equal the checked-in golden
// capture byte for byte, and (so a golden file is never trusted blindly) each conversation's
// output is also checked for what its level must do.
//
// Regenerate the golden file after an intended change: SLUICE_UPDATE_GOLDEN=1 and review it
// (tcpdump -nr tests/dataplane/golden/replay_actions.out.pcap).
#include "replay.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/frames.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {
namespace {

using testing::TcpFrame;
namespace fs = std::filesystem;

constexpr uint64_t kMs = 1'000'000;
const fs::path kGolden = fs::path(SLUICE_DP_GOLDEN_DIR);

struct Rec {
  uint64_t ns;
  std::vector<uint8_t> frame;
};

void write_pcap(const std::string &path, const std::vector<Rec> &recs) {
  pcap_t *dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t *d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr);
  for (const Rec &r : recs) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(r.ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(r.ns % 1'000'000'000);
    h.caplen = h.len = static_cast<uint32_t>(r.frame.size());
    pcap_dump(reinterpret_cast<u_char *>(d), &h, r.frame.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

std::vector<Rec> read_pcap(const std::string &path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  std::vector<Rec> out;
  if (p == nullptr) return out;
  pcap_pkthdr *h;
  const u_char *b;
  while (pcap_next_ex(p, &h, &b) == 1)
    out.push_back({uint64_t(h->ts.tv_sec) * 1'000'000'000 + uint64_t(h->ts.tv_usec),
                   std::vector<uint8_t>(b, b + h->caplen)});
  pcap_close(p);
  return out;
}

std::vector<uint8_t> file_bytes(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// One SMTP conversation from a sender: SYN, SYN-ACK, greeting, client data, server ACK.
struct Conv {
  std::string client, server;
  bool ipv6;
  int vlan;
  uint16_t sport;
};

std::vector<Rec> conversation(const Conv &c, uint64_t t0) {
  TcpFrame syn;
  syn.ipv6 = c.ipv6;
  syn.vlan = c.vlan;
  syn.src = c.client;
  syn.dst = c.server;
  syn.sport = c.sport;
  syn.options = testing::linux_syn_options();
  auto from_server = [&](uint8_t flags, uint32_t seq, size_t payload) {
    TcpFrame f = syn;
    f.options.clear();
    std::swap(f.src, f.dst);
    std::swap(f.sport, f.dport);
    f.flags = flags;
    f.seq = seq;
    f.ack = syn.seq + 1;
    f.window = 65160;
    if (flags & 0x02) f.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    f.payload.assign(payload, 'g');
    return f.build();
  };
  TcpFrame data = syn;
  data.options.clear();
  data.flags = 0x18;
  data.seq = syn.seq + 1;
  data.ack = 5001;
  data.payload.assign(20, 'c');
  return {{t0, syn.build()},
          {t0 + 1 * kMs, from_server(0x12, 5000, 0)},
          {t0 + 3 * kMs, from_server(0x18, 5001, 30)},
          {t0 + 5 * kMs, data.build()},
          {t0 + 6 * kMs, from_server(0x10, 5031, 0)}};
}

class Replay : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice_replay_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

uint32_t v4(const char *s) {
  uint32_t a;
  inet_pton(AF_INET, s, &a);
  return a;
}

TEST_F(Replay, EveryActionMatchesTheGoldenCapture) {
  // Senders 198.18.1.<score> (IPv4) and 2001:2:0:1::<score hex> (IPv6); the MTA network
  // 198.18.0.0/24 and 2001:2::/64 is inside.
  std::vector<reputation::HostV4> h4;
  for (int s : {3, 5, 8, 9, 10, 25})
    h4.push_back({v4(("198.18.1." + std::to_string(s)).c_str()), {s, 0}});
  std::vector<reputation::PrefixV6> p6(1);
  inet_pton(AF_INET6, "2001:2:0:1::", p6[0].addr);
  p6[0].len = 64;
  p6[0].value = {3, 0};  // the whole IPv6 sender /64 is throttled
  std::vector<reputation::HostV6> h6(1);
  inet_pton(AF_INET6, "2001:2:0:1::a", h6[0].addr);
  h6[0].value = {10, 0};  // one IPv6 host is blocked with RST
  const std::string table = (dir_ / "table.snap").string();
  reputation::Snapshot::from_entries(h4, {}, h6, p6).save(table);

  const std::vector<Conv> convs = {
      {"198.18.7.7", "198.18.0.2", false, -1, 41000},    // clean
      {"198.18.1.3", "198.18.0.2", false, -1, 41003},    // throttle
      {"198.18.1.5", "198.18.0.2", false, 100, 41005},   // slow (delay), VLAN 100
      {"198.18.1.8", "198.18.0.2", false, -1, 41008},    // tarpit
      {"198.18.1.9", "198.18.0.2", false, -1, 41009},    // drop-data
      {"198.18.1.10", "198.18.0.2", false, -1, 41010},   // block-rst
      {"198.18.1.25", "198.18.0.2", false, 200, 41025},  // block-drop, VLAN 200
      {"2001:2:0:1::3", "2001:2::2", true, -1, 42003},   // IPv6 throttle (prefix)
      {"2001:2:0:1::a", "2001:2::2", true, 300, 42010},  // IPv6 block-rst, VLAN 300
  };
  std::vector<Rec> in;
  uint64_t t = 1'700'000'000ull * 1'000'000'000;
  for (const Conv &c : convs) {
    for (Rec &r : conversation(c, t)) in.push_back(std::move(r));
    t += 500 * kMs;  // conversations do not overlap: output order is easy to read
  }
  in.push_back({t, testing::arp_frame()});
  const std::string in_path = (dir_ / "in.pcap").string(), out_path = (dir_ / "out.pcap").string();
  write_pcap(in_path, in);

  ReplayOptions o;
  o.table = table;
  o.policy = (kGolden / "policy.ini").string();
  o.inside_nets = {"198.18.0.0/24", "2001:2::/64"};
  o.in = in_path;
  o.out = out_path;
  const ReplayReport rep = replay(o);
  EXPECT_EQ(rep.read, in.size());

  const std::vector<Rec> out = read_pcap(out_path);
  // Index output by (client port) to check each conversation.
  std::map<uint16_t, std::vector<Rec>> by_port;
  for (const Rec &r : out) {
    if (r.frame[12] == 0x08 && r.frame[13] == 0x06) continue;  // the ARP frame
    const size_t tcp = testing::tcp_offset(r.frame);
    const uint16_t sp = static_cast<uint16_t>(r.frame[tcp] << 8 | r.frame[tcp + 1]);
    const uint16_t dp = static_cast<uint16_t>(r.frame[tcp + 2] << 8 | r.frame[tcp + 3]);
    by_port[sp == 25 ? dp : sp].push_back(r);
    EXPECT_TRUE(testing::checksums_ok(r.frame)) << "port " << sp << "->" << dp;
  }
  // clean: all 5 unchanged
  ASSERT_EQ(by_port[41000].size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(by_port[41000][i].frame, in[i].frame);
  // throttle: SYN without wscale, SYN-ACK window <= 2048 and MSS 536
  ASSERT_EQ(by_port[41003].size(), 5u);
  EXPECT_EQ(testing::tcp_option(by_port[41003][0].frame, 3), -1);
  EXPECT_EQ(testing::tcp_option(by_port[41003][1].frame, 2), 536);
  EXPECT_LE(testing::tcp_window(by_port[41003][1].frame), 2048);
  // slow: server segments leave 200 ms after they arrived
  ASSERT_EQ(by_port[41005].size(), 5u);
  const uint64_t t_slow = in[10].ns;
  EXPECT_EQ(by_port[41005][0].ns, t_slow);            // SYN passes at once
  EXPECT_EQ(by_port[41005][1].ns, t_slow + 5 * kMs);  // client data passes at once
  EXPECT_EQ(testing::tcp_flags(by_port[41005][2].frame), 0x12);
  EXPECT_EQ(by_port[41005][2].ns, t_slow + 201 * kMs);  // SYN-ACK (arrived +1 ms) +200 ms
  EXPECT_EQ(by_port[41005][3].ns, t_slow + 203 * kMs);  // greeting, in order
  EXPECT_EQ(by_port[41005][4].ns, t_slow + 206 * kMs);
  // tarpit: zero window from the greeting on
  ASSERT_EQ(by_port[41008].size(), 5u);
  EXPECT_GT(testing::tcp_window(by_port[41008][1].frame), 0);
  EXPECT_EQ(testing::tcp_window(by_port[41008][4].frame), 0);
  // drop-data: the client's data segment is gone
  EXPECT_EQ(by_port[41009].size(), 4u);
  // block-rst: one RST|ACK reply, nothing else (the server never saw the SYN; its canned
  // segments in the capture belong to no flow and pass, but the replay shows the reply)
  ASSERT_GE(by_port[41010].size(), 1u);
  EXPECT_EQ(testing::tcp_flags(by_port[41010][0].frame), 0x14);
  // block-drop: the SYN is gone
  EXPECT_EQ(by_port[41025].size(), 4u);
  // IPv6 prefix throttle and IPv6 block
  ASSERT_EQ(by_port[42003].size(), 5u);
  EXPECT_LE(testing::tcp_window(by_port[42003][1].frame), 2048);
  ASSERT_GE(by_port[42010].size(), 1u);
  EXPECT_EQ(testing::tcp_flags(by_port[42010][0].frame), 0x14);

  // The input capture and table are checked in too: the sluice-dp replay command line is
  // tested on them (dataplane_replay_cli), and operators can try the replay with them.
  const fs::path golden = kGolden / "replay_actions.out.pcap";
  if (std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr) {
    fs::copy_file(out_path, golden, fs::copy_options::overwrite_existing);
    fs::copy_file(in_path, kGolden / "replay_actions.in.pcap",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(table, kGolden / "replay_table.snap", fs::copy_options::overwrite_existing);
  }
  EXPECT_EQ(file_bytes(in_path), file_bytes(kGolden / "replay_actions.in.pcap"));
  EXPECT_EQ(file_bytes(table), file_bytes(kGolden / "replay_table.snap"));
  ASSERT_TRUE(fs::exists(golden)) << "no golden file; run once with SLUICE_UPDATE_GOLDEN=1";
  EXPECT_EQ(file_bytes(out_path), file_bytes(golden)) << "output differs from " << golden;
}

TEST_F(Replay, BadInputIsAClearError) {
  ReplayOptions o;
  o.inside_nets = {"198.18.0.0/24"};
  o.in = (dir_ / "missing.pcap").string();
  o.out = (dir_ / "out.pcap").string();
  EXPECT_THROW(replay(o), std::runtime_error);
  o.inside_nets = {"198.18.0.0/33"};
  EXPECT_THROW(replay(o), std::invalid_argument);
  o.inside_nets = {"198.18.0.0/24"};
  o.table = (dir_ / "corrupt.snap").string();
  std::ofstream(o.table) << "not a snapshot";
  EXPECT_ANY_THROW(replay(o));
}

}  // namespace
}  // namespace sluice::dataplane
