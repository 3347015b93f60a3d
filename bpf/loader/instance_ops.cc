#include "sluice/xdp/instance_ops.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <thread>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/live_table.h"
#include "sluice/reputation/live_table_cache.h"
#include "sluice/reputation/snapshot.h"
#include "sluice/xdp/attach.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"
#include "sluice/xdp/instance_lock.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "sluice/xdp/test_run.h"

#include "core/sl_classify.h"
#include "core/sl_parse.h"
#include "core/sl_scope.h"
#include "policy_file.h"

namespace sluice::xdp {
namespace {

// One of an instance's pins (a map, or a program) opened by its name.
Fd pinned_fd(const std::string &name, const char *pin) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  return open_pin(pin_dir(name) + "/" + pin);
}

std::string state_dir(const std::string &name) {
  return std::filesystem::path(state_snapshot_path(name)).parent_path().string();
}

// The running and standby tables of the instances this process changed, kept between changes:
// a long-lived caller (sluiced) then reads neither back from its folder for the next delta. Each
// is used only while its folder still holds it (LiveTableCache checks the owner line and the
// table's header): a change made by another process since is read from disk. Two folders per
// instance; sixteen cover the instances one daemon drives.
reputation::LiveTableCache &kept_tables() {
  static reputation::LiveTableCache cache(16);
  return cache;
}

// When this instance's selector last flipped: "sluice-flip NANOSECONDS" (CLOCK_MONOTONIC, the
// same clock in every process) in DIR/table.flipped. A replacement waits until kFlipSettle after
// it before writing the inactive set, removes it, and writes it again right after its own flip:
// the new table is then acknowledged at the flip, and a change that follows within kFlipSettle
// (from this process or another) waits out the rest. No record, or one that cannot be read, counts
// as a flip just now.
std::string flip_path(const std::string &name) {
  return state_dir(name) + "/table.flipped";
}
constexpr const char *kFlipTag = "sluice-flip ";
constexpr size_t kFlipFileMax = 64;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::optional<int64_t> last_flip(const std::string &name) {
  std::ifstream in(flip_path(name), std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kFlipFileMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  const std::string tag = kFlipTag;
  if (text.size() > kFlipFileMax || text.rfind(tag, 0) != 0 || text.back() != '\n')
    return std::nullopt;
  const std::string digits = text.substr(tag.size(), text.size() - tag.size() - 1);
  if (digits.empty() || digits.size() > 19 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return static_cast<int64_t>(std::stoull(digits));
}

// Before a replacement writes the inactive set: the previous flip's readers are done.
void settle_last_flip(const std::string &name) {
  const auto settle = std::chrono::duration_cast<std::chrono::nanoseconds>(kFlipSettle).count();
  const std::optional<int64_t> flipped = last_flip(name);
  const int64_t now = monotonic_ns();
  int64_t wait = settle;
  if (flipped && *flipped <= now) wait = std::max<int64_t>(0, *flipped + settle - now);
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
  std::error_code ec;
  std::filesystem::remove(flip_path(name), ec);
  if (ec) throw Error("cannot remove " + flip_path(name) + ": " + ec.message());
}

// After the flip. A record that cannot be written makes the next replacement wait in full.
void record_flip(const std::string &name) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir(name), ec);
  std::ofstream(flip_path(name), std::ios::binary | std::ios::trunc)
      << kFlipTag << monotonic_ns() << '\n';
}

// The standby state: the table the inactive set of maps holds, saved as a LiveTable in
// DIR/standby. Its owner is the instance id mixed with the table generation at which that set
// holds it, so it is restored only while that is still true: every replacement counts the
// generation up, and one that fails part-way leaves no standby state behind (it is removed
// before the maps are written).
std::string standby_dir(const std::string &name) {
  return state_dir(name) + "/standby";
}
uint64_t standby_owner(uint64_t id, uint32_t generation) {
  return id ^ (0x9e3779b97f4a7c15ull * (uint64_t{generation} + 1));
}
std::optional<reputation::Snapshot> restore_standby(const std::string &name, uint64_t id,
                                                    uint32_t generation) {
  try {
    return kept_tables().restore(standby_dir(name), standby_owner(id, generation)).current();
  } catch (const reputation::Error &) {
    return std::nullopt;  // none, stale or damaged: the next write is a full one
  }
}

// Under the instance lock: the new table into the maps (all or nothing), then the saved state,
// tied to this attachment's id. `previous_known`: `live` holds the table the active set holds
// now (it becomes the standby, so the next change writes only its difference). `change`: the
// delta that makes `snap` from it, for a delta (then, when `live` was itself made by one change
// from the standby, the inactive set's changes come from the two deltas, without a walk over the
// tables).
ReplaceStats install(const std::string &name, uint64_t id, reputation::LiveTable &live,
                     reputation::Snapshot snap, bool previous_known,
                     const reputation::Delta *change = nullptr) {
  PinnedRepMaps maps(pin_dir(name));
  const uint32_t generation = table_generation(maps.fds());
  const std::optional<reputation::Snapshot> standby = restore_standby(name, id, generation);
  kept_tables().forget(standby_dir(name));
  std::error_code ec;
  std::filesystem::remove_all(standby_dir(name), ec);
  if (ec) throw Error("cannot remove " + standby_dir(name) + ": " + ec.message());
  settle_last_flip(name);
  ReplaceStats st;
  bool written = false;
  if (standby) {
    try {
      std::optional<reputation::Delta> changes;
      const reputation::Delta *known = nullptr;  // diff(standby, snap), when known without a walk
      const auto &last = live.last_change();
      if (change && standby->checksum() == live.current().checksum()) {
        known = change;  // the standby is the running table (prepare_standby wrote it)
      } else if (change && last && last->from_version == standby->checksum()) {
        const reputation::Delta *touched[] = {&last->change, change};
        changes = reputation::diff_within(*standby, snap, touched);
        known = &*changes;
      }
      st = update_table(maps.fds(), *standby, snap, Settle::kByCaller, known);
      written = true;
    } catch (const Error &) {
      // The inactive set may be half written: write it whole below.
    }
  }
  if (!written) st = replace_table(maps.fds(), snap.entries(), Settle::kByCaller);
  record_flip(name);
  if (previous_known) {
    // The table the active set held is the standby now, and it is the one saved in the state
    // folder: linked into the standby folder before the new table's save renames over it, so a
    // change does not write the whole table twice. The standby only saves work: when it cannot
    // be kept (it has no owner line then), the next change writes the inactive set whole.
    try {
      reputation::LiveTable::save_link(state_dir(name), standby_dir(name),
                                       standby_owner(id, generation + 1));
      kept_tables().keep(standby_dir(name), standby_owner(id, generation + 1), live);
    } catch (const reputation::Error &) {
    }
  }
  if (change)
    live.commit(std::move(snap), *change);
  else
    live.commit(std::move(snap));
  kept_tables().forget(state_dir(name));
  live.save(state_dir(name), id);
  kept_tables().keep(state_dir(name), id, live);
  st.entries = live.entries();
  return st;
}

// release_held after a change: best effort, the change itself has landed.
void release_held_after_change(const std::string &name) {
  try {
    release_held(name);
  } catch (const std::exception &) {
  }
}

// A held ACK is still one the policy watches: a server segment (sl_classify) of a server in
// the scope, as sl_seq_classify would find it.
bool still_watched(const sl_held_frame &h, const sl_policy &pol) {
  sl_held_frame copy = h;
  void *data = copy.bytes;
  void *end = copy.bytes + copy.len;
  sl_pkt pkt{};
  if (sl_parse_frame(data, end, copy.len, &pkt) != SL_PARSE_OK) return false;
  if (sl_classify(&pkt, end, SL_DIR_FROM_INSIDE, &pol) != SL_CLASS_SERVER_SEG) return false;
  return sl_server_in_scope(&pol, &pkt, end, SL_DIR_FROM_INSIDE) != 0;
}

}  // namespace

