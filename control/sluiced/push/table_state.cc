#include "push/table_state.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "daemon/log.h"
#include "sluice/reputation/delta.h"
#include "sluice/reputation/error.h"

namespace sluice::sluiced {
namespace rep = sluice::reputation;

TableState::TableState(std::string state_dir) : state_dir_(std::move(state_dir)) {}

bool TableState::restore() {
  const std::string path = state_dir_ + "/table.snap";
  if (!std::filesystem::exists(path)) return false;
  try {
    current_ = rep::Snapshot::load(path);
    have_ = true;
    saved_ = true;
    log_info(fmt::format("table: restored version {:016x} ({} entries) from {}",
                         current_.checksum(), entries(), path));
    return true;
  } catch (const std::exception &e) {
    log_warning(std::string("table: ignoring ") + e.what());
    return false;
  }
}

uint64_t TableState::lineage_created() const {
  return have_ ? current_.created_unix() : static_cast<uint64_t>(std::time(nullptr));
}

size_t TableState::entries() const {
  return current_.hosts_v4().size() + current_.prefixes_v4().size() + current_.hosts_v6().size() +
         current_.prefixes_v6().size();
}

size_t TableState::install(const rep::Snapshot &next) {
  if (!have_) {
    const size_t entries = next.hosts_v4().size() + next.prefixes_v4().size() +
                           next.hosts_v6().size() + next.prefixes_v6().size();
    make_current(next, std::nullopt);
    return entries == 0 ? 1 : entries;
  }
  if (next.checksum() == current_.checksum()) return 0;
  rep::Delta delta = rep::diff(current_, next);
  if (delta.empty() && next.created_unix() == current_.created_unix()) return 0;
  const size_t changes = delta.size();
  make_current(next, std::move(delta));
  return changes == 0 ? 1 : changes;  // a new lineage time alone is a change too
}

size_t TableState::install(const rep::Delta &delta) {
  if (!have_) throw rep::Error("table: a delta with no table to apply it to");
  if (delta.empty()) return 0;
  make_current(rep::apply(current_, delta), delta);
  return delta.size();
}

void TableState::make_current(rep::Snapshot next, std::optional<rep::Delta> delta) {
  if (have_) {
    history_.push_back(current_);
    if (history_.size() > kHistory) history_.pop_front();
    if (delta)
      last_delta_.emplace(current_.checksum(), std::move(*delta));
    else
      last_delta_.reset();
  }
  current_ = std::move(next);
  have_ = true;
  saved_ = false;
  for (const auto &[from, file] : delta_files_) ::unlink(file.c_str());
  delta_files_.clear();
}

std::optional<std::string> TableState::delta_file_from(uint64_t from) {
  if (auto it = delta_files_.find(from); it != delta_files_.end()) return it->second;
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->checksum() != from) continue;
    std::filesystem::create_directories(state_dir_ + "/push");
    const std::string path =
        fmt::format("{}/push/delta-{:016x}-{:016x}.bin", state_dir_, from, version());
    // Handed to the data plane to read at once and rewritten by a new daemon: no fsync.
    if (last_delta_ && last_delta_->first == from)
      last_delta_->second.save(path, rep::Durability::kThisBoot);
    else
      rep::diff(*it, current_).save(path, rep::Durability::kThisBoot);
    delta_files_[from] = path;
    return path;
  }
  return std::nullopt;
}

std::string TableState::snapshot_file() {
  persist();
  return state_dir_ + "/table.snap";
}

void TableState::persist() {
  if (!have_ || saved_) return;
  current_.save(state_dir_ + "/table.snap");
  saved_ = true;
}

}  // namespace sluice::sluiced
