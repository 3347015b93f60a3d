#include "sluice/xdp/map_layout.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/sl_shared.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"
#include "sluice/xdp/policy_map.h"

namespace sluice::xdp {
namespace {

// What upgrade knows how to create afresh (map_layout.h says what happens to each).
constexpr std::array<const char *, 11> kRenewable = {
    "policy", "policy_init", "stats", "flows",         "heavy_sketch", "heavy_table",
    "caps",   "caps_zero",   "greet", "verdict_table", "fanout"};

bpf_map_info map_info(int fd, const std::string &what) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) throw_errno("cannot inspect " + what, errno);
  return info;
}

// A per-CPU map's value, as the kernel copies it: rounded up to 8 bytes, one per possible CPU.
size_t percpu_stride(uint32_t value_size) {
  return (value_size + 7u) & ~size_t{7};
}

}  // namespace

std::vector<std::string> changed_layouts(bpf_object *obj, const std::string &pin_dir) {
  std::vector<std::string> changed;
  bpf_map *map = nullptr;
  bpf_object__for_each_map(map, obj) {
    const std::string name = bpf_map__name(map), path = pin_dir + "/" + name;
    if (access(path.c_str(), F_OK) != 0) continue;  // not pinned yet: created and pinned
    Fd pinned(bpf_obj_get(path.c_str()));
    if (pinned.fd < 0) throw_errno("cannot open " + path, errno);
    const bpf_map_info info = map_info(pinned.fd, path);
    const bpf_map_type type = bpf_map__type(map);
    if (info.type == static_cast<uint32_t>(type) && info.key_size == bpf_map__key_size(map) &&
        info.value_size == bpf_map__value_size(map) &&
        info.max_entries == bpf_map__max_entries(map))
      continue;
    if (std::find(kRenewable.begin(), kRenewable.end(), name) == kRenewable.end())
      throw Error("the pinned map " + path + " has another layout than this sluice-xdp's (value " +
                  std::to_string(info.value_size) + " bytes here, " +
                  std::to_string(bpf_map__value_size(map)) + " in this build, " +
                  std::to_string(info.max_entries) + " vs " +
                  std::to_string(bpf_map__max_entries(map)) +
                  " entries): an upgrade cannot carry it over; detach and attach");
    changed.push_back(name);
  }
  const auto has = [&](const char *n) {
    return std::find(changed.begin(), changed.end(), n) != changed.end();
  };
  if (has("policy_init") && !has("policy")) changed.push_back("policy");
  return changed;
}

void carry_stats(int old_fd, int new_fd) {
  const bpf_map_info old_info = map_info(old_fd, "the old stats map");
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) throw_errno("cannot count the possible CPUs", -cpus);
  const size_t old_stride = percpu_stride(old_info.value_size);
  const size_t new_stride = percpu_stride(sizeof(sl_stats));
  std::vector<uint64_t> old_vals(old_stride / 8 * cpus), new_vals(new_stride / 8 * cpus);
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(old_fd, &zero, old_vals.data()) != 0)
    throw_errno("cannot read the old counters", errno);
  if (bpf_map_lookup_elem(new_fd, &zero, new_vals.data()) != 0)
    throw_errno("cannot read the new counters", errno);
  // Every counter is a u64 and the old layout is a prefix of the new one: add word by word.
  const size_t words = std::min(old_info.value_size, uint32_t{sizeof(sl_stats)}) / 8;
  for (int c = 0; c < cpus; ++c)
    for (size_t w = 0; w < words; ++w)
      new_vals[c * new_stride / 8 + w] += old_vals[c * old_stride / 8 + w];
  if (bpf_map_update_elem(new_fd, &zero, new_vals.data(), BPF_ANY) != 0)
    throw_errno("cannot write the carried counters", errno);
}

void carry_policy(int old_outer_fd, int new_outer_fd) {
  const uint32_t zero = 0;
  uint32_t id = 0;
  if (bpf_map_lookup_elem(old_outer_fd, &zero, &id) != 0)
    throw_errno("cannot read the old policy slot", errno);
  Fd inner(bpf_map_get_fd_by_id(id));
  if (inner.fd < 0) throw_errno("cannot open the old policy", errno);
  const bpf_map_info info = map_info(inner.fd, "the old policy");
  std::vector<unsigned char> old_val(info.value_size);
  if (bpf_map_lookup_elem(inner.fd, &zero, old_val.data()) != 0)
    throw_errno("cannot read the old policy", errno);
  sl_policy p{};
  std::memcpy(&p, old_val.data(), std::min(old_val.size(), sizeof(p)));
  write_policy(new_outer_fd, p);
}

}  // namespace sluice::xdp
