#include "sluice/xdp/instance_ops.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"

#if SLUICE_XDP_HAVE_POLICY
#include "policy_file.h"
#endif

namespace sluice::xdp {
namespace {

struct PinnedFd {
  int fd;
  PinnedFd(const std::string &name, const char *map) {
    if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
    const std::string path = pin_dir(name) + "/" + map;
    fd = bpf_obj_get(path.c_str());
    if (fd < 0) throw_errno("cannot open " + path, errno);
  }
  ~PinnedFd() { close(fd); }
  PinnedFd(const PinnedFd &) = delete;
  PinnedFd &operator=(const PinnedFd &) = delete;
};

ReplaceStats install(const std::string &name, const reputation::Snapshot &snap) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  PinnedRepMaps maps(pin_dir(name));
  const ReplaceStats st = replace_table(maps.fds(), table_from_snapshot(snap));
  const std::string keep = state_snapshot_path(name);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(keep).parent_path(), ec);
  snap.save(keep);
  return st;
}

}  // namespace

std::string state_snapshot_path(const std::string &name) {
  check_instance_name(name);
  const char *env = std::getenv("SLUICE_XDP_STATE_DIR");
  const std::string base = env != nullptr && env[0] != '\0' ? env : "/run/sluice/xdp";
  return base + "/" + name + "/table.snapshot";
}

RepTable table_from_snapshot(const reputation::Snapshot &snap) {
  RepTable t;
  for (const auto &h : snap.hosts_v4()) t.hosts_v4.push_back({h.addr_be, h.value});
  for (const auto &p : snap.prefixes_v4()) t.prefixes_v4.push_back({p.addr_be, p.len, p.value});
  for (const auto &h : snap.hosts_v6()) {
    HostV6Entry e{};
    std::copy(std::begin(h.addr), std::end(h.addr), e.addr.begin());
    e.value = h.value;
    t.hosts_v6.push_back(e);
  }
  for (const auto &p : snap.prefixes_v6()) {
    PrefixV6Entry e{};
    std::copy(std::begin(p.addr), std::end(p.addr), e.addr.begin());
    e.len = p.len;
    e.value = p.value;
    t.prefixes_v6.push_back(e);
  }
  return t;
}

ReplaceStats load_snapshot(const std::string &name, const std::string &snapshot_path) {
  try {
    return install(name, reputation::Snapshot::load(snapshot_path));
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

ReplaceStats apply_delta_file(const std::string &name, const std::string &delta_path) {
  const std::string keep = state_snapshot_path(name);
  if (!std::filesystem::exists(keep))
    throw Error("instance '" + name + "' has no table loaded through sluice (" + keep +
                " missing): load a full snapshot before a delta");
  try {
    const reputation::Snapshot base = reputation::Snapshot::load(keep);
    const reputation::Delta delta = reputation::Delta::load(delta_path);
    return install(name, reputation::apply(base, delta));
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

size_t table_entries(const std::string &name) {
  const std::string keep = state_snapshot_path(name);
  if (!std::filesystem::exists(keep)) return 0;
  try {
    const reputation::Snapshot s = reputation::Snapshot::load(keep);
    return s.hosts_v4().size() + s.prefixes_v4().size() + s.hosts_v6().size() +
           s.prefixes_v6().size();
  } catch (const reputation::Error &) {
    return 0;
  }
}

sl_policy get_policy(const std::string &name) {
  PinnedFd fd(name, "policy");
  uint32_t zero = 0;
  sl_policy p{};
  if (bpf_map_lookup_elem(fd.fd, &zero, &p) != 0) throw_errno("reading the policy", errno);
  return p;
}

uint32_t set_policy(const std::string &name, sl_policy policy) {
  if (policy.nlevels < 1 || policy.nlevels > SL_MAX_LEVELS)
    throw Error("policy has " + std::to_string(policy.nlevels) + " levels (1.." +
                std::to_string(SL_MAX_LEVELS) + ")");
  PinnedFd fd(name, "policy");
  uint32_t zero = 0;
  sl_policy cur{};
  if (bpf_map_lookup_elem(fd.fd, &zero, &cur) != 0) throw_errno("reading the policy", errno);
  policy.generation = cur.generation + 1;
  if (bpf_map_update_elem(fd.fd, &zero, &policy, BPF_ANY) != 0)
    throw_errno("writing the policy", errno);
  return policy.generation;
}

RepTable load_snapshot_table(const std::string &snapshot_path) {
  try {
    return table_from_snapshot(reputation::Snapshot::load(snapshot_path));
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

sl_policy parse_policy_file(const std::string &path, std::vector<std::string> *warnings) {
#if SLUICE_XDP_HAVE_POLICY
  try {
    const dataplane::PolicyFile pf = dataplane::load_policy(path);
    if (warnings)
      for (auto &w : dataplane::policy_warnings(pf, path)) warnings->push_back(std::move(w));
    return pf.policy;
  } catch (const dataplane::PolicyError &e) {
    throw Error(e.what());
  }
#else
  (void)warnings;
  throw Error(path + ": this build has no policy file parser");
#endif
}

uint32_t set_policy_file(const std::string &name, const std::string &path) {
  return set_policy(name, parse_policy_file(path));
}

std::vector<std::pair<sl_flow_key, sl_flow_state>> list_flows(const std::string &name,
                                                              size_t limit) {
  PinnedFd fd(name, "flows");
  std::vector<std::pair<sl_flow_key, sl_flow_state>> out;
  sl_flow_key k{}, next{};
  const void *prev = nullptr;
  while (out.size() < limit && bpf_map_get_next_key(fd.fd, prev, &next) == 0) {
    sl_flow_state st{};
    if (bpf_map_lookup_elem(fd.fd, &next, &st) == 0) out.emplace_back(next, st);
    k = next;
    prev = &k;
  }
  return out;
}

}  // namespace sluice::xdp
