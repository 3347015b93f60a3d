#include "sources/watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "daemon/log.h"

namespace sluice::sluiced {

FileWatcher::FileWatcher(EventLoop &loop, std::function<void(const std::string &)> on_change)
    : loop_(loop), on_change_(std::move(on_change)) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("inotify_init1: ") + std::strerror(errno));
  loop_.add_fd(fd_, POLLIN, [this](short) { on_readable(); });
}

FileWatcher::~FileWatcher() {
  loop_.remove_fd(fd_);
  ::close(fd_);
}

void FileWatcher::watch(const std::vector<std::string> &paths) {
  std::map<std::string, std::map<std::string, std::string>> files;
  for (const auto &p : paths) {
    const std::filesystem::path fp(p);
    const std::filesystem::path parent = fp.has_parent_path() ? fp.parent_path() : ".";
    const std::string dir = parent.string();
    files[dir][fp.filename().string()] = p;
  }
  // Drop directories no longer needed, add new ones.
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (!files.count(it->second)) {
      ::inotify_rm_watch(fd_, it->first);
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto &[dir, names] : files) {
    bool have = false;
    for (const auto &[wd, d] : dirs_) have = have || d == dir;
    if (have) continue;
    const int wd = ::inotify_add_watch(fd_, dir.c_str(),
                                       IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                           IN_DELETE | IN_ATTRIB | IN_ONLYDIR);
    if (wd < 0) {
      log_warning("cannot watch " + dir + ": " + std::strerror(errno) +
                  " (its files are re-read every refresh_interval)");
      continue;
    }
    dirs_[wd] = dir;
  }
  files_ = std::move(files);
}

void FileWatcher::on_readable() {
  alignas(inotify_event) char buf[16384];
  std::set<std::string> changed;
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto *ev = reinterpret_cast<const inotify_event *>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {  // events lost: treat every file as changed
        for (const auto &[dir, names] : files_)
          for (const auto &[name, path] : names) changed.insert(path);
        continue;
      }
      auto d = dirs_.find(ev->wd);
      if (d == dirs_.end() || ev->len == 0) continue;
      auto f = files_.find(d->second);
      if (f == files_.end()) continue;
      auto p = f->second.find(ev->name);
      if (p != f->second.end()) changed.insert(p->second);
    }
  }
  for (const auto &path : changed) on_change_(path);
}

}  // namespace sluice::sluiced
