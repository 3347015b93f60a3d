#include "store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>

#include "core/sl_shared.h"
#include "input_text.h"

namespace sluice::sluiced {

namespace fs = std::filesystem;
using reputation::IpAddress;
using reputation::U128;

namespace {

// 'sldy' in the database header: a sluice dynamic-entries store, not some other SQLite file.
constexpr int32_t kApplicationId = 0x736c6479;

constexpr const char *kSchema =
    "CREATE TABLE dynamic_entries("
    " prefix TEXT PRIMARY KEY NOT NULL,"  // canonical, with the length: 198.18.0.0/24
    " action TEXT NOT NULL,"              // score | allow | deny
    " score INTEGER NOT NULL,"            // 0 unless action = score
    " created INTEGER NOT NULL,"          // unix seconds
    " expires INTEGER,"                   // unix seconds; NULL: never
    " reason TEXT NOT NULL,"
    " origin TEXT NOT NULL"
    ") WITHOUT ROWID";

std::string errno_text(int err) {
  return std::strerror(err);
}

// A damaged database: moved aside, never used or written.
struct Corrupt {
  std::string why;
};

class Db {
 public:
  Db() = default;
  ~Db() { close(); }
  Db(const Db &) = delete;
  Db &operator=(const Db &) = delete;
  void close() {
    if (db) sqlite3_close_v2(db);
    db = nullptr;
  }
  sqlite3 *release() {
    sqlite3 *d = db;
    db = nullptr;
    return d;
  }
  sqlite3 *db = nullptr;
};

class Stmt {
 public:
  Stmt(sqlite3 *db, const char *sql) { rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  Stmt(const Stmt &) = delete;
  Stmt &operator=(const Stmt &) = delete;
  sqlite3_stmt *s = nullptr;
  int rc;
};

bool is_damage(int rc) {
  rc &= 0xff;
  return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
}

// One integer from a PRAGMA; Corrupt when the file is not a database.
int64_t pragma_int(sqlite3 *db, const char *sql, const std::string &path) {
  Stmt st(db, sql);
  int rc = st.rc == SQLITE_OK ? sqlite3_step(st.s) : st.rc;
  if (is_damage(rc)) throw Corrupt{sqlite3_errmsg(db)};
  if (rc != SQLITE_ROW)
    throw StoreError(fmt::format("{}: cannot read: {}", path, sqlite3_errmsg(db)));
  return sqlite3_column_int64(st.s, 0);
}

std::string column_text(sqlite3_stmt *s, int col) {
  const unsigned char *t = sqlite3_column_text(s, col);
  return t ? std::string(reinterpret_cast<const char *>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s, col)))
           : std::string();
}

// A row as the store wrote it, or Corrupt saying what is wrong with it.
DynamicEntry read_row(sqlite3_stmt *s) {
  const std::string key = column_text(s, 0);
  auto bad = [&](std::string_view why) {
    return Corrupt{fmt::format("entry {}: {}", shown(key), why)};
  };
  for (int col : {0, 1, 5, 6})
    if (sqlite3_column_type(s, col) != SQLITE_TEXT) throw bad("a text column is not text");
  for (int col : {2, 3})
    if (sqlite3_column_type(s, col) != SQLITE_INTEGER) throw bad("a number column is not a number");
  if (sqlite3_column_type(s, 4) != SQLITE_INTEGER && sqlite3_column_type(s, 4) != SQLITE_NULL)
    throw bad("the expiry is not a number");
  DynamicEntry e;
  try {
    e.prefix = parse_prefix(key);
    if (format_prefix(e.prefix) != key) throw bad("the prefix is not in its canonical form");
    auto action = action_from_string(column_text(s, 1));
    if (!action) throw bad("unknown action");
    e.action = *action;
    const int64_t score = sqlite3_column_int64(s, 2);
    if (score < INT32_MIN || score > INT32_MAX || (e.action != Action::kScore && score != 0))
      throw bad("score out of range");
    e.score = static_cast<int32_t>(score);
    e.created = sqlite3_column_int64(s, 3);
    if (sqlite3_column_type(s, 4) == SQLITE_INTEGER) e.expires = sqlite3_column_int64(s, 4);
    e.reason = column_text(s, 5);
    e.origin = column_text(s, 6);
    check_text(e.reason, kMaxReasonBytes, "reason");
    check_text(e.origin, kMaxOriginBytes, "origin");
  } catch (const EntryError &x) {
    throw bad(x.what());
  }
  return e;
}

std::string utc_stamp(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Moves the database and its WAL and shared-memory files aside; returns the new name.
std::string set_aside(const std::string &path, int64_t now) {
  std::string base = path + ".corrupt-" + utc_stamp(now);
  std::string to = base;
  for (int n = 1; fs::exists(to) || fs::exists(to + "-wal"); ++n)
    to = fmt::format("{}.{}", base, n);
  for (const char *suffix : {"-wal", "-shm", "-journal", ""}) {
    const std::string from = path + suffix;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    if (::rename(from.c_str(), (to + suffix).c_str()) != 0)
      throw StoreError(fmt::format("{}: damaged, and cannot be moved aside to {}: {}", path,
                                   to + suffix, errno_text(errno)));
  }
  return to;
}

}  // namespace

std::unique_ptr<DynamicStore> DynamicStore::open(const StoreOptions &opts, int64_t now,
                                                 OpenReport *report) {
  OpenReport local;
  if (!report) report = &local;
  std::unique_ptr<DynamicStore> st(new DynamicStore());
  st->dir_ = opts.state_dir;
  st->path_ = (fs::path(opts.state_dir) / kStoreFileName).string();
  const std::string &dir = st->dir_;
  const std::string &path = st->path_;

  // The state directory: made when missing (systemd's StateDirectory= makes it otherwise).
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (!fs::create_directories(dir, ec))
      throw StoreError(fmt::format("{}: cannot create the state directory: {}", dir, ec.message()));
    ::chmod(dir.c_str(), 0750);
  } else if (!fs::is_directory(dir, ec)) {
    throw StoreError(fmt::format("{}: the state directory is not a directory", dir));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw StoreError(
        fmt::format("{}: the state directory is not writable: {}", dir, errno_text(errno)));

  // One owner: a second sluiced on the same state directory is refused, not interleaved.
  const std::string lock = path + ".lock";
  st->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (st->lock_fd_ < 0)
    throw StoreError(
        fmt::format("{}: cannot open the lock file: {} (the state directory must be "
                    "writable by sluiced)",
                    lock, errno_text(errno)));
  if (::flock(st->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[24] = {};
    ssize_t n = ::pread(st->lock_fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? fmt::format("pid {}", shown(std::string_view(pid, n), false))
                               : std::string("another process");
    if (err == EWOULDBLOCK)
      throw StoreError(
          fmt::format("{}: in use by {} (it holds {}); is another sluiced running "
                      "with the same state directory?",
                      path, holder, lock));
    throw StoreError(fmt::format("{}: cannot lock: {}", lock, errno_text(err)));
  }
  const std::string me = std::to_string(::getpid());
  if (::ftruncate(st->lock_fd_, 0) != 0 ||
      ::pwrite(st->lock_fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size()))
    throw StoreError(fmt::format("{}: cannot write: {}", lock, errno_text(errno)));

  // An existing database: checked before anything writes to it.
  Db db;
  bool fresh = !fs::exists(path, ec);
  if (!fresh) {
    try {
      if (sqlite3_open_v2(path.c_str(), &db.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
                          nullptr) != SQLITE_OK)
        throw StoreError(fmt::format("{}: cannot open: {}", path,
                                     db.db ? sqlite3_errmsg(db.db) : "out of memory"));
      if (sqlite3_db_readonly(db.db, "main") == 1)
        throw StoreError(fmt::format("{}: read-only; sluiced must be able to write it", path));
      sqlite3_busy_timeout(db.db, 1000);
      {
        Stmt check(db.db, "PRAGMA quick_check");
        int rc = check.rc == SQLITE_OK ? sqlite3_step(check.s) : check.rc;
        if (is_damage(rc)) throw Corrupt{sqlite3_errmsg(db.db)};
        if (rc != SQLITE_ROW)
          throw StoreError(fmt::format("{}: cannot read: {}", path, sqlite3_errmsg(db.db)));
        std::string verdict = column_text(check.s, 0);
        if (verdict != "ok") throw Corrupt{"integrity check: " + verdict};
      }
      const int64_t app = pragma_int(db.db, "PRAGMA application_id", path);
      const int64_t version = pragma_int(db.db, "PRAGMA user_version", path);
      const int64_t tables = pragma_int(db.db, "SELECT count(*) FROM sqlite_master", path);
      if (app == 0 && version == 0 && tables == 0) {
        fresh = true;  // an empty file (or an empty database): made into a store below
      } else if (app != kApplicationId) {
        throw StoreError(
            fmt::format("{}: an SQLite database of something else (application id "
                        "{:#x}), not sluiced's dynamic entries; left untouched",
                        path, static_cast<uint32_t>(app)));
      } else if (version > kStoreSchemaVersion) {
        throw StoreError(
            fmt::format("{}: written by a newer sluiced (schema {}, this one reads "
                        "{}); left untouched",
                        path, version, kStoreSchemaVersion));
      } else if (version != kStoreSchemaVersion) {
        throw Corrupt{fmt::format("schema version {}", version)};
      } else {
        Stmt rows(db.db,
                  "SELECT prefix, action, score, created, expires, reason, origin "
                  "FROM dynamic_entries");
        if (is_damage(rows.rc)) throw Corrupt{sqlite3_errmsg(db.db)};
        if (rows.rc != SQLITE_OK) throw Corrupt{sqlite3_errmsg(db.db)};
        int rc;
        while ((rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
          DynamicEntry e = read_row(rows.s);
          if (st->entries_.count(e.prefix)) throw Corrupt{"a prefix listed twice"};
          st->remember(e);
        }
        if (rc != SQLITE_DONE) {
          if (is_damage(rc)) throw Corrupt{sqlite3_errmsg(db.db)};
          throw StoreError(fmt::format("{}: cannot read: {}", path, sqlite3_errmsg(db.db)));
        }
      }
    } catch (const Corrupt &c) {
      db.close();
      st->entries_.clear();
      st->expiries_.clear();
      std::string to = set_aside(path, now);
      report->set_aside = to;
      report->notices.push_back(
          fmt::format("{}: damaged ({}); moved aside to {} and starting with no dynamic entries",
                      path, c.why, to));
      fresh = true;
    }
  }

  if (!db.db) {
    if (sqlite3_open_v2(path.c_str(), &db.db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                        nullptr) != SQLITE_OK)
      throw StoreError(fmt::format("{}: cannot create: {}", path,
                                   db.db ? sqlite3_errmsg(db.db) : "out of memory"));
    sqlite3_busy_timeout(db.db, 1000);
    ::chmod(path.c_str(), 0640);
  }
  st->db_ = db.release();
  // WAL: readers (sqlite3 on the command line) never block the daemon; FULL: a committed entry
  // survives a power cut, not only a crash of sluiced.
  {
    Stmt wal(st->db_, "PRAGMA journal_mode=WAL");
    int rc = wal.rc == SQLITE_OK ? sqlite3_step(wal.s) : wal.rc;
    if (rc != SQLITE_ROW || column_text(wal.s, 0) != "wal") st->fail("cannot switch to WAL mode");
  }
  st->exec("PRAGMA synchronous=FULL");
  if (fresh) {
    st->begin();
    st->exec(kSchema);
    st->exec(fmt::format("PRAGMA application_id={}", kApplicationId).c_str());
    st->exec(fmt::format("PRAGMA user_version={}", kStoreSchemaVersion).c_str());
    st->commit();
  }
  if (sqlite3_prepare_v2(st->db_,
                         "INSERT OR REPLACE INTO dynamic_entries "
                         "(prefix, action, score, created, expires, reason, origin) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         -1, &st->insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(st->db_, "DELETE FROM dynamic_entries WHERE prefix = ?1", -1, &st->delete_,
                         nullptr) != SQLITE_OK)
    st->fail("cannot prepare statements");

  report->expired = st->expire(now);
  if (!report->expired.empty())
    report->notices.push_back(fmt::format("{}: {} dynamic entries expired while sluiced was down",
                                          path, report->expired.size()));
  return st;
}

DynamicStore::~DynamicStore() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(delete_);
  if (db_) sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void DynamicStore::fail(const std::string &what) const {
  throw StoreError(fmt::format("{}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "closed"));
}

void DynamicStore::exec(const char *sql) {
  char *err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError(fmt::format("{}: cannot write: {}", path_, msg));
  }
}

void DynamicStore::begin() {
  exec("BEGIN IMMEDIATE");
}

void DynamicStore::commit() {
  try {
    exec("COMMIT");
  } catch (...) {
    rollback();
    throw;
  }
}

void DynamicStore::rollback() noexcept {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void DynamicStore::write_insert(const DynamicEntry &e) {
  const std::string key = format_prefix(e.prefix);
  const std::string_view action = to_string(e.action);
  sqlite3_reset(insert_);
  sqlite3_bind_text(insert_, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(insert_, 2, action.data(), static_cast<int>(action.size()), SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 3, e.score);
  sqlite3_bind_int64(insert_, 4, e.created);
  if (e.expires)
    sqlite3_bind_int64(insert_, 5, *e.expires);
  else
    sqlite3_bind_null(insert_, 5);
  sqlite3_bind_text(insert_, 6, e.reason.data(), static_cast<int>(e.reason.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(insert_, 7, e.origin.data(), static_cast<int>(e.origin.size()),
                    SQLITE_TRANSIENT);
  if (sqlite3_step(insert_) != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(insert_);
    throw StoreError(fmt::format("{}: cannot write: {}", path_, msg));
  }
  sqlite3_reset(insert_);
}

void DynamicStore::write_delete(const DynamicPrefix &p) {
  const std::string key = format_prefix(p);
  sqlite3_reset(delete_);
  sqlite3_bind_text(delete_, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(delete_) != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(delete_);
    throw StoreError(fmt::format("{}: cannot write: {}", path_, msg));
  }
  sqlite3_reset(delete_);
}

void DynamicStore::remember(const DynamicEntry &e) {
  forget(e.prefix);
  entries_[e.prefix] = e;
  if (e.expires) expiries_.insert({*e.expires, e.prefix});
}

void DynamicStore::forget(const DynamicPrefix &p) {
  auto it = entries_.find(p);
  if (it == entries_.end()) return;
  if (it->second.expires) expiries_.erase({*it->second.expires, p});
  entries_.erase(it);
}

std::optional<DynamicEntry> DynamicStore::set(const DynamicEntry &e) {
  // The same checks as every input gets, so no caller can store what open() would refuse.
  DynamicPrefix canonical = parse_prefix(format_prefix(e.prefix));
  if (!(canonical == e.prefix))
    throw EntryError(fmt::format("{}: not a valid prefix", format_prefix(e.prefix)));
  check_text(e.reason, kMaxReasonBytes, "reason");
  check_text(e.origin, kMaxOriginBytes, "origin");
  if (e.action != Action::kScore && e.score != 0)
    throw EntryError(
        fmt::format("{}: a score with --{}", format_prefix(e.prefix), to_string(e.action)));
  auto old = entries_.find(e.prefix);
  if (old == entries_.end() && entries_.size() >= kMaxDynamicEntries)
    throw EntryError(fmt::format("{}: {} dynamic entries already, the most the store keeps",
                                 format_prefix(e.prefix), kMaxDynamicEntries));
  std::optional<DynamicEntry> replaced;
  if (old != entries_.end()) replaced = old->second;
  transaction([&] { write_insert(e); });
  remember(e);
  ++generation_;
  return replaced;
}

std::optional<DynamicEntry> DynamicStore::unset(const DynamicPrefix &p) {
  auto it = entries_.find(p);
  if (it == entries_.end()) return std::nullopt;
  DynamicEntry old = it->second;
  transaction([&] { write_delete(p); });
  forget(p);
  ++generation_;
  return old;
}

std::vector<DynamicEntry> DynamicStore::clear(const IpAddress &a) {
  std::vector<DynamicEntry> gone;
  for (const DynamicEntry &e : covering(a, INT64_MIN))
    if (e.is_penalty()) gone.push_back(e);
  remove_entries(gone);
  return gone;
}

std::vector<DynamicEntry> DynamicStore::expire(int64_t now) {
  std::vector<DynamicEntry> gone;
  for (auto it = expiries_.begin(); it != expiries_.end() && it->first <= now; ++it)
    gone.push_back(entries_.at(it->second));
  remove_entries(gone);
  return gone;
}

void DynamicStore::remove_entries(const std::vector<DynamicEntry> &gone) {
  if (gone.empty()) return;
  transaction([&] {
    for (const auto &e : gone) write_delete(e.prefix);
  });
  for (const auto &e : gone) forget(e.prefix);
  ++generation_;
}

std::optional<int64_t> DynamicStore::next_expiry() const {
  if (expiries_.empty()) return std::nullopt;
  return expiries_.begin()->first;
}

std::vector<DynamicEntry> DynamicStore::list() const {
  std::vector<DynamicEntry> out;
  out.reserve(entries_.size());
  for (const auto &[k, e] : entries_) out.push_back(e);
  return out;
}

std::vector<DynamicEntry> DynamicStore::covering(const IpAddress &a, int64_t now) const {
  std::vector<DynamicEntry> out;
  const int bits = a.family == 4 ? 32 : 128;
  const int min = a.family == 4 ? kMinPrefixLenV4 : kMinPrefixLenV6;
  const U128 addr = a.family == 4 ? U128{a.v4} : a.v6;
  for (int len = bits; len >= min; --len) {
    DynamicPrefix p;
    p.family = a.family;
    p.len = static_cast<uint8_t>(len);
    p.addr = a.family == 4 ? U128{reputation::prefix_mask<uint32_t>(len)} & addr
                           : reputation::prefix_mask<U128>(len) & addr;
    auto it = entries_.find(p);
    if (it != entries_.end() && !it->second.expired_at(now)) out.push_back(it->second);
  }
  return out;
}

reputation::ParsedSource DynamicStore::contribution(int64_t now, uint16_t source_index) const {
  reputation::ParsedSource out;
  uint32_t line = 0;
  for (const auto &[p, e] : entries_) {
    ++line;
    if (e.expired_at(now)) continue;
    const uint8_t flags = e.action == Action::kAllow  ? SL_REP_ALLOW
                          : e.action == Action::kDeny ? SL_REP_DENY
                                                      : 0;
    if (p.family == 4) {
      reputation::EntryV4 x{
          static_cast<uint32_t>(p.addr), e.score, line, 0, source_index, p.len, false};
      x.flags = flags & 3u;
      out.v4.push_back(x);
    } else {
      reputation::EntryV6 x{p.addr, e.score, line, 0, source_index, p.len, false};
      x.flags = flags & 3u;
      out.v6.push_back(x);
    }
  }
  out.lines = line;
  out.entries = out.v4.size() + out.v6.size();
  return out;
}

reputation::SourceConfig DynamicStore::source_config() {
  reputation::SourceConfig c;
  c.name = "dynamic";
  c.type = reputation::SourceType::kList;
  c.weight = 0;
  return c;
}

}  // namespace sluice::sluiced
