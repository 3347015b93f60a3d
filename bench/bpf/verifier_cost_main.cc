// The verifier's cost of each XDP program as built (sluice/xdp/verifier_cost.h): instructions
// processed against the 1,000,000 limit, states. Needs root.
//   sluice_xdp_verifier_cost
#include <cstdio>
#include <exception>

#include "sluice/xdp/verifier_cost.h"

int main() {
  try {
    std::printf("%-26s %12s %8s %12s %12s\n", "program", "insns", "of limit", "total_states",
                "peak_states");
    for (const auto &c : sluice::xdp::verifier_cost())
      std::printf("%-26s %12llu %7.1f%% %12llu %12llu\n", c.program.c_str(),
                  static_cast<unsigned long long>(c.insns_processed),
                  100.0 * static_cast<double>(c.insns_processed) /
                      static_cast<double>(sluice::xdp::kVerifierInsnLimit),
                  static_cast<unsigned long long>(c.total_states),
                  static_cast<unsigned long long>(c.peak_states));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sluice_xdp_verifier_cost: %s\n", e.what());
    return 1;
  }
  return 0;
}
