// The fixture table through the native reference runner: one test per fixture, named after
// its description.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

uint16_t ethertype_after_vlans(const Bytes &frame) {
  size_t off = 12;
  while (off + 2 <= frame.size()) {
    const uint16_t type = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
    if (type != 0x8100 && type != 0x88a8) return type;
    off += 4;
  }
  return 0;
}

class FixtureTable : public ::testing::TestWithParam<size_t> {};

TEST_P(FixtureTable, NativeRunnerGivesTheExpectedResult) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  const FixtureResult r = run_native(f);
  EXPECT_EQ(r.cls, f.expected_class);
  EXPECT_EQ(r.verdict, f.expected_verdict);
  EXPECT_EQ(hex(r.output), hex(f.expected_output));
  expect_same_flow(r.flow_after, f.expected_flow_after);
  if (f.cap_host_flows_after) {
    EXPECT_EQ(r.state_after.host.value_or(sl_cap_entry{}).flows, *f.cap_host_flows_after)
        << "the address's open flows";
  }
  if (f.cap_net_flows_after) {
    EXPECT_EQ(r.state_after.net.value_or(sl_cap_entry{}).flows, *f.cap_net_flows_after)
        << "the network's open flows";
  }
  EXPECT_EQ(events_text(r.events), expected_events_text(f)) << "the sender's verdict event";
  EXPECT_EQ(r.state_after.held.has_value(), f.held_after.has_value()) << "a held ACK after it";
  if (r.state_after.held && f.held_after) {
    EXPECT_EQ(hex(*r.state_after.held), hex(*f.held_after)) << "the held ACK, as it arrived";
  }
  // The flow's level is the current generation's, unless the packet left it alone.
  if (r.flow_after) {
    EXPECT_EQ(
        r.flow_after->gen,
        expected_flow_generation(f, kNativeTableGeneration + fixture_policy(f.policy).generation));
  }
}

// The sequence counts what it did: SMTP packets, lookups, re-lookups, stale levels, unseen
// headers, drops, and observed packets.
TEST_P(FixtureTable, CountsWhatItDid) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  const sl_policy pol = fixture_policy(f.policy);
  const FixtureResult r = run_native(f);
  const bool segment =
      f.expected_class == SL_CLASS_CLIENT_SEG || f.expected_class == SL_CLASS_SERVER_SEG;
  const bool relookup = segment && f.flow_before && f.generation_changed;
  const bool stale = segment && f.flow_before && !f.generation_changed &&
                     f.flow_before->level != 0 && f.flow_before->level >= pol.nlevels;
  const bool unseen = f.expected_class == SL_CLASS_UNSEEN;
  const bool observing = f.policy == FixturePolicy::kObserve;
  // The stateless tarpit's answers and silent drops (no level counter: the connection has no
  // flow). Its fixtures have no block level's rows, so every TX under its policy is its own.
  const bool tarpit_policy = f.policy == FixturePolicy::kStatelessTarpit;
  const bool tarpit_tx = tarpit_policy && f.expected_verdict == SL_VERDICT_TX;
  const bool tarpit_silent = tarpit_policy && f.expected_class == SL_CLASS_CLIENT_SEG &&
                             !f.flow_before && f.expected_verdict == SL_VERDICT_DROP;
  EXPECT_EQ(r.stats.smtp[f.dir], f.expected_class != SL_CLASS_OTHER ? 1u : 0u);
  EXPECT_EQ(r.stats.lookups, f.expected_class == SL_CLASS_CLIENT_SYN || f.cookie_lookup ? 1u : 0u);
  EXPECT_EQ(r.stats.tarpit_synacks, tarpit_tx && f.expected_class == SL_CLASS_CLIENT_SYN ? 1u : 0u);
  EXPECT_EQ(r.stats.tarpit_acks, tarpit_tx && f.expected_class == SL_CLASS_CLIENT_SEG ? 1u : 0u);
  EXPECT_EQ(r.stats.tarpit_silent, tarpit_silent ? 1u : 0u);
  EXPECT_EQ(r.stats.relookups, relookup ? 1u : 0u);
  EXPECT_EQ(r.stats.level_changes,
            relookup && f.expected_flow_after->level != f.flow_before->level ? 1u : 0u);
  EXPECT_EQ(r.stats.stale_level, stale ? 1u : 0u);
  EXPECT_EQ(r.stats.unseen, unseen ? 1u : 0u);
  EXPECT_EQ(r.stats.unseen_dropped, unseen && f.expected_verdict == SL_VERDICT_DROP ? 1u : 0u);
  EXPECT_EQ(r.stats.out_of_scope, f.out_of_scope ? 1u : 0u);
  // Under the caps policy every SYN dropped or answered is over a cap: the rate when its
  // address's entry was seeded over it, else the open flows.
  const bool capped = f.policy == FixturePolicy::kCapped &&
                      f.expected_class == SL_CLASS_CLIENT_SYN &&
                      f.expected_verdict != SL_VERDICT_PASS;
  const bool over_rate = capped && f.cap_host_before && f.cap_host_before->tat != 0;
  EXPECT_EQ(r.stats.caps_rate, over_rate ? 1u : 0u);
  EXPECT_EQ(r.stats.caps_flows, capped && !over_rate ? 1u : 0u);
  EXPECT_EQ(r.stats.caps_evicted, 0u);
  // A held ACK is counted when kept and when sent on; a replay's drop (still tarpitted, or its
  // connection gone) is no packet dropped off the wire.
  EXPECT_EQ(r.stats.tarpit_held, !f.replayed && f.held_after ? 1u : 0u);
  EXPECT_EQ(r.stats.tarpit_released, f.replayed && f.expected_verdict != SL_VERDICT_DROP ? 1u : 0u);
  if (f.out_of_scope) {
    EXPECT_EQ(f.expected_class, SL_CLASS_OTHER);
    EXPECT_EQ(r.stats.lookups, 0u) << "an out-of-scope sender is not looked up";
  }
  uint64_t dropped = 0, rst = 0, observed = 0, rewritten = 0;
  for (const sl_level_stats &l : r.stats.level) {
    dropped += l.dropped;
    rst += l.rst_sent;
    observed += l.observed;
    rewritten += l.rewritten;
  }
  // An observing level counts what it would have done (ObserveModeCountsAsIfEnforcing); it
  // forwards every packet unchanged.
  const uint32_t level = r.flow_after ? r.flow_after->level : 0;
  EXPECT_EQ(dropped + r.stats.unseen_dropped + r.stats.tarpit_silent,
            f.expected_verdict == SL_VERDICT_DROP && !f.replayed ? 1u : (observing ? dropped : 0u));
  EXPECT_EQ(rst, f.expected_verdict == SL_VERDICT_TX && !tarpit_tx ? 1u : (observing ? rst : 0u));
  EXPECT_EQ(observed, observing && level != 0 ? 1u : 0u);
  if (observing) {
    EXPECT_EQ(rewritten, 0u);
    EXPECT_EQ(hex(r.output), hex(f.input)) << "observe forwards unchanged";
  }
}

