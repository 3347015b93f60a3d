#include "sluice/xdp/instance_ops.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/live_table.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/instance_lock.h"
#include "sluice/xdp/policy_map.h"

#include "policy_file.h"

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

std::string state_dir(const std::string &name) {
  return std::filesystem::path(state_snapshot_path(name)).parent_path().string();
}

// Under the instance lock: the new table into the maps (all or nothing), then the saved state,
// tied to this attachment's id.
ReplaceStats install(const std::string &name, uint64_t id, reputation::LiveTable &live,
                     reputation::Snapshot snap) {
  PinnedRepMaps maps(pin_dir(name));
  const ReplaceStats st = replace_table(maps.fds(), snap.entries());
  live.commit(std::move(snap));
  live.save(state_dir(name), id);
  return st;
}

}  // namespace

std::string state_snapshot_path(const std::string &name) {
  check_instance_name(name);
  const char *env = std::getenv("SLUICE_XDP_STATE_DIR");
  const std::string base = env != nullptr && env[0] != '\0' ? env : "/run/sluice/xdp";
  return base + "/" + name + "/table.snapshot";
}

ReplaceStats load_snapshot(const std::string &name, const std::string &snapshot_path) {
  try {
    reputation::Snapshot snap = reputation::Snapshot::load(snapshot_path);
    InstanceLock lock(name);
    reputation::LiveTable live;
    return install(name, instance_id(name), live, std::move(snap));
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

ReplaceStats apply_delta_file(const std::string &name, const std::string &delta_path) {
  try {
    const reputation::Delta delta = reputation::Delta::load(delta_path);
    InstanceLock lock(name);
    const uint64_t id = instance_id(name);
    reputation::LiveTable live = reputation::LiveTable::restore(state_dir(name), id);
    return install(name, id, live, live.with_delta(delta));
  } catch (const reputation::StaleStateError &e) {
    throw Error("instance '" + name + "': " + e.what());
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

size_t table_entries(const std::string &name) {
  try {
    return reputation::LiveTable::restore(state_dir(name), instance_id(name)).entries();
  } catch (const std::exception &) {
    return 0;  // nothing loaded through sluice into this attachment
  }
}

sl_policy get_policy(const std::string &name) {
  PinnedFd fd(name, "policy");
  return read_policy(fd.fd);
}

uint32_t set_policy(const std::string &name, sl_policy policy) {
  if (policy.nlevels < 1 || policy.nlevels > SL_MAX_LEVELS)
    throw Error("policy has " + std::to_string(policy.nlevels) + " levels (1.." +
                std::to_string(SL_MAX_LEVELS) + ")");
  InstanceLock lock(name);  // generation: read, increment, write without another writer between
  PinnedFd fd(name, "policy");
  policy.generation = read_policy(fd.fd).generation + 1;
  write_policy(fd.fd, policy);
  return policy.generation;
}

RepTable load_snapshot_table(const std::string &snapshot_path) {
  try {
    return reputation::Snapshot::load(snapshot_path).entries();
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

sl_policy parse_policy_file(const std::string &path, std::vector<std::string> *warnings) {
  try {
    const dataplane::PolicyFile pf = dataplane::load_policy(path);
    if (warnings)
      for (auto &w : dataplane::policy_warnings(pf, path)) warnings->push_back(std::move(w));
    return pf.policy;
  } catch (const dataplane::PolicyError &e) {
    throw Error(e.what());
  }
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
