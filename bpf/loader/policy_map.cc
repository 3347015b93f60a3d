#include "sluice/xdp/policy_map.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"

namespace sluice::xdp {

void write_policy(int policy_map_fd, const sl_policy &policy) {
  // Same shape as the inner map template (struct slx_policy_slot), or the swap is refused.
  Fd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "policy_slot", sizeof(uint32_t), sizeof(sl_policy), 1,
                          nullptr));
  if (inner.fd < 0) throw_errno("creating a policy map", errno);
  const uint32_t zero = 0;
  if (bpf_map_update_elem(inner.fd, &zero, &policy, BPF_ANY) != 0)
    throw_errno("writing the policy", errno);
  // The outer map takes its own reference; ours goes with `inner`.
  if (bpf_map_update_elem(policy_map_fd, &zero, &inner.fd, BPF_ANY) != 0)
    throw_errno("swapping the policy in", errno);
}

sl_policy read_policy(int policy_map_fd) {
  const uint32_t zero = 0;
  // A swap between reading the slot and opening the map it names frees that map: read again.
  for (int attempt = 0;; attempt++) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(policy_map_fd, &zero, &id) != 0)
      throw_errno("reading the policy slot", errno);
    Fd inner(bpf_map_get_fd_by_id(id));
    if (inner.fd < 0) {
      if (errno == ENOENT && attempt < 100) continue;
      throw_errno("opening the policy map", errno);
    }
    sl_policy p{};
    if (bpf_map_lookup_elem(inner.fd, &zero, &p) != 0) throw_errno("reading the policy", errno);
    return p;
  }
}

}  // namespace sluice::xdp
