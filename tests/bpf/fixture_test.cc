// The packet-core fixture table (tests/core/fixtures.h) through BPF_PROG_TEST_RUN on the real
// XDP program, seeded with each fixture's policy, reputation and flow state, compared with the
// fixture's expectations and with the native runner (counters included):
//   PASS and DELAY -> XDP_REDIRECT (XDP cannot hold a packet), DROP -> XDP_DROP, TX -> XDP_TX;
//   emitted bytes identical; the flow state left behind identical (timestamps aside).
#include <gtest/gtest.h>

#include <cstring>

#include "common/privileged.h"
#include "core/fixtures.h"
#include "core/native_pipeline.h"
#include "sluice/xdp/error.h"
#include "xdp_test_support.h"

namespace sluice::xdp {
namespace {

using sluice::testing::CoreFixture;

uint32_t xdp_action_for(sl_verdict v) {
  switch (v) {
    case SL_VERDICT_DROP:
      return XDP_DROP;
    case SL_VERDICT_TX:
      return XDP_TX;
    default:
      return XDP_REDIRECT;
  }
}

// The flow key of the fixture's packet as the core computes it (false if it has none).
bool flow_key_of(const CoreFixture &f, const sl_policy &pol, sl_flow_key *key) {
  std::vector<uint8_t> copy = f.input;
  sl_pkt pkt{};
  void *data = copy.data();
  void *end = copy.data() + copy.size();
  if (sl_parse(data, end, &pkt) != SL_PARSE_OK) return false;
  const sl_class cls = sl_classify(&pkt, end, f.dir, &pol);
  if (cls == SL_CLASS_OTHER) return false;
  sl_flow_key_make(&pkt, cls, key);
  return true;
}

class XdpFixtureTable : public ::testing::TestWithParam<size_t> {
 protected:
  // One loaded program for the whole table (each load is a full verifier pass).
  static testing::LoadedXdp &loaded() {
    static testing::LoadedXdp x(sluice::testing::fixture_policy());
    return x;
  }
};

TEST_P(XdpFixtureTable, MatchesExpectationsAndNativeRunner) {
  SLUICE_REQUIRE_PRIVILEGED();
  const CoreFixture &f = sluice::testing::core_fixtures()[GetParam()];
  const sl_policy pol = sluice::testing::fixture_policy(f.policy);
  testing::LoadedXdp &x = loaded();
  x.reset();
  x.set_policy(pol);
  // A table generation that is not 0 (set 0 stays the active one), so the flows follow the
  // table's generation and the policy's both.
  x.set_table_generation(2);
  const uint32_t generation = 2 + pol.generation;

  sl_flow_key key{};
  const bool has_key = flow_key_of(f, pol, &key);
  if (has_key && f.client_rep) {
    sl_rep_value v = *f.client_rep;
    const char *map = key.family == SL_AF_INET ? "host4_0" : "host6_0";
    ASSERT_EQ(bpf_map_update_elem(x.obj.map_fd(map), key.client, &v, BPF_ANY), 0);
  }
  if (has_key && f.flow_before) {
    sl_flow_state st = *sluice::testing::seeded_flow(f, generation);
    ASSERT_EQ(bpf_map_update_elem(x.obj.map_fd("flows"), &key, &st, BPF_ANY), 0);
  }
  // The caps entries of the client's address and network, seeded and read back by key.
  sl_heavy_key cap_key[2]{};
  if (has_key) sl_heavy_keys(&key, &cap_key[0], &cap_key[1]);
  const std::optional<sl_cap_entry> *cap_seed[2] = {&f.cap_host_before, &f.cap_net_before};
  for (int i = 0; i < 2; i++) {
    if (!has_key || !cap_seed[i]->has_value()) continue;
    sl_cap_entry e = **cap_seed[i];
    ASSERT_EQ(bpf_map_update_elem(x.obj.map_fd("caps"), &cap_key[i], &e, BPF_ANY), 0);
  }

  if (has_key && f.held_before) {
    sl_held_frame h{};
    h.len = static_cast<uint16_t>(f.held_before->size());
    std::memcpy(h.bytes, f.held_before->data(), f.held_before->size());
    ASSERT_EQ(bpf_map_update_elem(x.obj.map_fd("held"), &key, &h, BPF_ANY), 0);
  }

  if (f.input.size() < 14) {
    // The kernel refuses to run XDP on less than an Ethernet header (and never receives one).
    EXPECT_THROW(x.outside(f.input), Error) << f.description;
    return;
  }
  const TestRunResult r = f.replayed                     ? x.inside_replayed(f.input)
                          : f.dir == SL_DIR_FROM_OUTSIDE ? x.outside(f.input)
                                                         : x.inside(f.input);
  EXPECT_EQ(r.action, xdp_action_for(f.expected_verdict)) << f.description;
  if (f.expected_verdict != SL_VERDICT_DROP) {
    EXPECT_EQ(r.output, f.expected_output) << f.description;
  }
  const sl_stats counted = x.stats_sum();
  EXPECT_EQ(counted.smtp[f.dir], f.expected_class == SL_CLASS_OTHER ? 0u : 1u) << f.description;

  // Agreement with the native runner on the same fixture, counters included.
  const auto native = sluice::testing::run_native(f);
  EXPECT_EQ(sluice::testing::core_counter_diff(counted, native.stats), "") << f.description;
  EXPECT_EQ(r.action, xdp_action_for(native.verdict)) << f.description;
  if (native.verdict != SL_VERDICT_DROP) {
    EXPECT_EQ(r.output, native.output) << f.description;
  }

  // The sender's verdict event, in verdict_table.
  const std::vector<sl_heavy_key> events = x.verdict_events();
  EXPECT_EQ(sluice::testing::events_text(events), sluice::testing::expected_events_text(f));
  EXPECT_EQ(sluice::testing::events_text(events), sluice::testing::events_text(native.events));

  const std::optional<uint32_t> *cap_after[2] = {&f.cap_host_flows_after, &f.cap_net_flows_after};
  for (int i = 0; i < 2; i++) {
    if (!has_key || !cap_after[i]->has_value()) continue;
    sl_cap_entry e{};
    const bool found = bpf_map_lookup_elem(x.obj.map_fd("caps"), &cap_key[i], &e) == 0;
    EXPECT_EQ(found ? e.flows : 0u, **cap_after[i])
        << f.description << (i == 0 ? ": address" : ": network");
  }

  if (has_key) {
    sl_held_frame h{};
    const bool held = bpf_map_lookup_elem(x.obj.map_fd("held"), &key, &h) == 0;
    EXPECT_EQ(held, f.held_after.has_value()) << f.description << ": a held ACK after it";
    if (held && f.held_after) {
      EXPECT_EQ(std::vector<uint8_t>(h.bytes, h.bytes + h.len), *f.held_after)
          << f.description << ": the held ACK, as it arrived";
    }
  }

  if (has_key) {
    sl_flow_state after{};
    const bool found = bpf_map_lookup_elem(x.obj.map_fd("flows"), &key, &after) == 0;
    ASSERT_EQ(found, f.expected_flow_after.has_value()) << f.description;
    if (found) {
      const sl_flow_state &want = *f.expected_flow_after;
      EXPECT_EQ(after.client_mss, want.client_mss) << f.description;
      EXPECT_EQ(after.server_mss, want.server_mss) << f.description;
      EXPECT_EQ(after.client_wscale, want.client_wscale) << f.description;
      EXPECT_EQ(after.server_wscale, want.server_wscale) << f.description;
      EXPECT_EQ(after.level, want.level) << f.description;
      EXPECT_EQ(after.flags, want.flags) << f.description;
      EXPECT_EQ(after.gen, sluice::testing::expected_flow_generation(f, generation))
          << "the flow's level is the current generation's (or the packet left it alone)";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(CoreFixtures, XdpFixtureTable,
                         ::testing::Range<size_t>(0, sluice::testing::core_fixtures().size()),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return sluice::testing::fixture_test_name(
                                      sluice::testing::core_fixtures()[info.param].description) +
                                  "_" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace sluice::xdp
