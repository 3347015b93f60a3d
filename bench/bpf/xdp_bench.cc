// XDP data plane cost per packet, measured by the kernel (BPF_PROG_TEST_RUN, repeat 1,000,000)
// and reported as manual time, so the "Time" column is ns per packet. Compare side by side:
//   Redirect/*          the same devmap redirect and nothing else (the floor)
//   Sluice/NonSmtp      a port-80 segment through the real program: overhead = this - floor
//   SynClassify/Dir24   an inbound SYN at 1M IPv4 prefixes (host hash miss + DIR-24-8)
//   SynClassify/Lpm     the same program and SYNs with the prefix lookup in an LPM_TRIE
//   Lookup/Dir24, Lookup/Lpm   the bare prefix lookups
//   Sluice/ShapedSegment a server segment of a shaped flow (flow lookup, window clamp)
//   Sluice/ShapedSyn    a listed sender's SYN at level 1, the same one again and again: the
//                       flow written again, the window scale stripped, the sender's shaped
//                       count raised
//   SynHeavy_Paired     the SynClassify/Dir24 SYNs with SYN heavy-hitter counting off and on
//                       (threshold 5, the policy file's default), alternating run by run;
//                       counters off_ns, on_ns, extra_ns per SYN
//   Pregreet_*_Paired   a clean connection's SYN-ACK and client data with the pregreet test off
//                       and on, alternating run by run; the same counters
//   Dpdk_*              the same frames through sluice-dp's pipeline function (no I/O), for
//                       the XDP/DPDK cost ratio (built when sluice_dp_pipeline exists)
// Run: sluice_xdp_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

#include "common/tcp_frame.h"
#include "sluice/xdp/heavy_maps.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/rep_tables.h"
#include "sluice/xdp/test_run.h"
#include "sluice_xdp_bench.skel.h"
#if SLUICE_XDP_BENCH_DPDK
#include "pipeline.h"
#include "rep_table.h"
#endif

namespace {

using sluice::testing::TcpFrame;

constexpr uint32_t kRepeat = 1000000;
constexpr size_t kPrefixes = 1000000;
constexpr int kFrames = 8;  // distinct source addresses per benchmark, cycled

uint32_t be(uint32_t h) {
  return __builtin_bswap32(h);
}

struct BenchObj {
  sluice_xdp_bench *skel = nullptr;
  explicit BenchObj(bool use_lpm) {
    skel = sluice_xdp_bench__open();
    if (skel == nullptr) throw std::runtime_error("open bench object");
    skel->rodata->use_lpm = use_lpm ? 1 : 0;
    sluice::xdp::size_per_cpu_arrays(skel->obj);  // one sketch per CPU, as the loader does
    if (sluice_xdp_bench__load(skel) != 0) throw std::runtime_error("load bench object");
    sluice::xdp::seed_heavy_sketches(bpf_map__fd(skel->maps.heavy_sketch));
    sluice::xdp::seed_verdict_tables(bpf_map__fd(skel->maps.verdict_table));
  }
  ~BenchObj() { sluice_xdp_bench__destroy(skel); }
  int map(const char *name) const {
    return bpf_map__fd(bpf_object__find_map_by_name(skel->obj, name));
  }
  sluice::xdp::RepMapFds rep_fds() const {
    sluice::xdp::RepMapFds f;
    f.active = map("rep_active");
    const char *names[7] = {"host4", "host6", "tbl24", "tbl8", "pfxval", "pfx6", "lpm6"};
    int *slots[7] = {f.host4, f.host6, f.tbl24, f.tbl8, f.pfxval, f.pfx6, f.lpm6};
    for (int k = 0; k < 7; k++)
      for (int s = 0; s < 2; s++)
        slots[k][s] = map((std::string(names[k]) + "_" + std::to_string(s)).c_str());
    return f;
  }
};

// 1M IPv4 prefixes shaped like a routing table: mostly /16../24, some longer ones grouped in
// a few thousand /24s (DIR-24-8 needs a tbl8 group per such /24). Scores 0..2: below every
// threshold, so a SYN is classified (looked up) and forwarded without creating flow state.
std::vector<sluice::reputation::PrefixV4> routing_table() {
  std::mt19937 rng(7);
  std::vector<sluice::reputation::PrefixV4> ps;
  ps.reserve(kPrefixes);
  for (size_t i = 0; i < kPrefixes; i++) {
    uint8_t len;
    uint32_t a;
    if (i % 100 == 0) {
      len = static_cast<uint8_t>(25 + rng() % 8);
      a = (0x0b000000u + (static_cast<uint32_t>(rng() % 8000) << 8)) | (rng() & 0xff);
    } else {
      len = static_cast<uint8_t>(i % 10 < 6 ? 24 : 16 + rng() % 8);
      a = static_cast<uint32_t>(rng()) | 0x01000000u;
    }
    a &= ~0u << (32 - len);
    ps.push_back(
        sluice::reputation::make_prefix_v4(be(a), len, {static_cast<int32_t>(rng() % 3), 0}));
  }
  return ps;
}

struct World {
  std::unique_ptr<BenchObj> dir24, lpm;
  sl_policy policy{};
  sluice::xdp::RepTable table;
  std::vector<std::vector<uint8_t>> syn_frames, http_frames;
  std::vector<uint8_t> shaped_segment, shaped_syn;
  // A clean connection (198.18.0.9, unlisted): the server's SYN-ACK and the client's data.
  std::vector<uint8_t> clean_synack, clean_data;