size_t release_held(const std::string &name) {
  const Fd held = pinned_fd(name, "held");
  const sl_policy pol = get_policy(name);
  const uint32_t ifindex = inside_ifindex(name);
  const Fd prog_fd = pinned_fd(name, "prog_inside");
  // Read first: the program deletes the entries it releases while this runs.
  std::vector<std::pair<sl_flow_key, sl_held_frame>> all;
  sl_flow_key k{}, next{};
  const void *prev = nullptr;
  while (all.size() < SLX_MAX_HELD && bpf_map_get_next_key(held.fd, prev, &next) == 0) {
    sl_held_frame f{};
    if (bpf_map_lookup_elem(held.fd, &next, &f) == 0 && f.len != 0 && f.len <= SL_HELD_FRAME_MAX)
      all.emplace_back(next, f);
    k = next;
    prev = &k;
  }
  size_t sent = 0;
  for (const auto &[key, f] : all) {
    if (!still_watched(f, pol)) {
      bpf_map_delete_elem(held.fd, &key);
      continue;
    }
    send_replayed(prog_fd.fd, std::span<const uint8_t>(f.bytes, f.len), ifindex);
    ++sent;
  }
  return sent;
}

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
    const uint64_t id = instance_id(name);
    // The table running now, if this attachment saved it: then it becomes the standby.
    reputation::LiveTable live;
    bool known = false;
    try {
      live = kept_tables().restore(state_dir(name), id);
      known = true;
    } catch (const reputation::Error &) {
    }
    ReplaceStats st = install(name, id, live, std::move(snap), known);
    release_held_after_change(name);
    return st;
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

