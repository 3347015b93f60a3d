// How fast a site takes in other participants' observations on one core (docs/feed.md, #13's
// ingest goal): each message as it comes off the stream, checked (size, header, Ed25519
// signature, schema v1, sequence, freshness) and applied to the trust model, then the model's
// contributions turned into table sources. No NATS: the messages are sealed beforehand, so the
// figure is sluiced's own work per observation.
//
//   feed_ingest_bench [--benchmark_repetitions=5 ...]
//
// Ingest/B: verify + apply, batches of B observations, each observation about a new address
//   (the model grows to a few hundred thousand subjects per run), items = observations.
// VerifyOnly/B: the same messages checked but not applied (the signature's and parser's share).
// TableSources/N: the trust model's N subjects as table sources, what a rebuild asks of it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feed/codec.h"
#include "feed/keys.h"
#include "feed/trust.h"
#include "feed/verifier.h"

namespace {
using namespace sluice::feed;

constexpr int64_t kNow = 1764500000000;
constexpr size_t kMessages = 1000;  // per run; every one is a fresh sequence

const KeyPair &key() {
  static const KeyPair k = generate_keypair();
  return k;
}

TrustConfig trust() {
  TrustConfig c;
  ParticipantTrust p;
  p.name = "isp-b";
  p.key = key().pub;
  p.max_entries = 10000000;
  c.participants.push_back(p);
  return c;
}

// kMessages sealed batches of `per_batch` observations, sequences 1.., subjects 10.0.0.0 + i
// (distinct across all batches).
std::vector<std::string> messages(size_t per_batch, uint32_t first_address) {
  std::vector<std::string> out;
  const Kind kinds[] = {Kind::kComplaint, Kind::kConnRate, Kind::kPregreet, Kind::kTrapHit};
  uint32_t a = first_address;
  for (size_t m = 0; m < kMessages; ++m) {
    Batch b;
    b.participant = "isp-b";
    b.seq = m + 1;
    b.sent_at_ms = kNow;
    for (size_t i = 0; i < per_batch; ++i) {
      Observation o;
      o.subject.family = 4;
      o.subject.v4 = a++;
      o.subject.len = 32;
      o.kind = kinds[i % 4];
      o.count = 1 + static_cast<uint32_t>(i % 7);
      o.window_s = 60;
      o.ttl_s = 3600;
      o.observed_at_ms = kNow - 1000;
      b.observations.push_back(o);
    }
    out.push_back(seal("isp-b", encode_body(b), key().secret));
  }
  return out;
}

void run(benchmark::State &state, bool apply) {
  const size_t per_batch = static_cast<size_t>(state.range(0));
  const auto msgs = messages(per_batch, 0x0a000000);
  size_t bytes = 0;
  for (const auto &m : msgs) bytes += m.size();
  size_t observations = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Verifier v;
    v.set_key("isp-b", key().pub);
    TrustModel model(trust());
    state.ResumeTiming();
    for (const auto &m : msgs) {
      auto got = v.check("sluice.obs.isp-b", m, kNow);
      auto *b = std::get_if<Batch>(&got);
      if (b == nullptr) {
        state.SkipWithError("a batch was refused");
        return;
      }
      if (apply) model.apply(*b, kNow);
      observations += b->observations.size();
    }
    benchmark::DoNotOptimize(model.entries());
  }
  state.SetItemsProcessed(static_cast<int64_t>(observations));
  state.counters["message_bytes"] = static_cast<double>(bytes) / msgs.size();
}

void Ingest(benchmark::State &state) {
  run(state, true);
}
void VerifyOnly(benchmark::State &state) {
  run(state, false);
}
// Batch sizes: one observation; 100; 500 (about 57 KB, near the 64 KiB message limit).
BENCHMARK(Ingest)->Arg(1)->Arg(100)->Arg(500)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(VerifyOnly)->Arg(1)->Arg(100)->Arg(500)->Unit(benchmark::kMillisecond)->UseRealTime();

void TableSources(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TrustModel model(trust());
  Batch b;
  b.participant = "isp-b";
  for (size_t i = 0; i < n; ++i) {
    Observation o;
    o.subject.v4 = 0x0a000000 + static_cast<uint32_t>(i);
    o.kind = Kind::kComplaint;
    o.ttl_s = 3600;
    o.observed_at_ms = kNow;
    b.observations.push_back(o);
    if (b.observations.size() == kMaxObservations || i + 1 == n) {
      model.apply(b, kNow);
      b.observations.clear();
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(model.table_sources(kNow, 0));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}
BENCHMARK(TableSources)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
