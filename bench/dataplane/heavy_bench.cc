// The SYN heavy hitters' cost on sluice-dp's SYN path (core/sl_heavy.h: two count-min sketch
// updates per inbound SYN, an offer to the candidate table under its seqlock at report points):
// the lcore's two stages (Pipeline::prepare over a burst of 32, then Pipeline::finish over
// each) on clean SYNs (level 0, no flow), with [smtp] heavy_hitters on and off.
//
//   BM_HeavySyn/clean/on|off   4096 senders in 16 /24s taking turns: about 2.6 SYNs per sender
//                              and window, below the threshold (5); only their /24s report
//   BM_HeavySyn/flood/on|off   one heavy sender (every 10th SYN, about 1000 per window) among
//                              100k unique senders, each seen once per pass (never heavy): the
//                              heavy one must come out on top. Their 390 /24s take about 27
//                              SYNs a window each, so at threshold 5 most of their SYNs reach a
//                              report point (every estimate below 32 is one) and make an offer
//   BM_HeavySyn/*/count_only   the same with the threshold at 1000000: counting alone, no
//                              report and no offer (the sketch's own cost)
//
// The lcore's clock advances 100 us per SYN (10k SYN/s, a busy MX), so windows (2^30 ns) roll
// over as in production and the report rate (offers to the table) is a real one; the loop
// itself runs as fast as it can. Counters: cycles_per_syn, the thread's CPU time per SYN in TSC
// cycles (CPU time, so time the thread spent preempted on a busy machine is left out; TSC, as
// a VM may have no cycle counter).
// Run a Release build, the cases interleaved so that load drift hits them alike:
//   bench_dp_heavy --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                  --benchmark_report_aggregates_only=true
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "heavy_merge.h"
#include "pipeline.h"
#include "policy_file.h"

