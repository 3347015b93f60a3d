// A check of INI text, line by line, with the rules of Boost.Program_options' config-file parser,
// run before that parser. The parser's own message for a line it refuses substitutes the line
// into a template with a loop that never ends when the line contains the placeholder itself
// ("%invalid_line%"): one such line in a sources file, a trust file or sluiced.ini hung the
// reader for good. Every INI reader of sluice checks with this first.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::reputation {

// "line N: REASON" for the first line the parser would refuse, or nothing: after '#' everything
// is a comment; a line is blank, a "[section]", or "key = value" with a non-empty key.
std::optional<std::string> ini_syntax_error(std::string_view text);

}  // namespace sluice::reputation
