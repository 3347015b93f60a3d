// The dynamic entries' store: an SQLite database in sluiced's state directory (WAL mode), mirrored
// in memory. One process owns it at a time (a lock file beside it); every change is committed to
// the database before it shows in memory, so an entry a caller was told about survives a kill -9.
//
// Time is the caller's: every call that needs "now" takes the wall clock's unix seconds, so the
// daemon decides which clock and the tests inject one. Expiries are absolute unix times; see
// docs/sluiced.md, "Dynamic entries", for what a clock jump does.
//
// Not thread-safe: the daemon's event loop owns it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dynamic_entry.h"
#include "sluice/reputation/source.h"

namespace sluice::sluiced {

// The state directory or its database cannot be used (unwritable, in use, written by a newer
// sluiced, a database that is not ours, a write that failed). The message names the file.
class StoreError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

inline constexpr size_t kMaxDynamicEntries = 1000000;
inline constexpr int kStoreSchemaVersion = 1;
inline constexpr const char *kStoreFileName = "dynamic.db";

struct StoreOptions {
  std::string state_dir = "/var/lib/sluice";
};

// What open() found and did, for the daemon's log.
struct OpenReport {
  // The corrupt database moved aside (with its -wal and -shm files), when there was one.
  std::optional<std::string> set_aside;
  std::vector<std::string> notices;   // one line each, for the log
  std::vector<DynamicEntry> expired;  // entries whose expiry passed while sluiced was down
};

class DynamicStore {
 public:
  // Creates the state directory (0750) and the database when missing, takes the lock, checks the
  // database (its application id, schema version, integrity and every row) and loads it, then
  // removes the entries expired at `now`. A database that is damaged (not SQLite, failing the
  // integrity check, a row that does not parse) is never written to: it is moved aside as
  // dynamic.db.corrupt-<UTC time> and a new, empty one is made; report->set_aside says where it
  // went. Throws StoreError when the directory cannot be used, another process holds the lock,
  // or the file is a database of something else or of a newer schema (both left untouched).
  static std::unique_ptr<DynamicStore> open(const StoreOptions &opts, int64_t now,
                                            OpenReport *report = nullptr);
  ~DynamicStore();
  DynamicStore(const DynamicStore &) = delete;
  DynamicStore &operator=(const DynamicStore &) = delete;

  // Adds or replaces (latest wins) the entry of e.prefix. Returns the entry it replaced.
  // Throws EntryError for a bad reason/origin text, a score on a non-score action, or the
  // kMaxDynamicEntries limit; StoreError when the database write fails (nothing changes then).
  std::optional<DynamicEntry> set(const DynamicEntry &e);
  // Removes the entry of exactly this prefix; returns it, nullopt when there was none.
  std::optional<DynamicEntry> unset(const DynamicPrefix &p);
  // The undo: removes every penalty (a deny or a positive score) whose prefix covers `a`, a
  // wider prefix as a whole. Allows and negative or zero scores stay. Returns what it removed.
  std::vector<DynamicEntry> clear(const reputation::IpAddress &a);
  // Removes the entries whose expiry is at or before `now`; returns them.
  std::vector<DynamicEntry> expire(int64_t now);
  // The earliest expiry of any entry, nullopt when nothing expires.
  std::optional<int64_t> next_expiry() const;

  // Every entry, by family, address, length.
  std::vector<DynamicEntry> list() const;
  size_t size() const { return entries_.size(); }
  // Entries covering `a` and not expired at `now`, most specific first: the first one decides
  // the dynamic entries' contribution to `a`.
  std::vector<DynamicEntry> covering(const reputation::IpAddress &a, int64_t now) const;
  // The dynamic entries as one source of the table (reputation's compile model): every entry not
  // expired at `now`, weight = its score (0 for allow and deny), flags SL_REP_ALLOW or
  // SL_REP_DENY, line = its 1-based position in list(). Pair it with source_config().
  reputation::ParsedSource contribution(int64_t now, uint16_t source_index = 0) const;
  static reputation::SourceConfig source_config();
  // Bumped by every change (set, unset, clear, expire that removed something).
  uint64_t generation() const { return generation_; }

  const std::string &path() const { return path_; }

 private:
  DynamicStore() = default;
  void exec(const char *sql);
  void remember(const DynamicEntry &e);
  void forget(const DynamicPrefix &p);
  void write_insert(const DynamicEntry &e);
  void write_delete(const DynamicPrefix &p);
  void begin();
  void commit();
  void rollback() noexcept;
  // One transaction around `write`: committed, or rolled back and the error rethrown.
  template <typename F>
  void transaction(F &&write) {
    begin();
    try {
      write();
    } catch (...) {
      rollback();
      throw;
    }
    commit();
  }
  // Every entry of `gone` deleted in one transaction, then forgotten; the generation counts up.
  void remove_entries(const std::vector<DynamicEntry> &gone);
  [[noreturn]] void fail(const std::string &what) const;

  std::string dir_;
  std::string path_;
  int lock_fd_ = -1;
  sqlite3 *db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr;
  sqlite3_stmt *delete_ = nullptr;
  std::map<DynamicPrefix, DynamicEntry> entries_;
  std::set<std::pair<int64_t, DynamicPrefix>>
      expiries_;  // (expires, prefix) of entries that expire
  uint64_t generation_ = 0;
};

}  // namespace sluice::sluiced
