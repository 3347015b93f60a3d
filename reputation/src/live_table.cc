#include "sluice/reputation/live_table.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include "file_io.h"
#include "fmt/format.h"

namespace sluice::reputation {
namespace {

constexpr const char *kOwnerTag = "sluice-table-owner";
constexpr size_t kOwnerFileMax = 64;

std::string snapshot_path(const std::string &dir) {
  return dir + "/table.snapshot";
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
  const std::string prefix = std::string(kOwnerTag) + " ";
  if (text.rfind(prefix, 0) != 0 || text.empty() || text.back() != '\n')
    throw FormatError(path + ":1: not a \"" + kOwnerTag + " HEX\" line");
  const std::string hex = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  if (hex.empty() || hex.size() > 16 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw FormatError(path + ":1: owner id is not 1-16 lowercase hex digits");
  return std::stoull(hex, nullptr, 16);
}

}  // namespace

size_t LiveTable::entries() const {
  return current_.hosts_v4().size() + current_.prefixes_v4().size() + current_.hosts_v6().size() +
         current_.prefixes_v6().size();
}

namespace {

// DIR/table.snapshot written by `write_table`, then DIR/table.owner. The owner is removed first:
// a crash between the two writes leaves a snapshot without an owner, which restore() refuses,
// never a new snapshot under an old owner's id or the reverse.
template <class WriteTable>
void save_state(const std::string &dir, uint64_t owner, WriteTable write_table) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create: " + ec.message());
  std::filesystem::remove(owner_path(dir), ec);
  write_table(snapshot_path(dir));
  const std::string line = fmt::format("{} {:x}\n", kOwnerTag, owner);
  detail::write_file_atomic(owner_path(dir),
                            {reinterpret_cast<const uint8_t *>(line.data()), line.size()});
}

}  // namespace

void LiveTable::save(const std::string &dir, uint64_t owner) const {
  save_state(dir, owner, [this](const std::string &path) { current_.save(path); });
}

void LiveTable::save_link(const std::string &from, const std::string &dir, uint64_t owner) {
  save_state(dir, owner, [&from](const std::string &path) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    std::filesystem::create_hard_link(snapshot_path(from), path, ec);
    if (ec)
      throw Error(
          fmt::format("{}: cannot link {} here: {}", path, snapshot_path(from), ec.message()));
  });
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
  return LiveTable(Snapshot::load(snapshot_path(dir)));
}

}  // namespace sluice::reputation
