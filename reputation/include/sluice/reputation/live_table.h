// "The last snapshot plus deltas": the table a data plane runs now, to which the next delta
// applies. sluice-dp keeps one in memory (DpControl); the XDP loader, whose processes exit
// between commands, saves it next to the instance and restores it for the next delta.
//
// A saved state carries the id of its owner (for XDP: the instance id drawn at attach). It is
// restored only by the same owner, so a delta never applies to a table an earlier
// attachment of the same name ran.
//
// Saved, a table is a base snapshot plus the delta from it to the table, so that a small change
// to a large table writes the change, not the table: the base is written again only when there
// is none to build on or the delta has grown past an eighth of it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::reputation {

// The saved state is missing or belongs to another owner: only a full snapshot load can follow.
class StaleStateError : public Error {
 public:
  using Error::Error;
};

class LiveTable {
 public:
  LiveTable() = default;  // the empty table
  explicit LiveTable(Snapshot current) : current_(std::move(current)) {}

  const Snapshot &current() const { return current_; }
  size_t entries() const;

  // The current table with the delta applied; nothing changes until commit(). Throws Error when
  // the delta does not fit the current table.
  Snapshot with_delta(const Delta &delta) const { return apply(current_, delta); }
  // The table now running, after a full load.
  void commit(Snapshot table);
  // The table now running, with_delta(change)'s result once it is in place. The delta from the
  // base (what save() writes) and the change itself are then known without a walk over the
  // tables.
  void commit(Snapshot table, const Delta &change);

  // The change the last commit() took, and the version (checksum) of the table it applied to;
  // nullopt after a full load or a restore. With it, the difference between that earlier table
  // and a later one made by one more change is diff_within() of the two changes.
  struct LastChange {
    uint64_t from_version;
    Delta change;
  };
  const std::optional<LastChange> &last_change() const { return last_change_; }

  // Saves the table in DIR, each file written to a temporary file and renamed, the owner last
  // (for this boot: not fsynced, as the data plane it describes does not outlive a reboot):
  //   table.snapshot  the base: a snapshot file;
  //   table.delta     the delta from the base to the table (absent when they are the same);
  //   table.head      the table's own snapshot header: its version, counts and compile time;
  //   table.owner     "sluice-table-owner HEX" and a newline.
  // Only table.delta, table.head and table.owner are written when DIR's base is the one this
  // table was restored from or last saved with and the delta from it holds at most an eighth of
  // its entries; otherwise the table is written whole as the new base. Throws Error.
  void save(const std::string &dir, uint64_t owner);
  // The table saved in FROM (by save(), for whatever owner) saved in DIR for `owner` as well, its
  // files hard-linked instead of written again: no copy of the table, whatever its size. For a
  // caller that knows FROM's table is the one DIR must hold (it restored it from there). FROM's
  // next save() replaces its files by renames, so DIR's links keep this table. Throws Error
  // (e.g. FROM holds no table, or DIR is on another file system).
  static void save_link(const std::string &from, const std::string &dir, uint64_t owner);
  // Throws StaleStateError when DIR holds no state or the state of another owner, FormatError
  // for a damaged file (DIR/table.owner:1: reason), Error when the delta does not fit the base.
  static LiveTable restore(const std::string &dir, uint64_t owner);

  // What DIR's saved table is, without reading it: its snapshot header (version = checksum,
  // counts, compile time) and when it was saved. Whatever the owner. Throws Error when DIR
  // holds no saved table or a damaged header.
  struct SavedHeader {
    SnapshotHeader header;
    std::filesystem::file_time_type saved;
  };
  static SavedHeader saved_header(const std::string &dir);
  // The owner DIR's table is saved for; nullopt when DIR holds none (or a save was cut short).
  // Throws FormatError for a damaged owner file.
  static std::optional<uint64_t> saved_owner(const std::string &dir);

 private:
  Snapshot current_;
  std::optional<Snapshot> base_;    // the base of the state this table was restored or saved as
  std::optional<Delta> from_base_;  // base_ -> current_, when known without diff()
  std::optional<LastChange> last_change_;
};

}  // namespace sluice::reputation
