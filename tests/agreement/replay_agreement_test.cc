// Agreement of the two replay front-ends: the checked-in capture that exercises every action
// both data planes share (window and MSS clamp with window-scale strip, tarpit, block drop,
// block RST, client drop rate 100% and 0%, IPv4, IPv6, VLAN tags; with a derived policy also
// server drop rate 100%) goes through `sluice-dp replay` and `sluice-xdp replay` with the same
// table and policy. The frames each emits must be byte-identical and the same frames must be
// missing (dropped).
//
// Compared per flow direction (addresses and ports as on the wire), in order: sluice-dp holds
// a DELAY verdict's segments and emits them later, XDP cannot hold a packet and emits at once,
// so the global order differs while each direction's sequence must not. Timestamps ignored.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/privileged.h"
#include "pcap_io.h"

namespace sluice::xdp {
namespace {

namespace fs = std::filesystem;
using Frames = std::vector<std::vector<uint8_t>>;

const fs::path kGolden = fs::path(SLUICE_DP_GOLDEN_DIR);

// "src>dst sport>dport" from the raw bytes behind up to 2 VLAN tags (the tag is part of the
// key too: the same addresses on two VLANs are two flows); "other" for anything else.
std::string direction_key(const std::vector<uint8_t> &f) {
  std::string key;
  size_t off = 12;
  for (int tags = 0; tags <= 2; ++tags) {
    if (off + 2 > f.size()) return "other";
    const unsigned type = unsigned(f[off]) << 8 | f[off + 1];
    off += 2;
    if (type == 0x8100 || type == 0x88a8) {
      if (off + 2 > f.size()) return "other";
      key += "vlan" + std::to_string((f[off] & 0x0f) << 8 | f[off + 1]) + " ";
      off += 2;
      continue;
    }
    size_t addr, alen, l4;
    if (type == 0x0800 && off + 20 <= f.size()) {
      addr = off + 12, alen = 4, l4 = off + size_t(f[off] & 0x0f) * 4;
    } else if (type == 0x86dd && off + 40 <= f.size()) {
      addr = off + 8, alen = 16, l4 = off + 40;  // the capture has no extension headers
    } else {
      return "other";
    }
    auto hex = [&](size_t at, size_t n) {
      std::string s;
      for (size_t i = 0; i < n; ++i)
        s += "0123456789abcdef"[f[at + i] >> 4], s += "0123456789abcdef"[f[at + i] & 15];
      return s;
    };
    key += hex(addr, alen);
    key += '>';
    key += hex(addr + alen, alen);
    if (l4 + 4 <= f.size()) {
      // Appended piece by piece: GCC 12 misreads `" " + std::string` (-Werror=restrict at -O3).
      key += ' ';
      key += hex(l4, 2);
      key += '>';
      key += hex(l4 + 2, 2);
    }
    return key;
  }
  return "other";
}

std::map<std::string, Frames> by_direction(const std::vector<pcap::Frame> &frames) {
  std::map<std::string, Frames> out;
  for (const pcap::Frame &f : frames) out[direction_key(f.data)].push_back(f.data);
  return out;
}

class ReplayAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-replay-agree-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }  // replay uses no pinned maps
  fs::path dir_;
};

// Runs both replays of the golden capture with `policy`; returns the frames sluice-dp emitted
// after checking that sluice-xdp emitted the same ones per flow direction.
std::vector<pcap::Frame> expect_agreement(const fs::path &dir, const std::string &policy) {
  const std::string in = (kGolden / "replay_actions.in.pcap").string();
  const std::string table = (kGolden / "replay_table.snap").string();
  const std::string nets = " --inside-net 198.18.0.0/24 2001:2::/64";
  const std::string dp_out = (dir / "dp.pcap").string(), xdp_out = (dir / "xdp.pcap").string();
  const std::string dp = std::string(SLUICE_DP_BIN) + " replay --table " + table + " --policy " +
                         policy + nets + " --input " + in + " --output " + dp_out + " 2>&1";
  const std::string xdp = std::string(SLUICE_XDP_BIN) + " replay --table " + table + " --policy " +
                          policy + nets + " --input " + in + " --output " + xdp_out + " 2>&1";
  EXPECT_EQ(std::system(dp.c_str()), 0) << dp;
  EXPECT_EQ(std::system(xdp.c_str()), 0) << xdp;

  const auto input = pcap::read_file(in);
  const auto dp_frames = pcap::read_file(dp_out);
  const auto xdp_frames = pcap::read_file(xdp_out);
  // Not vacuous: the capture makes both planes drop, answer and rewrite something.
  EXPECT_LT(dp_frames.size(), input.size());
  const auto in_dirs = by_direction(input);
  const auto dp_dirs = by_direction(dp_frames);
  const auto xdp_dirs = by_direction(xdp_frames);
  size_t rewritten = 0;
  for (const auto &[key, frames] : dp_dirs) {
    auto it = in_dirs.find(key);
    if (it == in_dirs.end()) continue;
    for (const auto &f : frames)
      if (std::find(it->second.begin(), it->second.end(), f) == it->second.end()) ++rewritten;
  }
  EXPECT_GT(rewritten, 0u);

  EXPECT_EQ(dp_frames.size(), xdp_frames.size());
  for (const auto &[key, frames] : dp_dirs) {
    auto it = xdp_dirs.find(key);
    if (it == xdp_dirs.end()) {
      ADD_FAILURE() << "only sluice-dp emitted frames for " << key;
      continue;
    }
    EXPECT_EQ(frames.size(), it->second.size()) << key << ": different drop decisions";
    for (size_t i = 0; i < std::min(frames.size(), it->second.size()); ++i)
      EXPECT_EQ(frames[i], it->second[i]) << key << ": frame " << i << " differs";
  }
  for (const auto &[key, frames] : xdp_dirs)
    EXPECT_TRUE(dp_dirs.count(key)) << "only sluice-xdp emitted frames for " << key;
  return dp_frames;
}

TEST_F(ReplayAgreement, SameCaptureGivesSameFramesAndDrops) {
  SLUICE_REQUIRE_PRIVILEGED();
  expect_agreement(dir_, (kGolden / "policy.ini").string());
}

// The golden policy has no server drop rate (XDP's loss-induced slowing, in the shared core):
// the same capture with the throttle and delay levels dropping every server payload segment.
TEST_F(ReplayAgreement, ServerDropRateAgrees) {
  SLUICE_REQUIRE_PRIVILEGED();
  std::ifstream golden(kGolden / "policy.ini");
  const fs::path policy = dir_ / "policy.ini";
  std::ofstream out(policy);
  std::string line;
  while (std::getline(golden, line)) {
    out << line << "\n";
    if (line == "[level.1]" || line == "[level.2]") out << "server_drop_ppm = 1000000\n";
  }
  out.close();
  const size_t base = expect_agreement(dir_, (kGolden / "policy.ini").string()).size();
  const size_t dropping = expect_agreement(dir_, policy.string()).size();
  // IPv4 throttle, delay and the IPv6 prefix throttle each lose their greeting.
  EXPECT_LT(dropping, base);
}

}  // namespace
}  // namespace sluice::xdp
