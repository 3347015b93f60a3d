// Property: the compiled table answers every address exactly as a brute-force evaluation of
// the score model over the raw entries does. Random nested prefix sets with exclusions and
// duplicates, per-entry allow and deny flags, several sources (one an allowlist), IPv4 and IPv6;
// also after a save/load round trip and after applying a delta from another random table.
// And recompile(): a small random change to a random table, recompiled in part, gives exactly
// the table (and the delta) a whole compile gives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "sluice/reputation/compile.h"
#include "sluice/reputation/delta.h"
#include "test_util.h"

namespace sluice::reputation::testing {
namespace {

// Addresses live in a small region (198.18.0.0/16, 2001:2::/48 + 32 bits) so that random
// prefixes nest and overlap often.
template <class A>
struct Space;
template <>
struct Space<uint32_t> {
  static constexpr int kBaseLen = 16;
  static uint32_t base() { return 0xc6120000u; }  // 198.18.0.0
  static uint32_t place(uint32_t r) { return base() | (r & 0xffffu); }
};
template <>
struct Space<U128> {
  static constexpr int kBaseLen = 48;
  static U128 base() { return U128{0x20010002u} << 96; }  // 2001:2::/48 (in the top bits)
  // 16 random bits after the /48, then 16 random bits at the bottom (hosts), zeros between.
  static U128 place(uint32_t r) { return base() | (U128{r >> 16} << 64) | U128{r & 0xffffu}; }
};

template <class A>
struct World {
  std::vector<SourceConfig> configs;
  std::vector<ParsedSource> sources;
};

template <class A>
World<A> random_world(std::mt19937 &rng) {
  constexpr int bits = Family<A>::kBits;
  constexpr int base_len = Space<A>::kBaseLen;
  World<A> w;
  const int nsrc = 2 + static_cast<int>(rng() % 3);
  for (int s = 0; s < nsrc; ++s) {
    SourceConfig c;
    c.name = std::string(1, 's') += std::to_string(s);
    c.allow = s == nsrc - 1 && rng() % 2;  // sometimes the last source is an allowlist
    c.weight = static_cast<int32_t>(rng() % 16) - 5;
    w.configs.push_back(c);
    ParsedSource p;
    const int n = 5 + static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) {
      // Lengths biased towards the ends: wide prefixes, hosts, and in between.
      int len;
      switch (rng() % 4) {
        case 0:
          len = bits;
          break;
        case 1:
          len = base_len + static_cast<int>(rng() % 9);
          break;
        default:
          len = base_len + static_cast<int>(rng() % (bits - base_len + 1));
          break;
      }
      A addr = Space<A>::place(static_cast<uint32_t>(rng())) & prefix_mask<A>(len);
      Entry<A> e{};
      e.addr = addr;
      e.len = static_cast<uint8_t>(len);
      e.exclude = rng() % 5 == 0;
      e.weight = rng() % 3 ? c.weight : static_cast<int32_t>(rng() % 21) - 10;
      e.line = static_cast<uint32_t>(i + 1);
      e.source = static_cast<uint16_t>(s);
      // Sometimes a per-entry allow or deny (sluiced's dynamic entries), both now and then.
      if (rng() % 6 == 0) e.flags = static_cast<uint8_t>(1 + rng() % 3) & 3u;
      // Sometimes list the same prefix again later (the earlier line must win).
      if constexpr (bits == 32) {
        p.v4.push_back(e);
        if (rng() % 8 == 0) {
          e.line += 1000;
          e.weight += 1;
          p.v4.push_back(e);
        }
      } else {
        p.v6.push_back(e);
        if (rng() % 8 == 0) {
          e.line += 1000;
          e.weight += 1;
          p.v6.push_back(e);
        }
      }
    }
    w.sources.push_back(std::move(p));
  }
  return w;
}

template <class A>
const std::vector<Entry<A>> &entries_of(const ParsedSource &p) {
  if constexpr (Family<A>::kBits == 32)
    return p.v4;
  else
    return p.v6;
}

// The score model, evaluated literally.
template <class A>
sl_rep_value reference(const World<A> &w, A addr) {
  int64_t score = 0;
  bool allow = false, deny = false;
  for (size_t s = 0; s < w.sources.size(); ++s) {
    const Entry<A> *best = nullptr;
    for (const auto &e : entries_of<A>(w.sources[s])) {
      if (!prefix_contains<A>(e.addr, e.len, addr)) continue;
      if (!best || e.len > best->len ||
          (e.len == best->len &&
           (e.exclude > best->exclude || (e.exclude == best->exclude && e.line < best->line))))
        best = &e;
    }
    if (best && !best->exclude) {
      score += best->weight;
      allow = allow || w.configs[s].allow || (best->flags & SL_REP_ALLOW);
      deny = deny || (best->flags & SL_REP_DENY);
    }
  }
  return {static_cast<__s32>(score), (allow ? SL_REP_ALLOW : 0u) | (deny ? SL_REP_DENY : 0u)};
}

template <class A>
sl_rep_value compiled(const Snapshot &t, A addr) {
  std::optional<sl_rep_value> v;
  if constexpr (Family<A>::kBits == 32) {
    v = t.lookup_v4(sl_htonl(addr));
  } else {
    uint8_t b[16];
    v6_to_bytes(addr, b);
    v = t.lookup_v6(b);
  }
  return v.value_or(sl_rep_value{0, 0});
}

// Probe addresses: every entry's first and last address and their neighbours, plus randoms.
template <class A>
std::vector<A> probes(const World<A> &w, std::mt19937 &rng) {
  std::vector<A> out;
  for (const auto &p : w.sources)
    for (const auto &e : entries_of<A>(p)) {
      A last = prefix_last<A>(e.addr, e.len);
      out.insert(out.end(), {e.addr, static_cast<A>(e.addr - 1), last, static_cast<A>(last + 1)});
    }
  for (int i = 0; i < 2000; ++i) out.push_back(Space<A>::place(static_cast<uint32_t>(rng())));
  return out;
}

template <class A>
void check_world(uint32_t seed) {
  std::mt19937 rng(seed);
  World<A> w = random_world<A>(rng);
  Snapshot t = compile(w.sources, w.configs);
  size_t checked = 0;
  for (A addr : probes(w, rng)) {
    sl_rep_value want = reference(w, addr), got = compiled(t, addr);
    ASSERT_TRUE(want.score == got.score && want.flags == got.flags)
        << "seed " << seed << " address "
        << (Family<A>::kBits == 32 ? format_ipv4(uint32_t(addr)) : format_ipv6(addr))
        << ": compiled " << got.score << "/" << got.flags << ", reference " << want.score << "/"
        << want.flags;
    ++checked;
  }
  EXPECT_GT(checked, 2000u);

  // The same answers after a delta from another random table, and after save/load.
  std::mt19937 rng2(seed ^ 0x9e3779b9u);
  World<A> other = random_world<A>(rng2);
  Snapshot t2 =
      apply(compile(other.sources, other.configs), diff(compile(other.sources, other.configs), t));
  auto file = std::filesystem::temp_directory_path() /
              ("sluice-prop-" + std::to_string(::getpid()) + ".snap");
  t2.save(file.string());
  Snapshot t3 = Snapshot::load(file.string());
  std::filesystem::remove(file);
  for (A addr : probes(w, rng)) {
    sl_rep_value want = reference(w, addr), got = compiled(t3, addr);
    ASSERT_TRUE(want.score == got.score && want.flags == got.flags) << "seed " << seed;
  }
}

TEST(CompileProperty, IPv4LookupsEqualTheBruteForceReference) {
  for (uint32_t seed = 1; seed <= 60; ++seed) check_world<uint32_t>(seed);
}

TEST(CompileProperty, IPv6LookupsEqualTheBruteForceReference) {
  for (uint32_t seed = 1; seed <= 60; ++seed) check_world<U128>(seed);
}

// A few entries of a few sources added, removed or altered in what the compiler reads.
template <class A>
World<A> mutate(const World<A> &w, std::mt19937 &rng) {
  World<A> out = w;
  std::mt19937 extra_rng(rng());
  const World<A> extra = random_world<A>(extra_rng);  // a supply of plausible new entries
  const int changes = 1 + static_cast<int>(rng() % 4);
  for (int c = 0; c < changes; ++c) {
    ParsedSource &p = out.sources[rng() % out.sources.size()];
    auto &v = const_cast<std::vector<Entry<A>> &>(entries_of<A>(p));
    const auto &supply = entries_of<A>(extra.sources[rng() % extra.sources.size()]);
    switch (v.empty() ? 0 : rng() % 4) {
      case 0:
        if (!supply.empty()) v.push_back(supply[rng() % supply.size()]);
        break;
      case 1:
        v.erase(v.begin() + static_cast<long>(rng() % v.size()));
        break;
      case 2:
        v[rng() % v.size()].weight += 1 + static_cast<int32_t>(rng() % 5);
        break;
      default: {
        Entry<A> &e = v[rng() % v.size()];
        if (rng() % 2)
          e.exclude = !e.exclude;
        else
          e.flags = static_cast<uint8_t>((e.flags + 1) & 3u);
        break;
      }
    }
  }
  return out;
}

template <class A>
void check_recompile(uint32_t seed) {
  std::mt19937 rng(seed);
  const World<A> w = random_world<A>(rng);
  const Snapshot before = compile(w.sources, w.configs, 1700000000);
  const World<A> w2 = mutate(w, rng);
  ChangedPrefixes changed;
  std::vector<const ParsedSource *> ptrs;
  for (size_t s = 0; s < w.sources.size(); ++s) {
    add_changed_prefixes(w.sources[s], w2.sources[s], changed);
    ptrs.push_back(&w2.sources[s]);
  }
  const Snapshot whole = compile(w2.sources, w2.configs, 1700000000);
  const Delta d = recompile(before, ptrs, w2.configs, changed);
  ASSERT_EQ(d, diff(before, whole)) << "seed " << seed << ", " << changed.size() << " changed";
  ASSERT_EQ(apply(before, d).checksum(), whole.checksum()) << "seed " << seed;
}

TEST(RecompileProperty, IPv4PartialRecompileEqualsTheWholeCompile) {
  for (uint32_t seed = 1; seed <= 300; ++seed) check_recompile<uint32_t>(seed);
}

TEST(RecompileProperty, IPv6PartialRecompileEqualsTheWholeCompile) {
  for (uint32_t seed = 1; seed <= 300; ++seed) check_recompile<U128>(seed);
}

TEST(RecompileProperty, NoChangeIsAnEmptyDelta) {
  std::mt19937 rng(7);
  const World<uint32_t> w = random_world<uint32_t>(rng);
  std::vector<const ParsedSource *> ptrs;
  ChangedPrefixes changed;
  for (const auto &s : w.sources) {
    ptrs.push_back(&s);
    add_changed_prefixes(s, s, changed);
  }
  EXPECT_EQ(changed.size(), 0u);
  EXPECT_TRUE(recompile(compile(w.sources, w.configs), ptrs, w.configs, changed).empty());
}

}  // namespace
}  // namespace sluice::reputation::testing
