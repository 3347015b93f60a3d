// Live updates of a pinned XDP instance: concurrent table loads are serialised and each ends
// whole, a delta never applies to the saved table of an earlier attachment, and a policy swap
// is atomic for packets (no packet sees a mix of two policies).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "common/privileged.h"
#include "common/tcp_frame.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/stats_model.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/rep_tables.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

namespace fs = std::filesystem;
using sluice::testing::TcpFrame;
using testing::LoadedXdp;

// The maps of an instance pinned as `sluice-xdp attach` pins them, without attaching to any
// interface (table and policy commands only need the pins and the meta map).
class PinnedInstance {
 public:
  PinnedInstance(std::string name, uint64_t id) : name_(std::move(name)) {
    ensure_bpffs();
    remove_pin_dir(name_);
    fs::create_directories(pin_dir(name_));
    // A throw from here on skips the destructor: the pins made so far are removed first.
    try {
      obj_ = std::make_unique<XdpObject>(LoadOptions{.pin_dir = pin_dir(name_)});
      slx_meta m{};
      m.magic = SLX_META_MAGIC;
      m.instance_id = id;
      uint32_t zero = 0;
      if (bpf_map_update_elem(obj_->map_fd("meta"), &zero, &m, BPF_ANY) != 0)
        throw std::runtime_error("meta");
    } catch (...) {
      obj_.reset();
      remove_pin_dir(name_);
      throw;
    }
  }
  ~PinnedInstance() {
    obj_.reset();
    try {
      remove_pin_dir(name_);
    } catch (...) {
    }
  }
  PinnedInstance(const PinnedInstance &) = delete;
  PinnedInstance &operator=(const PinnedInstance &) = delete;

 private:
  std::string name_;
  std::unique_ptr<XdpObject> obj_;
};

class InstanceOps : public ::testing::Test {
 protected:
  void SetUp() override {
    SLUICE_REQUIRE_PRIVILEGED();
    name_ = "t-ops-" + std::to_string(getpid());
    dir_ = fs::temp_directory_path() / ("sluice-xdp-ops-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    setenv("SLUICE_XDP_STATE_DIR", (dir_ / "state").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("SLUICE_XDP_STATE_DIR");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string &f) const { return (dir_ / f).string(); }

  // n IPv4 hosts from 198.18.0.0/15 starting at `first`, saved as FILE.
  std::set<uint32_t> save_hosts(const std::string &file, uint32_t first, uint32_t n) {
    std::vector<reputation::HostV4> hosts;
    std::set<uint32_t> keys;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t be = __builtin_bswap32(0xc6120000u + first + i);
      hosts.push_back({be, {5, 0}});
      keys.insert(be);
    }
    std::sort(hosts.begin(), hosts.end(), [](const auto &a, const auto &b) {
      return __builtin_bswap32(a.addr_be) < __builtin_bswap32(b.addr_be);
    });
    reputation::Snapshot::from_entries(hosts, {}, {}, {}).save(path(file));
    return keys;
  }

  // The IPv4 host keys of the set the program reads now.
  std::set<uint32_t> active_hosts() const {
    PinnedRepMaps maps(pin_dir(name_));
    const int fd = maps.fds().host4[active_set(maps.fds())];
    std::set<uint32_t> keys;
    uint32_t k = 0, next = 0;
    const void *prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      keys.insert(next);
      k = next;
      prev = &k;
    }
    return keys;
  }

  std::string name_;
  fs::path dir_;
};

