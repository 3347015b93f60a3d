#include "bounded_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sluice::dataplane {
namespace {

[[noreturn]] void fail(const std::string &name, const std::string &why) {
  throw FileError(name + ": " + why);
}

// Calls fn(chunk, n) for the file's bytes from offset 0, at most max + 1 of them (so growth past
// the limit is seen).
template <class Fn>
uint64_t each_chunk(int fd, const std::string &name, uint64_t max, Fn &&fn) {
  std::vector<char> buf(1 << 20);
  uint64_t off = 0;
  while (off <= max) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), max + 1 - off));
    const ssize_t r = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(name, std::string("cannot read: ") + std::strerror(errno));
    if (r == 0) break;
    fn(buf.data(), static_cast<size_t>(r));
    off += static_cast<uint64_t>(r);
  }
  if (off > max) fail(name, "larger than the limit of " + std::to_string(max) + " bytes");
  return off;
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd &UniqueFd::operator=(UniqueFd &&o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd open_for_reading(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  return UniqueFd(fd);
}

uint64_t check_regular(int fd, const std::string &name, uint64_t max) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(name, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(name, "not a regular file");
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR))
    fail(name, "not open for reading");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max)
    fail(name, std::to_string(size) + " bytes, larger than the limit of " + std::to_string(max) +
                   " bytes");
  return size;
}

std::string read_bounded(int fd, const std::string &name, uint64_t max) {
  std::string out;
  out.reserve(static_cast<size_t>(check_regular(fd, name, max)));
  each_chunk(fd, name, max, [&](const char *p, size_t n) { out.append(p, n); });
  return out;
}

UniqueFd copy_to_sealed_memfd(int fd, const std::string &name, uint64_t max) {
  check_regular(fd, name, max);
  UniqueFd mem(::memfd_create("sluice-dp-file", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mem.get() < 0) fail(name, std::string("memfd_create: ") + std::strerror(errno));
  each_chunk(fd, name, max, [&](const char *p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(mem.get(), p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail(name, std::string("cannot copy into memory: ") + std::strerror(errno));
      p += w;
      n -= static_cast<size_t>(w);
    }
  });
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0)
    fail(name, std::string("cannot seal the copy: ") + std::strerror(errno));
  return mem;
}

}  // namespace sluice::dataplane
