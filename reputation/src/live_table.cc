#include "sluice/reputation/live_table.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "file_io.h"
#include "fmt/format.h"

namespace sluice::reputation {
namespace {

constexpr const char *kOwnerTag = "sluice-table-owner";
// The saved state describes a data plane that does not outlive a reboot (the XDP instance's pins
// go with it, and its next attach draws a new owner id): written for this boot only.
constexpr Durability kStateLifetime = Durability::kThisBoot;
constexpr size_t kOwnerFileMax = 64;

std::string snapshot_path(const std::string &dir) {
  return dir + "/table.snapshot";
}
std::string delta_path(const std::string &dir) {
  return dir + "/table.delta";
}
std::string head_path(const std::string &dir) {
  return dir + "/table.head";
}
std::string owner_path(const std::string &dir) {
  return dir + "/table.owner";
}

// The owner id in DIR/table.owner; nullopt when the file does not exist.
std::optional<uint64_t> read_owner(const std::string &dir) {
  const std::string path = owner_path(dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read");
  std::string text(kOwnerFileMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kOwnerFileMax) throw FormatError(path + ":1: longer than an owner line");
  // Appended, not `std::string(kOwnerTag) + " "`: GCC 12 at -O2 takes that operator+ for a
  // memcpy past a 32-byte object (-Warray-bounds, a false positive).
  std::string prefix = kOwnerTag;
  prefix += ' ';
  if (text.rfind(prefix, 0) != 0 || text.empty() || text.back() != '\n')
    throw FormatError(path + ":1: not a \"" + kOwnerTag + " HEX\" line");
  const std::string hex = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  if (hex.empty() || hex.size() > 16 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw FormatError(path + ":1: owner id is not 1-16 lowercase hex digits");
  return std::stoull(hex, nullptr, 16);
}

size_t entries_in(const Snapshot &t) {
  return t.hosts_v4().size() + t.prefixes_v4().size() + t.hosts_v6().size() +
         t.prefixes_v6().size();
}

void remove_file(const std::string &path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) throw Error(path + ": cannot remove: " + ec.message());
}

// A save starts by removing the owner line and ends by writing it: a crash part-way leaves a
// state without an owner, which restore() refuses, never a table under the wrong owner or a
// delta on the wrong base.
void begin_save(const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create: " + ec.message());
  remove_file(owner_path(dir));
}
void finish_save(const std::string &dir, uint64_t owner, const SnapshotHeader &head) {
  detail::write_file_atomic(head_path(dir), {reinterpret_cast<const uint8_t *>(&head), sizeof head},
                            kStateLifetime);
  const std::string line = fmt::format("{} {:x}\n", kOwnerTag, owner);
  detail::write_file_atomic(owner_path(dir),
                            {reinterpret_cast<const uint8_t *>(line.data()), line.size()},
                            kStateLifetime);
}

// DIR's base file is `base` (its header's checksum says so; the file was checked when saved).
bool holds_base(const std::string &dir, const Snapshot &base) {
  try {
    return Snapshot::load_header(snapshot_path(dir)).checksum == base.checksum();
  } catch (const Error &) {
    return false;
  }
}

void link_file(const std::string &from, const std::string &to) {
  remove_file(to);
  std::error_code ec;
  std::filesystem::create_hard_link(from, to, ec);
  if (ec) throw Error(fmt::format("{}: cannot link {} here: {}", to, from, ec.message()));
}

}  // namespace

size_t LiveTable::entries() const {
  return entries_in(current_);
}

void LiveTable::commit(Snapshot table) {
  current_ = std::move(table);
  from_base_.reset();
  last_change_.reset();
}

void LiveTable::commit(Snapshot table, const Delta &change) {
  // Only the keys the delta from the base and this change touch can differ between the base and
  // the new table; past an eighth of the base the next save writes a new base anyway.
  if (base_ && from_base_ && (from_base_->size() + change.size()) * 8 <= entries_in(*base_)) {
    const Delta *touched[] = {&*from_base_, &change};
    from_base_ = diff_within(*base_, table, touched);
  } else {
    from_base_.reset();
  }
  last_change_ = LastChange{current_.checksum(), change};
  current_ = std::move(table);
}

void LiveTable::save(const std::string &dir, uint64_t owner) {
  std::optional<Delta> delta;
  const size_t base_entries = base_ ? entries_in(*base_) : 0, now = entries_in(current_);
  const size_t grown = now > base_entries ? now - base_entries : base_entries - now;
  // The size difference alone rules out most full loads without diffing them.
  if (base_ && grown * 8 <= base_entries && holds_base(dir, *base_)) {
    Delta d = from_base_ ? *from_base_ : diff(*base_, current_);
    if (d.size() * 8 <= base_entries) delta = std::move(d);
  }
  begin_save(dir);
  if (delta && !delta->empty()) {
    delta->save(delta_path(dir), kStateLifetime);
  } else {
    remove_file(delta_path(dir));
    if (!delta) {
      current_.save(snapshot_path(dir), kStateLifetime);
      base_ = current_;
      from_base_ = Delta{};
    }
  }
  finish_save(dir, owner, current_.file_header());
}

void LiveTable::save_link(const std::string &from, const std::string &dir, uint64_t owner) {
  begin_save(dir);
  const SnapshotHeader head = saved_header(from).header;
  link_file(snapshot_path(from), snapshot_path(dir));
  if (std::filesystem::exists(delta_path(from)))
    link_file(delta_path(from), delta_path(dir));
  else
    remove_file(delta_path(dir));
  finish_save(dir, owner, head);
}

std::optional<uint64_t> LiveTable::saved_owner(const std::string &dir) {
  return read_owner(dir);
}

LiveTable LiveTable::restore(const std::string &dir, uint64_t owner) {
  const std::optional<uint64_t> saved = read_owner(dir);
  if (!saved)
    throw StaleStateError(dir +
                          ": no table loaded through sluice is saved here: load a full "
                          "snapshot before a delta");
  if (*saved != owner)
    throw StaleStateError(fmt::format(
        "{}: the saved table belongs to another attachment (owner {:x}, this one {:x}): the "
        "instance was detached and attached again since; load a full snapshot before a delta",
        dir, *saved, owner));
  LiveTable t(Snapshot::load(snapshot_path(dir)));
  t.base_ = t.current_;
  t.from_base_ = Delta{};
  if (std::filesystem::exists(delta_path(dir))) {
    try {
      t.from_base_ = Delta::load(delta_path(dir));
      t.current_ = apply(t.current_, *t.from_base_);
    } catch (const FormatError &) {
      throw;
    } catch (const Error &e) {
      throw Error(delta_path(dir) + ": " + e.what());
    }
  }
  return t;
}

LiveTable::SavedHeader LiveTable::saved_header(const std::string &dir) {
  const std::string head = head_path(dir);
  std::error_code ec;
  if (!std::filesystem::exists(head, ec)) {
    // A state saved before table.head existed: its base is the whole table.
    const std::string snap = snapshot_path(dir);
    SavedHeader h{Snapshot::load_header(snap), std::filesystem::last_write_time(snap, ec)};
    if (ec) throw Error(snap + ": " + ec.message());
    return h;
  }
  SavedHeader h{};
  std::ifstream in(head, std::ios::binary);
  if (!in) throw Error(head + ": cannot read");
  char bytes[sizeof(SnapshotHeader) + 1];
  in.read(bytes, sizeof bytes);
  if (in.gcount() != static_cast<std::streamsize>(sizeof(SnapshotHeader)))
    throw FormatError(fmt::format("{}: {} bytes, not a {}-byte table header", head, in.gcount(),
                                  sizeof(SnapshotHeader)));
  std::memcpy(&h.header, bytes, sizeof h.header);
  check_snapshot_header(head, h.header);
  h.saved = std::filesystem::last_write_time(head, ec);
  if (ec) throw Error(head + ": " + ec.message());
  return h;
}

}  // namespace sluice::reputation