// Two loads of one instance at once (a large table, then a 3-host one a little later, as an
// operator and a cron job might): both succeed, one after the other, and the program ends with
// exactly one of the two tables, whole, and the saved state is that table.
TEST_F(InstanceOps, ConcurrentLoadsEndWithOneWholeTable) {
  PinnedInstance inst(name_, 1);
  const std::set<uint32_t> big = save_hosts("big.snap", 0, 100000);
  const std::set<uint32_t> small = save_hosts("small.snap", 200000, 3);
  for (int delay_ms : {0, 2, 5, 20, 50}) {
    std::atomic<int> failures{0};
    std::string errors;
    std::mutex mu;
    auto load = [&](const std::string &file) {
      try {
        load_snapshot(name_, path(file));
      } catch (const std::exception &e) {
        std::lock_guard lock(mu);
        errors += std::string(e.what()) + "\n";
        failures++;
      }
    };
    std::thread a(load, "big.snap");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::thread b(load, "small.snap");
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0) << "delay " << delay_ms << " ms: " << errors;
    const std::set<uint32_t> now = active_hosts();
    EXPECT_TRUE(now == big || now == small)
        << "delay " << delay_ms << " ms: the active set holds " << now.size()
        << " hosts, neither table (" << big.size() << " or " << small.size() << ")";
    EXPECT_EQ(table_entries(name_), now.size()) << "the saved state is the other table";
  }
}

