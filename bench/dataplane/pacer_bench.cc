// Pacer cost: one insert plus one expiry per operation, in steady state with N packets
// pending (the time step is delay / N, so N stay held). Compared side by side with
// std::priority_queue doing the same schedule. Goals: 1M pending <= 1.2x 1k pending;
// wheel <= 0.33x priority_queue at 100k pending.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <queue>
#include <vector>

#include "pacer.h"

namespace {

using sluice::dataplane::Pacer;
using sluice::dataplane::PacerConfig;
using sluice::dataplane::PacerItem;

constexpr uint64_t kDelay = 200'000'000;  // 200 ms, the typical profile delay

void BM_WheelInsertExpire(benchmark::State &state) {
  const auto pending = static_cast<uint64_t>(state.range(0));
  PacerConfig cfg;
  cfg.capacity = static_cast<uint32_t>(pending + 4096);
  Pacer p(cfg, 0);
  const uint64_t step = kDelay / pending;
  uint64_t now = 0, released = 0;
  // Fill to steady state.
  for (uint64_t i = 0; i < pending; ++i) {
    now += step;
    p.insert(now + kDelay, nullptr, 0, 0);
    p.poll(now, 64, [&](const PacerItem &) { ++released; });
  }
  for (auto _ : state) {
    now += step;
    p.insert(now + kDelay, nullptr, 0, 0);
    p.poll(now, 64, [&](const PacerItem &) { ++released; });
  }
  benchmark::DoNotOptimize(released);
  state.counters["depth"] = p.depth();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WheelInsertExpire)->Arg(1000)->Arg(100000)->Arg(1000000);

void BM_PriorityQueueInsertExpire(benchmark::State &state) {
  const auto pending = static_cast<uint64_t>(state.range(0));
  using Item = std::pair<uint64_t, void *>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
  const uint64_t step = kDelay / pending;
  uint64_t now = 0, released = 0;
  auto expire = [&] {
    while (!q.empty() && q.top().first <= now) {
      q.pop();
      ++released;
    }
  };
  for (uint64_t i = 0; i < pending; ++i) {
    now += step;
    q.push({now + kDelay, nullptr});
    expire();
  }
  for (auto _ : state) {
    now += step;
    q.push({now + kDelay, nullptr});
    expire();
  }
  benchmark::DoNotOptimize(released);
  state.counters["depth"] = static_cast<double>(q.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PriorityQueueInsertExpire)->Arg(1000)->Arg(100000)->Arg(1000000);

// Release-time error: how late a packet leaves when the pacer is polled every 10 us.
void BM_WheelReleaseError(benchmark::State &state) {
  PacerConfig cfg;
  cfg.capacity = 1 << 16;
  uint64_t worst = 0, sum = 0, n = 0;
  for (auto _ : state) {
    Pacer p(cfg, 0);
    uint64_t now = 0;
    for (uint64_t i = 0; i < 10000; ++i)
      p.insert(1'000'000 + i * 7919 % 300'000'000, nullptr, 0, 0);
    while (p.depth() > 0) {
      now += 10'000;
      p.poll(now, 1 << 20, [&](const PacerItem &it) {
        const uint64_t late = now - it.release_ns;
        worst = std::max(worst, late);
        sum += late;
        ++n;
      });
    }
  }
  state.counters["max_late_us"] = static_cast<double>(worst) / 1000.0;
  state.counters["mean_late_us"] =
      n ? static_cast<double>(sum) / static_cast<double>(n) / 1000.0 : 0;
}
BENCHMARK(BM_WheelReleaseError)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
