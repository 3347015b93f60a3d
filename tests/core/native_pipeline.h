// The reference runner: the canonical sequence of dataplane/core/sl_core.h over a plain
// buffer. The DPDK and BPF runners are compared against it (and against the fixtures).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/fixtures.h"

namespace sluice::testing {

struct FixtureResult {
  sl_class cls = SL_CLASS_OTHER;
  sl_verdict verdict = SL_VERDICT_PASS;
  std::vector<uint8_t> output;              // emitted bytes (empty on DROP)
  std::optional<sl_flow_state> flow_after;  // the flow's state afterwards, if there is a flow
  int parse_result = SL_PARSE_OK;           // what sl_parse returned
};

// rnd: the random number handed to sl_act_*_seg (fixtures do not depend on it).
FixtureResult run_native(const CoreFixture &fixture, const sl_policy &policy,
                         uint32_t rnd = 0x9e3779b9u);

// The same sequence on explicit inputs (used by the fixture runner, the fuzzer and benches).
FixtureResult run_native_packet(const std::vector<uint8_t> &input, sl_dir dir,
                                const sl_policy &policy,
                                const std::optional<sl_rep_value> &client_rep,
                                const std::optional<sl_flow_state> &flow_before, uint32_t rnd);

}  // namespace sluice::testing