// After a detach and a new attach under the same name, the saved table belongs to the old
// attachment: a delta is refused until a full load, then applies again.
TEST_F(InstanceOps, DeltaAfterReattachIsRefused) {
  save_hosts("a.snap", 0, 3);
  save_hosts("b.snap", 0, 4);
  reputation::diff(reputation::Snapshot::load(path("a.snap")),
                   reputation::Snapshot::load(path("b.snap")))
      .save(path("a-to-b.delta"));
  {
    PinnedInstance first(name_, 0x1111);
    load_snapshot(name_, path("a.snap"));
    EXPECT_EQ(table_entries(name_), 3u);
  }
  PinnedInstance second(name_, 0x2222);
  EXPECT_EQ(table_entries(name_), 0u);  // nothing loaded into this attachment yet
  try {
    apply_delta_file(name_, path("a-to-b.delta"));
    FAIL() << "a delta applied to the saved table of an earlier attachment";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("attached again"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("load a full snapshot"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(active_hosts().empty());  // nothing was loaded by the refused delta
  load_snapshot(name_, path("a.snap"));
  apply_delta_file(name_, path("a-to-b.delta"));
  EXPECT_EQ(active_hosts().size(), 4u);
  EXPECT_EQ(table_entries(name_), 4u);
}

// The maps of the set the program reads now, as a table: IPv4 and IPv6 hosts with their values,
// and the DIR-24-8 first level.
struct ActiveSet {
  std::map<uint32_t, uint64_t> hosts_v4;
  std::map<std::array<uint8_t, 16>, uint64_t> hosts_v6;
  std::vector<uint32_t> tbl24;
};
uint64_t packed(const sl_rep_value &v) {
  return (uint64_t{static_cast<uint32_t>(v.score)} << 32) | v.flags;
}
template <typename K>
std::map<K, uint64_t> map_contents(int fd) {
  std::map<K, uint64_t> out;
  K k{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    sl_rep_value v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) out[next] = packed(v);
    k = next;
    prev = &k;
  }
  return out;
}
// The set the program reads now, or (active = false) the other one.
ActiveSet read_active(const std::string &name, bool active = true) {
  PinnedRepMaps maps(pin_dir(name));
  const uint32_t s = active_set(maps.fds()) ^ (active ? 0u : 1u);
  ActiveSet a;
  a.hosts_v4 = map_contents<uint32_t>(maps.fds().host4[s]);
  a.hosts_v6 = map_contents<std::array<uint8_t, 16>>(maps.fds().host6[s]);
  const size_t bytes = size_t{1} << 26;  // 2^24 four-byte entries
  void *p = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, maps.fds().tbl24[s], 0);
  if (p != MAP_FAILED) {
    a.tbl24.assign(static_cast<const uint32_t *>(p), static_cast<const uint32_t *>(p) + (1u << 24));
    munmap(p, bytes);
  }
  return a;
}
ActiveSet expected_set(const reputation::Snapshot &t) {
  ActiveSet a;
  for (const auto &h : t.hosts_v4()) a.hosts_v4[h.addr_be] = packed(h.value);
  for (const auto &h : t.hosts_v6()) {
    std::array<uint8_t, 16> k;
    std::copy(std::begin(h.addr), std::end(h.addr), k.begin());
    a.hosts_v6[k] = packed(h.value);
  }
  a.tbl24 = build_dir24(t.prefixes_v4()).tbl24;
  return a;
}

// A set of maps holds table t: its hosts, values and IPv4 prefix array, as a full load gives.
void expect_holds(const ActiveSet &got, const reputation::Snapshot &t) {
  const ActiveSet want = expected_set(t);
  EXPECT_EQ(got.hosts_v4, want.hosts_v4);
  EXPECT_EQ(got.hosts_v6, want.hosts_v6);
  EXPECT_TRUE(got.tbl24 == want.tbl24) << "IPv4 prefix array differs";
}

// A random table over a small address pool, so that consecutive tables share most entries and
// differ in some: hosts dropped, added and rescored; now and then other IPv4 prefixes.
reputation::Snapshot random_table(std::mt19937 &rng, bool new_prefixes) {
  std::vector<reputation::HostV4> h4;
  for (uint32_t i = 0; i < 400; i++)
    if (rng() % 3 != 0)
      h4.push_back({__builtin_bswap32(0xc6120000u + i * 7), {int32_t(rng() % 9), 0}});
  std::vector<reputation::HostV6> h6;
  for (uint8_t i = 0; i < 40; i++)
    if (rng() % 2 != 0) {
      reputation::HostV6 h{};
      h.addr[0] = 0x20, h.addr[1] = 0x01, h.addr[3] = 0x02, h.addr[15] = i;
      h.value = {int32_t(rng() % 9), 0};
      h6.push_back(h);
    }
  std::vector<reputation::PrefixV4> p4;
  p4.push_back({__builtin_bswap32(0xc6130000u), 16, {}, {2, 0}});
  if (new_prefixes)
    p4.push_back({__builtin_bswap32(0xc6130000u + (rng() % 200) * 256), 24, {}, {7, 0}});
  return reputation::Snapshot::from_entries(h4, p4, h6, {});
}

// A run of deltas on one attachment: from the second on, each writes only its difference into the
// standby set (which holds the table before the active one), and after every change the set the
// program reads holds exactly the new table: hosts, values and the IPv4 prefix array, the same as
// a full load gives.
TEST_F(InstanceOps, DeltasWriteTheDifferenceAndLeaveTheWholeTable) {
  PinnedInstance inst(name_, 0x3333);
  std::mt19937 rng(12345);
  reputation::Snapshot prev = random_table(rng, false);
  prev.save(path("t0.snap"));
  load_snapshot(name_, path("t0.snap"));
  {
    const ActiveSet want = expected_set(prev), got = read_active(name_);
    EXPECT_EQ(got.hosts_v4, want.hosts_v4);
    EXPECT_EQ(got.hosts_v6, want.hosts_v6);
    EXPECT_TRUE(got.tbl24 == want.tbl24);
  }
  const fs::path standby = fs::path(state_snapshot_path(name_)).parent_path() / "standby";
  for (int i = 1; i <= 8; i++) {
    SCOPED_TRACE("delta " + std::to_string(i));
    const reputation::Snapshot next = random_table(rng, i % 3 == 0);
    const std::string d = path("d" + std::to_string(i) + ".delta");
    reputation::diff(prev, next).save(d);
    apply_delta_file(name_, d);
    const ActiveSet want = expected_set(next), got = read_active(name_);
    EXPECT_EQ(got.hosts_v4, want.hosts_v4);
    EXPECT_EQ(got.hosts_v6, want.hosts_v6);
    EXPECT_TRUE(got.tbl24 == want.tbl24) << "IPv4 prefix array differs";
    EXPECT_EQ(table_entries(name_),
              next.hosts_v4().size() + next.prefixes_v4().size() + next.hosts_v6().size());
    // The table before this one is kept as the standby (a base and the delta from it): the
    // inactive set holds it.
    ASSERT_TRUE(fs::exists(standby / "table.snapshot"));
    reputation::Snapshot kept = reputation::Snapshot::load((standby / "table.snapshot").string());
    if (fs::exists(standby / "table.delta"))
      kept = reputation::apply(kept, reputation::Delta::load((standby / "table.delta").string()));
    EXPECT_EQ(kept.checksum(), prev.checksum());
    // The stats' version is the running table's, whether saved whole or as a delta.
    EXPECT_EQ(dataplane_stats(name_).table.version, next.checksum());
    prev = next;
  }
  // One-host changes: saved as deltas on the base, the standby restored from a base and a delta,
  // and the program reads the same table as after a full load.
  for (uint32_t i = 0; i < 3; i++) {
    SCOPED_TRACE("one-host delta " + std::to_string(i));
    std::vector<reputation::HostV4> h4(prev.hosts_v4().begin(), prev.hosts_v4().end());
    h4.push_back({__builtin_bswap32(0xc612ff00u + i), {int32_t(3 + i), 0}});
    const reputation::Snapshot next = reputation::Snapshot::from_entries(
        h4, {prev.prefixes_v4().begin(), prev.prefixes_v4().end()},
        {prev.hosts_v6().begin(), prev.hosts_v6().end()}, {});
    const std::string d = path("small" + std::to_string(i) + ".delta");
    reputation::diff(prev, next).save(d);
    apply_delta_file(name_, d);
    EXPECT_TRUE(fs::exists(fs::path(state_snapshot_path(name_)).parent_path() / "table.delta"));
    const ActiveSet want = expected_set(next), got = read_active(name_);
    EXPECT_EQ(got.hosts_v4, want.hosts_v4);
    EXPECT_EQ(got.hosts_v6, want.hosts_v6);
    EXPECT_EQ(dataplane_stats(name_).table.version, next.checksum());
    prev = next;
  }
}

// After the first load of an attachment nothing is known of the inactive set, so the first delta
// would write it whole. prepare_standby writes it to hold the running table, without a flip; the
// next delta then writes only its difference, and the program reads the new table whole.
TEST_F(InstanceOps, APreparedStandbyMakesTheFirstDeltaWriteOnlyItsDifference) {
  PinnedInstance inst(name_, 0x5555);
  std::mt19937 rng(4242);
  const reputation::Snapshot t0 = random_table(rng, true);
  t0.save(path("t0.snap"));
  EXPECT_TRUE(load_snapshot(name_, path("t0.snap")).whole);
  const auto generation = [&] {
    PinnedRepMaps maps(pin_dir(name_));
    return table_generation(maps.fds());
  };
  const uint32_t loaded_at = generation();
  EXPECT_NE(read_active(name_, false).hosts_v4, expected_set(t0).hosts_v4);

  ASSERT_TRUE(prepare_standby(name_));
  EXPECT_EQ(generation(), loaded_at) << "the selector flipped";
  expect_holds(read_active(name_), t0);
  expect_holds(read_active(name_, false), t0);
  EXPECT_FALSE(prepare_standby(name_)) << "the standby was known: nothing to write";

  const reputation::Snapshot t1 = random_table(rng, true);
  reputation::diff(t0, t1).save(path("d1.delta"));
  EXPECT_FALSE(apply_delta_file(name_, path("d1.delta")).whole);
  expect_holds(read_active(name_), t1);
  EXPECT_EQ(dataplane_stats(name_).table.version, t1.checksum());
}

// Without it, the first delta after the first load writes the inactive set whole (the case
// prepare_standby is for), and the result is the same table.
TEST_F(InstanceOps, WithoutAStandbyTheFirstDeltaWritesTheSetWhole) {
  PinnedInstance inst(name_, 0x6666);
  std::mt19937 rng(4242);
  const reputation::Snapshot t0 = random_table(rng, true);
  t0.save(path("t0.snap"));
  load_snapshot(name_, path("t0.snap"));
  const reputation::Snapshot t1 = random_table(rng, true);
  reputation::diff(t0, t1).save(path("d1.delta"));
  EXPECT_TRUE(apply_delta_file(name_, path("d1.delta")).whole);
  expect_holds(read_active(name_), t1);
}

// With the standby state lost, a load writes the inactive set whole from whatever it holds (here
// the table before the active one): the hosts it reads there that the new table lacks are
// deleted, the rescored ones rewritten, the new ones added, so the set holds exactly the new
// table.
TEST_F(InstanceOps, AWholeWriteOverAnUnknownSetLeavesExactlyTheNewTable) {
  PinnedInstance inst(name_, 0x7777);
  std::mt19937 rng(99);
  std::vector<reputation::Snapshot> t;
  for (int i = 0; i < 3; i++) {
    t.push_back(random_table(rng, i == 2));
    t.back().save(path("t" + std::to_string(i) + ".snap"));
  }
  load_snapshot(name_, path("t0.snap"));
  load_snapshot(name_, path("t1.snap"));  // the inactive set holds t0 now
  expect_holds(read_active(name_, false), t[0]);
  fs::remove_all(fs::path(state_snapshot_path(name_)).parent_path() / "standby");
  EXPECT_TRUE(load_snapshot(name_, path("t2.snap")).whole);
  expect_holds(read_active(name_), t[2]);
}

// A long-lived process (sluiced) keeps the running and standby tables in memory between deltas;
// a delta applied meanwhile by another process (sluicectl) changes the saved tables under it.
// The next delta must apply to the table the other process left, and the inactive set be
// written from the standby that process left, not from the kept ones.
TEST_F(InstanceOps, ADeltaFromAnotherProcessIsSeenByTheNext) {
  PinnedInstance inst(name_, 0x4444);
  std::mt19937 rng(777);
  std::vector<reputation::Snapshot> t;
  for (int i = 0; i < 4; i++) t.push_back(random_table(rng, false));
  t[0].save(path("t0.snap"));
  for (int i = 1; i < 4; i++)
    reputation::diff(t[i - 1], t[i]).save(path("d" + std::to_string(i) + ".delta"));
  ASSERT_NO_THROW(load_snapshot(name_, path("t0.snap")));
  // This process keeps t1 (and t0 as the standby).
  ASSERT_NO_THROW(apply_delta_file(name_, path("d1.delta")));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int rc = 1;
    try {
      apply_delta_file(name_, path("d2.delta"));
      rc = 0;
    } catch (...) {
    }
    _exit(rc);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the other process's delta";
  ASSERT_NO_THROW(apply_delta_file(name_, path("d3.delta")));
  const ActiveSet want = expected_set(t[3]), got = read_active(name_);
  EXPECT_EQ(got.hosts_v4, want.hosts_v4);
  EXPECT_EQ(got.hosts_v6, want.hosts_v6);
  EXPECT_TRUE(got.tbl24 == want.tbl24) << "IPv4 prefix array differs";
  EXPECT_EQ(dataplane_stats(name_).table.version, t[3].checksum());
  // The set now inactive holds t2 and the next delta is written there from that standby: a
  // wrong standby would leave entries of the table it really holds behind.
  const reputation::Snapshot t4 = random_table(rng, true);
  reputation::diff(t[3], t4).save(path("d4.delta"));
  ASSERT_NO_THROW(apply_delta_file(name_, path("d4.delta")));
  const ActiveSet want4 = expected_set(t4), got4 = read_active(name_);
  EXPECT_EQ(got4.hosts_v4, want4.hosts_v4);
  EXPECT_EQ(got4.hosts_v6, want4.hosts_v6);
  EXPECT_TRUE(got4.tbl24 == want4.tbl24) << "IPv4 prefix array differs";
}

// Each replacement records when its flip happened, on the clock every process shares, so that the
// next one (from any process) waits until the readers of the set it made inactive are done before
// writing that set, and the table is acknowledged at the flip. A record that cannot be read
// counts as a flip just now, and the next replacement writes a good one.
TEST_F(InstanceOps, EachFlipIsRecordedForTheNextReplacement) {
  PinnedInstance inst(name_, 0x6666);
  save_hosts("a.snap", 0, 3);
  save_hosts("b.snap", 0, 4);
  const fs::path record = fs::path(state_snapshot_path(name_)).parent_path() / "table.flipped";
  const auto now = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  };
  const auto recorded = [&] {
    std::ifstream in(record);
    std::string tag;
    int64_t t = -1;
    in >> tag >> t;
    EXPECT_EQ(tag, "sluice-flip");
    return t;
  };
  const int64_t before = now();
  load_snapshot(name_, path("a.snap"));
  const int64_t after = now();
  const int64_t first = recorded();
  EXPECT_GE(first, before);
  EXPECT_LE(first, after);
  std::ofstream(record, std::ios::trunc) << "sluice-flip 99999999999999999999999\n";
  load_snapshot(name_, path("b.snap"));
  EXPECT_EQ(active_hosts().size(), 4u);
  const int64_t second = recorded();
  EXPECT_GE(second, after);
  EXPECT_LE(second, now());
}

