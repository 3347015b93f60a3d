// One single-entry delta beside a 1M-entry table, as sluice-dp's control thread applies it
// (issue 12, "Push, fast": one dynamic entry effective <= 10 ms):
//
//   Rebuild  what sluice-dp did before the overlay: the delta file read and decoded, applied to
//            the whole snapshot (reputation::LiveTable::with_delta), the whole RepTable built
//            from it, published (RCU), the snapshot kept.
//   Overlay  DpControl::apply_delta: the same file, LiveRep (rep_live.h) shares the base's
//            structures and rebuilds the overlay of the changes since it, published the same way.
//   *Version the first stats after such a delta: the table version (the snapshot image's
//            checksum) that sluiced compares before each push. Rebuild: the applied snapshot
//            serialized and checksummed (what stats did, at every call); Overlay:
//            DpControl::stats_model() (the base and the changes streamed, once per change).
//
// Each repetition sets the table up (a load, then a delta of `arg` other hosts: the changes
// the overlay already holds, as after that many dynamic entries) and times one delta adding
// 198.51.100.7; the published table must then list it. Real time; run with
// --benchmark_repetitions=N --benchmark_enable_random_interleaving=true (each repetition is
// one delta, so the repetitions' median, min and max are per delta).
// No EAL: the RCU publish has no readers here (the lcores' share is a pointer load per burst).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dp_control.h"
#include "rep_live.h"
#include "rep_table_snapshot.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/live_table.h"

