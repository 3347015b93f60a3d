// The compiler: one sort of every entry of every source by (address, len), then one walk in that
// order, which visits prefixes as a pre-order walk of their nesting tree. A stack holds the
// prefixes enclosing the current one; per source, `cur` holds the contribution of its most
// specific entry on that stack, with an undo log to restore it when the walk leaves a prefix.
// O(n log n) for the sort, O(n) for the walk.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/error.h"

namespace sluice::reputation {
namespace {

template <class A>
bool entry_less(const Entry<A> &a, const Entry<A> &b) {
  if (a.addr != b.addr) return a.addr < b.addr;
  if (a.len != b.len) return a.len < b.len;
  if (a.source != b.source) return a.source < b.source;
  if (a.exclude != b.exclude) return a.exclude;  // an exclusion wins at equal specificity
  return a.line < b.line;                        // then the earliest line
}

struct Contribution {
  bool present = false;
  int32_t weight = 0;
  uint32_t flags = 0;  // SL_REP_ALLOW | SL_REP_DENY
};

template <class A>
struct Out {
  A addr;
  uint8_t len;
  sl_rep_value value;
};

template <class A>
void walk(std::vector<Entry<A>> &entries, std::span<const SourceConfig> configs,
          std::vector<Out<A>> &out) {
  constexpr int bits = Family<A>::kBits;
  std::sort(entries.begin(), entries.end(), entry_less<A>);
  std::vector<Contribution> cur(configs.size());
  struct Undo {
    uint16_t source;
    Contribution old;
  };
  std::vector<Undo> undo;
  struct Frame {
    A last;
    size_t undo_mark;
    int64_t score;
    uint32_t allows;
    uint32_t denies;
    sl_rep_value visible;  // what a lookup in the output answers inside this prefix
  };
  std::vector<Frame> stack;
  int64_t score = 0;
  uint32_t allows = 0;  // sources whose deciding entry allows the address
  uint32_t denies = 0;  // sources whose deciding entry denies it

  auto set = [&](uint16_t s, Contribution c) {
    Contribution &old = cur[s];
    undo.push_back({s, old});
    if (old.present) score -= old.weight;
    if (c.present) score += c.weight;
    allows += ((c.flags & SL_REP_ALLOW) ? 1 : 0) - ((old.flags & SL_REP_ALLOW) ? 1 : 0);
    denies += ((c.flags & SL_REP_DENY) ? 1 : 0) - ((old.flags & SL_REP_DENY) ? 1 : 0);
    old = c;
  };
  auto pop = [&] {
    Frame &f = stack.back();
    while (undo.size() > f.undo_mark) {
      cur[undo.back().source] = undo.back().old;
      undo.pop_back();
    }
    score = f.score;
    allows = f.allows;
    denies = f.denies;
    stack.pop_back();
  };

  size_t i = 0;
  while (i < entries.size()) {
    const A addr = entries[i].addr;
    const int len = entries[i].len;
    while (!stack.empty() && addr > stack.back().last) pop();
    sl_rep_value visible = stack.empty() ? sl_rep_value{0, 0} : stack.back().visible;
    stack.push_back({prefix_last<A>(addr, len), undo.size(), score, allows, denies, visible});
    // Every entry at exactly this prefix; per source the first (after sorting) decides.
    size_t j = i;
    while (j < entries.size() && entries[j].addr == addr && entries[j].len == len) {
      const Entry<A> &e = entries[j];
      if (j == i || entries[j - 1].source != e.source)
        set(e.source, e.exclude
                          ? Contribution{}
                          : Contribution{true, e.weight,
                                         e.flags | (configs[e.source].allow ? SL_REP_ALLOW : 0u)});
      ++j;
    }
    i = j;
    int64_t clamped = std::clamp<int64_t>(score, INT32_MIN, INT32_MAX);
    sl_rep_value v{static_cast<__s32>(clamped),
                   (allows > 0 ? SL_REP_ALLOW : 0u) | (denies > 0 ? SL_REP_DENY : 0u)};
    if (!(v == visible)) {
      out.push_back({addr, static_cast<uint8_t>(len), v});
      stack.back().visible = v;
    }
    (void)bits;
  }
}

}  // namespace

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
  for (const auto &o : o4) {
    if (o.len == 32)
      h4.push_back({sl_htonl(o.addr), o.value});
    else
      p4.push_back({sl_htonl(o.addr), o.len, {0, 0, 0}, o.value});
  }
  for (const auto &o : o6) {
    if (o.len == 128) {
      HostV6 h{};
      v6_to_bytes(o.addr, h.addr);
      h.value = o.value;
      h6.push_back(h);
    } else {
      PrefixV6 p{};
      v6_to_bytes(o.addr, p.addr);
      p.len = o.len;
      p.value = o.value;
      p6.push_back(p);
    }
  }
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
