// Saved tables kept in memory by the process that restored or saved them, so that a process
// making many changes to one data plane (sluiced driving an XDP instance) reads a state folder's
// table from disk once, not twice per change (the running table and the standby, each a base
// snapshot checked and a delta applied: at a million entries most of a one-entry push).
//
// A kept table stands in for the folder only while the folder still holds it: every restore
// reads the folder's owner line and its table.head (the table's version, counts and compile time,
// 64 bytes) and compares them with the kept table's. A folder another process changed since
// (sluicectl, a restarted daemon, a save cut short) is read again, as LiveTable::restore would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>

#include "sluice/reputation/live_table.h"

namespace sluice::reputation {

class LiveTableCache {
 public:
  // At most max_folders tables are kept; the one used longest ago goes first.
  explicit LiveTableCache(size_t max_folders = 8) : max_folders_(max_folders) {}

  // LiveTable::restore(dir, owner), answered from memory when the folder still holds the table
  // kept for it. Throws as LiveTable::restore does (StaleStateError for a missing or other
  // owner, whether or not a table is kept). A table read from disk is kept.
  LiveTable restore(const std::string &dir, uint64_t owner);
  // `table` is the one DIR holds for `owner` now (after table.save(dir, owner) or save_link).
  void keep(const std::string &dir, uint64_t owner, const LiveTable &table);
  // DIR holds no table this process knows (its save failed, it was removed).
  void forget(const std::string &dir);

  struct Stats {
    uint64_t hits = 0;    // restores answered from memory
    uint64_t misses = 0;  // restores that read the folder
    size_t kept = 0;
  };
  Stats stats() const;

 private:
  struct Kept {
    std::string dir;
    uint64_t owner;
    SnapshotHeader head;  // the table's file_header(), as table.head holds it
    LiveTable table;
  };

  size_t max_folders_;
  mutable std::mutex m_;
  std::list<Kept> kept_;  // most recently used first
  Stats stats_;
};

}  // namespace sluice::reputation
