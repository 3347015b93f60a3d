// Change events for a set of files, from inotify on their directories (so a list replaced by
// rename, the way downloaders and rsync write, is seen as well as one rewritten in place). A
// file counts as changed when it was closed after writing, moved or created in place, deleted,
// or its attributes changed. What inotify cannot see (NFS, a symlinked directory changed
// elsewhere) the refresh interval catches.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon/event_loop.h"

namespace sluice::sluiced {

class FileWatcher {
 public:
  // `on_change` gets the path as it was given to watch().
  FileWatcher(EventLoop &loop, std::function<void(const std::string &path)> on_change);
  ~FileWatcher();
  FileWatcher(const FileWatcher &) = delete;
  FileWatcher &operator=(const FileWatcher &) = delete;

  // Watches exactly these files from now on. A directory that cannot be watched is logged
  // once (the refresh interval still covers its files).
  void watch(const std::vector<std::string> &paths);

 private:
  void on_readable();

  EventLoop &loop_;
  std::function<void(const std::string &)> on_change_;
  int fd_ = -1;
  std::map<int, std::string> dirs_;  // watch descriptor -> directory
  std::map<std::string, std::map<std::string, std::string>> files_;  // dir -> name -> path
};

}  // namespace sluice::sluiced
