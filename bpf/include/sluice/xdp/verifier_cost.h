// What the kernel's verifier spends on each of the data plane's programs: the instructions it
// processed (its limit is 1,000,000 per program, global functions' walks included), each
// program loaded on its own from the object built into the loader. The XDP programs sit below
// that limit by design (global functions, the outbound programs apart); a change to the packet
// core can take one past it, and this is how to see how close each is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::xdp {

struct VerifierCost {
  std::string program;
  uint64_t insns_processed = 0;
  uint64_t total_states = 0;
  uint64_t peak_states = 0;
};

// The verifier's figures per program, from the stats line of its log (BPF_LOG_STATS). Needs
// root (the programs are loaded, then closed). Throws Error if a program fails to load.
std::vector<VerifierCost> verifier_cost();

// The verifier's limit on instructions processed per program.
inline constexpr uint64_t kVerifierInsnLimit = 1000000;

}  // namespace sluice::xdp
