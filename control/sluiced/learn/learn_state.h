// The local score model's state file (docs/learning.md, "Persistence"): text, one record a
// line, so a damaged file names the line that is wrong.
//
//   sluice-learning 1
//   ADDRESS KIND COUNT UPDATED_MS LAST_SEEN_MS OBSERVATIONS ORIGIN EVIDENCE
//
// ADDRESS an IPv4 or IPv6 address; KIND a LocalKind name; COUNT the decayed count at UPDATED_MS
// (unix milliseconds), finite, 0 .. 1e15; LAST_SEEN_MS unix milliseconds; OBSERVATIONS a whole
// number; ORIGIN and EVIDENCE printable ASCII with '%', space and anything else outside
// 0x21..0x7e written %XX, "-" for empty. Lines starting with '#' are comments. An address and
// kind appear once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "learn_model.h"
#include "sluice_error.h"

namespace sluice::sluiced::learn {

inline constexpr std::string_view kStateHeader = "sluice-learning 1";
inline constexpr size_t kMaxStateLine = 1024;
// More records than this is not a file this daemon wrote (max_addresses x kinds at most).
inline constexpr size_t kMaxStateRecords = 7 * 1000000;

class StateError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

std::string format_state(const std::vector<SavedRecord> &records);
// Throws StateError("NAME:LINE: reason") for anything else than format_state's output (up to
// comments and blank lines).
std::vector<SavedRecord> parse_state(std::string_view text, const std::string &name);

// Writes the file atomically (a temporary in the same directory, fsync, rename, fsync of the
// directory). Throws StateError("PATH: reason").
void write_state_file(const std::string &path, const std::vector<SavedRecord> &records);
// The file's records; an empty vector when it does not exist. Throws StateError for a file that
// cannot be read or does not parse (at most 64 MiB).
std::vector<SavedRecord> read_state_file(const std::string &path);

}  // namespace sluice::sluiced::learn
