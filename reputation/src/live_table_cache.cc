#include "sluice/reputation/live_table_cache.h"

#include <cstring>

namespace sluice::reputation {
namespace {

// DIR's saved table has this header. A damaged table.head is not: the folder is read whole.
bool holds(const std::string &dir, const SnapshotHeader &head) {
  try {
    const SnapshotHeader saved = LiveTable::saved_header(dir).header;
    return std::memcmp(&saved, &head, sizeof head) == 0;
  } catch (const Error &) {
    return false;
  }
}

}  // namespace

LiveTable LiveTableCache::restore(const std::string &dir, uint64_t owner) {
  {
    std::lock_guard lock(m_);
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->dir != dir) continue;
      // The owner line first: a save cut short has none, and restore() must refuse it.
      const std::optional<uint64_t> saved = LiveTable::saved_owner(dir);
      if (saved && *saved == owner && it->owner == owner && holds(dir, it->head)) {
        kept_.splice(kept_.begin(), kept_, it);
        ++stats_.hits;
        return kept_.front().table;
      }
      kept_.erase(it);
      break;
    }
    ++stats_.misses;
  }
  // Read outside the lock: a large table takes a while, and other folders need not wait.
  LiveTable t = LiveTable::restore(dir, owner);
  keep(dir, owner, t);
  return t;
}

void LiveTableCache::keep(const std::string &dir, uint64_t owner, const LiveTable &table) {
  std::lock_guard lock(m_);
  for (auto it = kept_.begin(); it != kept_.end(); ++it)
    if (it->dir == dir) {
      kept_.erase(it);
      break;
    }
  if (max_folders_ == 0) return;
  kept_.push_front(Kept{dir, owner, table.current().file_header(), table});
  while (kept_.size() > max_folders_) kept_.pop_back();
}

void LiveTableCache::forget(const std::string &dir) {
  std::lock_guard lock(m_);
  kept_.remove_if([&](const Kept &k) { return k.dir == dir; });
}

LiveTableCache::Stats LiveTableCache::stats() const {
  std::lock_guard lock(m_);
  Stats s = stats_;
  s.kept = kept_.size();
  return s;
}

}  // namespace sluice::reputation
