// The table sluiced keeps every data plane at, and the files it pushes.
//
// Versions: a data plane reports the checksum of the table image it runs
// (stats().table.version). A delta keeps the table's created_unix, so sluiced compiles every
// table of one lineage with the same created_unix (lineage_created()): the table a data plane
// has after a delta is then byte for byte the one sluiced compiled, and equal versions mean
// equal tables. The lineage starts with the first table sluiced ever built on this state
// directory; it survives restarts through STATE/table.snap.
//
// History: the last kHistory tables stay in memory, so a data plane a few versions behind
// gets one delta from its own version (its deltas in order, merged); one at a version not in
// the history (restarted, or changed by hand) gets a full load.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "sluice/reputation/delta.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::sluiced {

class TableState {
 public:
  static constexpr size_t kHistory = 8;

  // Files live in `state_dir` (table.snap) and `state_dir`/push (delta work files).
  explicit TableState(std::string state_dir);

  // Start-up: reads STATE/table.snap if it is a valid table (its lineage and content); returns
  // whether it did. A bad file is logged and ignored.
  bool restore();

  // The created_unix to compile the next table with.
  uint64_t lineage_created() const;
  // Makes `next` (compiled with lineage_created()) the current table. Returns the number of
  // entries that changed (0: the same table; nothing changes).
  size_t install(const reputation::Snapshot &next);
  // The same for a table given as its delta from the current one (a partial recompile): no
  // diff of the whole table is needed, here or for the next push.
  size_t install(const reputation::Delta &delta);

  bool has_table() const { return have_; }
  const reputation::Snapshot &current() const { return current_; }
  uint64_t version() const { return current_.checksum(); }
  size_t entries() const;

  // A delta file from the table with checksum `from` to the current one, written on first
  // use; nullopt when `from` is not in the history. Throws sluice::Error if it cannot be written.
  std::optional<std::string> delta_file_from(uint64_t from);
  // The current table as a snapshot file (STATE/table.snap), written if not yet.
  std::string snapshot_file();
  // Writes STATE/table.snap if the current table is not saved yet (what the next start reads).
  void persist();

 private:
  std::string state_dir_;
  bool have_ = false;
  reputation::Snapshot current_;
  bool saved_ = false;
  std::deque<reputation::Snapshot> history_;     // older tables, newest last
  std::map<uint64_t, std::string> delta_files_;  // from-version -> file, for current_
  // The delta from the previous table to current_ (most data planes are one version behind).
  std::optional<std::pair<uint64_t, reputation::Delta>> last_delta_;

  void make_current(reputation::Snapshot next, std::optional<reputation::Delta> delta);
};

}  // namespace sluice::sluiced