// Fixtures use drop rates of 0 or 1e6 ppm only: the random number must not matter, so the
// DPDK and BPF runners agree with this one whatever their random source.
TEST_P(FixtureTable, ResultDoesNotDependOnTheRandomNumber) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  const FixtureResult low = run_native(f, 0);
  const FixtureResult high = run_native(f, 0xffffffffu);
  EXPECT_EQ(low.verdict, high.verdict);
  EXPECT_EQ(low.output, high.output);
}

// sluice-dp classifies with sl_seq_classify_common_first: the class, the counts and an SMTP
// packet's parse are sl_seq_classify's (sl_pkt compared byte for byte).
TEST_P(FixtureTable, CommonFrameFirstClassifiesAsTheGeneralPath) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  const auto [general, common] =
      classify_native_both_ways(f.input, f.dir, fixture_policy(f.policy));
  EXPECT_EQ(common.cls, general.cls);
  EXPECT_EQ(core_counter_diff(common.stats, general.stats), "");
  if (general.cls != SL_CLASS_OTHER)
    EXPECT_EQ(std::memcmp(&common.pkt, &general.pkt, sizeof(general.pkt)), 0);
}

// Whatever the core emits as TCP has a checksum that is right when computed from scratch.
TEST_P(FixtureTable, EmittedTcpChecksumsAreValid) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  const FixtureResult r = run_native(f);
  if (r.output.empty() || r.cls == SL_CLASS_OTHER || r.cls == SL_CLASS_UNSEEN) return;
  EXPECT_TRUE(tcp_checksum_ok(r.output)) << hex(r.output);
  if (ethertype_after_vlans(r.output) == 0x0800) {
    EXPECT_TRUE(ipv4_checksum_ok(r.output));
  }
}

// Rewriting is idempotent: the output, run again with the same state, comes out unchanged.
TEST_P(FixtureTable, RunningTheOutputAgainChangesNothing) {
  const CoreFixture &f = core_fixtures()[GetParam()];
  if (f.expected_verdict == SL_VERDICT_DROP || f.expected_verdict == SL_VERDICT_TX) return;
  const FixtureResult once = run_native(f);
  CoreFixture again = f;
  again.input = once.output;
  const FixtureResult twice = run_native(again);
  EXPECT_EQ(hex(twice.output), hex(once.output));
  EXPECT_EQ(twice.verdict, once.verdict);
}

const CoreFixture &fixture_named(const std::string &description) {
  for (const CoreFixture &f : core_fixtures())
    if (f.description == description) return f;
  ADD_FAILURE() << "no fixture " << description;
  return core_fixtures().front();
}