  World() {
    dir24 = std::make_unique<BenchObj>(false);
    lpm = std::make_unique<BenchObj>(true);
    sl_policy pol{};
    pol.smtp_ports[0] = __builtin_bswap16(25);
    pol.nlevels = 2;
    pol.thresholds[1] = 3;
    pol.profiles[1].window_clamp = 2048;
    uint32_t zero = 0, one = 1, lo = 1;
    for (BenchObj *o : {dir24.get(), lpm.get()}) {
      sluice::xdp::write_policy(o->map("policy"), pol);
      bpf_map_update_elem(o->map("tx_port"), &zero, &lo, BPF_ANY);
      bpf_map_update_elem(o->map("tx_port"), &one, &lo, BPF_ANY);
    }
    policy = pol;
    sluice::xdp::RepTable &t = table;
    t.prefixes_v4 = routing_table();
    t.hosts_v4 = {{be(0xc6120001), {5, 0}}};  // the shaped client below
    sluice::xdp::replace_table(dir24->rep_fds(), t);
    // The LPM object reads host4_0 and the trie: same hosts, same prefixes.
    bpf_map_update_elem(lpm->map("host4_0"), &t.hosts_v4[0].addr_be, &t.hosts_v4[0].value, BPF_ANY);
    struct {
      uint32_t prefixlen;
      uint32_t addr;
    } k;
    for (const auto &p : t.prefixes_v4) {
      k.prefixlen = p.len;
      k.addr = p.addr_be;
      if (bpf_map_update_elem(lpm->map("lpm4"), &k, &p.value, BPF_ANY) != 0)
        throw std::runtime_error("LPM trie insert failed");
    }
    // SYNs from addresses inside table prefixes (so every lookup finds a prefix).
    for (int i = 0; i < kFrames; i++) {
      TcpFrame f;
      const uint32_t src = be(t.prefixes_v4[static_cast<size_t>(i) * 9973 + 1].addr_be) | 7;
      const uint32_t src_be = be(src);
      std::memcpy(f.src.data(), &src_be, 4);
      f.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
      syn_frames.push_back(f.build());
      f.dport = 80;
      f.flags = 0x10;
      f.options.clear();
      http_frames.push_back(f.build());
    }
    // A shaped flow: its SYN creates the flow, then the server's data segment is measured.
    TcpFrame syn;
    syn.options = {2, 4, 0x05, 0xb4};
    sluice::xdp::test_run(bpf_program__fd(dir24->skel->progs.sluice_outside), syn.build());
    syn.sport = 40001;  // another connection of the same sender: its flow is not the one above
    syn.options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
    shaped_syn = syn.build();
    TcpFrame seg;
    std::memcpy(seg.src.data(), syn.dst.data(), 4);
    std::memcpy(seg.dst.data(), syn.src.data(), 4);
    seg.sport = 25;
    seg.dport = syn.sport;
    seg.flags = 0x18;
    seg.payload = std::vector<uint8_t>(100, 'x');
    shaped_segment = seg.build();
    TcpFrame data;
    data.src = {198, 18, 0, 9};
    data.sport = 41000;
    data.flags = 0x18;
    data.seq = 1001;
    data.ack = 5001;
    data.payload = std::vector<uint8_t>(23, 'x');
    clean_data = data.build();
    TcpFrame synack;
    synack.src = data.dst;
    synack.dst = data.src;
    synack.sport = 25;
    synack.dport = 41000;
    synack.flags = 0x12;
    synack.seq = 5000;
    synack.ack = 1001;
    clean_synack = synack.build();
  }
};

World &world() {
  static World w;
  return w;
}

void run_frames(benchmark::State &state, int prog_fd, const std::vector<std::vector<uint8_t>> &fs,
                uint32_t expect) {
  size_t i = 0;
  for (auto _ : state) {
    const auto r = sluice::xdp::test_run(prog_fd, fs[i++ % fs.size()], kRepeat);
    if (r.action != expect) {
      state.SkipWithError("unexpected XDP action");
      break;
    }
    state.SetIterationTime(static_cast<double>(r.duration_ns) * 1e-9);
  }
}

void Redirect_NonSmtp(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.bench_redirect), world().http_frames,
             XDP_REDIRECT);
}
void Sluice_NonSmtp(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.sluice_outside), world().http_frames,
             XDP_REDIRECT);
}
void SynClassify_Dir24_1M(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.sluice_outside), world().syn_frames,
             XDP_REDIRECT);
}
void SynClassify_Lpm_1M(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().lpm->skel->progs.sluice_outside), world().syn_frames,
             XDP_REDIRECT);
}
void Lookup_Dir24_1M(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.bench_lookup_dir24), world().syn_frames,
             XDP_PASS);
}
void Lookup_Lpm_1M(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().lpm->skel->progs.bench_lookup_lpm), world().syn_frames,
             XDP_PASS);
}
void Sluice_ShapedSyn(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.sluice_outside), {world().shaped_syn},
             XDP_REDIRECT);
}
void Sluice_ShapedSegment(benchmark::State &s) {
  run_frames(s, bpf_program__fd(world().dir24->skel->progs.sluice_inside), {world().shaped_segment},
             XDP_REDIRECT);
}

