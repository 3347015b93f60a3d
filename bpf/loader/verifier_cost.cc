#include "sluice/xdp/verifier_cost.h"

#include <bpf/libbpf.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "sluice/xdp/error.h"
#include "sluice/xdp/heavy_maps.h"
#include "sluice_xdp.skel.h"

namespace sluice::xdp {
namespace {

struct ObjectCloser {
  void operator()(bpf_object *o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

// log_level 4: the stats line only ("processed N insns (limit 1000000) ... total_states T
// peak_states P ...").
constexpr uint32_t kLogStats = 4;
constexpr size_t kLogSize = 1 << 16;

uint64_t field(const char *log, const char *name) {
  const char *p = std::strstr(log, name);
  if (p == nullptr) return 0;
  unsigned long long v = 0;
  if (std::sscanf(p + std::strlen(name), " %llu", &v) != 1) return 0;
  return v;
}

// The object as the loader embeds it, with only `only` to be loaded (the maps are created
// anyway: the programs refer to them).
VerifierCost cost_of(const char *only) {
  size_t size = 0;
  const void *elf = sluice_xdp__elf_bytes(&size);
  ObjectPtr obj(bpf_object__open_mem(elf, size, nullptr));
  if (!obj) throw Error("cannot open the XDP object");
  size_per_cpu_arrays(obj.get());
  std::string log(kLogSize, '\0');
  bpf_program *p = nullptr;
  bpf_object__for_each_program(p, obj.get()) {
    if (std::strcmp(bpf_program__name(p), only) != 0) {
      bpf_program__set_autoload(p, false);
      continue;
    }
    bpf_program__set_log_buf(p, log.data(), log.size());
    bpf_program__set_log_level(p, kLogStats);
  }
  if (const int err = bpf_object__load(obj.get()); err != 0)
    throw_errno(std::string("cannot load program ") + only, err);
  const char *processed = std::strstr(log.c_str(), "processed ");
  if (processed == nullptr) throw Error(std::string("no verifier statistics for program ") + only);
  return VerifierCost{only, field(processed, "processed"), field(processed, "total_states"),
                      field(processed, "peak_states")};
}

}  // namespace

std::vector<VerifierCost> verifier_cost() {
  std::vector<std::string> names;
  {
    size_t size = 0;
    const void *elf = sluice_xdp__elf_bytes(&size);
    ObjectPtr obj(bpf_object__open_mem(elf, size, nullptr));
    if (!obj) throw Error("cannot open the XDP object");
    bpf_program *p = nullptr;
    bpf_object__for_each_program(p, obj.get()) names.emplace_back(bpf_program__name(p));
  }
  std::vector<VerifierCost> out;
  for (const auto &n : names) out.push_back(cost_of(n.c_str()));
  return out;
}

}  // namespace sluice::xdp
