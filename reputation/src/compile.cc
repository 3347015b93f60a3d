// The compiler: every entry of every source through one walk (compile_walk.h), then the
// outputs into the snapshot's four arrays.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include "compile_walk.h"
#include "sluice/reputation/compile.h"
#include "sluice/reputation/error.h"

namespace sluice::reputation {
using detail::Out;
using detail::walk;

Snapshot compile(std::span<const ParsedSource> sources, std::span<const SourceConfig> configs,
                 uint64_t created_unix) {
  if (sources.size() != configs.size()) throw Error("compile: sources and configs differ");
  size_t n4 = 0, n6 = 0;
  for (const auto &s : sources) {
    n4 += s.v4.size();
    n6 += s.v6.size();
  }
  std::vector<EntryV4> e4;
  std::vector<EntryV6> e6;
  e4.reserve(n4);
  e6.reserve(n6);
  for (size_t k = 0; k < sources.size(); ++k) {
    for (EntryV4 e : sources[k].v4) {
      e.source = static_cast<uint16_t>(k);
      e4.push_back(e);
    }
    for (EntryV6 e : sources[k].v6) {
      e.source = static_cast<uint16_t>(k);
      e6.push_back(e);
    }
  }
  std::vector<Out<uint32_t>> o4;
  std::vector<Out<U128>> o6;
  o4.reserve(e4.size());
  // The two families are independent: compile IPv6 on another thread when there is any.
  std::future<void> f6;
  if (!e6.empty()) f6 = std::async(std::launch::async, [&] { walk(e6, configs, o6); });
  walk(e4, configs, o4);
  if (f6.valid()) f6.get();

  std::vector<HostV4> h4;
  std::vector<PrefixV4> p4;
  std::vector<HostV6> h6;
  std::vector<PrefixV6> p6;
  for (const auto &o : o4) detail::put_output(o, h4, p4);
  for (const auto &o : o6) detail::put_output(o, h6, p6);
  return Snapshot::from_entries(std::move(h4), std::move(p4), std::move(h6), std::move(p6),
                                created_unix);
}

std::vector<ParsedSource> parse_all(const SourcesFile &sf) {
  const size_t n = sf.sources.size();
  std::vector<ParsedSource> parsed(n);
  // Parse sources in parallel: a worker per CPU takes the next source.
  size_t workers = std::max<size_t>(1, std::min<size_t>(n, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::vector<std::future<void>> futures;
  for (size_t w = 0; w < workers; ++w)
    futures.push_back(std::async(std::launch::async, [&] {
      for (size_t k; (k = next.fetch_add(1)) < n;)
        parsed[k] = parse_source(sf.sources[k], static_cast<uint16_t>(k));
    }));
  for (auto &f : futures) f.get();  // rethrows the first failure
  return parsed;
}

BuildResult build(const SourcesFile &sf) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<ParsedSource> parsed = parse_all(sf);
  auto t1 = Clock::now();
  BuildResult r;
  r.table = compile(parsed, sf.sources, static_cast<uint64_t>(std::time(nullptr)));
  auto t2 = Clock::now();
  r.parse_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.compile_seconds = std::chrono::duration<double>(t2 - t1).count();
  for (size_t k = 0; k < parsed.size(); ++k) {
    SourceSummary s;
    s.name = sf.sources[k].name;
    s.type = sf.sources[k].type;
    s.path = sf.sources[k].path;
    s.lines = parsed[k].lines;
    s.entries = parsed[k].entries;
    s.prefixes_v4 = parsed[k].v4.size();
    s.prefixes_v6 = parsed[k].v6.size();
    s.problems = std::move(parsed[k].problems);
    r.sources.push_back(std::move(s));
  }
  return r;
}

}  // namespace sluice::reputation
