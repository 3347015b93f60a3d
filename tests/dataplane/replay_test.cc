// `sluice-dp replay` golden tests: a capture exercising every action, IPv4 and IPv6, VLAN
// tagged and untagged, runs through the replay; the output must equal the checked-in golden
// capture byte for byte, and (so a golden file is never trusted blindly) each conversation's
// output is also checked, exactly, for what its level must do.
//
// The test never writes the golden files. After an intended change, regenerate them with the
// separate step `make_replay_golden` (tests/dataplane/make_replay_golden.cc) and review them
// (tcpdump -nr tests/dataplane/golden/replay_actions.out.pcap).
#include "replay.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/frame_fields.h"
#include "policy_file.h"
#include "replay_golden_input.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {
namespace {

using golden::Rec;
using sluice::testing::checksums_ok;
using sluice::testing::tcp_flags;
using sluice::testing::tcp_offset;
using sluice::testing::tcp_option;
using sluice::testing::tcp_window;
namespace fs = std::filesystem;

const fs::path kGolden = fs::path(SLUICE_DP_GOLDEN_DIR);

std::vector<uint8_t> file_bytes(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
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

TEST_F(Replay, EveryActionMatchesTheGoldenCapture) {
  const std::vector<Rec> in = golden::write_inputs(dir_);
  const std::string in_path = (dir_ / golden::kInput).string();
  const std::string out_path = (dir_ / "out.pcap").string();
  ReplayOptions o;
  o.table = (dir_ / golden::kTable).string();
  o.policy = (kGolden / golden::kPolicy).string();
  o.inside_nets = golden::kInsideNets;
  o.in = in_path;
  o.out = out_path;
  const ReplayReport rep = replay(o);
  EXPECT_EQ(rep.read, in.size());

  // What each level must do, from the golden policy itself.
  const PolicyFile pf = load_policy(o.policy);
  const sl_profile &throttle = pf.policy.profiles[1], &slow = pf.policy.profiles[2];
  ASSERT_EQ(pf.level_names[1], "throttle");
  ASSERT_EQ(pf.level_names[2], "slow");
  ASSERT_EQ(pf.level_names[3], "tarpit");
  ASSERT_EQ(pf.level_names[4], "drop-data");
  ASSERT_EQ(pf.level_names[5], "block-rst");
  ASSERT_EQ(pf.level_names[6], "block-drop");
  // The values golden/policy.ini states (inputs, so a parser that misreads them cannot make
  // the checks below agree with its own output).
  ASSERT_EQ(throttle.window_clamp, 2048u);
  ASSERT_EQ(throttle.mss_clamp, 536);
  ASSERT_EQ(slow.window_clamp, 4096u);
  ASSERT_EQ(slow.delay_us, 200'000u);

  const std::vector<Rec> out = golden::read_pcap(out_path);
  // Index output by client port to check each conversation; the ARP frame must be last.
  std::map<uint16_t, std::vector<Rec>> by_port;
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().frame, in.back().frame) << "the ARP frame is forwarded as is, last";
  for (size_t k = 0; k + 1 < out.size(); ++k) {
    const Rec &r = out[k];
    const size_t tcp = tcp_offset(r.frame);
    const uint16_t sp = static_cast<uint16_t>(r.frame[tcp] << 8 | r.frame[tcp + 1]);
    const uint16_t dp = static_cast<uint16_t>(r.frame[tcp + 2] << 8 | r.frame[tcp + 3]);
    by_port[sp == 25 ? dp : sp].push_back(r);
    EXPECT_TRUE(checksums_ok(r.frame)) << "port " << sp << "->" << dp;
  }
  // The input records of conversation `c` (golden::conversations() order): SYN, SYN-ACK,
  // greeting, client data, server ACK.
  auto conv_in = [&](size_t c, size_t i) -> const Rec & { return in.at(c * golden::kPerConv + i); };
  auto untouched = [&](uint16_t port, size_t out_i, size_t c, size_t in_i) {
    ASSERT_GT(by_port[port].size(), out_i);
    EXPECT_EQ(by_port[port][out_i].frame, conv_in(c, in_i).frame)
        << "port " << port << ": output " << out_i << " is not input " << in_i << " as is";
    EXPECT_EQ(by_port[port][out_i].ns, conv_in(c, in_i).ns) << "port " << port;
  };
  const uint16_t win_in = tcp_window(conv_in(0, 1).frame);  // the server's 65160
  ASSERT_GT(win_in, throttle.window_clamp);
  ASSERT_GT(win_in, slow.window_clamp);

  // clean (conversation 0): all five as they came
  ASSERT_EQ(by_port[41000].size(), 5u);
  for (size_t i = 0; i < 5; ++i) untouched(41000, i, 0, i);

  // throttle (1, IPv4) and IPv6 prefix throttle (7): SYN without window scale (SACK kept),
  // every server segment's window exactly the clamp, the SYN-ACK's MSS exactly the clamp,
  // client data as is, all at their input times
  for (auto [port, c] : {std::pair<uint16_t, size_t>{41003, 1}, {42003, 7}}) {
    SCOPED_TRACE(port);
    ASSERT_EQ(by_port[port].size(), 5u);
    const auto &v = by_port[port];
    EXPECT_EQ(tcp_option(v[0].frame, 3), -1);
    EXPECT_EQ(tcp_option(v[0].frame, 4), 0) << "SACK-permitted kept";
    EXPECT_EQ(tcp_option(v[0].frame, 2), 1460) << "the client's MSS is left alone";
    EXPECT_EQ(tcp_option(v[1].frame, 2), throttle.mss_clamp);
    for (size_t i : {1, 2, 4}) EXPECT_EQ(tcp_window(v[i].frame), throttle.window_clamp);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(v[i].ns, conv_in(c, i).ns);
    untouched(port, 3, c, 3);
  }

  // slow (2): client segments pass at once, server segments leave delay later, in order, with
  // the level's window
  ASSERT_EQ(by_port[41005].size(), 5u);
  const auto &sl = by_port[41005];
  const uint64_t delay = uint64_t{slow.delay_us} * 1000;
  ASSERT_GT(delay, 0u);
  EXPECT_EQ(tcp_flags(sl[0].frame), 0x02);
  EXPECT_EQ(sl[0].ns, conv_in(2, 0).ns);  // SYN passes at once
  untouched(41005, 1, 2, 3);              // client data passes at once
  EXPECT_EQ(tcp_flags(sl[2].frame), 0x12);
  EXPECT_EQ(tcp_flags(sl[3].frame), 0x18);
  EXPECT_EQ(tcp_flags(sl[4].frame), 0x10);
  for (auto [out_i, in_i] : {std::pair<size_t, size_t>{2, 1}, {3, 2}, {4, 4}}) {
    EXPECT_EQ(sl[out_i].ns, conv_in(2, in_i).ns + delay) << out_i;
    EXPECT_EQ(tcp_window(sl[out_i].frame), slow.window_clamp) << out_i;
  }

  // tarpit (3): SYN-ACK window untouched, zero window from the greeting on
  ASSERT_EQ(by_port[41008].size(), 5u);
  EXPECT_EQ(tcp_window(by_port[41008][1].frame), win_in);
  EXPECT_EQ(tcp_window(by_port[41008][2].frame), 0);
  EXPECT_EQ(tcp_window(by_port[41008][4].frame), 0);
  untouched(41008, 3, 3, 3);

  // drop-data (4): the client's data segment is gone, the rest passes as is
  ASSERT_EQ(by_port[41009].size(), 4u);
  untouched(41009, 0, 4, 0);
  untouched(41009, 1, 4, 1);
  untouched(41009, 2, 4, 2);
  untouched(41009, 3, 4, 4);

  // block-rst (5, IPv4; 8, IPv6): the SYN answered with one RST|ACK (acknowledging the SYN)
  // at its time; the server's canned segments and the client data belong to no flow and pass
  for (auto [port, c] : {std::pair<uint16_t, size_t>{41010, 5}, {42010, 8}}) {
    SCOPED_TRACE(port);
    ASSERT_EQ(by_port[port].size(), 5u);
    const Rec &rst = by_port[port][0];
    EXPECT_EQ(tcp_flags(rst.frame), 0x14);
    EXPECT_EQ(rst.ns, conv_in(c, 0).ns);
    const size_t t = tcp_offset(rst.frame);
    const uint32_t ack = uint32_t{rst.frame[t + 8]} << 24 | uint32_t{rst.frame[t + 9]} << 16 |
                         uint32_t{rst.frame[t + 10]} << 8 | rst.frame[t + 11];
    const size_t ts = tcp_offset(conv_in(c, 0).frame);
    const auto &syn = conv_in(c, 0).frame;
    const uint32_t syn_seq = uint32_t{syn[ts + 4]} << 24 | uint32_t{syn[ts + 5]} << 16 |
                             uint32_t{syn[ts + 6]} << 8 | syn[ts + 7];
    EXPECT_EQ(ack, syn_seq + 1);
    for (size_t i = 1; i < 5; ++i) untouched(port, i, c, i);
  }

  // block-drop (6): the SYN is gone, the rest passes as is
  ASSERT_EQ(by_port[41025].size(), 4u);
  for (size_t i = 0; i < 4; ++i) untouched(41025, i, 6, i + 1);

  EXPECT_EQ(by_port.size(), golden::conversations().size()) << "output for an unknown port";

  // Then the whole output, byte for byte, against the checked-in golden capture (and the
  // inputs against theirs, which the sluice-dp replay command line test uses).
  EXPECT_EQ(file_bytes(in_path), file_bytes(kGolden / golden::kInput));
  EXPECT_EQ(file_bytes(o.table), file_bytes(kGolden / golden::kTable));
  const fs::path golden_out = kGolden / golden::kOutput;
  ASSERT_TRUE(fs::exists(golden_out)) << "no golden file; run make_replay_golden";
  EXPECT_EQ(file_bytes(out_path), file_bytes(golden_out))
      << "output differs from " << golden_out << " (after an intended change: make_replay_golden)";
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
