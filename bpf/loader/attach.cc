#include "sluice/xdp/attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "dp_stats.h"
#include "netdev_link.h"
#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"
#include "sluice/xdp/instance_lock.h"
#include "sluice/xdp/instance_ops.h"
#include "sluice/xdp/map_layout.h"
#include "sluice/xdp/policy_map.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "sluice/xdp/xdp_object.h"
#include "sluice_xdp.skel.h"

namespace sluice::xdp {
namespace {

constexpr const char *kProgOutside = "prog_outside";
constexpr const char *kProgInside = "prog_inside";

uint32_t mode_flags(XdpMode m) {
  return m == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

uint32_t prog_id_of(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return 0;
  return info.id;
}

std::string prog_name_of_id(uint32_t id) {
  Fd fd(bpf_prog_get_fd_by_id(id));
  if (fd.fd < 0) return "?";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.fd, &info, &len) != 0) return "?";
  return info.name;
}

// The XDP program attached to ifindex in any mode (0: none).
uint32_t attached_prog_id(uint32_t ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) != 0) return 0;
  if (q.prog_id != 0) return q.prog_id;
  if (q.drv_prog_id != 0) return q.drv_prog_id;
  if (q.skb_prog_id != 0) return q.skb_prog_id;
  return q.hw_prog_id;
}

uint32_t ifindex_of(const std::string &ifname, const char *role) {
  if (ifname.empty()) throw Error(std::string("no ") + role + " interface given");
  const unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw Error(std::string(role) + " interface '" + ifname + "' does not exist");
  return idx;
}

std::string ifname_of(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) != nullptr ? std::string(buf) : std::string();
}

void detach_if_ours(uint32_t ifindex, int prog_fd, uint32_t flags) {
  if (ifindex == 0 || prog_fd < 0) return;
  if (attached_prog_id(ifindex) != prog_id_of(prog_fd)) return;
  LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = prog_fd);
  bpf_xdp_detach(static_cast<int>(ifindex), flags, &o);
}

slx_meta read_meta(const std::string &dir) {
  Fd fd(bpf_obj_get((dir + "/meta").c_str()));
  if (fd.fd < 0) throw_errno("cannot open " + dir + "/meta", errno);
  uint32_t zero = 0;
  slx_meta m{};
  if (bpf_map_lookup_elem(fd.fd, &zero, &m) != 0 || m.magic != SLX_META_MAGIC)
    throw Error(dir + "/meta does not describe a sluice XDP instance");
  return m;
}

// Pins fd at path in place of what is pinned there: pinned under a temporary name first, then
// renamed over the old pin, so path always names one object (the old one until the rename).
// False with errno set when it cannot.
bool repin(int fd, const std::string &path) {
  const std::string tmp = path + "_new";
  ::unlink(tmp.c_str());
  if (bpf_obj_pin(fd, tmp.c_str()) != 0) return false;
  if (::rename(tmp.c_str(), path.c_str()) == 0) return true;
  const int err = errno;
  ::unlink(tmp.c_str());
  errno = err;
  return false;
}

}  // namespace

XdpMode parse_mode(const std::string &s) {
  if (s == "native") return XdpMode::native;
  if (s == "generic") return XdpMode::generic;
  throw Error("unknown XDP mode '" + s + "' (use native or generic)");
}

const char *mode_name(XdpMode m) {
  return m == XdpMode::native ? "native" : "generic";
}

bool instance_exists(const std::string &name) {
  return std::filesystem::exists(pin_dir(name) + "/meta");
}

uint64_t instance_id(const std::string &name) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  return read_meta(pin_dir(name)).instance_id;
}

uint32_t inside_ifindex(const std::string &name) {
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  return read_meta(pin_dir(name)).inside_ifindex;
}

