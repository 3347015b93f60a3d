#include "input_text.h"

namespace sluice {

std::string shown(std::string_view text, bool quote) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = quote ? "'" : "";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c > 0x7e) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (quote) out += '\'';
  if (text.size() > kMaxShown)
    out += "... (" + std::to_string(text.size()) + " bytes, first " + std::to_string(kMaxShown) +
           " shown)";
  return out;
}

}  // namespace sluice
