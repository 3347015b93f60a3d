// "The last snapshot plus deltas": the table a data plane runs now, to which the next delta
// applies. sluice-dp keeps one in memory (DpControl); the XDP loader, whose processes exit
// between commands, saves it next to the instance and restores it for the next delta.
//
// A saved state carries the id of its owner (for XDP: the instance id drawn at attach). It is
// restored only by the same owner, so a delta never applies to a table an earlier
// attachment of the same name ran.
#pragma once

#include <cstdint>
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
  // The table now running (after a full load, or with_delta()'s result once it is in place).
  void commit(Snapshot table) { current_ = std::move(table); }

  // DIR/table.snapshot and DIR/table.owner ("sluice-table-owner HEX" and a newline), each
  // written to a temporary file and renamed, the owner last. Throws Error.
  void save(const std::string &dir, uint64_t owner) const;
  // The table saved in FROM (by save(), for whatever owner) saved in DIR for `owner` as well,
  // its file hard-linked instead of written again: no copy of the table, whatever its size.
  // For a caller that knows FROM's table is the one DIR must hold (it restored it from there).
  // FROM's next save() replaces its file by a rename, so DIR's link keeps this table. Throws
  // Error (e.g. FROM holds no table, or DIR is on another file system).
  static void save_link(const std::string &from, const std::string &dir, uint64_t owner);
  // Throws StaleStateError when DIR holds no state or the state of another owner, FormatError
  // for a damaged file (DIR/table.owner:1: reason).
  static LiveTable restore(const std::string &dir, uint64_t owner);

 private:
  Snapshot current_;
};

}  // namespace sluice::reputation
