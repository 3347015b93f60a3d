// sluice-dp's live table (rep_live.h): a base plus an overlay of changes must answer every
// lookup exactly as the table rebuilt whole from the same entries, over random deltas (hosts
// and prefixes, IPv4 and IPv6, added, changed, removed, a host removed under a covering
// prefix), through the overlay path and the rebuild past the bound; its version must be the
// snapshot image's checksum; a delta that does not fit is refused as reputation::apply does,
// and changes nothing.
#include "rep_live.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "sluice/reputation/error.h"

namespace sluice::dataplane {
namespace {

namespace rep = reputation;

// IPv4 keys of 198.18.0.0/20 (every address looked up), IPv6 keys of 2001:db8::/120.
constexpr uint32_t kV4Base = 0xc6120000u;
constexpr int kV4Bits = 12;
constexpr int kV6Bits = 8;

std::array<uint8_t, 16> v6(uint32_t low) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  a[12] = static_cast<uint8_t>(low >> 24);
  a[13] = static_cast<uint8_t>(low >> 16);
  a[14] = static_cast<uint8_t>(low >> 8);
  a[15] = static_cast<uint8_t>(low);
  return a;
}

uint32_t mask_low(uint32_t a, int keep_bits_of_32) {
  return keep_bits_of_32 >= 32  ? a
         : keep_bits_of_32 <= 0 ? 0
                                : a & ~((1u << (32 - keep_bits_of_32)) - 1);
}

// A table as maps from key to value; the snapshot is built from it (sorted, unique, masked).
struct Model {
  std::map<uint32_t, sl_rep_value> h4;                      // host-order address
  std::map<std::pair<uint32_t, uint8_t>, sl_rep_value> p4;  // (host-order address, len)
  std::map<uint32_t, sl_rep_value> h6;                      // low 32 bits in 2001:db8::/96
  std::map<std::pair<uint32_t, uint8_t>, sl_rep_value> p6;  // (low 32 bits, len 96..128)