ReplaceStats apply_delta_file(const std::string &name, const std::string &delta_path) {
  try {
    const reputation::Delta delta = reputation::Delta::load(delta_path);
    InstanceLock lock(name);
    const uint64_t id = instance_id(name);
    reputation::LiveTable live = kept_tables().restore(state_dir(name), id);
    ReplaceStats st = install(name, id, live, live.with_delta(delta), true, &delta);
    release_held_after_change(name);
    return st;
  } catch (const reputation::StaleStateError &e) {
    throw Error("instance '" + name + "': " + e.what());
  } catch (const reputation::Error &e) {
    throw Error(e.what());
  }
}

bool prepare_standby(const std::string &name) {
  try {
    InstanceLock lock(name);
    const uint64_t id = instance_id(name);
    PinnedRepMaps maps(pin_dir(name));
    const uint32_t generation = table_generation(maps.fds());
    const uint64_t owner = standby_owner(id, generation);
    std::optional<uint64_t> saved;
    try {
      saved = reputation::LiveTable::saved_owner(standby_dir(name));
    } catch (const reputation::Error &) {
    }
    if (saved == owner) return false;  // the loader knows what the inactive set holds
    reputation::LiveTable live;
    try {
      live = kept_tables().restore(state_dir(name), id);
    } catch (const reputation::Error &) {
      return false;  // no table loaded through sluice: nothing to mirror
    }
    kept_tables().forget(standby_dir(name));
    std::error_code ec;
    std::filesystem::remove_all(standby_dir(name), ec);
    if (ec) throw Error("cannot remove " + standby_dir(name) + ": " + ec.message());
    settle_last_flip(name);  // the inactive set was the active one until the last flip
    write_inactive_set(maps.fds(), live.current().entries());
    // The running table's files, linked: the standby is the table the state folder holds.
    reputation::LiveTable::save_link(state_dir(name), standby_dir(name), owner);
    kept_tables().keep(standby_dir(name), owner, live);
    return true;
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
  const Fd fd = pinned_fd(name, "policy");
  return read_policy(fd.fd);
}

uint32_t set_policy(const std::string &name, sl_policy policy) {
  if (policy.nlevels < 1 || policy.nlevels > SL_MAX_LEVELS)
    throw Error("policy has " + std::to_string(policy.nlevels) + " levels (1.." +
                std::to_string(SL_MAX_LEVELS) + ")");
  InstanceLock lock(name);  // generation: read, increment, write without another writer between
  const Fd fd = pinned_fd(name, "policy");
  const sl_policy running = read_policy(fd.fd);
  policy.generation = running.generation + 1;
  dataplane::keep_cookie_key(policy, &running);
  write_policy(fd.fd, policy);
  release_held_after_change(name);
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

namespace {

// DIR/level.names: "sluice-level-names INSTANCE_ID GENERATION", then one name per line.
std::string level_names_path(const std::string &name) {
  return state_dir(name) + "/level.names";
}

void save_level_names(const std::string &name, uint32_t generation,
                      const std::vector<std::string> &names) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir(name), ec);
  const std::string path = level_names_path(name), tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "sluice-level-names " << instance_id(name) << ' ' << generation << '\n';
    for (const std::string &n : names) out << n << '\n';
    if (!out) return;  // names are for reports; the policy is set either way
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

uint32_t set_policy_file(const std::string &name, const std::string &path) {
  dataplane::PolicyFile pf;
  try {
    pf = dataplane::load_policy(path);
  } catch (const dataplane::PolicyError &e) {
    throw Error(e.what());
  }
  const uint32_t generation = set_policy(name, pf.policy);
  save_level_names(name, generation, pf.level_names);
  return generation;
}

std::vector<std::string> level_names(const std::string &name) {
  std::ifstream in(level_names_path(name));
  std::string magic;
  uint64_t id = 0;
  uint32_t generation = 0;
  if (!(in >> magic >> id >> generation) || magic != "sluice-level-names") return {};
  if (id != instance_id(name) || generation != get_policy(name).generation) return {};
  std::vector<std::string> names;
  std::string line;
  std::getline(in, line);  // the rest of the header line
  while (names.size() < SL_MAX_LEVELS && std::getline(in, line)) names.push_back(line);
  return names;
}

std::vector<std::pair<sl_flow_key, sl_flow_state>> list_flows(const std::string &name,
                                                              size_t limit) {
  const Fd fd = pinned_fd(name, "flows");
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
