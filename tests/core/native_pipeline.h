// The native runner: the packet core's sequence (dataplane/core/sl_sequence.h) over a plain
// buffer. The DPDK and BPF runners are compared against it (and against the fixtures).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fixtures.h"
#include "core/sl_caps.h"
#include "core/sl_fanout.h"
#include "core/sl_greet.h"
#include "core/sl_heavy.h"

namespace sluice::testing {

// The native runner's state besides the flow and the reputation entry: the caps entries
// (core/sl_caps.h) for the packet's client, its address's and its network's (nullopt: none),
// and the flow's held tarpit ACK.
struct NativeState {
  std::optional<sl_cap_entry> host, net;
  // The runner has no room for a new flow (sl_env_flow_insert fails: flow_table_full), as an
  // XDP flow map may refuse an update.
  bool no_flow_room = false;
  // The packet is a held ACK sent through again (sl_env_replayed).
  bool replayed = false;
  // The flow's held ACK (sl_env_tarpit_hold); nullopt: none.
  std::optional<std::vector<uint8_t>> held;
};

struct FixtureResult {
  sl_class cls = SL_CLASS_OTHER;
  sl_verdict verdict = SL_VERDICT_PASS;
  std::vector<uint8_t> output;  // emitted bytes (empty on DROP)
  // The packet's flow afterwards (created by a SYN or updated), if it is an SMTP packet with one
  // (or one of a server outside the scope whose flow was there before: left as it was).
  std::optional<sl_flow_state> flow_after;
  int parse_result = SL_PARSE_OK;    // what sl_parse returned
  sl_stats stats{};                  // what the sequence counted (packets[] aside: the runner's)
  NativeState state_after;           // the caps entries and held ACK after the packet
  std::vector<sl_heavy_key> events;  // the events the packet gave the runner (sl_env_event)
};

// The fixture with its policy (fixture_policy(fixture.policy)). rnd: the random number for a
// level that drops segments (fixtures do not depend on it).
FixtureResult run_native(const CoreFixture &fixture, uint32_t rnd = 0x9e3779b9u);

// The counters a data-plane runner must agree on with the native one after one packet (every
// counter the sequence keeps but packets[], which runners count per burst, and delayed, which
// needs a pacer): "" when they agree, else the first difference.
std::string core_counter_diff(const sl_stats &runner, const sl_stats &native);

// An event as the fixture tests compare it: "shaped 1 198.18.1.10", "blocked 5 2001:2::10",
// "pregreet 0 198.18.0.7"; events() joins a packet's with "; " ("" for none).
std::string event_text(const sl_heavy_key &k);
std::string events_text(const std::vector<sl_heavy_key> &events);
// The fixture's expected_event as events_text gives it (its client: kClient4 or kClient6, by
// the family of the input's IP header); "" for none.
std::string expected_events_text(const CoreFixture &f);

// The native runner's table generation (sl_env_table_gen): a table loaded once.
inline constexpr uint32_t kNativeTableGeneration = 1;

// The fixture's flow_before as a runner seeds it, given the runner's current generation
// (table + policy, sl_seq_generation): the flow's level came from that generation, or from the
// one before when the fixture says the table or policy changed since (generation_changed).
std::optional<sl_flow_state> seeded_flow(const CoreFixture &fixture, uint32_t generation);

// The generation the fixture's flow carries after the packet, given the runner's current one:
// that one, or the seeded one when the packet leaves the flow untouched (flow_untouched).
uint32_t expected_flow_generation(const CoreFixture &fixture, uint32_t generation);

// The same sequence on explicit inputs (used by the fixture runner, the fuzzer and benches).
// readable: how many of the frame's bytes the core can read (the rest as if in fragments, XDP
// multi-buffer); all of them by default.
FixtureResult run_native_packet(const std::vector<uint8_t> &input, sl_dir dir,
                                const sl_policy &policy,
                                const std::optional<sl_rep_value> &client_rep,
                                const std::optional<sl_flow_state> &flow_before, uint32_t rnd,
                                size_t readable = SIZE_MAX, const NativeState &caps = {});

// Observation state the native runner keeps across packets (run_native_counted): one SYN
// sketch, one candidate table (SYN and event entries), one set of greeting slots and one of
// fan-out pair slots, as one lcore of sluice-dp has, and a clock the caller sets.
struct NativeHeavy {
  explicit NativeHeavy(uint64_t seed);
  std::unique_ptr<sl_heavy_sketch> sketch;
  std::unique_ptr<sl_heavy_table> table;
  std::unique_ptr<sl_greet_table> greet;
  std::unique_ptr<sl_fanout_table> fanout;
  uint64_t now_ns = 0;
  uint64_t reports = 0;  // sl_env_heavy_report calls
};

// Writes the greeting slot of `input`'s flow, when it parses as a client segment, as the server's
// SYN-ACK would have if its ISN + 1 were the segment's acknowledgement number: the segment,
// sent through run_native_counted with the pregreet test on, is then a pregreet when it carries
// payload. Returns whether it wrote the slot (fuzzing and tests reach the test without having to
// build the SYN-ACK of an arbitrary frame). False for a subscriber's outbound segment: the core
// never tests those.
bool prime_greeting_slot(NativeHeavy &heavy, const std::vector<uint8_t> &input, sl_dir dir,
                         const sl_policy &policy);

// What a classification leaves: the class, the parse and the counters.
struct NativeClassified {
  sl_class cls = SL_CLASS_OTHER;
  sl_pkt pkt{};
  sl_stats stats{};
};
// One frame (readable as for run_native_packet) classified in the native environment by the
// core's two entries: sl_seq_classify (first) and sl_seq_classify_common_first (second,
// sluice-dp's). Both parse the same buffer, their sl_pkt filled with the same non-zero bytes
// beforehand, so a field one of them leaves unset shows.
std::pair<NativeClassified, NativeClassified> classify_native_both_ways(
    const std::vector<uint8_t> &input, sl_dir dir, const sl_policy &policy,
    size_t readable = SIZE_MAX);
// run_native_packet with no reputation entry and no flow, counting SYNs into `heavy` at
// heavy.now_ns.
FixtureResult run_native_counted(NativeHeavy &heavy, const std::vector<uint8_t> &input, sl_dir dir,
                                 const sl_policy &policy);

}  // namespace sluice::testing
