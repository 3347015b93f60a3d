// SYN classification cost: parse, classify, reputation lookup (exact host, then longest
// prefix), level decision, for bursts of SYNs from distinct senders, in the lcore's two
// stages (Pipeline::prepare over the burst, then Pipeline::finish over each). A large table
// (10M hosts + 1M prefixes) against a small one (64k hosts + 10k prefixes); goal <= 2.5x.
// The senders are listed (half as hosts, half inside prefixes) with a score below the first
// threshold, so nothing is shaped: the cost measured is classification alone.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "pipeline.h"
#include "policy_file.h"

namespace {

using namespace sluice::dataplane;

std::vector<uint8_t> syn_frame(uint32_t src_host_order) {
  std::vector<uint8_t> f(14 + 20 + 20 + 20, 0);
  f[12] = 0x08;
  uint8_t *ip = &f[14];
  ip[0] = 0x45;
  ip[2] = 0;
  ip[3] = 60;
  ip[8] = 64;
  ip[9] = 6;
  const uint32_t s = htonl(src_host_order), d = htonl(0xc6120002);
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
  uint8_t *tcp = ip + 20;
  tcp[0] = 0x9c;
  tcp[1] = 0x40;
  tcp[3] = 25;
  tcp[12] = 0xa0;
  tcp[13] = 0x02;
  tcp[14] = 0xfa;
  const uint8_t opts[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  std::memcpy(tcp + 20, opts, sizeof(opts));
  return f;  // checksums are not verified by the data plane
}

struct Table {
  std::unique_ptr<RepTable> rep;
  std::vector<uint32_t> senders;  // host order
};

const Table &table(size_t hosts, size_t prefixes) {
  static std::map<std::pair<size_t, size_t>, Table> cache;
  Table &t = cache[{hosts, prefixes}];
  if (t.rep) return t;
  std::mt19937 rng(1);
  RepTableInput in;
  in.hosts_v4.reserve(hosts);
  for (size_t i = 0; i < hosts; ++i) {
    const uint32_t a = rng();
    in.hosts_v4.push_back({htonl(a), {1, 0}});
    if (i % 64 == 0 && t.senders.size() < 4096) t.senders.push_back(a);
  }
  // Prefixes of mixed lengths /16../24, as DROP lists and DNSBL ranges have.
  for (size_t i = 0; i < prefixes; ++i) {
    const uint8_t len = static_cast<uint8_t>(16 + rng() % 9);
    const uint32_t a = rng() & ~((1u << (32 - len)) - 1);
    in.prefixes_v4.push_back(sluice::reputation::make_prefix_v4(htonl(a), len, {1, 0}));
    if (i % 8 == 0 && t.senders.size() < 8192)
      t.senders.push_back(a | (rng() & ((1u << (32 - len)) - 1)));
  }
  std::shuffle(t.senders.begin(), t.senders.end(), rng);
  t.rep = std::make_unique<RepTable>(in);
  return t;
}

void BM_SynClassify(benchmark::State &state) {
  const Table &t = table(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  std::istringstream pin("[level.1]\nthreshold = 3\nwindow_clamp = 2048\n");
  const PolicyFile pf = parse_policy(pin, "bench");
  Pipeline pipe(FlowTableConfig{.max_flows = 1024});
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t s : t.senders) frames.push_back(syn_frame(s));
  size_t i = 0;
  constexpr size_t kBurst = 32;
  // As the lcore handles a burst: stage 1 (parse, classify, prefetch of the sender's table
  // slots) over all 32 SYNs, then stage 2 (lookup, level) over each.
  PreparedPacket pp[kBurst];
  uint64_t rng = 1;
  for (auto _ : state) {
    pipe.count_packets(SL_DIR_FROM_OUTSIDE, kBurst);
    for (size_t b = 0; b < kBurst; ++b) {
      auto &f = frames[i++ % frames.size()];
      pipe.prepare(f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()),
                   SL_DIR_FROM_OUTSIDE, pf.policy, t.rep.get(), pp[b]);
    }
    for (size_t b = 0; b < kBurst; ++b) {
      const sl_verdict v = pipe.finish(pp[b], 0, rng, pf.policy, t.rep.get());
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["lookups"] = static_cast<double>(pipe.stats().lookups);
  state.counters["table_MB"] = static_cast<double>(t.rep->memory_bytes()) / 1e6;
}
BENCHMARK(BM_SynClassify)
    ->Args({65536, 10000})
    ->Args({10000000, 1000000})
    ->Unit(benchmark::kNanosecond);

// Bursts of 32 SYNs from the table's senders (the first `senders` of them; 0: all) through both
// stages, each SYN a new connection (its client port counts up), the lcore's clock 1 us on per
// burst. Returns how many verdicts were not `expect` (none counted when it is null).
uint64_t run_new_connections(benchmark::State &state, Pipeline &pipe, const PolicyFile &pf,
                             const Table &t, const sl_verdict *expect, size_t senders = 0) {
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t s : t.senders)
    if (senders == 0 || frames.size() < senders) frames.push_back(syn_frame(s));
  constexpr size_t kBurst = 32;
  constexpr size_t kTcpOff = 14 + 20;
  std::vector<uint8_t> work[kBurst];
  PreparedPacket pp[kBurst];
  uint64_t rng = 1, now = 1'000'000'000, unexpected = 0;
  size_t i = 0;
  uint16_t port = 1024;
  for (auto _ : state) {
    pipe.count_packets(SL_DIR_FROM_OUTSIDE, kBurst);
    for (size_t b = 0; b < kBurst; ++b) {
      work[b] = frames[i++ % frames.size()];  // shaping or an answer rewrites the SYN in place
      work[b][kTcpOff] = static_cast<uint8_t>(port >> 8);
      work[b][kTcpOff + 1] = static_cast<uint8_t>(port++);
      pipe.prepare(work[b].data(), static_cast<uint32_t>(work[b].size()),
                   static_cast<uint32_t>(work[b].size()), SL_DIR_FROM_OUTSIDE, pf.policy,
                   t.rep.get(), pp[b]);
    }
    for (size_t b = 0; b < kBurst; ++b) {
      const sl_verdict v = pipe.finish(pp[b], now, rng, pf.policy, t.rep.get());
      benchmark::DoNotOptimize(v);
      if (expect != nullptr) unexpected += v != *expect;
    }
    now += 1000;
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  return unexpected;
}

// Aggregate caps' cost on the SYN path (goal: <= 5 ns per SYN of a listed sender, nothing
// measurable on other packets): SYNs from the table's senders (each SYN a new connection: its
// client port counts up) under a policy without caps (caps:0) and with caps that never refuse
// (caps:1: the entries are looked up or created, touched, the rate taken and the new flow
// counted, for the sender's address and its /24). shaped:1 puts every sender at level 1 (the
// capped level); shaped:0 keeps them below its threshold, so the SYNs only pay what caps in the
// policy cost a SYN outside a capped level. senders:0 takes turns among all of the table's
// senders (about 5,300: their flow, caps, sketch and table entries spread over more than a
// core's L2); senders:256 among 256 of them, whose entries stay in cache, so what is left is the
// steps' own instructions and stalls. Run all of them interleaved (one command line):
//   bench_dp_syn --benchmark_filter=ShapedSyn --benchmark_repetitions=10
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
void BM_ShapedSyn(benchmark::State &state) {
  const Table &t = table(65536, 10000);
  std::string text = state.range(1) != 0 ? "[level.1]\nthreshold = 1\nwindow_clamp = 2048\n"
                                         : "[level.1]\nthreshold = 3\nwindow_clamp = 2048\n";
  if (state.range(0) != 0)
    text +=
        "max_flows = 1000000\nmax_flows_net = 1000000\nmax_syn_per_min = 600000\n"
        "syn_burst = 100000\n";
  std::istringstream pin(text);
  const PolicyFile pf = parse_policy(pin, "bench");
  Pipeline pipe(FlowTableConfig{.max_flows = 65536});
  run_new_connections(state, pipe, pf, t, nullptr, static_cast<size_t>(state.range(2)));
  state.counters["flows"] = static_cast<double>(pipe.stats().level[1].flows);
  const uint64_t capped = pipe.stats().caps_rate + pipe.stats().caps_flows;
  state.counters["capped"] = static_cast<double>(capped);
  // A refused SYN takes the cheaper block path: the case would no longer be what it says.
  if (capped != 0) state.SkipWithError("the caps refused a SYN (run shorter or with more senders)");
}
BENCHMARK(BM_ShapedSyn)
    ->ArgNames({"caps", "shaped", "senders"})
    ->ArgsProduct({{0, 1}, {1, 0}, {0, 256}})
    ->Unit(benchmark::kNanosecond);

// A SYN flood from listed senders (each SYN a new connection), by what the level answers:
// answer:0 forwarded (below the threshold: classified only); 1 shaped (a flow created, the
// window scale stripped; the flow table of 65536 is full after as many SYNs, so from then on
// each creation evicts the coldest flow, as in a flood); 2 blocked by drop; 3 blocked with RST
// (the reply built in place); 4 the stateless tarpit (a cookie SYN-ACK with window 0 built in
// place, no flow). The figure is ns per SYN, so SYNs per second one lcore answers is 1e9 / that
// (I/O not counted: the replies go out of the arrival port as one TX burst in sluice-dp).
// Interleaved:
//   bench_dp_syn --benchmark_filter=SynFlood --benchmark_repetitions=10
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
void BM_SynFlood(benchmark::State &state) {
  const Table &t = table(65536, 10000);
  static const char *const kLevel[] = {
      "threshold = 3\nwindow_clamp = 2048\n", "threshold = 1\nwindow_clamp = 2048\n",
      "threshold = 1\nblock = drop\n", "threshold = 1\nblock = rst\n",
      "threshold = 1\ntarpit = stateless\n"};
  static const sl_verdict kExpect[] = {SL_VERDICT_PASS, SL_VERDICT_PASS, SL_VERDICT_DROP,
                                       SL_VERDICT_TX, SL_VERDICT_TX};
  const auto answer = static_cast<size_t>(state.range(0));
  std::istringstream pin(std::string("[level.1]\n") + kLevel[answer]);
  const PolicyFile pf = parse_policy(pin, "bench");
  Pipeline pipe(FlowTableConfig{.max_flows = 65536});
  if (run_new_connections(state, pipe, pf, t, &kExpect[answer]) != 0)
    state.SkipWithError("a SYN was not answered as its level says");
  state.counters["flows"] = static_cast<double>(pipe.stats().level[1].flows);
  state.counters["tarpit_synacks"] = static_cast<double>(pipe.stats().tarpit_synacks);
}
BENCHMARK(BM_SynFlood)->ArgName("answer")->DenseRange(0, 4)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
