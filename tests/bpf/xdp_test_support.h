// A loaded sluice XDP object with private maps, ready for BPF_PROG_TEST_RUN: both devmap slots
// point at lo (a test run only needs the redirect to resolve), and a test policy.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/sl_core.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/test_run.h"
#include "sluice/xdp/xdp_object.h"

namespace sluice::xdp::testing {

// The calling thread on one CPU while alive. A test run executes the program on the calling
// thread's CPU, and per-CPU state (a per-CPU map's slot, an LRU map's per-CPU lists) follows it.
class OnCpu {
 public:
  explicit OnCpu(int cpu) {
    sched_getaffinity(0, sizeof(old_), &old_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ok_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~OnCpu() { sched_setaffinity(0, sizeof(old_), &old_); }
  OnCpu(const OnCpu &) = delete;
  OnCpu &operator=(const OnCpu &) = delete;
  bool ok() const { return ok_; }

 private:
  cpu_set_t old_{};
  bool ok_ = false;
};

// Levels: 1 throttle (window 2048, MSS 536, strip wscale), 2 slow (window 4096, delay),
// 3 tarpit, 4 drop-data (all payload dropped both ways), 5 block-rst, 6 block-drop.
inline sl_policy test_policy() {
  sl_policy p{};
  p.smtp_ports[0] = sl_htons(25);
  p.nlevels = 7;
  const int32_t th[7] = {0, 3, 5, 8, 9, 10, 20};
  for (int i = 0; i < 7; i++) p.thresholds[i] = th[i];
  p.profiles[1].window_clamp = 2048;
  p.profiles[1].mss_clamp = 536;
  p.profiles[1].strip_wscale = 1;
  p.profiles[2].window_clamp = 4096;
  p.profiles[2].delay_us = 200000;
  p.profiles[3].tarpit = 1;
  p.profiles[4].client_drop_ppm = 1000000;
  p.profiles[4].server_drop_ppm = 1000000;
  p.profiles[5].block = SL_BLOCK_RST;
  p.profiles[6].block = SL_BLOCK_DROP;
  p.generation = 1;
  return p;
}

struct LoadedXdp {
  XdpObject obj;
  explicit LoadedXdp(const sl_policy &pol = test_policy()) {
    uint32_t zero = 0, one = 1, lo = 1;
    must(bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &lo, BPF_ANY));
    must(bpf_map_update_elem(obj.map_fd("tx_port"), &one, &lo, BPF_ANY));
    write_policy(obj.map_fd("policy"), pol);
  }
  void set_policy(const sl_policy &pol) { write_policy(obj.map_fd("policy"), pol); }
  // rep_active: the table generation, whose low bit is the active set (keep it even to stay on
  // set 0, where set_host_v4/v6 write).
  void set_table_generation(uint32_t gen) {
    uint32_t zero = 0;
    must(bpf_map_update_elem(obj.map_fd("rep_active"), &zero, &gen, BPF_ANY));
  }
  static void must(int err) {
    if (err != 0) throw std::runtime_error("map update failed");
  }
  // Exact host entry in the active set (set 0 until a table replacement flips it).
  void set_host_v4(const uint8_t addr[4], int32_t score, uint32_t flags = 0) {
    uint32_t a;
    std::memcpy(&a, addr, 4);
    sl_rep_value v{score, flags};
    must(bpf_map_update_elem(obj.map_fd("host4_0"), &a, &v, BPF_ANY));
  }
  void set_host_v6(const uint8_t addr[16], int32_t score, uint32_t flags = 0) {
    sl_rep_value v{score, flags};
    must(bpf_map_update_elem(obj.map_fd("host6_0"), addr, &v, BPF_ANY));
  }
  TestRunResult outside(const std::vector<uint8_t> &f) {
    return test_run(obj.prog_fd(Program::outside), f);
  }
  TestRunResult inside(const std::vector<uint8_t> &f) {
    return test_run(obj.prog_fd(Program::inside), f);
  }
  // A held tarpit ACK sent through the inside program again (the replay marker as metadata).
  TestRunResult inside_replayed(const std::vector<uint8_t> &f) {
    return test_run_replayed(obj.prog_fd(Program::inside), f);
  }
  sl_stats stats_sum() {
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<sl_stats> per(static_cast<size_t>(ncpu));
    uint32_t zero = 0;
    sl_stats s{};
    if (bpf_map_lookup_elem(obj.map_fd("stats"), &zero, per.data()) != 0) return s;
    auto *sum = reinterpret_cast<uint64_t *>(&s);
    for (const auto &c : per) {
      const auto *v = reinterpret_cast<const uint64_t *>(&c);
      for (size_t i = 0; i < sizeof(sl_stats) / 8; i++) sum[i] += v[i];
    }
    return s;
  }
  // Back to the state after construction (flows, hosts and counters empty), so one loaded
  // object serves many tests: loading means a verifier pass of about a second.
  void reset() {
    clear("flows", sizeof(sl_flow_key));
    set_table_generation(0);
    clear("host4_0", 4);
    clear("host6_0", 16);
    clear("caps", sizeof(sl_heavy_key));
    clear("held", sizeof(sl_flow_key));
    empty_verdict_tables();
    empty_fanout();
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<sl_stats> zero_stats(static_cast<size_t>(ncpu));
    uint32_t zero = 0;
    must(bpf_map_update_elem(obj.map_fd("stats"), &zero, zero_stats.data(), BPF_ANY));
  }
  void clear(const char *map, size_t key_size) {
    const int fd = obj.map_fd(map);
    std::vector<uint8_t> key(key_size);
    while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0)
      must(bpf_map_delete_elem(fd, key.data()));
  }
  // Every CPU's verdict table emptied, its seed kept.
  void empty_verdict_tables() {
    const int fd = obj.map_fd("verdict_table");
    auto t = std::make_unique<sl_heavy_table>();
    for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(libbpf_num_possible_cpus()); ++cpu) {
      must(bpf_map_lookup_elem(fd, &cpu, t.get()));
      const uint64_t seed = t->seed;
      std::memset(t.get(), 0, sizeof(*t));
      t->seed = seed;
      must(bpf_map_update_elem(fd, &cpu, t.get(), BPF_ANY));
    }
  }
  // The fan-out pair slots emptied, their seed kept: every pair is new again.
  void empty_fanout() {
    const int fd = obj.map_fd("fanout");
    auto t = std::make_unique<sl_fanout_table>();
    const uint32_t zero = 0;
    must(bpf_map_lookup_elem(fd, &zero, t.get()));
    const uint64_t seed = t->seed;
    std::memset(t.get(), 0, sizeof(*t));
    t->seed = seed;
    must(bpf_map_update_elem(fd, &zero, t.get(), BPF_ANY));
  }
  // The entries of every CPU's verdict table, each key as many times as counted.
  std::vector<sl_heavy_key> verdict_events() {
    const int fd = obj.map_fd("verdict_table");
    auto t = std::make_unique<sl_heavy_table>();
    std::vector<sl_heavy_key> out;
    for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(libbpf_num_possible_cpus()); ++cpu) {
      must(bpf_map_lookup_elem(fd, &cpu, t.get()));
      for (const auto &bucket : t->e)
        for (const sl_heavy_entry &e : bucket)
          if (e.estimate != 0) out.insert(out.end(), e.estimate, e.key);
    }
    return out;
  }
  size_t flow_count() {
    sl_flow_key k{}, next{};
    const void *prev = nullptr;
    size_t n = 0;
    while (bpf_map_get_next_key(obj.map_fd("flows"), prev, &next) == 0) {
      n++;
      k = next;
      prev = &k;
    }
    return n;
  }
};

}  // namespace sluice::xdp::testing