// Observe mode counts per level what the level would have done had it enforced.
TEST(FixtureTableCounters, ObserveModeCountsAsIfEnforcing) {
  struct Want {
    const char *fixture;
    uint32_t level;
    uint64_t syns, flows, dropped, rst_sent;
  };
  const Want wants[] = {
      {"observed level 1 SYN passes unchanged and creates its flow", 1, 1, 1, 0, 0},
      {"observed block-RST SYN passes unchanged and creates its flow", 5, 1, 1, 0, 1},
      {"observed block-drop SYN passes unchanged and creates its flow", 6, 1, 1, 1, 0},
      {"observed drop-data client payload passes", 4, 0, 0, 1, 0},
      {"observed block level's client segment passes", 5, 0, 0, 0, 1},
      {"observed tarpit greeting passes with its real window", 3, 0, 0, 0, 0},
  };
  for (const Want &w : wants) {
    SCOPED_TRACE(w.fixture);
    const FixtureResult r = run_native(fixture_named(w.fixture));
    const sl_level_stats &l = r.stats.level[w.level];
    EXPECT_EQ(l.syns, w.syns);
    EXPECT_EQ(l.flows, w.flows);
    EXPECT_EQ(l.dropped, w.dropped);
    EXPECT_EQ(l.rst_sent, w.rst_sent);
    EXPECT_EQ(l.observed, 1u);
    EXPECT_EQ(l.rewritten, 0u);
  }
}

// Live flows: the same packet and flow, with and without a generation change in between.
TEST(FixtureTableCounters, AFlowIsLookedUpAgainOnlyAfterAGenerationChange) {
  CoreFixture f = fixture_named(
      "throttled flow's client segment gets an RST after the sender is escalated to block");
  ASSERT_TRUE(f.generation_changed);
  const FixtureResult changed = run_native(f);
  EXPECT_EQ(changed.stats.relookups, 1u);
  EXPECT_EQ(changed.stats.level_changes, 1u);
  EXPECT_EQ(changed.verdict, SL_VERDICT_TX);
  f.generation_changed = false;
  const FixtureResult same = run_native(f);
  EXPECT_EQ(same.stats.relookups, 0u);
  EXPECT_EQ(same.verdict, SL_VERDICT_PASS);
  EXPECT_EQ(same.output, f.input);
}

INSTANTIATE_TEST_SUITE_P(Core, FixtureTable, ::testing::Range<size_t>(0, core_fixtures().size()),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return fixture_test_name(core_fixtures()[info.param].description);
                         });

TEST(FixtureTableShape, HasAtLeastFortyUniquelyNamedFixtures) {
  std::set<std::string> names;
  for (const CoreFixture &f : core_fixtures()) {
    EXPECT_TRUE(names.insert(fixture_test_name(f.description)).second) << f.description;
  }
  EXPECT_GE(core_fixtures().size(), 40u);
}

TEST(FixtureTableShape, EveryExpectedTcpOutputWasBuiltWithValidChecksums) {
  for (const CoreFixture &f : core_fixtures()) {
    if (f.expected_class == SL_CLASS_OTHER || f.expected_class == SL_CLASS_UNSEEN ||
        f.expected_output.empty())
      continue;
    EXPECT_TRUE(tcp_checksum_ok(f.expected_output)) << f.description;
    EXPECT_TRUE(tcp_checksum_ok(f.input)) << f.description;
  }
}

// tests/fuzz/seeds/packet_core holds exactly one seed per fixture, named after it, carrying
// its frame after the fuzz header (regenerated with make_packet_core_seeds: no stale names).
TEST(FixtureTableShape, EveryFixtureHasItsFuzzSeedAndNoSeedIsStale) {
  namespace fs = std::filesystem;
  const fs::path dir = SLUICE_FUZZ_SEED_DIR;
  std::set<std::string> seeds;
  for (const auto &e : fs::directory_iterator(dir)) seeds.insert(e.path().filename().string());
  std::set<std::string> names;
  for (const CoreFixture &f : core_fixtures()) {
    const std::string name = fixture_test_name(f.description);
    names.insert(name);
    std::ifstream in(dir / name, std::ios::binary);
    ASSERT_TRUE(in) << "no seed for " << name;
    const Bytes seed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ASSERT_GE(seed.size(), 6u) << name;
    EXPECT_EQ(Bytes(seed.begin() + 6, seed.end()), f.input) << name;
  }
  for (const std::string &s : seeds) EXPECT_TRUE(names.count(s)) << "stale seed " << s;
}

TEST(FixtureTableShape, CoversEveryClassAndVerdict) {
  std::set<int> classes;
  std::set<int> verdicts;
  for (const CoreFixture &f : core_fixtures()) {
    classes.insert(f.expected_class);
    verdicts.insert(f.expected_verdict);
  }
  EXPECT_EQ(classes.size(), 5u);
  EXPECT_EQ(verdicts.size(), 4u);
}

}  // namespace
}  // namespace sluice::testing
