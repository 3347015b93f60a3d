// What the policy service answers for a level: an action of Postfix's access(5) table, as
// written in sluiced.ini, with placeholders filled per request:
//
//   {score}       the client's score in sluiced's table (0 when unlisted)
//   {level}       its level under the policy file (0 .. nlevels-1)
//   {level_name}  that level's name in the policy file ("pass", "throttle", ...)
//
//   action.0 = DUNNO
//   action.1 = PREPEND X-Sluice: score={score}; level={level}
//   action.3 = DEFER_IF_PERMIT 4.7.1 your address is rate limited here ({level_name})
//
// parse_action() refuses, with the reason, anything that could break the reply or that a
// policy service of this kind has no business answering:
//   - empty, longer than kMaxActionBytes, a byte outside printable ASCII (a newline would end
//     the reply and inject a second one);
//   - a first word other than DUNNO, PREPEND, WARN, INFO, HOLD, DISCARD, DEFER_IF_PERMIT,
//     DEFER_IF_REJECT, DEFER, REJECT or a 4NN/5NN code (OK, PERMIT, REDIRECT, FILTER, BCC: a
//     reputation must never let mail skip the rest of smtpd's restrictions or reroute it);
//   - DUNNO with text after it, PREPEND without a "Name: value" header, a 4NN/5NN code whose
//     class does not match (4NN with DEFER..., REJECT with 4NN);
//   - a '{' or '}' that is not one of the three placeholders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice_error.h"

namespace sluice::sluiced::policy {

inline constexpr size_t kMaxActionBytes = 400;

class ActionError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

class ActionTemplate {
 public:
  ActionTemplate() = default;  // DUNNO
  const std::string &text() const { return text_; }
  // The verb, uppercased ("DUNNO", "PREPEND", "REJECT", "450", ...).
  const std::string &verb() const { return verb_; }
  // Appends "action=<filled text>\n\n" to `out`.
  void reply(std::string &out, int32_t score, unsigned level, std::string_view level_name) const;
  std::string fill(int32_t score, unsigned level, std::string_view level_name) const;

 private:
  friend ActionTemplate parse_action(std::string_view text);
  enum class Part : uint8_t { kLiteral, kScore, kLevel, kLevelName };
  std::string text_ = "DUNNO";
  std::string verb_ = "DUNNO";
  std::vector<std::pair<Part, std::string>> parts_{{Part::kLiteral, "DUNNO"}};
};

// Throws ActionError("reason").
ActionTemplate parse_action(std::string_view text);

}  // namespace sluice::sluiced::policy
