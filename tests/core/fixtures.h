// The packet core's fixture table: one behaviour per entry, run by three runners that must
// agree: run_native() (tests/core/native_pipeline.h, plain buffers), the DPDK pipeline and
// BPF_PROG_TEST_RUN on the XDP program.
//
// A runner seeds its state from the fixture (client_rep into the reputation table as an exact
// host entry for the client address, flow_before into the flow table under the fixture's flow
// key), uses fixture_policy(fixture.policy), sends `input` in direction `dir`, and compares:
//   - the class and verdict (DELAY may be reported as PASS by a runner without a pacer: XDP),
//   - the bytes emitted: expected_output (== input when untouched; the RST reply on TX; empty
//     on DROP),
//   - optionally the flow state afterwards (expected_flow_after; timestamps are not compared).
//
// Drop rates in fixture_policy() are 0 or 1,000,000 ppm only, so every runner agrees whatever
// its random source.
//
// fixture_policy(): ports {25}; nlevels 7:
//   level 0 pass
//   level 1 throttle   (score >= 3):  window 2048, MSS 536, strip wscale
//   level 2 slow-delay (score >= 5):  window 4096, strip wscale + SACK-permitted, delay 200 ms
//   level 3 tarpit     (score >= 8):  window 2048, strip wscale, zero window after the greeting
//   level 4 drop-data  (score >= 9):  window 2048, strip wscale, client/server drop 1e6 ppm
//   level 5 block-rst  (score >= 10): answer the SYN with RST|ACK
//   level 6 block-drop (score >= 20): drop the SYN
// (and the variants of FixturePolicy below).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/sl_caps.h"
#include "core/sl_core.h"

namespace sluice::testing {

// The policies fixtures run under: fixture_policy(variant).
enum class FixturePolicy : uint8_t {
  kStandard = 0,       // the table above
  kShrunk = 1,         // levels 0..2 only (nlevels 3): flows at levels 3.. are stale
  kOpenThreshold = 2,  // level 1 opens at score 0: an unlisted sender is shaped
  kReprofiled = 3,     // level 1's profile changed: window 4096, MSS 1200, no wscale strip
  kUnseenPass = 4,     // unseen_tcp = pass
  kObserve = 5,        // the standard policy with every level in observe mode
  // The standard policy scoped to servers ([smtp] servers):
  kScoped = 6,     // 198.18.9.0/24, 198.18.2.0/24, 2001:2:0:9::/64, 2001:2::/64: kServer4 and
                   // kServer6 in scope (each behind a prefix that does not hold it)
  kScopedOut = 7,  // 198.18.2.26/31, 198.18.3.0/24, 2001:2::26/127, 2001:2:0:1::/64: near misses,
                   // kServer4 and kServer6 out of scope
  kStatelessTarpit = 8,  // level 3 is a stateless tarpit (tarpit = stateless), with a fixed key
  // Aggregate caps: level 1 at most 2 open flows per address and 4 per network, one SYN a
  // second per address with a burst of 2, over a cap dropped; level 2 at most 1 open flow per
  // address, over it answered with RST.
  kCapped = 9,
  // Outbound abuse control ([outbound], ports {25}): levels 1..3 as above and inbound; 4..6
  // outbound (out_first 4): 4 the throttle of level 1 at score >= 3, 5 block-rst (>= 10), 6
  // block-drop (>= 20).
  kOutbound = 10,
};
inline constexpr unsigned kFixturePolicies = 11;

// An event of the fixture's client address (core/sl_heavy.h: SL_HEAVY_KIND_SHAPED or
// SL_HEAVY_KIND_BLOCKED at a level, or SL_HEAVY_KIND_FANOUT).
struct FixtureEvent {
  uint8_t kind;
  uint8_t level;
};

struct CoreFixture {
  std::string description;
  FixturePolicy policy = FixturePolicy::kStandard;
  std::vector<uint8_t> input;
  sl_dir dir;
  sl_class expected_class;
  sl_verdict expected_verdict;
  std::vector<uint8_t> expected_output;  // bytes emitted (== input when untouched; empty on DROP)
  // state before the packet, which a data-plane runner seeds into its tables/maps:
  std::optional<sl_rep_value> client_rep;    // reputation of the client address (exact host)
  std::optional<sl_flow_state> flow_before;  // existing flow state for this 5-tuple
  // The table (or the policy) changed since flow_before's level was decided: the runner seeds the
  // flow with a generation other than its current one (seeded_flow() in native_pipeline.h), so
  // the packet looks the sender up again; client_rep is the table's entry after the change.
  bool generation_changed = false;
  // The packet leaves flow_before as it was, its generation included: a SYN that creates no flow
  // (clean, dropped or answered) on the 5-tuple of an older connection. Otherwise the flow
  // after the packet carries the current generation.
  bool flow_untouched = false;
  // The flow state the packet leaves behind (created by a SYN or updated), if any; nullopt
  // means "no flow": none created, or none existed. created_ns / last_seen_ns not compared.
  std::optional<sl_flow_state> expected_flow_after;
  // The packet is one of a server outside the policy's scope: OTHER, counted in out_of_scope.
  // Its flow_before (a flow from before the scope was narrowed) stays as it was.
  bool out_of_scope = false;
  // A client segment without a flow whose ACK acknowledges the stateless tarpit's cookie: its
  // sender is looked up (once) to see whether it is still tarpitted.
  bool cookie_lookup = false;
  // Aggregate caps (core/sl_caps.h): the entries of the client's address and network before
  // the packet, seeded into the runner's caps table (tat far past every runner's clock reads
  // "over the rate"), and their open-flow counts after it (nullopt: not checked; 0 is also what
  // an absent entry reads).
  std::optional<sl_cap_entry> cap_host_before, cap_net_before;
  std::optional<uint32_t> cap_host_flows_after, cap_net_flows_after;
  // A server-side tarpit's held ACK (core/sl_sequence.h, sl_seq_tarpit_keep): the frame the
  // runner holds for the fixture's flow before the packet (seeded), and after it (nullopt:
  // none held).
  std::optional<std::vector<uint8_t>> held_before, held_after;
  // The input is the flow's held ACK, sent through again by the runner after a table or policy
  // change (sl_env_replayed; held_before is the input): sluice-dp's lcore replays it, the XDP
  // runner marks it with the replay metadata.
  bool replayed = false;
  // The SYN's verdict event for its sender (sl_seq_syn), which every runner counts in its table
  // of event entries; nullopt: the packet gives none.
  std::optional<FixtureEvent> expected_event;
};

const std::vector<CoreFixture> &core_fixtures();
sl_policy fixture_policy(FixturePolicy variant = FixturePolicy::kStandard);
// Appends ADDR/LEN (IPv4 or IPv6, host bits zero) to the policy's server scope, as
// `[smtp] servers` would (the parser is sluice_common's, which the core's tests do not link).
void add_server_prefix(sl_policy &p, const char *addr, unsigned len);

// Fixture description -> a gtest-safe name (letters, digits, underscores).
std::string fixture_test_name(const std::string &description);

// Addresses and ports the fixtures use (RFC 2544 / RFC 5180 benchmarking ranges).
inline constexpr const char *kClient4 = "198.18.1.10";
inline constexpr const char *kServer4 = "198.18.2.25";
inline constexpr const char *kClient6 = "2001:2::10";
inline constexpr const char *kServer6 = "2001:2::25";
inline constexpr uint16_t kClientPort = 40000;
inline constexpr uint16_t kSmtpPort = 25;

}  // namespace sluice::testing