// Frames run under two policies, paired: each iteration runs one frame 1M times under `off`,
// then 1M times under `on`, so both see the same machine state. Counters: ns per packet off,
// on, and on - off (the iteration's time is the "on" run's). The bench policy is put back after.
void run_paired(benchmark::State &s, int fd, const std::vector<std::vector<uint8_t>> &fs,
                const sl_policy &off, const sl_policy &on) {
  const int policy_fd = world().dir24->map("policy");
  double off_ns = 0, on_ns = 0;
  size_t i = 0;
  for (auto _ : s) {
    const auto &f = fs[i++ % fs.size()];
    sluice::xdp::write_policy(policy_fd, off);
    const auto a = sluice::xdp::test_run(fd, f, kRepeat);
    sluice::xdp::write_policy(policy_fd, on);
    const auto b = sluice::xdp::test_run(fd, f, kRepeat);
    if (a.action != XDP_REDIRECT || b.action != XDP_REDIRECT) {
      s.SkipWithError("unexpected XDP action");
      break;
    }
    off_ns += a.duration_ns;
    on_ns += b.duration_ns;
    s.SetIterationTime(static_cast<double>(b.duration_ns) * 1e-9);
  }
  sluice::xdp::write_policy(policy_fd, world().policy);
  const double n = static_cast<double>(s.iterations());
  s.counters["off_ns"] = off_ns / n;
  s.counters["on_ns"] = on_ns / n;
  s.counters["extra_ns"] = (on_ns - off_ns) / n;
}

// The SynClassify/Dir24 SYNs with heavy-hitter counting off and on (heavy_syn_threshold 0 and
// 5, the policy file's default).
void SynHeavy_Paired(benchmark::State &s) {
  sl_policy on = world().policy, off = world().policy;
  on.heavy_syn_threshold = 5;
  off.heavy_syn_threshold = 0;
  run_paired(s, bpf_program__fd(world().dir24->skel->progs.sluice_outside), world().syn_frames, off,
             on);
  // Counting on must have counted (the SYNs' sources are candidates now).
  if (sluice::xdp::read_heavy(world().dir24->map("heavy_sketch"), world().dir24->map("heavy_table"),
                              sluice::xdp::heavy_epoch_now(), 1)
          .empty())
    s.SkipWithError("heavy-hitter counting on counted nothing");
}

