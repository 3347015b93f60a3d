#include "sluice/xdp/bpffs.h"

#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/magic.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <bpf/bpf.h>

#include "sluice/xdp/error.h"
#include "sluice/xdp/fd.h"

namespace sluice::xdp {

void throw_errno(const std::string &what, int err) {
  if (err < 0) err = -err;
  throw Error(what + ": " + std::strerror(err));
}

Fd open_pin(const std::string &path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) throw_errno("cannot open " + path, errno);
  return Fd(fd);
}

std::string bpffs_root() {
  const char *env = std::getenv("SLUICE_BPFFS");
  return env != nullptr && env[0] != '\0' ? env : "/sys/fs/bpf";
}

void ensure_bpffs() {
  const std::string root = bpffs_root();
  struct statfs st {};
  if (statfs(root.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC) return;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
    throw_errno("cannot mount the BPF filesystem at " + root, errno);
}

void check_instance_name(const std::string &name) {
  bool ok = !name.empty() && name.size() <= 32;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_') ok = false;
  }
  if (!ok)
    throw Error("invalid instance name '" + name + "': use 1-32 letters, digits, '-' or '_'");
}

std::string pin_dir(const std::string &name) {
  check_instance_name(name);
  return bpffs_root() + "/sluice/" + name;
}

void remove_pin_dir(const std::string &name) {
  std::error_code ec;
  std::filesystem::remove_all(pin_dir(name), ec);
  if (ec) throw Error("cannot remove " + pin_dir(name) + ": " + ec.message());
  remove_sluice_dir_if_empty();
}

void remove_sluice_dir_if_empty() {
  // Another instance's directory (ENOTEMPTY), or gone already (ENOENT): nothing to do.
  (void)::rmdir((bpffs_root() + "/sluice").c_str());
}

}  // namespace sluice::xdp
