// The pregreet test's cost on sluice-dp's segment path (core/sl_greet.h: the server's SYN-ACK
// writes its flow's greeting slot, the client's first segment with payload takes it): the
// lcore's two stages (Pipeline::prepare over a burst of 32, then Pipeline::finish over each) on
// the segments of clean connections (unlisted senders: no flow, nothing shaped), with
// [smtp] pregreet on and off.
//
//   BM_CleanConnections/on|off   65536 connections of 65536 senders, interleaved as a busy MX
//                                sees them: each connection's SYN-ACK, its client's first
//                                data (one in ten before the greeting), the greeting, the
//                                client's next data and the server's reply, the connections
//                                taking turns so that 4096 are open at once (their slots are
//                                spread over the 512 KiB table, as live ones are)
//
// Items are segments (SYNs are not in the stream: their cost is bench_dp_heavy's and
// bench_dp_syn's). The difference between on and off, per segment, is the test's cost; per
// connection it is five times that. A run whose pregreet count is not the stream's is an error.
// Run a Release build, the cases interleaved so that load drift hits them alike:
//   bench_dp_pregreet --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//                     --benchmark_report_aggregates_only=true
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "common/packet_builder.h"
#include "pipeline.h"
#include "policy_file.h"

namespace {

using namespace sluice::dataplane;

constexpr uint32_t kConns = 65536;
constexpr uint32_t kOpen = 4096;          // connections in flight at once
constexpr uint32_t kServer = 0xc6130002;  // 198.19.0.2

struct Seg {
  std::vector<uint8_t> frame;
  sl_dir dir;
};

std::vector<uint8_t> tcp_frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                               uint8_t flags, uint32_t seq, uint32_t ack, size_t payload) {
  const auto a4 = [](uint32_t a) {
    return std::array<uint8_t, 4>{static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                                  static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  };
  return sluice::testing::PacketBuilder()
      .ipv4(a4(src), a4(dst))
      .tcp(sport, dport)
      .flags(flags)
      .seq(seq)
      .ack(ack)
      .window(64000)
      .payload(std::string(payload, 'x'))
      .build();
}

// Connection c's five segments, in order.
void connection(uint32_t c, std::vector<Seg> segs[5]) {
  const uint32_t client = 0xc6120000u + c;  // 198.18.0.0/16
  const uint16_t port = static_cast<uint16_t>(30000 + (c & 0x3fff));
  const uint32_t cisn = c * 7919u, sisn = c * 104729u;
  const bool pregreet = c % 10 == 0;
  const uint8_t ack = SL_TCP_ACK, psh = SL_TCP_ACK | SL_TCP_PSH;
  segs[0].push_back({tcp_frame(kServer, client, 25, port, SL_TCP_SYN | ack, sisn, cisn + 1, 0),
                     SL_DIR_FROM_INSIDE});
  segs[1].push_back(
      {tcp_frame(client, kServer, port, 25, psh, cisn + 1, pregreet ? sisn + 1 : sisn + 31, 23),
       SL_DIR_FROM_OUTSIDE});
  segs[2].push_back(
      {tcp_frame(kServer, client, 25, port, psh, sisn + 1, cisn + 24, 30), SL_DIR_FROM_INSIDE});
  segs[3].push_back(
      {tcp_frame(client, kServer, port, 25, psh, cisn + 24, sisn + 31, 40), SL_DIR_FROM_OUTSIDE});
  segs[4].push_back(
      {tcp_frame(kServer, client, 25, port, psh, sisn + 31, cisn + 64, 60), SL_DIR_FROM_INSIDE});
}

// The stream: connections opened kOpen at a time, each group's segments step by step (all
// SYN-ACKs of the group, then all first data, ...), so a slot waits for kOpen other connections'
// SYN-ACKs before it is taken.
const std::vector<Seg> &stream() {
  static const std::vector<Seg> out = [] {
    std::vector<Seg> v;
    for (uint32_t g = 0; g < kConns; g += kOpen) {
      std::vector<Seg> segs[5];
      for (uint32_t c = g; c < g + kOpen; ++c) connection(c, segs);
      for (auto &step : segs)
        for (auto &s : step) v.push_back(std::move(s));
    }
    return v;
  }();
  return out;
}

void BM_CleanConnections(benchmark::State &state, bool on) {
  std::istringstream pin(std::string("[smtp]\npregreet = ") + (on ? "on" : "off") +
                         "\n[level.1]\nthreshold = 3\nwindow_clamp = 2048\n");
  const PolicyFile pf = parse_policy(pin, "bench");
  const std::vector<Seg> &segs = stream();
  Pipeline pipe(FlowTableConfig{.max_flows = 1024});
  constexpr size_t kBurst = 32;
  PreparedPacket pp[kBurst];
  std::vector<std::vector<uint8_t>> work(kBurst);
  uint64_t rng = 1, now = uint64_t{1} << 40;
  size_t i = 0, passes = 0;
  for (auto _ : state) {
    for (size_t b = 0; b < kBurst; ++b) {
      const Seg &s = segs[i];
      work[b] = s.frame;  // the data plane may rewrite in place
      pipe.prepare(work[b].data(), static_cast<uint32_t>(work[b].size()),
                   static_cast<uint32_t>(work[b].size()), s.dir, pf.policy, nullptr, pp[b]);
      if (++i == segs.size()) {
        i = 0;
        ++passes;
      }
    }
    for (size_t b = 0; b < kBurst; ++b) {
      now += 1000;
      const sl_verdict v = pipe.finish(pp[b], now, rng, pf.policy, nullptr);
      benchmark::DoNotOptimize(v);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
  // Every whole pass over the stream has 6554 pregreet connections; the slots are
  // direct-mapped, so a connection whose slot a later SYN-ACK of its group took over goes
  // untested (missed_share). Off: none is reported; on: at least 90% of the whole passes'.
  const uint64_t per_pass = kConns / 10 + (kConns % 10 != 0);
  const uint64_t got = pipe.stats().pregreet;
  if (on ? got < passes * per_pass * 9 / 10 || got > (passes + 1) * per_pass : got != 0)
    state.SkipWithError("the pregreet count is not the stream's");
  state.counters["pregreet"] = static_cast<double>(got);
  if (on && passes > 0)
    state.counters["missed_share"] = 1.0 - static_cast<double>(std::min(got, passes * per_pass)) /
                                               static_cast<double>(passes * per_pass);
}

BENCHMARK_CAPTURE(BM_CleanConnections, off, false);
BENCHMARK_CAPTURE(BM_CleanConnections, on, true);

}  // namespace

BENCHMARK_MAIN();
