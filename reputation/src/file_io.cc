#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sluice/reputation/error.h"

namespace sluice::reputation::detail {

std::string read_file(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot read: " + std::strerror(errno));
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": cannot read: is a directory");
  }
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Error(path + ": cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const std::string &path, std::span<const uint8_t> bytes) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file: " + std::strerror(errno));
  auto fail = [&](const char *what) {
    int e = errno;
    ::close(fd);
    ::unlink(name.data());
    throw Error(path + ": " + what + ": " + std::strerror(e));
  };
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("cannot chmod");
  if (::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(name.data());
    throw Error(path + ": cannot close: " + std::strerror(e));
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(name.data());
    throw Error(path + ": cannot rename the temporary file into place: " + std::strerror(e));
  }
}

}  // namespace sluice::reputation::detail
