// The de-duplication keys of the reports taken recently (arf_report.h: ArfReport::key): a report
// delivered twice (the feedback loop retries, the maildir and sluicectl both get it) counts once.
// Bounded: at most `capacity` keys, the oldest forgotten first. Saved to a file of 16-byte
// records when sluiced stops and read back when it starts (a missing or damaged file: an empty
// memory, said in the log by the caller).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>

namespace sluice::sluiced::arf {

class SeenReports {
 public:
  using Key = std::array<uint8_t, 16>;
  explicit SeenReports(size_t capacity) : capacity_(capacity) {}

  // True when `key` is new (it is remembered now), false for a key seen before.
  bool insert(const Key &key);
  bool contains(const Key &key) const { return keys_.count(key) != 0; }
  size_t size() const { return order_.size(); }
  uint64_t evicted() const { return evicted_; }

  // Writes the keys, oldest first, through PATH.tmp and a rename. False on an I/O error.
  bool save(const std::string &path) const;
  // Reads a file save() wrote (the newest `capacity` keys of it). False if it is missing or
  // its size is not a whole number of records; the memory is then left empty.
  bool load(const std::string &path);

 private:
  size_t capacity_;
  std::set<Key> keys_;
  std::deque<Key> order_;
  uint64_t evicted_ = 0;
};

}  // namespace sluice::sluiced::arf
