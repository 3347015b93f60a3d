// The packet core's fixture table (tests/core/fixtures.h) through sluice-dp's lcore on
// net_ring ports: the same expectations and counters as the native runner. Each fixture gets a
// fresh worker, the fixture's policy, its client's reputation as an exact host entry and its
// flow_before seeded into the flow table; the input is received on the port of its direction
// and whatever leaves either port is compared with the fixture's expected output.
#include <gtest/gtest.h>

#include <cstring>

#include "common/privileged.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "dp_published.h"
#include "dp_worker.h"
#include "dpdk_env.h"

namespace sluice::dataplane {
namespace {

using sluice::testing::core_fixtures;
using sluice::testing::CoreFixture;
using sluice::testing::fixture_policy;

constexpr uint64_t kT0 = 1'000'000'000;

// The fixture's flow key and client address, by the core's own parse (as every runner does).
bool fixture_key(const CoreFixture &f, sl_flow_key &key) {
  std::vector<uint8_t> copy = f.input;
  uint8_t *data = copy.data(), *end = data + copy.size();
  sl_pkt pkt{};
  if (sl_parse(data, end, &pkt) != SL_PARSE_OK) return false;
  const sl_policy pol = fixture_policy(f.policy);
  const sl_class cls = sl_classify(&pkt, end, f.dir, &pol);
  if (cls == SL_CLASS_OTHER) return false;
  sl_flow_key_make(&pkt, cls, &key);
  return true;
}

bool same_flow_state(const sl_flow_state &a, const sl_flow_state &b) {
  return a.client_mss == b.client_mss && a.server_mss == b.server_mss &&
         a.client_wscale == b.client_wscale && a.server_wscale == b.server_wscale &&
         a.level == b.level && a.flags == b.flags;
}

class Fixture : public ::testing::TestWithParam<size_t> {};

TEST_P(Fixture, DpdkPipelineMatchesNativeRunner) {
  SLUICE_REQUIRE_PRIVILEGED();
  ASSERT_EQ(testing::eal_init_once(), "");
  const CoreFixture &f = core_fixtures().at(GetParam());
  SCOPED_TRACE(f.description);
  static testing::RingPort outside = testing::make_ring_port("fxo");
  static testing::RingPort inside = testing::make_ring_port("fxi");
  outside.drain();
  inside.drain();

  Published pub(RTE_MAX_LCORE);
  auto box = std::make_unique<PolicyBox>();
  box->policy = fixture_policy(f.policy);
  pub.set_policy(std::move(box));
  sl_flow_key key{};
  const bool has_key = fixture_key(f, key);
  // Always a published table (empty when the client is unlisted), so the generation the flows
  // follow is the table's and the policy's both.
  RepTableInput in;
  if (f.client_rep && has_key) {
    if (key.family == SL_AF_INET) {
      uint32_t a;
      std::memcpy(&a, key.client, 4);
      in.hosts_v4.push_back({a, *f.client_rep});
    } else {
      in.hosts_v6.push_back(reputation::make_host_v6(key.client, *f.client_rep));
    }
  }
  pub.set_rep(std::make_unique<RepTable>(in));
  const uint32_t generation = pub.rep()->generation() + pub.policy()->policy.generation;
  ASSERT_EQ(pub.rep()->generation(), 1u) << "Published::set_rep numbers its tables";
  WorkerConfig wc;
  wc.flows.max_flows = 64;
  wc.pacer.capacity = 64;
  wc.replay_pool = testing::test_pool();
  Worker w(0, outside.id, inside.id, 0, wc, pub, kT0);
  const auto before = sluice::testing::seeded_flow(f, generation);
  if (before && has_key) w.pipeline().flows().insert(key, *before, kT0);
  // The caps entries of the client's address and network, seeded and read back by key.
  sl_heavy_key cap_key[2]{};
  if (has_key) sl_heavy_keys(&key, &cap_key[0], &cap_key[1]);
  __u64 seed_evictions = 0;
  const std::optional<sl_cap_entry> *cap_seed[2] = {&f.cap_host_before, &f.cap_net_before};
  for (int i = 0; i < 2; i++)
    if (has_key && cap_seed[i]->has_value())
      *sl_caps_table_get(&w.pipeline().caps(), &cap_key[i], 1, &seed_evictions) = **cap_seed[i];

  HeldFrames &held_acks = w.pipeline().held_acks();
  const uint32_t flow_hash = has_key ? w.pipeline().flows().hash(key) : 0;
  if (has_key && f.held_before)
    held_acks.hold(key, flow_hash, f.held_before->data(),
                   static_cast<uint32_t>(f.held_before->size()));

  testing::RingPort &rx = f.dir == SL_DIR_FROM_OUTSIDE ? outside : inside;
  testing::RingPort &other = f.dir == SL_DIR_FROM_OUTSIDE ? inside : outside;
  if (f.replayed) {
    // What the lcore's control tick does after a table or policy change.
    ASSERT_EQ(held_acks.size(), 1u);
    w.replay_held(kT0);
  } else {
    rx.inject(f.input);
    w.poll_once(kT0);
  }
  // A held packet leaves after the longest delay a fixture profile has (well within 2 s).
  auto forwarded = other.drain();
  auto back = rx.drain();
  const bool held = forwarded.empty() && back.empty() && w.pacer().depth() == 1;
  if (held) {
    w.poll_once(kT0 + 2'000'000'000ull);
    forwarded = other.drain();
  }

  const sluice::testing::FixtureResult native = sluice::testing::run_native(f);
  // The runners agree with each other and with the fixture.
  switch (f.expected_verdict) {
    case SL_VERDICT_PASS:
    case SL_VERDICT_DELAY:
      ASSERT_EQ(forwarded.size(), 1u);
      EXPECT_TRUE(back.empty());
      EXPECT_EQ(forwarded[0], f.expected_output);
      EXPECT_EQ(forwarded[0], native.output);
      EXPECT_EQ(held, f.expected_verdict == SL_VERDICT_DELAY) << "DELAY goes through the pacer";
      break;
    case SL_VERDICT_TX:
      ASSERT_EQ(back.size(), 1u);
      EXPECT_TRUE(forwarded.empty());
      EXPECT_EQ(back[0], f.expected_output);
      EXPECT_EQ(back[0], native.output);
      break;
    case SL_VERDICT_DROP:
      EXPECT_TRUE(forwarded.empty());
      EXPECT_TRUE(back.empty());
      EXPECT_TRUE(native.output.empty());
      break;
  }
  EXPECT_EQ(native.verdict, f.expected_verdict);
  const sl_stats &st = w.pipeline().stats();
  EXPECT_EQ(st.smtp[f.dir], f.expected_class != SL_CLASS_OTHER ? 1u : 0u) << "class";
  EXPECT_EQ(st.lookups, f.expected_class == SL_CLASS_CLIENT_SYN || f.cookie_lookup ? 1u : 0u)
      << "class";
  EXPECT_EQ(sluice::testing::core_counter_diff(st, native.stats), "");

  const std::optional<uint32_t> *cap_after[2] = {&f.cap_host_flows_after, &f.cap_net_flows_after};
  for (int i = 0; i < 2; i++) {
    if (!has_key || !cap_after[i]->has_value()) continue;
    const sl_cap_entry *c =
        sl_caps_table_get(&w.pipeline().caps(), &cap_key[i], 0, &seed_evictions);
    EXPECT_EQ(c != nullptr ? c->flows : 0u, **cap_after[i]) << (i == 0 ? "address" : "network");
  }

  // The sender's verdict event, in the lcore's candidate table (event entries: every kind but
  // SYN, each as many times as counted).
  std::vector<sl_heavy_key> events;
  for (const auto &bucket : w.pipeline().heavy_table().e)
    for (const sl_heavy_entry &e : bucket)
      if (e.estimate != 0 && e.key.kind != SL_HEAVY_KIND_SYN)
        events.insert(events.end(), e.estimate, e.key);
  EXPECT_EQ(sluice::testing::events_text(events), sluice::testing::expected_events_text(f));
  EXPECT_EQ(sluice::testing::events_text(events), sluice::testing::events_text(native.events));

  const sl_held_frame *h = has_key ? held_acks.find(key, flow_hash) : nullptr;
  ASSERT_EQ(h != nullptr, f.held_after.has_value()) << "a held ACK after the packet";
  if (h != nullptr) {
    EXPECT_EQ(std::vector<uint8_t>(h->bytes, h->bytes + h->len), *f.held_after)
        << "the held ACK, as it arrived";
  }

  const FlowEntry *e = has_key ? w.pipeline().flows().find(key) : nullptr;
  if (f.expected_flow_after) {
    ASSERT_NE(e, nullptr) << "flow expected after the packet";
    EXPECT_TRUE(same_flow_state(e->state, *f.expected_flow_after));
    EXPECT_EQ(e->state.gen, sluice::testing::expected_flow_generation(f, generation))
        << "the flow's level is the current generation's (or the packet left it alone)";
  } else {
    EXPECT_EQ(e, nullptr) << "no flow expected after the packet";
  }
}

INSTANTIATE_TEST_SUITE_P(Core, Fixture, ::testing::Range<size_t>(0, core_fixtures().size()),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return sluice::testing::fixture_test_name(
                               core_fixtures()[info.param].description);
                         });

}  // namespace
}  // namespace sluice::dataplane
