#include "sluice/xdp/xdp_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "sluice/xdp/error.h"
#include "sluice/xdp/heavy_maps.h"
#include "sluice/xdp/map_layout.h"
#include "sluice/xdp/sl_xdp_layout.h"
#include "sluice_xdp.skel.h"

namespace sluice::xdp {
namespace {

// libbpf prints to stderr by default, verifier logs included; we report errors ourselves, so
// its chatter only shows with SLUICE_XDP_VERBOSE set.
int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args) {
  static const bool verbose = std::getenv("SLUICE_XDP_VERBOSE") != nullptr;
  if (!verbose || level == LIBBPF_DEBUG) return 0;
  return std::vfprintf(stderr, fmt, args);
}

}  // namespace

std::string log_tail(const std::string &log, int lines) {
  std::string s = log;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  size_t pos = s.size();
  for (int i = 0; i < lines && pos > 0; i++) {
    const size_t nl = s.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
  }
  return s.substr(pos == 0 ? 0 : pos + 1);
}

XdpObject::XdpObject(const LoadOptions &opts) {
  libbpf_set_print(quiet_print);
  // Filled by the kernel only when a load fails (libbpf then retries with log level 1).
  std::vector<char> log(4 << 20, '\0');
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .kernel_log_buf = log.data(),
              .kernel_log_size = log.size());
  skel_ = sluice_xdp__open_opts(&open_opts);
  if (skel_ == nullptr) throw_errno("cannot open the sluice XDP object", errno);
  try {
    size_per_cpu_arrays(skel_->obj);  // before use_pins: their entry counts are their layout
    if (!opts.pin_dir.empty()) use_pins(opts);
  } catch (...) {
    sluice_xdp__destroy(skel_);
    skel_ = nullptr;
    throw;
  }
  const int err = sluice_xdp__load(skel_);
  if (err != 0) {
    sluice_xdp__destroy(skel_);
    skel_ = nullptr;
    std::string msg = std::string("cannot load the sluice XDP programs: ") + std::strerror(-err);
    const std::string tail = log_tail(std::string(log.data()));
    if (!tail.empty()) msg += "\nverifier log (tail):\n" + tail;
    throw Error(msg);
  }
  try {
    seed_heavy_sketches(bpf_map__fd(skel_->maps.heavy_sketch));
    seed_verdict_tables(bpf_map__fd(skel_->maps.verdict_table));
    seed_greet(bpf_map__fd(skel_->maps.greet));
    seed_fanout(bpf_map__fd(skel_->maps.fanout));
    fill_outbound_progs();
  } catch (...) {
    sluice_xdp__destroy(skel_);
    skel_ = nullptr;
    throw;
  }
}

void XdpObject::use_pins(const LoadOptions &opts) {
  if (opts.renew_changed_maps) changed_ = changed_layouts(skel_->obj, opts.pin_dir);
  bpf_map *map = nullptr;
  bpf_object__for_each_map(map, skel_->obj) {
    const std::string name = bpf_map__name(map), path = opts.pin_dir + "/" + name;
    if (std::find(changed_.begin(), changed_.end(), name) != changed_.end()) continue;
    // The kernel marks every devmap BPF_F_RDONLY_PROG when it creates it (and refuses the
    // flag from user space), and libbpf 1.1 compares flags exactly when it reuses a pinned
    // map: without the flag here, loading over an instance's pins (sluice-xdp attach
    // --upgrade) fails on tx_port. Only for a map that is pinned already.
    if (bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP && access(path.c_str(), F_OK) == 0 &&
        bpf_map__set_map_flags(map, bpf_map__map_flags(map) | BPF_F_RDONLY_PROG) != 0)
      throw Error("cannot set the flags of map " + name);
    if (bpf_map__set_pin_path(map, path.c_str()) != 0) throw Error("cannot set pin path " + path);
  }
}

XdpObject::~XdpObject() {
  if (skel_ != nullptr) sluice_xdp__destroy(skel_);
}

XdpObject::XdpObject(XdpObject &&o) noexcept
    : skel_(std::exchange(o.skel_, nullptr)), changed_(std::move(o.changed_)) {}

XdpObject &XdpObject::operator=(XdpObject &&o) noexcept {
  if (this != &o) {
    if (skel_ != nullptr) sluice_xdp__destroy(skel_);
    skel_ = std::exchange(o.skel_, nullptr);
    changed_ = std::move(o.changed_);
  }
  return *this;
}

// The outbound programs into their tail-call slots (the pinned map of an upgraded instance
// included: its slots move to this load's programs, each in one update).
void XdpObject::fill_outbound_progs() {
  const int map = bpf_map__fd(skel_->maps.outbound_progs);
  const uint32_t slots[2] = {SLX_OUTBOUND_FROM_INSIDE, SLX_OUTBOUND_FROM_OUTSIDE};
  const int progs[2] = {bpf_program__fd(skel_->progs.sluice_outbound_inside),
                        bpf_program__fd(skel_->progs.sluice_outbound_outside)};
  for (int i = 0; i < 2; ++i)
    if (bpf_map_update_elem(map, &slots[i], &progs[i], BPF_ANY) != 0)
      throw_errno("cannot fill outbound_progs", errno);
}

int XdpObject::prog_fd(Program p) const {
  switch (p) {
    case Program::outside:
      return bpf_program__fd(skel_->progs.sluice_outside);
    case Program::inside:
      return bpf_program__fd(skel_->progs.sluice_inside);
    case Program::pass:
      return bpf_program__fd(skel_->progs.sluice_pass);
  }
  return -1;
}

int XdpObject::map_fd(const std::string &name) const {
  bpf_map *map = bpf_object__find_map_by_name(skel_->obj, name.c_str());
  if (map == nullptr) throw Error("no map named '" + name + "' in the sluice XDP object");
  return bpf_map__fd(map);
}

}  // namespace sluice::xdp
