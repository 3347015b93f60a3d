#include "policy_action.h"

#include <array>
#include <charconv>

#include "input_text.h"

namespace sluice::sluiced::policy {
namespace {

constexpr std::array<std::string_view, 10> kVerbs = {
    "DUNNO",           "PREPEND",         "WARN",  "INFO",  "HOLD", "DISCARD",
    "DEFER_IF_PERMIT", "DEFER_IF_REJECT", "DEFER", "REJECT"};
constexpr std::array<std::string_view, 7> kRefusedVerbs = {"OK",  "PERMIT", "REDIRECT",   "FILTER",
                                                           "BCC", "RELAY",  "PERMIT_AUTH"};

std::string upper(std::string_view s) {
  std::string u(s);
  for (char &c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return u;
}

bool is_code(std::string_view w) {
  return w.size() == 3 && (w[0] == '4' || w[0] == '5') && w[1] >= '0' && w[1] <= '9' &&
         w[2] >= '0' && w[2] <= '9';
}

}  // namespace

ActionTemplate parse_action(std::string_view text) {
  if (text.empty()) throw ActionError("empty (DUNNO answers \"no opinion\")");
  if (text.size() > kMaxActionBytes)
    throw ActionError("longer than " + std::to_string(kMaxActionBytes) + " bytes");
  for (unsigned char c : text)
    if (c < 0x20 || c > 0x7e)
      throw ActionError(shown(text) +
                        " has a byte that is not printable ASCII (a newline or a "
                        "control byte would corrupt the reply)");
  if (text.front() == ' ' || text.back() == ' ')
    throw ActionError(shown(text) + " starts or ends with a space");
  ActionTemplate t;
  t.text_ = std::string(text);
  const size_t sp = text.find(' ');
  const std::string_view word = text.substr(0, sp);
  const std::string_view rest = sp == std::string_view::npos ? "" : text.substr(sp + 1);
  t.verb_ = upper(word);
  for (auto v : kRefusedVerbs)
    if (t.verb_ == v)
      throw ActionError(t.verb_ +
                        " is not allowed: a reputation answer must not let mail skip "
                        "the rest of smtpd's restrictions or reroute it (use DUNNO)");
  bool known = is_code(t.verb_);
  for (auto v : kVerbs) known = known || t.verb_ == v;
  if (!known)
    throw ActionError(shown(word) +
                      " is not an action sluiced answers (DUNNO, PREPEND, WARN, "
                      "INFO, HOLD, DISCARD, DEFER_IF_PERMIT, DEFER_IF_REJECT, DEFER, REJECT, "
                      "4NN or 5NN text)");
  if (t.verb_ == "DUNNO" && !rest.empty()) throw ActionError("DUNNO takes no text");
  if (t.verb_ == "PREPEND") {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0)
      throw ActionError("PREPEND needs a header, \"Name: value\"");
    for (char c : rest.substr(0, colon))
      if (c == ' ' || c < 0x21 || c > 0x7e)
        throw ActionError("PREPEND: " + shown(rest.substr(0, colon)) + " is not a header name");
  }
  if (is_code(t.verb_) && t.verb_[0] == '4' && rest.empty())
    throw ActionError(t.verb_ + " needs a text after the code");
  // An enhanced status code after DEFER.../REJECT must match the verb's class.
  if (!rest.empty() && (rest[0] == '4' || rest[0] == '5') && rest.size() > 1 && rest[1] == '.') {
    const bool temp = t.verb_.rfind("DEFER", 0) == 0 || (is_code(t.verb_) && t.verb_[0] == '4');
    const bool perm = t.verb_ == "REJECT" || (is_code(t.verb_) && t.verb_[0] == '5');
    if ((temp && rest[0] != '4') || (perm && rest[0] != '5'))
      throw ActionError(shown(text) + ": the status code's class does not match " + t.verb_);
  }
  // Placeholders.
  t.parts_.clear();
  std::string lit;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') throw ActionError(shown(text) + ": a '}' without its '{'");
    if (text[i] != '{') {
      lit += text[i];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) throw ActionError(shown(text) + ": a '{' without its '}'");
    const std::string_view name = text.substr(i + 1, close - i - 1);
    ActionTemplate::Part p;
    if (name == "score")
      p = ActionTemplate::Part::kScore;
    else if (name == "level")
      p = ActionTemplate::Part::kLevel;
    else if (name == "level_name")
      p = ActionTemplate::Part::kLevelName;
    else
      throw ActionError(shown(text) + ": {" + shown(name, false) +
                        "} is not a placeholder ({score}, {level}, {level_name})");
    if (!lit.empty()) t.parts_.emplace_back(ActionTemplate::Part::kLiteral, std::move(lit));
    lit.clear();
    t.parts_.emplace_back(p, std::string());
    i = close;
  }
  if (!lit.empty()) t.parts_.emplace_back(ActionTemplate::Part::kLiteral, std::move(lit));
  return t;
}

void ActionTemplate::reply(std::string &out, int32_t score, unsigned level,
                           std::string_view level_name) const {
  out += "action=";
  for (const auto &[part, lit] : parts_) {
    switch (part) {
      case Part::kLiteral:
        out += lit;
        break;
      case Part::kScore: {
        char buf[16];
        const auto r = std::to_chars(buf, buf + sizeof buf, score);
        out.append(buf, r.ptr);
        break;
      }
      case Part::kLevel:
        out += std::to_string(level);
        break;
      case Part::kLevelName:
        out += level_name;
        break;
    }
  }
  out += "\n\n";
}

std::string ActionTemplate::fill(int32_t score, unsigned level, std::string_view level_name) const {
  std::string out;
  reply(out, score, level, level_name);
  return out.substr(7, out.size() - 9);
}

}  // namespace sluice::sluiced::policy