void attach(const AttachOptions &opts) {
  check_instance_name(opts.name);
  const uint32_t out_idx = ifindex_of(opts.outside, "outside");
  const uint32_t in_idx = ifindex_of(opts.inside, "inside");
  if (out_idx == in_idx) throw Error("outside and inside must be two different interfaces");
  std::optional<uint32_t> out_peer;
  try {
    out_peer = link::netdev_veth_peer(out_idx);
  } catch (const sluice::Error &e) {
    throw Error(std::string("cannot read the outside interface's link: ") + e.what());
  }
  if (out_peer == in_idx)
    throw Error("outside '" + opts.outside + "' and inside '" + opts.inside +
                "' are the two ends of one veth pair: every frame forwarded out of one would come "
                "straight back in on the other and circle between them; give each port a veth "
                "pair of its own");
  for (auto [idx, ifname] : {std::pair{out_idx, opts.outside}, std::pair{in_idx, opts.inside}}) {
    const uint32_t id = attached_prog_id(idx);
    if (id != 0)
      throw Error("interface '" + ifname + "' already has an XDP program (id " +
                  std::to_string(id) + ", name '" + prog_name_of_id(id) +
                  "'); detach it first, sluice-xdp does not replace foreign programs");
  }
  ensure_bpffs();
  const std::string dir = pin_dir(opts.name);
  if (std::filesystem::exists(dir))
    throw Error("a sluice XDP instance named '" + opts.name + "' exists (" + dir +
                "); detach it first");

  std::error_code ec;
  // A detach of the last other instance may remove the parent (sluice/) between our creating
  // it and our creating NAME in it: try again then.
  for (int i = 0; i < 3; i++) {
    std::filesystem::create_directories(dir, ec);
    if (!ec) break;
  }
  if (ec) throw Error("cannot create " + dir + ": " + ec.message());
  const uint32_t flags = mode_flags(opts.mode);
  bool out_attached = false;
  try {
    XdpObject obj(LoadOptions{.pin_dir = dir});
    uint32_t zero = 0, one = 1;
    if (bpf_map_update_elem(obj.map_fd("tx_port"), &zero, &out_idx, BPF_ANY) != 0 ||
        bpf_map_update_elem(obj.map_fd("tx_port"), &one, &in_idx, BPF_ANY) != 0)
      throw_errno("cannot fill the devmap (does the interface support XDP redirect?)", errno);
    slx_meta m{};
    m.magic = SLX_META_MAGIC;
    m.outside_ifindex = out_idx;
    m.inside_ifindex = in_idx;
    m.xdp_flags = flags;
    while (m.instance_id == 0)
      if (getrandom(&m.instance_id, sizeof m.instance_id, 0) != sizeof m.instance_id)
        throw_errno("cannot draw an instance id", errno);
    if (bpf_map_update_elem(obj.map_fd("meta"), &zero, &m, BPF_ANY) != 0)
      throw_errno("cannot write the meta map", errno);
    const auto *skel = obj.skeleton();
    if (bpf_program__pin(skel->progs.sluice_outside, (dir + "/" + kProgOutside).c_str()) != 0 ||
        bpf_program__pin(skel->progs.sluice_inside, (dir + "/" + kProgInside).c_str()) != 0)
      throw_errno("cannot pin the programs in " + dir, errno);

    auto attach_one = [&](uint32_t idx, int fd, const std::string &ifname) {
      const int err =
          bpf_xdp_attach(static_cast<int>(idx), fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
      if (err == 0) return;
      std::string why = std::strerror(-err);
      if (err == -EOPNOTSUPP && opts.mode == XdpMode::native)
        why = "the driver does not support native XDP (try --mode generic)";
      else if (err == -EBUSY || err == -EEXIST)
        why = "another XDP program was attached meanwhile";
      throw Error("cannot attach to '" + ifname + "' in " + mode_name(opts.mode) + " mode: " + why);
    };
    attach_one(out_idx, obj.prog_fd(Program::outside), opts.outside);
    out_attached = true;
    attach_one(in_idx, obj.prog_fd(Program::inside), opts.inside);
    // The object (and its fds) go away here; the attachments and pins keep everything alive.
  } catch (...) {
    if (out_attached) {
      Fd p(bpf_obj_get((dir + "/" + kProgOutside).c_str()));
      detach_if_ours(out_idx, p.fd, flags);
    }
    std::filesystem::remove_all(dir, ec);
    remove_sluice_dir_if_empty();
    throw;
  }
}

void attach_pass(const std::string &ifname, XdpMode mode) {
  const uint32_t idx = ifindex_of(ifname, "peer");
  XdpObject obj;
  const int err = bpf_xdp_attach(static_cast<int>(idx), obj.prog_fd(Program::pass),
                                 mode_flags(mode) | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
  if (err != 0) throw_errno("cannot attach the pass program to '" + ifname + "'", err);
}

std::pair<uint32_t, uint32_t> upgrade(const std::string &name) {
  check_instance_name(name);
  const std::string dir = pin_dir(name);
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  InstanceLock lock(name);  // no table load, policy change or detach meanwhile
  const slx_meta m = read_meta(dir);
  const uint32_t idx[2] = {m.outside_ifindex, m.inside_ifindex};
  const char *pins[2] = {kProgOutside, kProgInside};
  Fd old_out(bpf_obj_get((dir + "/" + kProgOutside).c_str()));
  Fd old_in(bpf_obj_get((dir + "/" + kProgInside).c_str()));
  const int old_fd[2] = {old_out.fd, old_in.fd};
  for (int p = 0; p < 2; ++p) {
    if (old_fd[p] < 0) throw_errno("cannot open " + dir + "/" + pins[p], errno);
    if (attached_prog_id(idx[p]) != prog_id_of(old_fd[p]))
      throw Error(std::string("the program on ") +
                  (ifname_of(idx[p]).empty() ? "ifindex " + std::to_string(idx[p])
                                             : "'" + ifname_of(idx[p]) + "'") +
                  " is not this instance's any more; nothing replaced");
  }
  // Reuses every pinned map whose layout is unchanged; the others are created afresh
  // (map_layout.h) and carried over below.
  XdpObject obj([&] {
    try {
      return XdpObject(LoadOptions{.pin_dir = dir, .renew_changed_maps = true});
    } catch (const Error &e) {
      throw Error(std::string("cannot load the new programs over the pinned maps: ") + e.what());
    }
  }());
  const std::vector<std::string> &renewed = obj.changed_maps();
  const auto was_renewed = [&](const char *map) {
    return std::find(renewed.begin(), renewed.end(), map) != renewed.end();
  };
  // The policy in force goes into the new layout before any packet meets the new programs.
  if (was_renewed("policy")) {
    Fd old_policy(bpf_obj_get((dir + "/policy").c_str()));
    if (old_policy.fd < 0) throw_errno("cannot open " + dir + "/policy", errno);
    carry_policy(old_policy.fd, obj.map_fd("policy"));
  }
  const int new_fd[2] = {obj.prog_fd(Program::outside), obj.prog_fd(Program::inside)};
  auto replace = [&](int p, int from, int to) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = from);
    return bpf_xdp_attach(static_cast<int>(idx[p]), to, m.xdp_flags | XDP_FLAGS_REPLACE, &o);
  };
  if (int err = replace(0, old_fd[0], new_fd[0]); err != 0)
    throw_errno("cannot replace the outside program", err);
  if (int err = replace(1, old_fd[1], new_fd[1]); err != 0) {
    replace(0, new_fd[0], old_fd[0]);  // back to one version on both ports
    throw_errno("cannot replace the inside program (outside put back)", err);
  }
  // The pins follow: the new program under a temporary name, renamed over the old pin.
  for (int p = 0; p < 2; ++p) {
    const std::string pin = dir + "/" + pins[p];
    if (!repin(new_fd[p], pin))
      throw_errno("replaced, but cannot re-pin " + pin +
                      " (status will show the port as not attached; upgrade again)",
                  errno);
  }
  // The old programs are gone: their last counts join the new map's, and every renewed map
  // takes its pin the same way (the old map goes when nothing holds it any more).
  for (const std::string &map : renewed) {
    const std::string pin = dir + "/" + map;
    if (map == "stats") {
      Fd old_stats(bpf_obj_get(pin.c_str()));
      if (old_stats.fd < 0) throw_errno("replaced, but cannot open " + pin, errno);
      carry_stats(old_stats.fd, obj.map_fd("stats"));
    }
    if (!repin(obj.map_fd(map), pin))
      throw_errno("replaced, but cannot re-pin " + pin + " (detach and attach)", errno);
  }
  return {prog_id_of(new_fd[0]), prog_id_of(new_fd[1])};
}