namespace {

using namespace sluice;
using namespace sluice::dataplane;
namespace rep = sluice::reputation;

constexpr uint32_t kProbe = 0xc6336407u;  // 198.51.100.7

// The 1M-entry table of bench/control/sluiced_push_latency (its addresses: the 131072 hosts
// of 198.18.0.0/15, then hosts of 2001:2::/48), with 9000 IPv4 /24s (100.64.0.0/10) and 1000
// IPv6 /64s in place of as many IPv6 hosts.
rep::TableEntries big_table() {
  rep::TableEntries t;
  for (uint32_t i = 0; i < 131072; ++i)
    t.hosts_v4.push_back({sl_htonl(0xc6120000u + i), {static_cast<int32_t>(i % 40), 0}});
  for (uint32_t i = 0; i < 9000; ++i)
    t.prefixes_v4.push_back(rep::make_prefix_v4(sl_htonl(0x64400000u + (i << 8)), 24, {5, 0}));
  uint8_t a[16] = {0x20, 0x01, 0x00, 0x02};
  for (uint32_t i = 0; i < 858928; ++i) {
    a[12] = static_cast<uint8_t>(i >> 24);
    a[13] = static_cast<uint8_t>(i >> 16);
    a[14] = static_cast<uint8_t>(i >> 8);
    a[15] = static_cast<uint8_t>(i);
    t.hosts_v6.push_back(rep::make_host_v6(a, {7, 0}));
  }
  uint8_t p[16] = {0x20, 0x01, 0x0d, 0xb9};
  for (uint32_t i = 0; i < 1000; ++i) {
    p[6] = static_cast<uint8_t>(i >> 8);
    p[7] = static_cast<uint8_t>(i);
    t.prefixes_v6.push_back(rep::make_prefix_v6(p, 64, {9, 0}));
  }
  return t;
}

rep::Snapshot with_hosts(const rep::TableEntries &base, uint32_t first, size_t n) {
  rep::TableEntries t = base;
  for (size_t i = 0; i < n; ++i) t.hosts_v4.push_back({sl_htonl(first + i), {50, 0}});
  std::sort(t.hosts_v4.begin(), t.hosts_v4.end(), [](const rep::HostV4 &x, const rep::HostV4 &y) {
    return sl_ntohl(x.addr_be) < sl_ntohl(y.addr_be);
  });
  return rep::Snapshot::from_entries(t.hosts_v4, t.prefixes_v4, t.hosts_v6, t.prefixes_v6, 1);
}

// The files of one setting: the table (after `prefill` dynamic hosts), the probe's add and
// remove deltas, and the prefill delta from the table without them.
struct Files {
  std::string dir, table, prefill, add, remove;
};

const Files &files(size_t prefill) {
  static std::map<size_t, Files> all;
  if (auto it = all.find(prefill); it != all.end()) return it->second;
  static const rep::TableEntries base = big_table();
  Files f;
  f.dir = "/tmp/sluice_rep_delta_bench." + std::to_string(::getpid());
  std::filesystem::create_directories(f.dir);
  const std::string tag = std::to_string(prefill);
  const rep::Snapshot t0 = rep::Snapshot::from_entries(base.hosts_v4, base.prefixes_v4,
                                                       base.hosts_v6, base.prefixes_v6, 1);
  const rep::Snapshot t1 = with_hosts(base, 0xc6140000u, prefill);  // 198.20.0.0/16
  rep::TableEntries e1 = t1.entries();
  const rep::Snapshot t2 = with_hosts(e1, kProbe, 1);
  f.table = f.dir + "/table.snap";
  t0.save(f.table);
  f.prefill = f.dir + "/prefill-" + tag + ".delta";
  rep::diff(t0, t1).save(f.prefill);
  f.add = f.dir + "/add-" + tag + ".delta";
  rep::diff(t1, t2).save(f.add);
  f.remove = f.dir + "/remove-" + tag + ".delta";
  rep::diff(t2, t1).save(f.remove);
  return all.emplace(prefill, f).first->second;
}

bool probe_listed(const Published &pub) {
  return pub.rep()->lookup_v4(sl_htonl(kProbe)).has_value();
}

void BM_Rebuild(benchmark::State &state) {
  const Files &f = files(static_cast<size_t>(state.range(0)));
  Published pub(4);
  rep::LiveTable table;
  auto apply = [&](const std::string &path) {
    const rep::Delta d = rep::Delta::load(path);
    rep::Snapshot snap = table.with_delta(d);
    pub.set_rep(rep_table_from_snapshot(snap));
    table.commit(std::move(snap));
  };
  {
    rep::Snapshot s = rep::Snapshot::load(f.table);
    pub.set_rep(rep_table_from_snapshot(s));
    table.commit(std::move(s));
  }
  apply(f.prefill);
  bool add = true;
  for (auto _ : state) {
    apply(add ? f.add : f.remove);
    if (probe_listed(pub) != add) state.SkipWithError("the delta is not in the published table");
    add = !add;
  }
}

void BM_Overlay(benchmark::State &state) {
  const Files &f = files(static_cast<size_t>(state.range(0)));
  Published pub(4);
  DpControl ctl(pub, {}, std::nullopt);
  ctl.load_table(f.table);
  ctl.apply_delta(f.prefill);
  bool add = true;
  for (auto _ : state) {
    ctl.apply_delta(add ? f.add : f.remove);
    if (probe_listed(pub) != add) state.SkipWithError("the delta is not in the published table");
    add = !add;
  }
}

void BM_RebuildVersion(benchmark::State &state) {
  const Files &f = files(static_cast<size_t>(state.range(0)));
  rep::LiveTable table(rep::Snapshot::load(f.table));
  table.commit(table.with_delta(rep::Delta::load(f.prefill)));
  const rep::Delta add = rep::Delta::load(f.add), remove = rep::Delta::load(f.remove);
  bool adding = true;
  for (auto _ : state) {
    state.PauseTiming();
    table.commit(table.with_delta(adding ? add : remove));
    adding = !adding;
    state.ResumeTiming();
    // What Snapshot::checksum() did for a built table (every stats call): serialize, checksum.
    const std::vector<uint8_t> image = table.current().serialize();
    benchmark::DoNotOptimize(rep::image_checksum(image.data(), image.size()));
  }
}

void BM_OverlayVersion(benchmark::State &state) {
  const Files &f = files(static_cast<size_t>(state.range(0)));
  Published pub(4);
  DpControl ctl(pub, {}, std::nullopt);
  ctl.load_table(f.table);
  ctl.apply_delta(f.prefill);
  bool adding = true;
  for (auto _ : state) {
    state.PauseTiming();
    ctl.apply_delta(adding ? f.add : f.remove);
    adding = !adding;
    state.ResumeTiming();
    benchmark::DoNotOptimize(ctl.stats_model().table.version);
  }
}

// The packet path's side: lookups in the same table without an overlay (0) and with one of
// 1000 or 10000 changes, bursts of 32 senders (a third listed hosts, a third under a prefix,
// a third unlisted), prefetched first as the lcore's stage 1 does. CPU time per burst.
void BM_Lookup(benchmark::State &state) {
  const Files &f = files(static_cast<size_t>(state.range(0)));
  LiveRep live;
  live.commit(live.with_snapshot(rep::Snapshot::load(f.table)));
  LiveRep::Next n = live.with_delta(rep::Delta::load(f.prefill));
  const std::unique_ptr<RepTable> table = std::move(n.table);
  live.commit(std::move(n));
  std::vector<uint32_t> senders(4096);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < senders.size(); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const uint32_t r = static_cast<uint32_t>(x);
    senders[i] = sl_htonl(i % 3 == 0   ? 0xc6120000u + (r % 131072)
                          : i % 3 == 1 ? 0x64400000u + (r % (9000u << 8))
                                       : 0xc0000000u + (r % 0x1000000u));
  }
  size_t at = 0, hits = 0;
  for (auto _ : state) {
    const uint32_t *b = &senders[at];
    for (int i = 0; i < 32; ++i) table->prefetch_v4(b[i]);
    for (int i = 0; i < 32; ++i) hits += table->lookup_v4(b[i]).has_value();
    at = (at + 32) % senders.size();
  }
  benchmark::DoNotOptimize(hits);
  state.counters["overlay"] = static_cast<double>(table->overlay_entries());
}
BENCHMARK(BM_Lookup)->Arg(0)->Arg(1000)->Arg(10000);

#define DELTA_BENCH(fn)                                                             \
  BENCHMARK(fn)->Arg(0)->Arg(1000)->Arg(10000)->Iterations(1)->UseRealTime()->Unit( \
      benchmark::kMillisecond)
DELTA_BENCH(BM_Rebuild);
DELTA_BENCH(BM_Overlay);
DELTA_BENCH(BM_RebuildVersion);
DELTA_BENCH(BM_OverlayVersion);

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all("/tmp/sluice_rep_delta_bench." + std::to_string(::getpid()), ec);
  return 0;
}