// Two policies that differ in every field a SYN's treatment depends on. A score-5 sender is at
// level 1 under A (window scale stripped) and at level 2 under B (SACK-permitted stripped); a
// packet that took its level from one policy and its profile from the other would be answered
// with a RST (A's level, B's profile) or lose both options (B's level, A's profile).
sl_policy policy_a() {
  sl_policy p{};
  p.smtp_ports[0] = sl_htons(25);
  p.nlevels = 3;
  p.thresholds[1] = 3;
  p.thresholds[2] = 50;
  p.profiles[1].window_clamp = 2048;
  p.profiles[1].mss_clamp = 536;
  p.profiles[1].strip_wscale = 1;
  p.profiles[2].window_clamp = 1111;
  p.profiles[2].strip_wscale = 1;
  p.profiles[2].strip_sack_perm = 1;
  p.generation = 1;
  return p;
}
sl_policy policy_b() {
  sl_policy p{};
  p.smtp_ports[0] = sl_htons(25);
  p.smtp_ports[1] = sl_htons(587);
  p.nlevels = 4;
  p.thresholds[1] = 1;
  p.thresholds[2] = 4;
  p.thresholds[3] = 60;
  p.profiles[1].block = SL_BLOCK_RST;
  p.profiles[2].mss_clamp = 800;
  p.profiles[2].strip_sack_perm = 1;
  p.profiles[3].block = SL_BLOCK_DROP;
  p.generation = 2;
  return p;
}

