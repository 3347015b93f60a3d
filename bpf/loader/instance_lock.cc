#include "sluice/xdp/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sluice/xdp/bpffs.h"
#include "sluice/xdp/error.h"

namespace sluice::xdp {

InstanceLock::InstanceLock(const std::string &name) {
  const std::string dir = pin_dir(name);
  for (;;) {
    fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) throw Error("no sluice XDP instance named '" + name + "'");
      throw_errno("cannot open " + dir, errno);
    }
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd_);
      throw_errno("cannot lock " + dir, err);
    }
    // Detached (and maybe attached again) while we waited: the lock we hold is on a directory
    // that is gone; take the one of the instance there now.
    struct stat held {
    }, now{};
    if (fstat(fd_, &held) == 0 && stat(dir.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
        held.st_ino == now.st_ino && held.st_nlink > 0)
      return;
    close(fd_);
    fd_ = -1;
    if (stat(dir.c_str(), &now) != 0) throw Error("no sluice XDP instance named '" + name + "'");
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) close(fd_);  // releases the lock
}

}  // namespace sluice::xdp
