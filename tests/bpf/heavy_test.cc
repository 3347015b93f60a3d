// SYN heavy hitters in the XDP program (heavy_sketch, heavy_table) through BPF_PROG_TEST_RUN:
// the shared heavy stream (tests/core/heavy_stream.h: every SYN encoding the core accepts,
// interleaved with packets that must not count) reports what the native runner reports;
// counting off counts nothing; counts of several CPUs are summed; XdpClient reads a pinned
// instance's maps.
//
// The programs read bpf_ktime_get_ns, so a stream must fall in one counting window (about
// 1.07 s): each run starts early in a window and is run again (at most 3 times) if the window
// changed under it.
#include <gtest/gtest.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/pregreet_frames.h"
#include "common/privileged.h"
#include "common/tcp_frame.h"
#include "core/heavy_stream.h"
#include "core/native_pipeline.h"
#include "heavy_merge.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/heavy_maps.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "xdp_client.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::HeavyPacket;
using sluice::testing::kHeavyTestSeed;
using testing::OnCpu;

std::map<std::string, uint64_t> as_map(const std::vector<heavy::HeavyCount> &v) {
  std::map<std::string, uint64_t> out;
  for (const auto &c : v) out[heavy::prefix_text(c.key)] = c.syns;
  return out;
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Waits for the next window when less than 600 ms of this one are left.
void start_early_in_a_window() {
  const uint64_t into = monotonic_ns() & (heavy::kWindowNs - 1);
  if (heavy::kWindowNs - into < 600'000'000ull)
    usleep(static_cast<useconds_t>((heavy::kWindowNs - into) / 1000 + 20'000));
}

// `send` run within one window (at most 3 tries, each after `reset`); that window, or 0.
uint32_t in_one_window(const std::function<void()> &reset, const std::function<void()> &send) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    reset();
    start_early_in_a_window();
    const uint32_t epoch = heavy_epoch_now();
    send();
    if (heavy_epoch_now() == epoch) return epoch;
  }
  return 0;
}

class XdpHeavy : public ::testing::Test {
 protected:
  // One loaded program for every test (each load is a full verifier pass).
  static testing::LoadedXdp &loaded() {
    static testing::LoadedXdp x(sluice::testing::heavy_policy(5));
    return x;
  }
  void SetUp() override { SLUICE_REQUIRE_PRIVILEGED(); }
  int sketch_fd() { return loaded().obj.map_fd("heavy_sketch"); }
  int table_fd() { return loaded().obj.map_fd("heavy_table"); }
  void reset() {
    loaded().reset();
    reset_heavy(sketch_fd(), table_fd(), kHeavyTestSeed);
  }
  void run(const HeavyPacket &p) {
    if (p.dir == SL_DIR_FROM_OUTSIDE)
      loaded().outside(p.frame);
    else
      loaded().inside(p.frame);
  }
  // The stream at `threshold` on one CPU; what the maps report (prefix -> SYNs).
  std::map<std::string, uint64_t> run_stream(uint32_t threshold) {
    loaded().set_policy(sluice::testing::heavy_policy(threshold));
    OnCpu cpu(sched_getcpu());
    EXPECT_TRUE(cpu.ok());
    const auto stream = sluice::testing::heavy_stream();
    const uint32_t epoch = in_one_window([&] { reset(); },
                                         [&] {
                                           for (const HeavyPacket &p : stream) run(p);
                                         });
    EXPECT_NE(epoch, 0u) << "the stream never fell in one window";
    return as_map(read_heavy(sketch_fd(), table_fd(), epoch, SIZE_MAX));
  }
};

// The native runner on the same stream with the same seed (tests/core/heavy_test.cc).
std::map<std::string, uint64_t> native_report(uint32_t threshold) {
  sluice::testing::NativeHeavy h(kHeavyTestSeed);
  const sl_policy pol = sluice::testing::heavy_policy(threshold);
  h.now_ns = sluice::testing::kHeavyStreamNowNs;
  for (const HeavyPacket &p : sluice::testing::heavy_stream())
    sluice::testing::run_native_counted(h, p.frame, p.dir, pol);
  heavy::HeavyMerge m(sl_heavy_epoch(h.now_ns));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  m.add_sketch(*h.sketch);
  return as_map(m.top(SIZE_MAX));
}

TEST_F(XdpHeavy, StreamReportsWhatTheNativeTableReports) {
  const auto stream = sluice::testing::heavy_stream();
  for (uint32_t threshold : {1u, 5u, 13u, 30u}) {
    const auto expected = sluice::testing::heavy_expected(stream, threshold);
    ASSERT_FALSE(expected.empty());
    const auto xdp = run_stream(threshold);
    EXPECT_EQ(xdp, native_report(threshold)) << "threshold " << threshold;
    EXPECT_EQ(xdp, expected) << "threshold " << threshold;
  }
}

TEST_F(XdpHeavy, OffCountsNothing) {
  EXPECT_TRUE(run_stream(0).empty());
  sl_heavy_key k{};
  EXPECT_NE(bpf_map_get_next_key(table_fd(), nullptr, &k), 0) << "a candidate with counting off";
  // Not one cell written on any CPU: every sketch is what reset_heavy left.
  sl_heavy_sketch zero{};
  zero.seed = kHeavyTestSeed;
  auto sk = std::make_unique<sl_heavy_sketch>();
  for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(libbpf_num_possible_cpus()); ++cpu) {
    ASSERT_EQ(bpf_map_lookup_elem(sketch_fd(), &cpu, sk.get()), 0);
    EXPECT_EQ(std::memcmp(sk.get(), &zero, sizeof(zero)), 0) << "CPU " << cpu;
  }
}

