#include "sluice/reputation/ini_syntax.h"

#include <fmt/format.h>

namespace sluice::reputation {
namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::optional<std::string> ini_syntax_error(std::string_view text) {
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return fmt::format("line {}: neither \"key = value\" nor \"[section]\"", number);
    if (trim(line.substr(0, eq)).empty())
      return fmt::format("line {}: a value without a key", number);
  }
  return std::nullopt;
}

}  // namespace sluice::reputation