namespace {

using namespace sluice::dataplane;
namespace heavy = sluice::heavy;

constexpr uint32_t kHeavySender = 0xC612C801;  // 198.18.200.1
constexpr uint64_t kStepNs = 100'000;          // the lcore's clock per SYN

uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t wall_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<uint8_t> syn_frame(uint32_t src_host_order, uint16_t sport) {
  std::vector<uint8_t> f(14 + 20 + 20 + 20, 0);
  f[12] = 0x08;
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  ip[3] = 60;
  ip[8] = 64;
  ip[9] = 6;
  const uint32_t s = htonl(src_host_order), d = htonl(0xc6130002);  // 198.19.0.2
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
  uint8_t *tcp = ip + 20;
  tcp[0] = static_cast<uint8_t>(sport >> 8);
  tcp[1] = static_cast<uint8_t>(sport);
  tcp[3] = 25;
  tcp[12] = 0xa0;
  tcp[13] = 0x02;
  tcp[14] = 0xfa;
  const uint8_t opts[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  std::memcpy(tcp + 20, opts, sizeof(opts));
  return f;  // checksums are not verified by the data plane
}

// clean: 4096 senders in 198.18.0.0/20. flood: 100k unique senders in 198.18.0.0/15 (below
// 198.18.200.0), every 10th frame from the heavy sender.
std::vector<std::vector<uint8_t>> &frames(bool flood) {
  static std::vector<std::vector<uint8_t>> cache[2];
  auto &out = cache[flood];
  if (!out.empty()) return out;
  if (!flood) {
    for (uint32_t i = 0; i < 4096; ++i) out.push_back(syn_frame(0xC6120000u + i, 40000));
  } else {
    std::vector<uint32_t> senders;
    for (uint32_t i = 0; i < 100000; ++i) senders.push_back(0xC6120000u + i);
    std::shuffle(senders.begin(), senders.end(), std::mt19937(1));
    for (uint32_t i = 0; i < senders.size(); ++i) {
      if (i % 9 == 0) out.push_back(syn_frame(kHeavySender, static_cast<uint16_t>(1024 + i)));
      out.push_back(syn_frame(senders[i], 40000));
    }
  }
  return out;
}

// A small reputation table none of the senders is in (the lookup runs and finds nothing).
const RepTable &rep() {
  static std::unique_ptr<RepTable> t = [] {
    std::mt19937 rng(2);
    RepTableInput in;
    for (int i = 0; i < 65536; ++i)
      in.hosts_v4.push_back({htonl(0x0A000000u | (rng() >> 8)), {1, 0}});
    return std::make_unique<RepTable>(in);
  }();
  return *t;
}

void BM_HeavySyn(benchmark::State &state, bool flood, bool on, uint32_t threshold = 5) {
  std::istringstream pin(std::string("[smtp]\nheavy_hitters = ") + (on ? "on" : "off") +
                         "\nheavy_syn_threshold = " + std::to_string(threshold) +
                         "\n[level.1]\nthreshold = 3\nwindow_clamp = 2048\n");
  const PolicyFile pf = parse_policy(pin, "bench");
  const RepTable &table = rep();
  auto &fr = frames(flood);
  Pipeline pipe(FlowTableConfig{.max_flows = 1024});
  constexpr size_t kBurst = 32;
  PreparedPacket pp[kBurst];
  uint64_t rng = 1, now = uint64_t{1} << 40;
  size_t i = 0;
  const uint64_t t0 = __rdtsc(), cpu0 = thread_cpu_ns(), wall0 = wall_ns();
  for (auto _ : state) {
    pipe.count_packets(SL_DIR_FROM_OUTSIDE, kBurst);
    for (size_t b = 0; b < kBurst; ++b) {
      auto &f = fr[i];
      i = i + 1 == fr.size() ? 0 : i + 1;
      pipe.prepare(f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()),
                   SL_DIR_FROM_OUTSIDE, pf.policy, &table, pp[b]);
    }
    for (size_t b = 0; b < kBurst; ++b) {
      now += kStepNs;
      const sl_verdict v = pipe.finish(pp[b], now, rng, pf.policy, &table);
      benchmark::DoNotOptimize(v);
    }
  }
  const uint64_t tsc = __rdtsc() - t0, cpu = thread_cpu_ns() - cpu0, wall = wall_ns() - wall0;
  const auto syns = static_cast<double>(state.iterations() * kBurst);
  state.SetItemsProcessed(static_cast<int64_t>(syns));
  const double tsc_per_ns = static_cast<double>(tsc) / static_cast<double>(wall);
  state.counters["cycles_per_syn"] = static_cast<double>(cpu) * tsc_per_ns / syns;
  if (pipe.stats().lookups != state.iterations() * kBurst) state.SkipWithError("not every SYN");
  // The heavy sender (10% of the flood) must be the top /32 after a whole window.
  if (flood && on && threshold <= 100 && now >= (uint64_t{1} << 40) + heavy::kWindowNs) {
    heavy::HeavyMerge m(sl_heavy_epoch(now));
    pipe.read_heavy(m);
    bool top = false;
    for (const auto &c : m.top(10))
      if (c.key.prefix_len == 32) {
        top = heavy::prefix_text(c.key) == "198.18.200.1/32";
        break;
      }
    if (!top) state.SkipWithError("the heavy sender is not the top /32");
  }
}

BENCHMARK_CAPTURE(BM_HeavySyn, clean / off, false, false);
BENCHMARK_CAPTURE(BM_HeavySyn, clean / on, false, true);
BENCHMARK_CAPTURE(BM_HeavySyn, flood / off, true, false);
BENCHMARK_CAPTURE(BM_HeavySyn, flood / on, true, true);
// Counting alone: a threshold no prefix reaches in a window here, so no report and no offer.
BENCHMARK_CAPTURE(BM_HeavySyn, clean / count_only, false, true, 1000000);
BENCHMARK_CAPTURE(BM_HeavySyn, flood / count_only, true, true, 1000000);

}  // namespace

BENCHMARK_MAIN();
