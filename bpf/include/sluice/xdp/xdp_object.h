// RAII around the libbpf skeleton of bpf/progs/sluice_xdp.bpf.c: open, load (optionally with
// every map pinned under a directory), destroy.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct sluice_xdp;  // the generated skeleton

namespace sluice::xdp {

enum class Program { outside, inside, pass };

struct LoadOptions {
  // Empty: maps are private to this object (tests, replay). Otherwise maps are pinned there, and
  // maps already pinned there are reused.
  std::string pin_dir;
  // With pin_dir (an upgrade): a pinned map whose layout differs from this object's is not
  // reused but created afresh and left unpinned, listed in changed_maps(); the caller carries
  // its contents over and pins it (map_layout.h says which maps may be renewed; any other
  // changed map fails the load, named).
  bool renew_changed_maps = false;
};

class XdpObject {
 public:
  // Throws Error; a verifier rejection carries the tail of the verifier log.
  explicit XdpObject(const LoadOptions &opts = {});
  ~XdpObject();
  XdpObject(XdpObject &&) noexcept;
  XdpObject &operator=(XdpObject &&) noexcept;
  XdpObject(const XdpObject &) = delete;
  XdpObject &operator=(const XdpObject &) = delete;

  int prog_fd(Program p) const;
  // Map by its name in the BPF object ("policy", "flows", "host4_0", ...); throws if unknown.
  int map_fd(const std::string &name) const;
  sluice_xdp *skeleton() const { return skel_; }
  // The maps created afresh because their pinned layout changed (renew_changed_maps).
  const std::vector<std::string> &changed_maps() const { return changed_; }

 private:
  void use_pins(const LoadOptions &opts);
  void fill_outbound_progs();

  sluice_xdp *skel_ = nullptr;
  std::vector<std::string> changed_;
};

// The last `lines` lines of a verifier log (what an operator needs to see).
std::string log_tail(const std::string &log, int lines = 25);

}  // namespace sluice::xdp
