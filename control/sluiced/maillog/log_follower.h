// Follows one log file the way `tail -F` does, for a daemon's event loop: the owner adds
// inotify_fd() to its loop (calling on_inotify() when readable), calls poll() every second or so,
// and calls again soon whenever either returns true (more to read: each call reads at most
// max_read_bytes, so a huge backlog never holds the loop).
//
//   - Starts at the file's end (from_start = false; a partial last line there is skipped up to
//     its newline) or at its start. A file that does not exist yet is read from its start when
//     it appears.
//   - Rotation by rename (mail.log -> mail.log.1, a new mail.log): the old file is read to its
//     end, then the new one from its start. Copytruncate (the file shrinks below what was read):
//     read again from the start. A partial line pending at a rotation or truncation is dropped.
//   - Lines longer than max_line bytes are counted and dropped whole, never cut into pieces.
//   - Opens only `path`, with O_NOFOLLOW: when its last component is a symbolic link it is not
//     read (an error, said once until it changes). Directories on the way may be links. Only
//     regular files are read.
// inotify watches the file's directory (appends, creations, renames, deletions of the file
// show there); where it cannot (no directory yet, no inotify), poll() alone keeps up.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice::sluiced::maillog {

struct FollowerOptions {
  std::string path;
  bool from_start = false;
  size_t max_line = 8192;                   // bytes, without the newline
  size_t max_read_bytes = size_t{1} << 20;  // per on_inotify()/poll() call
};

struct FollowerCounters {
  uint64_t lines = 0;        // complete lines handed on
  uint64_t bytes = 0;        // read in all
  uint64_t overlong = 0;     // lines longer than max_line, dropped
  uint64_t rotations = 0;    // switches to a new file at the path (rename rotation)
  uint64_t truncations = 0;  // copytruncate: read again from the start
  uint64_t opens = 0;        // files opened
  uint64_t open_errors = 0;  // failed opens other than "no such file"
};

class LogFollower {
 public:
  using LineHandler = std::function<void(std::string_view line)>;
  // Does not open anything yet: the first poll() does.
  LogFollower(FollowerOptions opts, LineHandler on_line);
  ~LogFollower();
  LogFollower(const LogFollower &) = delete;
  LogFollower &operator=(const LogFollower &) = delete;

  // Opens the file now, if it exists, and places the start (its end unless from_start) without
  // reading: what is appended from here on is read. The first poll() does this if not done.
  void start();

  // The inotify descriptor to add to the loop (-1 without inotify).
  int inotify_fd() const { return inotify_fd_; }
  // Reads the pending inotify events; when one concerns the file, does what poll() does.
  bool on_inotify();
  // Checks the path (appeared, replaced, truncated) and reads what was added. True: there is
  // more to read now; call again soon.
  bool poll();

  const FollowerCounters &counters() const { return counters_; }
  bool is_open() const { return fd_ >= 0; }
  // Why the file is not read now ("" while it is, or while it simply does not exist yet).
  const std::string &problem() const { return problem_; }
  off_t offset() const { return offset_; }

 private:
  void try_open(bool at_startup);
  void close_file();
  void watch_directory();
  bool read_some(size_t &budget);  // true: stopped at the budget with more to read
  void take(const char *data, size_t n);
  void set_problem(std::string p);

  FollowerOptions opts_;
  LineHandler on_line_;
  std::string dir_, name_;
  int inotify_fd_ = -1, watch_ = -1;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  bool started_ = false;     // the first poll() has run
  bool skipping_ = false;    // dropping bytes up to the next newline (an overlong or cut line)
  bool moved_away_ = false;  // the open file was renamed or deleted from the path
  std::string partial_;
  std::string problem_;
  FollowerCounters counters_;
};

}  // namespace sluice::sluiced::maillog
