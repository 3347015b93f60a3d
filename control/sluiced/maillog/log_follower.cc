#include "log_follower.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::sluiced::maillog {
namespace {

constexpr uint32_t kDirEvents = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;

}  // namespace

LogFollower::LogFollower(FollowerOptions opts, LineHandler on_line)
    : opts_(std::move(opts)), on_line_(std::move(on_line)) {
  const size_t slash = opts_.path.rfind('/');
  dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : opts_.path.substr(0, slash));
  name_ = slash == std::string::npos ? opts_.path : opts_.path.substr(slash + 1);
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  watch_directory();
}

LogFollower::~LogFollower() {
  close_file();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void LogFollower::watch_directory() {
  if (inotify_fd_ < 0 || watch_ >= 0) return;
  watch_ = ::inotify_add_watch(inotify_fd_, dir_.c_str(), kDirEvents);
}

void LogFollower::set_problem(std::string p) {
  if (!p.empty() && p != problem_) ++counters_.open_errors;
  problem_ = std::move(p);
}

void LogFollower::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  partial_.clear();
  skipping_ = false;
  moved_away_ = false;
}

void LogFollower::try_open(bool at_startup) {
  const int fd =
      ::open(opts_.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT)
      set_problem("");
    else if (errno == ELOOP)
      set_problem(opts_.path + " is a symbolic link: not followed (name the file itself)");
    else
      set_problem(opts_.path + ": " + std::strerror(errno));
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    set_problem(opts_.path + " is not a regular file");
    return;
  }
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = 0;
  partial_.clear();
  skipping_ = false;
  moved_away_ = false;
  if (at_startup && !opts_.from_start && st.st_size > 0) {
    offset_ = st.st_size;
    char last = '\n';
    if (::pread(fd_, &last, 1, offset_ - 1) == 1 && last != '\n') skipping_ = true;
  }
  ++counters_.opens;
  set_problem("");
}

void LogFollower::take(const char *data, size_t n) {
  size_t i = 0;
  while (i < n) {
    const auto *nl = static_cast<const char *>(std::memchr(data + i, '\n', n - i));
    const size_t end = nl ? static_cast<size_t>(nl - data) : n;
    const size_t piece = end - i;
    if (skipping_) {
      if (nl) skipping_ = false;
      i = nl ? end + 1 : n;
      continue;
    }
    if (partial_.size() + piece > opts_.max_line) {
      ++counters_.overlong;
      partial_.clear();
      if (nl) {
        i = end + 1;
      } else {
        skipping_ = true;
        i = n;
      }
      continue;
    }
    if (!nl) {
      partial_.append(data + i, piece);
      break;
    }
    ++counters_.lines;
    if (partial_.empty()) {
      on_line_(std::string_view(data + i, piece));
    } else {
      partial_.append(data + i, piece);
      const std::string line = std::move(partial_);
      partial_.clear();
      on_line_(line);
    }
    i = end + 1;
  }
}

bool LogFollower::read_some(size_t &budget) {
  char buf[65536];
  while (budget > 0 && fd_ >= 0) {
    const ssize_t n = ::pread(fd_, buf, std::min(sizeof buf, budget), offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      set_problem(opts_.path + ": read: " + std::strerror(errno));
      return false;
    }
    if (n == 0) return false;
    offset_ += n;
    budget -= static_cast<size_t>(n);
    counters_.bytes += static_cast<uint64_t>(n);
    take(buf, static_cast<size_t>(n));
  }
  struct stat st {};
  return fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_size > offset_;
}

void LogFollower::start() {
  if (started_) return;
  started_ = true;
  try_open(true);
}

bool LogFollower::poll() {
  watch_directory();
  size_t budget = opts_.max_read_bytes;
  if (!started_) {
    start();
  } else if (fd_ < 0) {
    try_open(false);
  }
  if (fd_ < 0) return false;
  struct stat fst {};
  if (::fstat(fd_, &fst) == 0 && fst.st_size < offset_) {  // copytruncate
    ++counters_.truncations;
    offset_ = 0;
    partial_.clear();
    skipping_ = false;
  }
  if (read_some(budget)) return true;
  // Has the path been given to another file (rename rotation)?
  struct stat pst {};
  if (::lstat(opts_.path.c_str(), &pst) != 0) return false;  // renamed away, nothing new yet
  if (pst.st_dev == dev_ && pst.st_ino == ino_) return false;
  // Read what the writer added to the old file since, then switch.
  if (read_some(budget)) return true;
  close_file();
  ++counters_.rotations;
  try_open(false);
  if (fd_ < 0) return false;
  return read_some(budget);
}

bool LogFollower::on_inotify() {
  if (inotify_fd_ < 0) return false;
  alignas(inotify_event) char buf[8192];
  bool relevant = false;
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto *ev = reinterpret_cast<const inotify_event *>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;
        continue;
      }
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        // The directory went away or moved: watch the path's directory again when it exists.
        if (watch_ >= 0 && ev->wd == watch_) {
          ::inotify_rm_watch(inotify_fd_, watch_);
          watch_ = -1;
        }
        relevant = true;
        continue;
      }
      if (ev->len == 0) continue;
      if (name_ == ev->name) {
        relevant = true;
        if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) moved_away_ = fd_ >= 0;
      } else if (moved_away_ && (ev->mask & IN_MODIFY)) {
        relevant = true;  // the old file, under its new name, still being written
      }
    }
  }
  return relevant ? poll() : false;
}

}  // namespace sluice::sluiced::maillog
