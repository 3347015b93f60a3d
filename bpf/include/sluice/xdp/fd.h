// A file descriptor the loader owns (a BPF map, program or pin opened with bpf_obj_get),
// closed on scope exit.
#pragma once

#include <unistd.h>

#include <string>

namespace sluice::xdp {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
};

// The pin at `path` (a map or program under bpffs) opened, or an Error naming the path and why.
Fd open_pin(const std::string &path);

}  // namespace sluice::xdp
