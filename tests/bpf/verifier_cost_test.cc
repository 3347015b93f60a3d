// Each XDP program keeps a margin under the verifier's limit on instructions processed. Too
// close to it, a small change to the packet core, or another kernel's verifier, refuses the
// whole data plane at attach; the split into global functions and the outbound programs
// (docs/dataplane-xdp.md) exists to keep that margin.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/privileged.h"
#include "sluice/xdp/verifier_cost.h"

namespace sluice::xdp {
namespace {

// A tenth of the limit spare.
constexpr uint64_t kMargin = kVerifierInsnLimit / 10;

TEST(VerifierCost, EveryProgramLoadsWithATenthOfTheLimitSpare) {
  SLUICE_REQUIRE_PRIVILEGED();
  const auto costs = verifier_cost();
  // The two entry programs, the two outbound ones and the far ends' pass program.
  for (const char *name : {"sluice_outside", "sluice_inside", "sluice_outbound_inside",
                           "sluice_outbound_outside", "sluice_pass"}) {
    const auto it = std::find_if(costs.begin(), costs.end(),
                                 [&](const VerifierCost &c) { return c.program == name; });
    ASSERT_NE(it, costs.end()) << name;
    EXPECT_GT(it->insns_processed, 0u) << name;
    EXPECT_LE(it->insns_processed, kVerifierInsnLimit - kMargin) << name;
  }
}

}  // namespace
}  // namespace sluice::xdp