// The pregreet test (core/sl_greet.h) off and on: a clean connection's SYN-ACK (writes its
// slot) and its client's data (hashes its flow, reads the slot). The same frame 1M times, so
// the slot stays in cache: the test's instructions, not a miss.
void Pregreet_SynAck_Paired(benchmark::State &s) {
  sl_policy on = world().policy, off = world().policy;
  on.pregreet = 1;
  off.pregreet = 0;
  run_paired(s, bpf_program__fd(world().dir24->skel->progs.sluice_inside), {world().clean_synack},
             off, on);
}
void Pregreet_ClientData_Paired(benchmark::State &s) {
  sl_policy on = world().policy, off = world().policy;
  on.pregreet = 1;
  off.pregreet = 0;
  run_paired(s, bpf_program__fd(world().dir24->skel->progs.sluice_outside), {world().clean_data},
             off, on);
}

#if SLUICE_XDP_BENCH_DPDK
// sluice-dp's pipeline on the same frames and table; ns per packet measured by the benchmark.
struct DpdkWorld {
  std::unique_ptr<sluice::dataplane::RepTable> rep;
  std::unique_ptr<sluice::dataplane::Pipeline> pipe;
  DpdkWorld() {
    rep = std::make_unique<sluice::dataplane::RepTable>(world().table);
    pipe = std::make_unique<sluice::dataplane::Pipeline>(sluice::dataplane::FlowTableConfig{});
  }
};
DpdkWorld &dpdk() {
  static DpdkWorld w;
  return w;
}

void run_dpdk(benchmark::State &state, std::vector<std::vector<uint8_t>> frames, sl_dir dir) {
  DpdkWorld &d = dpdk();
  size_t i = 0;
  uint64_t now = 1;
  for (auto _ : state) {
    auto &f = frames[i++ % frames.size()];
    auto r = d.pipe->process(f.data(), static_cast<uint32_t>(f.size()), dir, now++, 12345,
                             world().policy, d.rep.get());
    benchmark::DoNotOptimize(r);
  }
}

void Dpdk_NonSmtp(benchmark::State &s) {
  run_dpdk(s, world().http_frames, SL_DIR_FROM_OUTSIDE);
}
void Dpdk_SynClassify_1M(benchmark::State &s) {
  run_dpdk(s, world().syn_frames, SL_DIR_FROM_OUTSIDE);
}
void Dpdk_ShapedSegment(benchmark::State &s) {
  // The flow is created by its SYN first, as in the XDP setup.
  TcpFrame syn;
  syn.options = {2, 4, 0x05, 0xb4};
  auto f = syn.build();
  dpdk().pipe->process(f.data(), static_cast<uint32_t>(f.size()), SL_DIR_FROM_OUTSIDE, 1, 1,
                       world().policy, dpdk().rep.get());
  run_dpdk(s, {world().shaped_segment}, SL_DIR_FROM_INSIDE);
}
BENCHMARK(Dpdk_NonSmtp)->Unit(benchmark::kNanosecond);
BENCHMARK(Dpdk_SynClassify_1M)->Unit(benchmark::kNanosecond);
BENCHMARK(Dpdk_ShapedSegment)->Unit(benchmark::kNanosecond);
#endif

#define SLX_BENCH(fn) BENCHMARK(fn)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond)
SLX_BENCH(Redirect_NonSmtp);
SLX_BENCH(Sluice_NonSmtp);
SLX_BENCH(SynClassify_Dir24_1M);
SLX_BENCH(SynClassify_Lpm_1M);
SLX_BENCH(Lookup_Dir24_1M);
SLX_BENCH(Lookup_Lpm_1M);
SLX_BENCH(Sluice_ShapedSegment);
SLX_BENCH(Sluice_ShapedSyn);
SLX_BENCH(SynHeavy_Paired);
SLX_BENCH(Pregreet_SynAck_Paired);
SLX_BENCH(Pregreet_ClientData_Paired);

}  // namespace

BENCHMARK_MAIN();