// The stateless tarpit's cookie key: the instance's first policy draws it, later policies keep
// it (connections already held stay recognised), whatever the policy file holds.
TEST_F(InstanceOps, PolicyChangesKeepTheCookieKey) {
  PinnedInstance inst(name_, 0x5eed);
  sl_policy p{};
  p.nlevels = 2;
  p.thresholds[1] = 5;
  p.profiles[1].tarpit = SL_TARPIT_STATELESS;
  p.tarpit_cookies = 1;
  set_policy(name_, p);
  const sl_policy first = get_policy(name_);
  bool any = false;
  for (uint32_t w : first.cookie_key) any = any || w != 0;
  EXPECT_TRUE(any) << "the first policy draws a key";
  sl_policy q = p;
  q.thresholds[1] = 7;
  q.cookie_key[0] = 42;  // what a caller passes in is not the key
  set_policy(name_, q);
  const sl_policy second = get_policy(name_);
  EXPECT_EQ(second.thresholds[1], 7);
  EXPECT_EQ(std::memcmp(first.cookie_key, second.cookie_key, sizeof first.cookie_key), 0);
}

// The policy map holds no names: a policy set from a file keeps its level names for the stats
// (metrics, the decision log) as long as that policy runs.
TEST_F(InstanceOps, APolicyFilesLevelNamesNameTheStatsLevelsWhileItRuns) {
  PinnedInstance inst(name_, 0x5eed);
  {
    std::ofstream pf(path("policy.ini"));
    pf << "[smtp]\nports = 25\n[level.1]\nname = slowed\nthreshold = 3\nwindow_clamp = 2048\n"
          "[level.2]\nname = refused\nthreshold = 10\nblock = rst\n";
  }
  set_policy_file(name_, path("policy.ini"));
  const auto with = dataplane_stats(name_);
  ASSERT_EQ(with.levels.size(), 3u);
  EXPECT_EQ(with.levels[1].name, "slowed");
  EXPECT_EQ(with.levels[2].name, "refused");
  EXPECT_EQ(level_names(name_).size(), 3u);
  // A policy set without a file: the kept names belong to another generation.
  set_policy(name_, get_policy(name_));
  EXPECT_TRUE(level_names(name_).empty());
  EXPECT_EQ(dataplane_stats(name_).levels[1].name, "");
  // And the next file's names again.
  set_policy_file(name_, path("policy.ini"));
  EXPECT_EQ(dataplane_stats(name_).levels[2].name, "refused");
}

