// sluice-xdp replay: a capture through the program with a policy file and a table snapshot;
// the output capture holds what the program emitted, in order (rewritten, answered, untouched).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/privileged.h"
#include "common/frame_fields.h"
#include "common/tcp_frame.h"
#include "pcap_io.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::xdp {
namespace {

using sluice::testing::checksums_ok;
using sluice::testing::TcpFrame;

TEST(XdpReplay, CaptureThroughProgramWithPolicyAndTable) {
  SLUICE_REQUIRE_PRIVILEGED();
  const std::string dir = "/tmp/sluice-xdp-replay-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};

  {
    std::ofstream pf(dir + "/policy.ini");
    pf << "[smtp]\nports = 25\n[level.1]\nthreshold = 3\nwindow_clamp = 2048\n"
          "[level.2]\nthreshold = 10\nblock = rst\n";
  }
  reputation::HostV4 blocked{}, throttled{};
  blocked.addr_be = __builtin_bswap32(0xc6120063u);  // 198.18.0.99
  blocked.value = {12, 0};
  throttled.addr_be = __builtin_bswap32(0xc6120064u);  // 198.18.0.100
  throttled.value = {4, 0};
  reputation::Snapshot::from_entries({blocked, throttled}, {}, {}, {}).save(dir + "/t.snap");

  std::vector<uint8_t> arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  TcpFrame clean;
  clean.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
  TcpFrame bad = clean;
  bad.src[3] = 99;
  TcpFrame slow = clean;
  slow.src[3] = 100;
  constexpr uint64_t kSec = 1'000'000'000;
  const std::vector<pcap::Frame> in = {{1 * kSec, arp},
                                       {2 * kSec, clean.build()},
                                       {3 * kSec, bad.build()},
                                       {4 * kSec, slow.build()},
                                       {5 * kSec, {1, 2, 3}}};  // runt
  pcap::write_file(dir + "/in.pcap", in);

  const std::string cmd = std::string(SLUICE_XDP_BIN) + " replay --input " + dir +
                          "/in.pcap --output " + dir + "/out.pcap --policy " + dir +
                          "/policy.ini --table " + dir + "/t.snap 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {};
  std::string out;
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("5 frames: 4 forwarded, 0 dropped, 1 answered"), std::string::npos) << out;

  const auto got = pcap::read_file(dir + "/out.pcap");
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].data, arp);
  EXPECT_EQ(got[1].data, clean.build());
  // The RST|ACK answering the blocked SYN: addresses and ports swapped, acknowledging the SYN.
  const auto &rst = got[2].data;
  ASSERT_EQ(rst.size(), 54u);
  EXPECT_TRUE(std::equal(bad.dst.begin(), bad.dst.begin() + 4, rst.begin() + 26));
  EXPECT_TRUE(std::equal(bad.src.begin(), bad.src.begin() + 4, rst.begin() + 30));
  EXPECT_EQ(rst[34] << 8 | rst[35], bad.dport);
  EXPECT_EQ(rst[36] << 8 | rst[37], bad.sport);
  EXPECT_EQ(static_cast<uint32_t>(rst[42] << 24 | rst[43] << 16 | rst[44] << 8 | rst[45]),
            bad.seq + 1);
  EXPECT_EQ(rst[47], 0x14);
  EXPECT_TRUE(checksums_ok(rst));
  // The throttled SYN: the same frame with its window-scale option (3 3 7) replaced by NOPs.
  TcpFrame stripped = slow;
  ASSERT_EQ(stripped.options[5], 3);
  stripped.options[5] = stripped.options[6] = stripped.options[7] = 1;
  EXPECT_EQ(got[3].data, stripped.build());
  EXPECT_TRUE(checksums_ok(got[3].data));
  EXPECT_EQ(got[4].data, in[4].data);
  EXPECT_EQ(got[3].ts_ns, 4 * kSec);
}

}  // namespace
}  // namespace sluice::xdp