// A SYN to port 25 from `src` (IPv4) and `port`.
std::vector<uint8_t> syn_from(const uint8_t src[4], uint16_t port) {
  sluice::testing::TcpFrame f;
  std::memcpy(f.src.data(), src, 4);
  f.sport = port;
  return f.build();
}

// Each CPU counts the SYNs it runs; a reader sums them. A prefix is a candidate once one CPU's
// count reaches the threshold (as one lcore's does in sluice-dp).
TEST_F(XdpHeavy, CountsOfSeveralCpusAreSummed) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  loaded().set_policy(sluice::testing::heavy_policy(20));
  const uint8_t a[4] = {198, 18, 40, 7}, b[4] = {198, 18, 41, 7};
  auto send = [&](const uint8_t src[4], int cpu, int n, uint16_t port0) {
    OnCpu on(cpu);
    ASSERT_TRUE(on.ok());
    for (int i = 0; i < n; ++i) loaded().outside(syn_from(src, static_cast<uint16_t>(port0 + i)));
  };
  const uint32_t epoch = in_one_window([&] { reset(); },
                                       [&] {
                                         send(a, 0, 30, 1000);  // both CPUs reach 20
                                         send(a, 1, 30, 2000);
                                         send(b, 0, 15, 3000);  // neither does
                                         send(b, 1, 15, 4000);
                                       });
  ASSERT_NE(epoch, 0u);
  const auto got = as_map(read_heavy(sketch_fd(), table_fd(), epoch, SIZE_MAX));
  const std::map<std::string, uint64_t> want = {{"198.18.40.7/32", 60}, {"198.18.40.0/24", 60}};
  EXPECT_EQ(got, want);
}

// ---- Verdicts: the SYNs of each sender shaped and blocked, per level, in verdict_table

