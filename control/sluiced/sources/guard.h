// The guards a new version of a list passes before it goes live (spamd-setup style): it must
// parse, list at least one entry, and not shrink by more than max_shrink percent of the live
// version. A refused version leaves the last good one live. `sluicectl sources accept NAME`
// reads the list once with the guards off (a parse failure is still refused: there is nothing
// to accept).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace sluice::sluiced {

enum class GuardVerdict { kAccept, kParseError, kEmpty, kShrink };

struct GuardDecision {
  GuardVerdict verdict = GuardVerdict::kAccept;
  std::string reason;  // for a refusal: the log line's and `sources list`'s text
  bool accepted() const { return verdict == GuardVerdict::kAccept; }
};

struct GuardInput {
  std::optional<size_t> live_entries;  // the live version's entries; nullopt: none yet
  std::optional<size_t> new_entries;   // nullopt: the new version did not parse
  std::string parse_error;             // why, when it did not
  double max_shrink = 50;              // percent; 100 turns the shrink guard off
  bool force = false;                  // `sources accept`: empty and shrink pass
};

GuardDecision judge(const GuardInput &in);

}  // namespace sluice::sluiced
