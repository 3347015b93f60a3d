#include "text_table.h"

#include <algorithm>
#include <ostream>

namespace sluicectl {
namespace {

// An integer or decimal number (not an address like 198.18.0.1).
bool numeric(const std::string &s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0, digits = 0, dots = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '.')
      ++dots;
    else if (s[i] >= '0' && s[i] <= '9')
      ++digits;
    else
      return false;
  }
  return digits > 0 && dots <= 1;
}

}  // namespace

void TextTable::print(std::ostream &os, const std::string &indent) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string> &r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  };
  measure(header_);
  for (const auto &r : rows_) measure(r);
  // A column is right-aligned when every non-empty cell in it is a number.
  std::vector<bool> right(header_.size(), true);
  for (const auto &r : rows_)
    for (size_t i = 0; i < r.size() && i < right.size(); ++i)
      if (!r[i].empty() && !numeric(r[i])) right[i] = false;
  auto line = [&](const std::vector<std::string> &r, bool head) {
    std::string out = indent;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      const size_t pad = width[i] - cell.size();
      const bool last = i + 1 == width.size();
      if (!head && right[i])
        out += std::string(pad, ' ') + cell;
      else
        out += cell + (last ? "" : std::string(pad, ' '));
      if (!last) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    os << out << "\n";
  };
  line(header_, true);
  for (const auto &r : rows_) line(r, false);
}

}  // namespace sluicectl
