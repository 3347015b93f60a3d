// sluice_common's capture files (both replays read and write through them): every input format
// gives the same frames with nanosecond timestamps, the output keeps them, and an output path
// with something planted at it (symlinks, the old fixed "X.tmp") never writes anywhere else.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/capture_files.h"
#include "pcap_io.h"

namespace sluice::pcap {
namespace {

namespace fs = std::filesystem;
using testing::CaptureFormat;
using testing::CaptureFrame;

constexpr uint64_t kSec = 1'000'000'000;

std::vector<CaptureFrame> sample() {
  // Sub-microsecond parts that a microsecond file would lose, and a second boundary.
  return {{1700000000 * kSec + 123456789, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
          {1700000000 * kSec + 999999999, std::vector<uint8_t>(1500, 0xab)},
          {1700000001 * kSec + 1, {0x42}}};
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class PcapIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sluice-pcap-io-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

void expect_frames(const std::vector<Frame> &got, const std::vector<CaptureFrame> &want,
                   bool micro) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].data, want[i].data) << "frame " << i;
    EXPECT_EQ(got[i].ts_ns, micro ? want[i].ts_ns / 1000 * 1000 : want[i].ts_ns) << "frame " << i;
  }
}

TEST_F(PcapIo, ReadsEveryFormatWithNanosecondTimestamps) {
  const struct {
    CaptureFormat fmt;
    const char *name;
    bool micro;
  } formats[] = {{CaptureFormat::kPcapMicro, "us.pcap", true},
                 {CaptureFormat::kPcapNano, "ns.pcap", false},
                 {CaptureFormat::kPcapngMicro, "us.pcapng", true},
                 {CaptureFormat::kPcapngNano, "ns.pcapng", false}};
  for (const auto &f : formats) {
    SCOPED_TRACE(f.name);
    write_capture((dir_ / f.name).string(), f.fmt, sample());
    expect_frames(read_file((dir_ / f.name).string()), sample(), f.micro);
  }
}

TEST_F(PcapIo, WritesTheNanosecondMagicAndKeepsTimestamps) {
  std::vector<Frame> frames;
  for (const auto &f : sample()) frames.push_back({f.ts_ns, f.data});
  const fs::path out = dir_ / "out.pcap";
  write_file(out.string(), frames);
  // Byte for byte what an independent nanosecond pcap writer produces (but the snap length).
  std::string bytes = slurp(out);
  const auto want_v = testing::capture_bytes(CaptureFormat::kPcapNano, sample());
  std::string want(want_v.begin(), want_v.end());
  ASSERT_EQ(bytes.size(), want.size());
  EXPECT_EQ(bytes.substr(0, 16), want.substr(0, 16));  // magic a1b23c4d, version, zone, sigfigs
  EXPECT_EQ(bytes.substr(20), want.substr(20));        // link type and every record
  expect_frames(read_file(out.string()), sample(), false);
}

TEST_F(PcapIo, RefusesWhatIsNotAnEthernetCapture) {
  const fs::path garbage = dir_ / "garbage.pcap";
  std::ofstream(garbage) << "not a pcap file at all, long enough for a header";
  try {
    read_file(garbage.string());
    ADD_FAILURE() << "garbage accepted";
  } catch (const PcapError &e) {
    EXPECT_EQ(std::string(e.what()).rfind(garbage.string() + ": ", 0), 0u) << e.what();
  }
  auto raw = testing::capture_bytes(CaptureFormat::kPcapNano, sample());
  raw[20] = 101;  // LINKTYPE_RAW
  const fs::path ip = dir_ / "raw.pcap";
  std::ofstream(ip, std::ios::binary)
      .write(reinterpret_cast<const char *>(raw.data()), static_cast<std::streamsize>(raw.size()));
  EXPECT_THROW(read_file(ip.string()), PcapError);
  EXPECT_THROW(read_file((dir_ / "missing.pcap").string()), sluice::Error);
  auto cut = testing::capture_bytes(CaptureFormat::kPcapNano, sample());
  cut.resize(cut.size() - 1);  // the last record is truncated
  const fs::path trunc = dir_ / "trunc.pcap";
  std::ofstream(trunc, std::ios::binary)
      .write(reinterpret_cast<const char *>(cut.data()), static_cast<std::streamsize>(cut.size()));
  EXPECT_THROW(read_file(trunc.string()), PcapError);
}

// A symlink planted at the output path, or at the temporary name the hand-written writer used
// ("X.tmp"), never redirects the write: the targets keep their bytes, X becomes a new file.
TEST_F(PcapIo, PlantedSymlinksAreReplacedNotFollowed) {
  const fs::path victim_a = dir_ / "victim_a", victim_b = dir_ / "victim_b";
  std::ofstream(victim_a) << "root-owned A";
  std::ofstream(victim_b) << "root-owned B";
  const fs::path out = dir_ / "out.pcap";
  fs::create_symlink(victim_a, out);
  fs::create_symlink(victim_b, dir_ / "out.pcap.tmp");
  std::vector<Frame> frames;
  for (const auto &f : sample()) frames.push_back({f.ts_ns, f.data});
  write_file(out.string(), frames);
  EXPECT_EQ(slurp(victim_a), "root-owned A");
  EXPECT_EQ(slurp(victim_b), "root-owned B");
  EXPECT_FALSE(fs::is_symlink(out));
  expect_frames(read_file(out.string()), sample(), false);
}

TEST_F(PcapIo, AnUncommittedWriterLeavesTheTargetAndNoTemporary) {
  const fs::path out = dir_ / "out.pcap";
  std::ofstream(out) << "previous output";
  {
    Writer w(out.string());
    w.write(1, reinterpret_cast<const uint8_t *>("abc"), 3);
  }  // e.g. an exception half way through a replay
  EXPECT_EQ(slurp(out), "previous output");
  size_t entries = 0;
  for ([[maybe_unused]] const auto &e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
  EXPECT_THROW(Writer((dir_ / "no-such-dir" / "out.pcap").string()), PcapError);
}

}  // namespace
}  // namespace sluice::pcap