// sluiced checks the running table version and policy generation before every push through
// running_versions(), which reads neither counters nor flows: it must say what the full stats do,
// before the first table, after a load and a policy change, and after a delta.
TEST_F(InstanceOps, RunningVersionsSayWhatTheStatsSay) {
  PinnedInstance inst(name_, 0x7e55);
  auto agree = [this] {
    const stats::DataplaneStats full = dataplane_stats(name_);
    const stats::RunningVersions v = running_versions(name_);
    EXPECT_EQ(v.table_version, full.table.version);
    EXPECT_EQ(v.policy_generation, full.policy.generation);
    return v;
  };
  EXPECT_EQ(agree(), (stats::RunningVersions{0, 0})) << "no table, the attach-time policy";
  save_hosts("a.snap", 0, 40);
  const reputation::Snapshot a = reputation::Snapshot::load(path("a.snap"));
  load_snapshot(name_, path("a.snap"));
  set_policy(name_, policy_a());
  set_policy(name_, policy_b());
  EXPECT_EQ(agree(), (stats::RunningVersions{a.checksum(), 2}));
  save_hosts("b.snap", 10, 40);
  const reputation::Snapshot b = reputation::Snapshot::load(path("b.snap"));
  reputation::diff(a, b).save(path("ab.delta"));
  apply_delta_file(name_, path("ab.delta"));
  EXPECT_EQ(agree(), (stats::RunningVersions{b.checksum(), 2}));
  EXPECT_THROW(running_versions(name_ + "-none"), Error);
}

