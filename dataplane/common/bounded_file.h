// Reading files named or sent by a control client without trusting them: only regular files,
// never more than a limit, never a blocking open (a FIFO is refused, not waited on), and the
// bytes copied into memory sluice-dp owns, so a file rewritten in place later cannot change or
// fault (SIGBUS) what was loaded. Messages name the file, never quote its contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sluice::dataplane {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr uint64_t kMaxTableFileBytes = uint64_t{2} << 30;  // snapshot or delta
inline constexpr uint64_t kMaxPolicyFileBytes = uint64_t{1} << 20;

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd &&o) noexcept : fd_(o.release()) {}
  UniqueFd &operator=(UniqueFd &&o) noexcept;
  int get() const { return fd_; }
  int release() {
    const int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// Opens `path` for reading as the operator asked on the command line (O_NONBLOCK, so a FIFO
// does not block the open). Throws FileError "PATH: cannot open: REASON".
UniqueFd open_for_reading(const std::string &path);

// Checks that `fd` is a regular file open for reading, at most `max` bytes; returns its size.
// Throws FileError "NAME: REASON".
uint64_t check_regular(int fd, const std::string &name, uint64_t max);

// The whole file (from offset 0), at most `max` bytes. Throws FileError.
std::string read_bounded(int fd, const std::string &name, uint64_t max);

// A copy of the whole file in a sealed memfd (no one can write, grow or shrink it), at most
// `max` bytes. Throws FileError.
UniqueFd copy_to_sealed_memfd(int fd, const std::string &name, uint64_t max);

}  // namespace sluice::dataplane
