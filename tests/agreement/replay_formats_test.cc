// Both replays on the capture formats an operator hands them: the golden capture re-stamped
// with sub-microsecond timestamps and written as nanosecond pcap, nanosecond pcapng,
// microsecond pcapng and microsecond pcap. With a policy without delay levels (sluice-dp would
// re-stamp held segments; XDP cannot hold) both must write byte-identical output files whose
// frames carry the input frames' timestamps. And `--output X` with symlinks planted at X and at
// the old fixed temporary "X.tmp" leaves their targets intact.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/capture_files.h"
#include "common/privileged.h"
#include "pcap_io.h"

namespace sluice::pcap {
namespace {

namespace fs = std::filesystem;
using testing::CaptureFormat;
using testing::CaptureFrame;

const fs::path kGolden = fs::path(SLUICE_DP_GOLDEN_DIR);

// Throttle (clamps, window-scale strip), block with RST, block with drop: every action that
// emits a frame at the moment its input arrives.
constexpr const char *kPolicy = R"([smtp]
ports = 25

[level.1]
name = throttle
threshold = 3
window_clamp = 2048
mss_clamp = 536

[level.2]
name = block-rst
threshold = 10
block = rst

[level.3]
name = block-drop
threshold = 20
block = drop
)";

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run(const std::string &cmd) {
  const int st = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class ReplayFormats : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-replay-formats-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.ini") << kPolicy;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Both replays take the same flags.
  std::string args(const fs::path &in, const fs::path &out) const {
    return " replay --table " + (kGolden / "replay_table.snap").string() + " --policy " +
           (dir_ / "policy.ini").string() + " --inside-net 198.18.0.0/24 2001:2::/64 --input " +
           in.string() + " --output " + out.string();
  }
  std::string dp(const fs::path &in, const fs::path &out) const {
    return std::string(SLUICE_DP_BIN) + args(in, out);
  }
  std::string xdp(const fs::path &in, const fs::path &out) const {
    return std::string(SLUICE_XDP_BIN) + args(in, out);
  }

  fs::path dir_;
};

// The golden frames, each moved to a timestamp with a sub-microsecond part (kept increasing).
std::vector<CaptureFrame> restamped_golden() {
  std::vector<CaptureFrame> frames;
  uint64_t prev = 0;
  uint64_t i = 0;
  for (const Frame &f : read_file((kGolden / "replay_actions.in.pcap").string())) {
    uint64_t ts = f.ts_ns / 1000 * 1000 + 1 + (i++ * 37) % 999;
    if (ts <= prev) ts = prev + 1;
    prev = ts;
    frames.push_back({ts, f.data});
  }
  return frames;
}

TEST_F(ReplayFormats, NanosecondPcapAndPcapngGiveIdenticalOutputsWithInputTimestamps) {
  SLUICE_REQUIRE_PRIVILEGED();
  const std::vector<CaptureFrame> input = restamped_golden();
  ASSERT_GT(input.size(), 10u);
  const struct {
    CaptureFormat fmt;
    const char *name;
    bool micro;
  } formats[] = {{CaptureFormat::kPcapNano, "ns.pcap", false},
                 {CaptureFormat::kPcapngNano, "ns.pcapng", false},
                 {CaptureFormat::kPcapngMicro, "us.pcapng", true},
                 {CaptureFormat::kPcapMicro, "us.pcap", true}};
  for (const auto &f : formats) {
    SCOPED_TRACE(f.name);
    const fs::path in = dir_ / f.name;
    const fs::path dp_out = dir_ / (std::string(f.name) + ".dp.pcap");
    const fs::path xdp_out = dir_ / (std::string(f.name) + ".xdp.pcap");
    write_capture(in.string(), f.fmt, input);
    ASSERT_EQ(run(dp(in, dp_out)), 0) << dp(in, dp_out);
    ASSERT_EQ(run(xdp(in, xdp_out)), 0) << xdp(in, xdp_out);
    EXPECT_EQ(slurp(dp_out), slurp(xdp_out)) << "sluice-dp and sluice-xdp outputs differ";

    // Every output frame carries the timestamp of an input frame, in input order, with the
    // sub-microsecond digits of a nanosecond input; something is dropped, something emitted.
    const std::vector<Frame> out = read_file(xdp_out.string());
    ASSERT_FALSE(out.empty());
    EXPECT_LT(out.size(), input.size());
    size_t next = 0;
    for (size_t k = 0; k < out.size(); ++k) {
      const uint64_t want_unit = f.micro ? 1000 : 1;
      while (next < input.size() && input[next].ts_ns / want_unit * want_unit != out[k].ts_ns)
        ++next;
      ASSERT_LT(next, input.size()) << "output frame " << k << " has timestamp " << out[k].ts_ns
                                    << ", which no later input frame has";
      ++next;
      if (!f.micro) {
        EXPECT_NE(out[k].ts_ns % 1000, 0u) << "output frame " << k;
      }
    }
  }
}

TEST_F(ReplayFormats, PlantedSymlinksAtTheOutputAreNotFollowed) {
  SLUICE_REQUIRE_PRIVILEGED();
  const fs::path in = dir_ / "in.pcap";
  write_capture(in.string(), CaptureFormat::kPcapNano, restamped_golden());
  for (const char *plane : {"sluice-dp", "sluice-xdp"}) {
    SCOPED_TRACE(plane);
    const fs::path victim_a = dir_ / "victim_a", victim_b = dir_ / "victim_b";
    std::ofstream(victim_a) << "root-owned A";
    std::ofstream(victim_b) << "root-owned B";
    const fs::path out = dir_ / "out.pcap";
    fs::remove(out);
    fs::remove(dir_ / "out.pcap.tmp");
    fs::create_symlink(victim_a, out);
    fs::create_symlink(victim_b, dir_ / "out.pcap.tmp");
    const std::string cmd = std::string(plane) == "sluice-dp" ? dp(in, out) : xdp(in, out);
    EXPECT_EQ(run(cmd), 0) << cmd;
    EXPECT_EQ(slurp(victim_a), "root-owned A");
    EXPECT_EQ(slurp(victim_b), "root-owned B");
    EXPECT_FALSE(fs::is_symlink(out));
    EXPECT_FALSE(read_file(out.string()).empty());
  }
}

}  // namespace
}  // namespace sluice::pcap
