// Reputation table benchmarks on the synthetic lists of gen_lists.py (SLUICE_REP_BENCH_DIR).
// Goals (issue 3): build 1M hosts + 100k prefixes <= 1.5 s on 2 cores; <= 32 bytes per IPv4
// host entry; load a 1M-entry snapshot <= 0.1 s; a 10k-change delta <= 50 ms; lookups/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/reputation/sources_file.h"

namespace {

namespace rep = sluice::reputation;

// Everything the benchmarks share, built once.
struct Data {
  rep::SourcesFile sources;
  std::vector<rep::ParsedSource> parsed;
  rep::Snapshot table;
  std::string snapshot_path;
  size_t snapshot_bytes = 0;
  rep::Snapshot changed;  // table with 10k changes (adds, changes, removes)
  std::vector<uint32_t> hit_addrs, random_addrs;
  ~Data() {
    if (!snapshot_path.empty()) std::filesystem::remove(snapshot_path);
  }
};

Data *data(benchmark::State &state) {
  static std::unique_ptr<Data> d;
  static bool failed = false;
  if (d || failed) {
    if (failed)
      state.SkipWithError(
          "no synthetic lists: run bench/reputation/gen_lists.py DIR "
          "and set SLUICE_REP_BENCH_DIR=DIR");
    return d.get();
  }
  const char *dir = std::getenv("SLUICE_REP_BENCH_DIR");
  if (!dir || !std::filesystem::exists(std::string(dir) + "/sources.ini")) {
    failed = true;
    return data(state);
  }
  d = std::make_unique<Data>();
  d->sources = rep::load_sources_file(std::string(dir) + "/sources.ini");
  d->parsed = rep::parse_all(d->sources);
  d->table = rep::compile(d->parsed, d->sources.sources);
  d->snapshot_path = (std::filesystem::temp_directory_path() /
                      ("sluice-rep-bench-" + std::to_string(::getpid()) + ".snap"))
                         .string();
  d->table.save(d->snapshot_path);
  d->snapshot_bytes = std::filesystem::file_size(d->snapshot_path);
  // 10k changes: 4k score changes, 3k removals, 3k additions of IPv4 hosts.
  std::vector<rep::HostV4> hosts(d->table.hosts_v4().begin(), d->table.hosts_v4().end());
  std::mt19937 rng(7);
  for (int i = 0; i < 4000; ++i) hosts[rng() % hosts.size()].value.score += 1000;
  for (int i = 0; i < 3000; ++i)
    hosts.erase(hosts.begin() + static_cast<long>(rng() % hosts.size()));
  for (int i = 0; i < 3000; ++i)
    hosts.push_back({sl_htonl(0xe0000000u + static_cast<uint32_t>(i)), {1, 0}});
  std::sort(hosts.begin(), hosts.end(), [](const rep::HostV4 &a, const rep::HostV4 &b) {
    return sl_ntohl(a.addr_be) < sl_ntohl(b.addr_be);
  });
  d->changed = rep::Snapshot::from_entries(
      hosts, {d->table.prefixes_v4().begin(), d->table.prefixes_v4().end()},
      {d->table.hosts_v6().begin(), d->table.hosts_v6().end()},
      {d->table.prefixes_v6().begin(), d->table.prefixes_v6().end()});
  for (int i = 0; i < 1 << 16; ++i) {
    const auto &h = d->table.hosts_v4()[rng() % d->table.hosts_v4().size()];
    d->hit_addrs.push_back(h.addr_be);
    d->random_addrs.push_back(static_cast<uint32_t>(rng()));
  }
  return d.get();
}

size_t entries_of(const rep::Snapshot &t) {
  return t.hosts_v4().size() + t.prefixes_v4().size() + t.hosts_v6().size() +
         t.prefixes_v6().size();
}

// Parse every source (in parallel) and compile: what `sluicectl table build` does, minus the
// write.
void BM_BuildFromSources(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  size_t entries = 0;
  for (auto _ : state) {
    auto parsed = rep::parse_all(d->sources);
    auto t = rep::compile(parsed, d->sources.sources);
    entries = entries_of(t);
    benchmark::DoNotOptimize(entries);
  }
  size_t listed = 0;
  for (const auto &p : d->parsed) listed += p.v4.size() + p.v6.size();
  state.counters["listed_prefixes"] = static_cast<double>(listed);
  state.counters["table_entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_BuildFromSources)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ParseSources(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  for (auto _ : state) benchmark::DoNotOptimize(rep::parse_all(d->sources));
}
BENCHMARK(BM_ParseSources)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CompileParsed(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  for (auto _ : state) benchmark::DoNotOptimize(rep::compile(d->parsed, d->sources.sources));
}
BENCHMARK(BM_CompileParsed)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SnapshotSave(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  const std::string p = d->snapshot_path + ".save";
  for (auto _ : state) d->table.save(p);
  std::filesystem::remove(p);
  state.counters["bytes"] = static_cast<double>(d->snapshot_bytes);
}
BENCHMARK(BM_SnapshotSave)->Unit(benchmark::kMillisecond)->UseRealTime();

// mmap + validate (magic, version, size, checksum, order) + parent index.
void BM_SnapshotLoad(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  for (auto _ : state) {
    auto t = rep::Snapshot::load(d->snapshot_path);
    benchmark::DoNotOptimize(t.hosts_v4().size());
  }
  const auto &t = d->table;
  state.counters["entries"] = static_cast<double>(entries_of(t));
  state.counters["hosts_v4"] = static_cast<double>(t.hosts_v4().size());
  state.counters["bytes"] = static_cast<double>(d->snapshot_bytes);
  state.counters["bytes_per_entry"] =
      static_cast<double>(d->snapshot_bytes) / static_cast<double>(entries_of(t));
  state.counters["bytes_per_host_v4_entry"] = static_cast<double>(sizeof(rep::HostV4));
}
BENCHMARK(BM_SnapshotLoad)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Checksum(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  auto image = d->table.serialize();
  for (auto _ : state) benchmark::DoNotOptimize(rep::image_checksum(image.data(), image.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * image.size()));
}
BENCHMARK(BM_Checksum)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Diff10k(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  size_t n = 0;
  for (auto _ : state) {
    auto delta = rep::diff(d->table, d->changed);
    n = delta.size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["changes"] = static_cast<double>(n);
}
BENCHMARK(BM_Diff10k)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Diff10kEncode(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  for (auto _ : state) benchmark::DoNotOptimize(rep::encode(rep::diff(d->table, d->changed)));
}
BENCHMARK(BM_Diff10kEncode)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a data plane holding the whole table does with a delta file's contents.
void BM_Apply10k(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  const rep::Delta delta = rep::diff(d->table, d->changed);
  for (auto _ : state) benchmark::DoNotOptimize(rep::apply(d->table, delta));
}
BENCHMARK(BM_Apply10k)->Unit(benchmark::kMillisecond)->UseRealTime();

// One host added to the whole table: what sluiced does for one dynamic entry or heavy sender, and
// the XDP loader for a one-entry delta. Each result is freed before the next, as a table that
// falls out of sluiced's history is, so its arrays are the next one's.
void BM_ApplyOne(benchmark::State &state) {
  Data *d = data(state);
  if (!d) return;
  rep::Delta delta;
  delta.hosts_v4.added.push_back({sl_htonl(0xe0ffffffu), {5, 0}});
  for (auto _ : state) benchmark::DoNotOptimize(rep::apply(d->table, delta));
  state.counters["entries"] = static_cast<double>(entries_of(d->table));
}
BENCHMARK(BM_ApplyOne)->Unit(benchmark::kMillisecond)->UseRealTime();

void lookups(benchmark::State &state, bool hits) {
  Data *d = data(state);
  if (!d) return;
  const auto &addrs = hits ? d->hit_addrs : d->random_addrs;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d->table.lookup_v4(addrs[i++ & (addrs.size() - 1)]));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
void BM_LookupV4Host(benchmark::State &state) {
  lookups(state, true);
}
void BM_LookupV4Random(benchmark::State &state) {
  lookups(state, false);
}
BENCHMARK(BM_LookupV4Host);
BENCHMARK(BM_LookupV4Random);

}  // namespace

BENCHMARK_MAIN();
