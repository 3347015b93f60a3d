// The explicit golden update step of the sluice-dp replay test (never run by the test itself):
// rebuilds the input capture and table, replays them with the golden policy and writes all
// three files into the golden directory. Review the result before committing it:
//   cmake --build build/test --target make_replay_golden
//   build/test/tests/dataplane/make_replay_golden [DIR]     (default: the source golden dir)
//   tcpdump -nr tests/dataplane/golden/replay_actions.out.pcap
#include <cstdio>
#include <exception>

#include "replay.h"
#include "replay_golden_input.h"

using namespace sluice::dataplane;

int main(int argc, char **argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : SLUICE_DP_GOLDEN_DIR;
  try {
    const auto in = golden::write_inputs(dir);
    ReplayOptions o;
    o.table = (dir / golden::kTable).string();
    o.policy = (std::filesystem::path(SLUICE_DP_GOLDEN_DIR) / golden::kPolicy).string();
    o.inside_nets = golden::kInsideNets;
    o.in = (dir / golden::kInput).string();
    o.out = (dir / golden::kOutput).string();
    const ReplayReport r = replay(o);
    std::printf("wrote %s, %s and %s in %s: %llu frames in, %llu out\n", golden::kInput,
                golden::kTable, golden::kOutput, dir.c_str(),
                static_cast<unsigned long long>(r.read),
                static_cast<unsigned long long>(r.written));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "make_replay_golden: %s\n", e.what());
    return 1;
  }
  return 0;
}
