#include "maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sluice_error.h"

namespace sluice::sluiced::arf {
namespace {

constexpr size_t kMaxStuck = 4096;

int open_dir(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw sluice::Error("complaints.maildir: " + path + ": " + std::strerror(errno) +
                        " (a maildir needs new/ and cur/ directories)");
  return fd;
}

}  // namespace

Maildir::Maildir(std::string path) : path_(std::move(path)) {
  new_fd_ = open_dir(path_ + "/new");
  try {
    cur_fd_ = open_dir(path_ + "/cur");
  } catch (...) {
    ::close(new_fd_);
    throw;
  }
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 || ::inotify_add_watch(inotify_fd_, (path_ + "/new").c_str(),
                                             IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
    const std::string err = std::strerror(errno);
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    ::close(new_fd_);
    ::close(cur_fd_);
    throw sluice::Error("complaints.maildir: cannot watch " + path_ + "/new: " + err);
  }
}

Maildir::~Maildir() {
  ::close(inotify_fd_);
  ::close(new_fd_);
  ::close(cur_fd_);
}

void Maildir::drain_events() {
  alignas(inotify_event) char buf[4096];
  while (::read(inotify_fd_, buf, sizeof buf) > 0) {
  }
}

std::string Maildir::cur_name(std::string_view name, MailFate fate) {
  const size_t colon = name.find(':');
  std::string out(name.substr(0, colon));
  out += fate == MailFate::kRefused ? ":2,F" : ":2,S";
  return out;
}

MailFile Maildir::read_file(const std::string &name, size_t max_bytes) const {
  MailFile m;
  m.name = name;
  const int fd =
      ::openat(new_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      m.reason = "gone";  // taken by someone else since the directory was read
      return m;
    }
    m.reason = err == ELOOP ? "not_regular" : "unreadable";
    m.detail = err == ELOOP ? "a symbolic link (not followed)" : std::strerror(err);
    return m;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    m.reason = "not_regular";
    m.detail = "not a regular file";
    return m;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    m.reason = "too_large";
    m.detail = std::to_string(st.st_size) + " bytes, over the " + std::to_string(max_bytes) +
               "-byte limit (not read)";
    return m;
  }
  // Read at most one byte past the limit: a file that grew since fstat is still bounded.
  m.bytes.resize(max_bytes + 1);
  size_t got = 0;
  while (got < m.bytes.size()) {
    const ssize_t r = ::read(fd, m.bytes.data() + got, m.bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      m.reason = "unreadable";
      m.detail = std::strerror(errno);
      ::close(fd);
      m.bytes.clear();
      return m;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  m.bytes.resize(got);
  m.read = true;  // over max_bytes (it grew) is the parser's too_large
  return m;
}

Maildir::Turn Maildir::scan(size_t max, size_t max_bytes, const Handler &handle) {
  Turn t;
  std::vector<std::string> names;
  const int dup = ::dup(new_fd_);
  if (dup < 0) return t;
  DIR *d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return t;
  }
  ::rewinddir(d);
  while (const dirent *e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (stuck_.count(e->d_name)) continue;
    if (names.size() == max) {
      t.more = true;
      break;
    }
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string &name : names) {
    const MailFile m = read_file(name, max_bytes);
    if (m.reason == "gone") continue;
    const MailFate fate = handle(m);
    ++t.handled;
    const std::string to = cur_name(name, fate);
    if (::renameat(new_fd_, name.c_str(), cur_fd_, to.c_str()) != 0 && errno != ENOENT) {
      ++t.move_errors;
      if (stuck_.size() < kMaxStuck) stuck_.insert(name);
    }
  }
  return t;
}

}  // namespace sluice::sluiced::arf
