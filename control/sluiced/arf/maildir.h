// A maildir whose new mails are complaints (docs/complaints.md, "The maildir"): every file of
// PATH/new/ is read once, handed over, and moved to PATH/cur/ with the maildir info suffix, so
// it is never read again and a mail client still shows it:
//   accepted or duplicate  cur/NAME:2,S   (seen)
//   refused                cur/NAME:2,F   (flagged, unseen: left for an operator to look at)
// Files are opened relative to new/ without following symlinks (O_NOFOLLOW), only regular files
// are read, and their size is checked before reading. A symlink, a directory, a fifo or a file
// over the size limit is never read and is moved as refused. Names starting with '.' are left
// alone. Nothing here blocks: new/ is read in bounded turns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

namespace sluice::sluiced::arf {

enum class MailFate { kAccepted, kDuplicate, kRefused };

// One file of new/ as it was found.
struct MailFile {
  std::string name;   // in new/
  bool read = false;  // `bytes` holds the whole file
  std::string bytes;
  std::string reason;  // when not read: "not_regular", "too_large", "unreadable"
  std::string detail;  // when not read: for the log
};

class Maildir {
 public:
  // Opens PATH/new and PATH/cur (both must be directories) and an inotify watch on new/.
  // Throws sluice::Error naming what is missing.
  explicit Maildir(std::string path);
  ~Maildir();
  Maildir(const Maildir &) = delete;
  Maildir &operator=(const Maildir &) = delete;

  // Readable when a mail arrived in new/ (moved or linked in, or written and closed).
  int inotify_fd() const { return inotify_fd_; }
  void drain_events();

  struct Turn {
    size_t handled = 0;
    bool more = false;         // stopped at `max`: call again
    uint64_t move_errors = 0;  // files that could not be moved to cur/ (left in new/, skipped)
  };
  using Handler = std::function<MailFate(const MailFile &)>;
  // Hands at most `max` files of new/ to `handle`, files over `max_bytes` unread, and moves each
  // to cur/ as its fate says.
  Turn scan(size_t max, size_t max_bytes, const Handler &handle);

  const std::string &path() const { return path_; }
  // "NAME:2,S": the name in cur/ for a file of new/ (any info suffix replaced).
  static std::string cur_name(std::string_view name, MailFate fate);

 private:
  MailFile read_file(const std::string &name, size_t max_bytes) const;

  std::string path_;
  int new_fd_ = -1, cur_fd_ = -1, inotify_fd_ = -1;
  std::set<std::string> stuck_;  // could not be moved: not handled again (bounded)
};

}  // namespace sluice::sluiced::arf
