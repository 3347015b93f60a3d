// Serialises the writers of one XDP instance (table loads and deltas, policy changes, detach),
// whichever process or thread runs them: an exclusive flock(2) on the instance's pin directory,
// held for the lifetime of the object. Readers (status, flows) do not take it.
#pragma once

#include <string>

namespace sluice::xdp {

class InstanceLock {
 public:
  // Blocks until the lock is free. Throws Error if there is no instance of that name.
  explicit InstanceLock(const std::string &name);
  ~InstanceLock();
  InstanceLock(const InstanceLock &) = delete;
  InstanceLock &operator=(const InstanceLock &) = delete;

 private:
  int fd_ = -1;
};

}  // namespace sluice::xdp