  rep::Snapshot snapshot(uint64_t created) const {
    std::vector<rep::HostV4> a;
    std::vector<rep::PrefixV4> b;
    std::vector<rep::HostV6> c;
    std::vector<rep::PrefixV6> d;
    for (const auto &[k, v] : h4) a.push_back({sl_htonl(k), v});
    for (const auto &[k, v] : p4) b.push_back(rep::make_prefix_v4(sl_htonl(k.first), k.second, v));
    for (const auto &[k, v] : h6) c.push_back(rep::make_host_v6(v6(k).data(), v));
    for (const auto &[k, v] : p6) d.push_back(rep::make_prefix_v6(v6(k.first).data(), k.second, v));
    return rep::Snapshot::from_entries(a, b, c, d, created);
  }
};

sl_rep_value random_value(std::mt19937 &rng) {
  return {static_cast<int32_t>(rng() % 200) - 50,
          static_cast<uint32_t>(rng() % 3 == 0 ? SL_REP_ALLOW : 0)};
}

// One random mutation step: adds, changes and removes of every kind; `size` about how many.
void mutate(Model &m, std::mt19937 &rng, int size) {
  for (int i = 0; i < size; ++i) {
    const int what = static_cast<int>(rng() % 12);
    const uint32_t a4 = kV4Base | (rng() & ((1u << kV4Bits) - 1));
    const uint32_t a6 = rng() & ((1u << kV6Bits) - 1);
    switch (what) {
      case 0:
      case 1:
        m.h4[a4] = random_value(rng);
        break;
      case 2: {  // a prefix of the space, sometimes a short one covering all of it
        const uint8_t len = rng() % 8 == 0 ? static_cast<uint8_t>(8 + rng() % 12)
                                           : static_cast<uint8_t>(20 + rng() % 12);
        m.p4[{mask_low(a4, len), len}] = random_value(rng);
        break;
      }
      case 3:  // remove a host, often one under a prefix: it falls back to the prefix
      case 4:
        if (!m.h4.empty()) m.h4.erase(std::next(m.h4.begin(), rng() % m.h4.size()));
        break;
      case 5:
        if (!m.p4.empty()) m.p4.erase(std::next(m.p4.begin(), rng() % m.p4.size()));
        break;
      case 6:
        m.h6[a6] = random_value(rng);
        break;
      case 7: {
        const uint8_t len =
            static_cast<uint8_t>(96 + (rng() % 8 == 0 ? rng() % 24 : 24 + rng() % 8));
        m.p6[{mask_low(a6, len - 96), len}] = random_value(rng);
        break;
      }
      case 8:
        if (!m.h6.empty()) m.h6.erase(std::next(m.h6.begin(), rng() % m.h6.size()));
        break;
      case 9:
        if (!m.p6.empty()) m.p6.erase(std::next(m.p6.begin(), rng() % m.p6.size()));
        break;
      case 10:  // a changed value of an existing entry
        if (!m.h4.empty()) std::next(m.h4.begin(), rng() % m.h4.size())->second = random_value(rng);
        break;
      case 11:
        if (!m.p4.empty()) std::next(m.p4.begin(), rng() % m.p4.size())->second = random_value(rng);
        break;
    }
  }
}

void expect_same(const std::optional<sl_rep_value> &got, const std::optional<sl_rep_value> &want,
                 const std::string &what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what;
  if (got) {
    ASSERT_EQ(got->score, want->score) << what;
    ASSERT_EQ(got->flags, want->flags) << what;
  }
}

// Every address of both spaces (and a few outside them) answers the same in both tables.
void expect_same_lookups(const RepTable &got, const RepTable &whole, const std::string &where) {
  for (uint32_t i = 0; i < (1u << kV4Bits); ++i)
    expect_same(got.lookup_v4(sl_htonl(kV4Base | i)), whole.lookup_v4(sl_htonl(kV4Base | i)),
                where + " v4 #" + std::to_string(i));
  for (uint32_t a : {0x0a000001u, 0xc6130001u, 0xc6121001u})
    expect_same(got.lookup_v4(sl_htonl(a)), whole.lookup_v4(sl_htonl(a)), where + " v4 outside");
  for (uint32_t i = 0; i < (1u << kV6Bits); ++i)
    expect_same(got.lookup_v6(v6(i).data()), whole.lookup_v6(v6(i).data()),
                where + " v6 #" + std::to_string(i));
  expect_same(got.lookup_v6(v6(0x10000).data()), whole.lookup_v6(v6(0x10000).data()),
              where + " v6 outside");
}

void run_property(uint32_t seed, size_t max_overlay, int steps, int step_size, size_t &overlaid,
                  size_t &rebuilt) {
  std::mt19937 rng(seed);
  Model m;
  mutate(m, rng, 200);
  constexpr uint64_t kCreated = 1700000000;
  rep::Snapshot before = m.snapshot(kCreated);
  LiveRep live(max_overlay);
  {
    LiveRep::Next n = live.with_snapshot(before);
    live.commit(std::move(n));
  }
  ASSERT_EQ(live.version(), before.checksum());
  for (int step = 0; step < steps; ++step) {
    mutate(m, rng, 1 + static_cast<int>(rng() % step_size));
    const rep::Snapshot after = m.snapshot(kCreated);
    const rep::Delta d = rep::diff(before, after);
    LiveRep::Next n = live.with_delta(d);
    (n.rebuilt ? rebuilt : overlaid) += 1;
    const std::unique_ptr<RepTable> published = std::move(n.table);
    live.commit(std::move(n));
    const RepTable whole(after.entries());
    const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
    ASSERT_NO_FATAL_FAILURE(expect_same_lookups(*published, whole, where));
    ASSERT_EQ(published->entries(), whole.entries()) << where;
    ASSERT_EQ(live.entries(), whole.entries()) << where;
    ASSERT_EQ(live.version(), after.checksum()) << where << ": the version sluiced expects";
    ASSERT_EQ(live.snapshot().checksum(), after.checksum()) << where;
    ASSERT_EQ(live.created_unix(), kCreated) << where;
    ASSERT_LE(live.overlay_entries(), max_overlay) << where;
    before = after;
  }
}

TEST(LiveRep, OverlayAnswersAsTheWholeTableOverRandomDeltas) {
  size_t overlaid = 0, rebuilt = 0;
  for (uint32_t seed = 1; seed <= 4; ++seed)
    ASSERT_NO_FATAL_FAILURE(run_property(seed, LiveRep::kMaxOverlay, 60, 8, overlaid, rebuilt));
  EXPECT_EQ(rebuilt, 0u) << "small deltas stay on the overlay";
  EXPECT_EQ(overlaid, 240u);
}

TEST(LiveRep, RebuildPastTheBoundAnswersTheSame) {
  // A small bound: the overlay fills and is folded into a new base, and some deltas alone are
  // larger than the bound.
  size_t overlaid = 0, rebuilt = 0;
  for (uint32_t seed = 11; seed <= 14; ++seed)
    ASSERT_NO_FATAL_FAILURE(run_property(seed, 24, 60, 12, overlaid, rebuilt));
  EXPECT_GT(rebuilt, 10u);
  EXPECT_GT(overlaid, 10u);
}

uint32_t be(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return sl_htonl((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
}

// The case the issue names: a host removed beside its covering prefix falls back to the
// prefix, added again it wins again; an IPv6 host likewise.
TEST(LiveRep, RemovedHostFallsBackToItsPrefix) {
  Model m;
  m.h4[0xc6120105u] = {40, 0};
  m.p4[{0xc6120100u, 24}] = {7, 0};
  m.h6[5] = {30, 0};
  m.p6[{0, 120}] = {4, 0};
  const rep::Snapshot t0 = m.snapshot(1);
  LiveRep live;
  live.commit(live.with_snapshot(t0));
  Model m1 = m;
  m1.h4.erase(0xc6120105u);
  m1.h6.erase(5);
  const rep::Snapshot t1 = m1.snapshot(1);
  LiveRep::Next n = live.with_delta(rep::diff(t0, t1));
  ASSERT_FALSE(n.rebuilt);
  EXPECT_EQ(n.table->lookup_v4(be(198, 18, 1, 5))->score, 7);
  EXPECT_EQ(n.table->lookup_v6(v6(5).data())->score, 4);
  EXPECT_EQ(n.table->entries(), 2u);
  live.commit(std::move(n));
  EXPECT_EQ(live.version(), t1.checksum());
  LiveRep::Next back = live.with_delta(rep::diff(t1, t0));
  EXPECT_EQ(back.table->lookup_v4(be(198, 18, 1, 5))->score, 40);
  EXPECT_EQ(back.table->lookup_v6(v6(5).data())->score, 30);
  live.commit(std::move(back));
  EXPECT_EQ(live.version(), t0.checksum());
}

// Deltas that do not fit the table are refused, as reputation::apply refuses them, and the
// table (its version, its entries, the next delta's base) does not change.
TEST(LiveRep, DeltaThatDoesNotFitIsRefusedAndChangesNothing) {
  Model m;
  m.h4[0xc6120001u] = {1, 0};
  m.p4[{0xc6120000u, 24}] = {2, 0};
  const rep::Snapshot t0 = m.snapshot(5);
  Model m1 = m;
  m1.h4[0xc6120002u] = {3, 0};
  m1.h4.erase(0xc6120001u);
  const rep::Snapshot t1 = m1.snapshot(5);
  const rep::Delta d = rep::diff(t0, t1);

  LiveRep live;
  live.commit(live.with_snapshot(t0));
  live.commit(live.with_delta(d));
  const uint64_t v1 = live.version();
  ASSERT_EQ(v1, t1.checksum());
  std::vector<rep::Delta> bad;
  bad.push_back(d);  // again: adds an entry the table has, removes a missing one
  rep::Delta changes_missing;
  changes_missing.hosts_v4.changed.push_back({be(198, 18, 0, 9), {1, 0}});
  bad.push_back(changes_missing);
  rep::Delta host_bits;
  host_bits.prefixes_v4.added.push_back(rep::make_prefix_v4(be(198, 18, 7, 1), 24, {1, 0}));
  bad.push_back(host_bits);
  rep::Delta too_long;
  too_long.prefixes_v4.added.push_back(rep::make_prefix_v4(be(198, 18, 7, 1), 33, {1, 0}));
  bad.push_back(too_long);
  rep::Delta twice;  // the same key removed and changed
  twice.hosts_v4.removed.push_back({be(198, 18, 0, 2), {3, 0}});
  twice.hosts_v4.changed.push_back({be(198, 18, 0, 2), {4, 0}});
  bad.push_back(twice);
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_THROW(rep::apply(t1, bad[i]), rep::Error) << "apply refuses #" << i;
    EXPECT_THROW(live.with_delta(bad[i]), rep::Error) << "so does sluice-dp #" << i;
  }
  EXPECT_EQ(live.version(), v1);
  EXPECT_EQ(live.entries(), 2u);
  // The way back still applies: nothing of the refused deltas was kept.
  live.commit(live.with_delta(rep::diff(t1, t0)));
  EXPECT_EQ(live.version(), t0.checksum());
}

}  // namespace
}  // namespace sluice::dataplane
