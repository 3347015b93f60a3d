// Writes the fuzz seeds for fuzz_packet_core: every fixture of the packet core's table, with
// the fuzz header (fuzz_input.h) that reproduces its direction and state. Run it to refresh
// tests/fuzz/seeds/packet_core/ after changing the fixtures:
//   cmake --build build/fuzz --target make_packet_core_seeds &&
//   build/fuzz/tests/fuzz/make_packet_core_seeds tests/fuzz/seeds/packet_core
#include <cstdio>
#include <string>

#include "core/fixtures.h"
#include "fuzz_input.h"

using namespace sluice::testing;

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  int n = 0;
  for (const CoreFixture &f : core_fixtures()) {
    const sl_policy policy = fixture_policy(f.policy);
    uint8_t header[kFuzzHeaderSize] = {0, 0x80, 0x11, 0x22, 0x33, 0x44};
    header[0] = static_cast<uint8_t>(f.dir == SL_DIR_FROM_INSIDE ? 1 : 0);
    if (f.flow_before) {
      header[0] = static_cast<uint8_t>(header[0] | (f.flow_before->flags & 0x0f) << 1);
      header[1] = static_cast<uint8_t>(f.flow_before->level | (f.generation_changed ? 0x40 : 0));
    } else if (f.client_rep) {
      uint8_t level = 0;
      for (uint32_t i = 1; i < policy.nlevels; i++)
        if (f.client_rep->score >= policy.thresholds[i]) level = static_cast<uint8_t>(i);
      header[1] = level;
    }
    if (f.replayed) header[1] = static_cast<uint8_t>(header[1] | 0x20);
    set_fuzz_policy_index(header, static_cast<unsigned>(f.policy));
    const std::string path = std::string(argv[1]) + "/" + fixture_test_name(f.description);
    FILE *out = std::fopen(path.c_str(), "wb");
    if (!out) {
      std::perror(path.c_str());
      return 1;
    }
    std::fwrite(header, 1, sizeof(header), out);
    std::fwrite(f.input.data(), 1, f.input.size(), out);
    std::fclose(out);
    n++;
  }
  std::printf("%d seeds written to %s\n", n, argv[1]);
  return 0;
}