// A thread swaps the two policies back and forth while SYNs run through the program: every
// SYN's output is exactly what one of the two policies gives, never a mix.
TEST(PolicySwap, ReadersSeeOneWholePolicyUnderConcurrentUpdates) {
  SLUICE_REQUIRE_PRIVILEGED();
  const sl_policy pa = policy_a(), pb = policy_b();
  LoadedXdp x(pa);
  TcpFrame syn;
  syn.options = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};  // MSS 1460, SACK-permitted, wscale 7
  const uint8_t src[4] = {198, 18, 0, 9};
  std::memcpy(syn.src.data(), src, 4);
  x.set_host_v4(src, 5);  // level 1 under A, level 2 under B
  const std::vector<uint8_t> in = syn.build();
  const std::vector<uint8_t> out_a = x.outside(in).output;
  write_policy(x.obj.map_fd("policy"), pb);
  const std::vector<uint8_t> out_b = x.outside(in).output;
  ASSERT_NE(out_a, out_b);
  ASSERT_NE(out_a, in);
  ASSERT_NE(out_b, in);

  std::atomic<bool> stop{false};
  std::atomic<int> swaps{0};
  std::thread writer([&] {
    for (int i = 0; i < 100000 && !stop.load(); i++) {
      write_policy(x.obj.map_fd("policy"), (i & 1) ? pb : pa);
      swaps++;
    }
  });
  int seen_a = 0, seen_b = 0, mixed = 0;
  // Bounded by count and time; no early exit, so a rare torn read has every chance to show.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  for (int i = 0; i < 300000 && std::chrono::steady_clock::now() < deadline; i++) {
    const std::vector<uint8_t> out = x.outside(in).output;
    if (out == out_a)
      seen_a++;
    else if (out == out_b)
      seen_b++;
    else
      mixed++;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(mixed, 0) << "SYNs treated by a mix of two policies (A " << seen_a << ", B " << seen_b
                      << ", " << swaps.load() << " swaps)";
  EXPECT_GT(seen_a, 0);
  EXPECT_GT(seen_b, 0);
}

}  // namespace
}  // namespace sluice::xdp