// Each CPU counts the verdicts of the SYNs it runs; read_verdicts sums them per sender and level.
TEST_F(XdpHeavy, VerdictsOfSeveralCpusAreSummedPerSenderAndLevel) {
  const bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  loaded().set_policy(sluice::testing::heavy_policy(5));
  reset();
  const uint8_t blocked[4] = {198, 18, 60, 7}, shaped[4] = {198, 18, 60, 8};
  sl_rep_value level6{25, 0}, level1{3, 0};
  const int host4 = loaded().obj.map_fd("host4_0");
  ASSERT_EQ(bpf_map_update_elem(host4, blocked, &level6, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(host4, shaped, &level1, BPF_ANY), 0);
  auto send = [&](const uint8_t src[4], int cpu, int n, uint16_t port0) {
    OnCpu on(cpu);
    ASSERT_TRUE(on.ok());
    for (int i = 0; i < n; ++i) loaded().outside(syn_from(src, static_cast<uint16_t>(port0 + i)));
  };
  send(blocked, 0, 3, 1000);
  send(shaped, 0, 2, 2000);
  if (two) send(blocked, 1, 2, 3000);
  const auto got = read_verdicts(loaded().obj.map_fd("verdict_table"), heavy_epoch_now(), 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(heavy::address_text(got[0].key), "198.18.60.7");
  EXPECT_EQ(got[0].key.level, 6u);
  EXPECT_EQ(got[0].blocked, two ? 5u : 3u);
  EXPECT_EQ(got[0].shaped, 0u);
  EXPECT_EQ(heavy::address_text(got[1].key), "198.18.60.8");
  EXPECT_EQ(got[1].key.level, 1u);
  EXPECT_EQ(got[1].shaped, 2u);
  EXPECT_EQ(got[1].blocked, 0u);
  EXPECT_TRUE(read_pregreet(table_fd(), heavy_epoch_now(), 10).empty())
      << "verdicts stay out of heavy_table";
  bpf_map_delete_elem(host4, blocked);
  bpf_map_delete_elem(host4, shaped);
}

// ---- Fan-out: a subscriber's remote MTAs new in the window, in verdict_table

// The pair slots are one array for every CPU: a pair counts once whichever CPU sees it. Outbound
// SYNs count for no heavy hitter.
TEST_F(XdpHeavy, FanOutCountsEachRemoteMtaOnceWhicheverCpuSeesIt) {
  const bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  sl_policy pol = sluice::testing::heavy_policy(5);
  pol.out_ports[0] = sl_htons(25);  // [outbound] without levels: counted, nobody shaped
  loaded().set_policy(pol);
  // From inside, a subscriber's SYN to remote MTA 198.18.62.N.
  auto send = [&](uint8_t subscriber, uint8_t mta, int cpu, uint16_t port) {
    OnCpu on(cpu);
    ASSERT_TRUE(on.ok());
    sluice::testing::TcpFrame f;
    f.src = {198, 18, 61, subscriber};
    f.dst = {198, 18, 62, mta};
    f.sport = port;
    loaded().inside(f.build());
  };
  std::vector<heavy::HeavyCount> got;
  for (int attempt = 0; attempt < 2; ++attempt) {  // again if a fan-out window ended meanwhile
    reset();
    const uint32_t window = sl_fanout_window(monotonic_ns());
    for (uint8_t mta = 1; mta <= 3; ++mta) send(7, mta, 0, static_cast<uint16_t>(40000 + mta));
    for (uint16_t i = 0; i < 6; ++i) send(7, 1, two ? 1 : 0, static_cast<uint16_t>(41000 + i));
    send(8, 1, 0, 42000);
    if (sl_fanout_window(monotonic_ns()) != window) continue;
    got = read_fanout(loaded().obj.map_fd("verdict_table"), heavy_epoch_now(), 10);
    break;
  }
  std::vector<std::pair<std::string, uint64_t>> seen;
  for (const auto &c : got) seen.emplace_back(heavy::address_text(c.key), c.syns);
  const std::vector<std::pair<std::string, uint64_t>> want = {{"198.18.61.7", 3},
                                                              {"198.18.61.8", 1}};
  EXPECT_EQ(seen, want);
  EXPECT_TRUE(read_verdicts(loaded().obj.map_fd("verdict_table"), heavy_epoch_now(), 10).empty())
      << "an outbound SYN is no sender's verdict";
  EXPECT_TRUE(read_heavy(sketch_fd(), table_fd(), heavy_epoch_now(), 10).empty())
      << "9 outbound SYNs of one subscriber, threshold 5: no heavy hitter";
  loaded().set_policy(sluice::testing::heavy_policy(5));
}

// ---- Pregreet: the event entries of heavy_table, and the same stream through the native runner

// Connections in order: (client, pregreet?). Each: the client's SYN, the server's SYN-ACK, the
// greeting when the client waits for it, then the client's first data.
struct PregreetCase {
  const char *client;
  bool v6;
  bool pregreet;
};
constexpr PregreetCase kPregreetCases[] = {
    {"198.18.50.7", false, true}, {"198.18.50.7", false, true},  {"198.18.51.7", false, false},
    {"2001:2::50:7", true, true}, {"198.18.50.8", false, false},
};

std::vector<HeavyPacket> pregreet_stream() {
  std::vector<HeavyPacket> out;
  uint16_t port = 46000;
  for (const PregreetCase &k : kPregreetCases) {
    sluice::testing::PregreetConn c;
    c.client = k.client;
    c.v6 = k.v6;
    c.client_port = port++;
    c.server_isn += 7919u * port;
    out.push_back({c.base(false).flags(0x02).seq(c.client_isn).build(), SL_DIR_FROM_OUTSIDE, ""});
    out.push_back({c.syn_ack(), SL_DIR_FROM_INSIDE, ""});
    if (!k.pregreet) out.push_back({c.greeting(30), SL_DIR_FROM_INSIDE, ""});
    out.push_back({c.client_data(k.pregreet ? 0 : 30), SL_DIR_FROM_OUTSIDE, ""});
  }
  return out;
}

std::map<std::string, uint64_t> addresses(const std::vector<heavy::HeavyCount> &v) {
  std::map<std::string, uint64_t> out;
  for (const auto &c : v) out[heavy::address_text(c.key)] = c.syns;
  return out;
}

TEST_F(XdpHeavy, PregreetClientsAreListedAsTheNativeRunnerLists) {
  sl_policy pol = sluice::testing::heavy_policy(5);
  pol.pregreet = 1;
  loaded().set_policy(pol);
  const auto stream = pregreet_stream();
  const uint32_t epoch = in_one_window([&] { reset(); },
                                       [&] {
                                         for (const HeavyPacket &p : stream) run(p);
                                       });
  ASSERT_NE(epoch, 0u);
  const std::map<std::string, uint64_t> want = {{"198.18.50.7", 2}, {"2001:2::50:7", 1}};
  EXPECT_EQ(addresses(read_pregreet(table_fd(), epoch, SIZE_MAX)), want);
  EXPECT_EQ(loaded().stats_sum().pregreet, 3u);
  EXPECT_TRUE(read_heavy(sketch_fd(), table_fd(), epoch, SIZE_MAX).empty())
      << "one SYN each: no heavy hitter, and a pregreet entry is none";

  sluice::testing::NativeHeavy h(kHeavyTestSeed);
  h.now_ns = sluice::testing::kHeavyStreamNowNs;
  for (const HeavyPacket &p : stream) sluice::testing::run_native_counted(h, p.frame, p.dir, pol);
  heavy::HeavyMerge m(sl_heavy_epoch(h.now_ns));
  for (const auto &b : h.table->e)
    for (const sl_heavy_entry &e : b) m.add_entry(e);
  EXPECT_EQ(addresses(m.pregreet(SIZE_MAX)), want) << "the native runner";

  pol.pregreet = 0;
  loaded().set_policy(pol);
  const uint32_t off = in_one_window([&] { reset(); },
                                     [&] {
                                       for (const HeavyPacket &p : stream) run(p);
                                     });
  ASSERT_NE(off, 0u);
  EXPECT_TRUE(read_pregreet(table_fd(), off, SIZE_MAX).empty()) << "off: nothing counted";
  EXPECT_EQ(loaded().stats_sum().pregreet, 0u);
}

// A pinned instance (maps under bpffs/sluice/NAME, meta written as attach writes it), read
// through the control plane's client: one /32 above the threshold among senders of one SYN.
TEST_F(XdpHeavy, XdpClientReportsTheHeavySenderAndItsNetwork) {
  const std::string name = "hh-test-" + std::to_string(getpid());
  ensure_bpffs();
  remove_pin_dir(name);
  struct Cleanup {
    std::string name;
    ~Cleanup() { remove_pin_dir(name); }
  } cleanup{name};
  std::filesystem::create_directories(pin_dir(name));
  XdpObject obj(LoadOptions{.pin_dir = pin_dir(name)});
  uint32_t zero = 0, one = 1, lo = 1;
  ASSERT_EQ(bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &lo, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(obj.map_fd("tx_port"), &one, &lo, BPF_ANY), 0);
  slx_meta m{};
  m.magic = SLX_META_MAGIC;
  m.instance_id = 1;
  ASSERT_EQ(bpf_map_update_elem(obj.map_fd("meta"), &zero, &m, BPF_ANY), 0);
  sl_policy pol = sluice::testing::heavy_policy(20);
  write_policy(obj.map_fd("policy"), pol);
  // The seeds attach draws: random, and not 0 on any CPU.
  auto sk = std::make_unique<sl_heavy_sketch>();
  for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(libbpf_num_possible_cpus()); ++cpu) {
    ASSERT_EQ(bpf_map_lookup_elem(obj.map_fd("heavy_sketch"), &cpu, sk.get()), 0);
    EXPECT_NE(sk->seed, 0u) << "CPU " << cpu;
  }

  const uint8_t heavy[4] = {198, 18, 7, 7};
  const int prog = obj.prog_fd(Program::outside);
  const uint32_t epoch = in_one_window(
      [&] { reset_heavy(obj.map_fd("heavy_sketch"), obj.map_fd("heavy_table"), 0x5eed); },
      [&] {
        for (uint16_t i = 0; i < 50; ++i) {
          test_run(prog, syn_from(heavy, static_cast<uint16_t>(5000 + i)));
          // Singles, each in a /24 of its own.
          const uint8_t single[4] = {198, 18, static_cast<uint8_t>(100 + i), 1};
          test_run(prog, syn_from(single, 6000));
        }
      });
  ASSERT_NE(epoch, 0u);
  // Read at once: in the same window or the next (the list holds the last window's counts).
  control::XdpClient client(name);
  const std::vector<control::HeavySender> got = client.heavy_senders(10);
  ASSERT_EQ(got.size(), 2u);
  // Tied at 50: the shorter prefix first.
  EXPECT_EQ(got[0].prefix, "198.18.7.0/24");
  EXPECT_EQ(got[1].prefix, "198.18.7.7/32");
  for (const auto &s : got) {
    EXPECT_GE(s.syns, 50u) << s.prefix;  // an upper bound, never under
    EXPECT_EQ(s.window_ns, heavy::kWindowNs);
  }
  EXPECT_EQ(client.heavy_senders(1).size(), 1u);
  EXPECT_TRUE(client.heavy_senders(0).empty());
}

}  // namespace
}  // namespace sluice::xdp
