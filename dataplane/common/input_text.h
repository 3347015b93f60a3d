// Input text as it may appear in a message to an operator: list lines, policy values, names from
// files and sockets. Every message that quotes input goes through shown(): a malformed 50 MB line
// or a terminal escape sequence must not reach the operator's terminal or the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr size_t kMaxShown = 80;

// Control characters, bytes outside printable ASCII and '\\' escaped (\xNN, \\), cut after
// kMaxShown bytes (the full length is said), in single quotes if `quote`.
std::string shown(std::string_view text, bool quote = true);

}  // namespace sluice