void detach(const std::string &name) {
  const std::string dir = pin_dir(name);
  if (!std::filesystem::exists(dir))
    throw Error("no sluice XDP instance named '" + name + "' (" + dir + " does not exist)");
  // Waits for a table load or policy change under way, so it does not fail half-way.
  std::optional<InstanceLock> lock;
  if (std::filesystem::exists(dir + "/meta")) lock.emplace(name);
  if (std::filesystem::exists(dir + "/meta")) {
    const slx_meta m = read_meta(dir);
    Fd po(bpf_obj_get((dir + "/" + kProgOutside).c_str()));
    Fd pi(bpf_obj_get((dir + "/" + kProgInside).c_str()));
    detach_if_ours(m.outside_ifindex, po.fd, m.xdp_flags);
    detach_if_ours(m.inside_ifindex, pi.fd, m.xdp_flags);
  }
  remove_pin_dir(name);
  // The saved table and standby belong to this attachment (a new one draws another id and
  // cannot use them): removed with it, so nothing of the instance stays in /run.
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(state_snapshot_path(name)).parent_path(), ec);
}

Status status(const std::string &name) {
  const std::string dir = pin_dir(name);
  if (!instance_exists(name)) throw Error("no sluice XDP instance named '" + name + "'");
  const slx_meta m = read_meta(dir);
  Status s;
  s.name = name;
  s.mode = (m.xdp_flags & XDP_FLAGS_SKB_MODE) ? XdpMode::generic : XdpMode::native;
  auto port = [&](uint32_t idx, const char *pin) {
    PortStatus p;
    p.ifindex = idx;
    p.ifname = ifname_of(idx);
    p.prog_id = p.ifname.empty() ? 0 : attached_prog_id(idx);
    Fd fd(bpf_obj_get((dir + "/" + pin).c_str()));
    p.attached = p.prog_id != 0 && fd.fd >= 0 && prog_id_of(fd.fd) == p.prog_id;
    return p;
  };
  s.outside = port(m.outside_ifindex, kProgOutside);
  s.inside = port(m.inside_ifindex, kProgInside);

  uint32_t zero = 0;
  {
    Fd fd(bpf_obj_get((dir + "/stats").c_str()));
    const int ncpu = libbpf_num_possible_cpus();
    if (fd.fd >= 0 && ncpu > 0) {
      std::vector<sl_stats> per(static_cast<size_t>(ncpu));
      if (bpf_map_lookup_elem(fd.fd, &zero, per.data()) == 0) {
        for (const auto &c : per) stats::accumulate(s.stats, c);
      }
    }
  }
  {
    Fd fd(bpf_obj_get((dir + "/policy").c_str()));
    if (fd.fd >= 0) {
      try {
        s.policy_generation = read_policy(fd.fd).generation;
      } catch (const Error &) {
        // status shows what it can read
      }
    }
  }
  {
    Fd fd(bpf_obj_get((dir + "/rep_active").c_str()));
    uint32_t set = 0;
    if (fd.fd >= 0 && bpf_map_lookup_elem(fd.fd, &zero, &set) == 0) s.table_set = set & 1;
  }
  {
    Fd fd(bpf_obj_get((dir + "/flows").c_str()));
    sl_flow_key k{}, next{};
    const void *prev = nullptr;
    while (fd.fd >= 0 && bpf_map_get_next_key(fd.fd, prev, &next) == 0) {
      s.flows++;
      k = next;
      prev = &k;
    }
  }
  return s;
}

}  // namespace sluice::xdp
