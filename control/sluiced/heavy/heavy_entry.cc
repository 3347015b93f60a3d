#include "heavy_entry.h"

#include <charconv>
#include <cmath>

namespace sluice::sluiced::heavy {
namespace rep = sluice::reputation;

std::string_view to_string(Refusal r) {
  constexpr std::string_view kNames[kRefusalCount] = {"bad_prefix", "bad_window", "absurd_rate",
                                                      "duplicate", "over_limit"};
  return kNames[static_cast<size_t>(r)];
}

rep::IpAddress HeavyPrefix::address() const {
  rep::IpAddress a;
  a.family = family;
  if (family == 4)
    a.v4 = static_cast<uint32_t>(bits);
  else
    a.v6 = bits;
  return a;
}

std::optional<HeavyPrefix> parse_heavy_prefix(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || text.size() > 64) return std::nullopt;
  const std::string_view len_text = text.substr(slash + 1);
  unsigned len = 0;
  const auto r = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || len_text.size() > 3 || r.ec != std::errc() ||
      r.ptr != len_text.data() + len_text.size())
    return std::nullopt;
  const auto a = rep::parse_ip(text.substr(0, slash));
  if (!a) return std::nullopt;
  HeavyPrefix p;
  p.family = a->family;
  p.len = static_cast<uint8_t>(len);
  if (a->family == 4) {
    if (len != 32 && len != 24) return std::nullopt;
    if ((a->v4 & rep::prefix_mask<uint32_t>(static_cast<int>(len))) != a->v4) return std::nullopt;
    p.bits = a->v4;
  } else {
    if (len != 128 && len != 64) return std::nullopt;
    if ((a->v6 & rep::prefix_mask<rep::U128>(static_cast<int>(len))) != a->v6) return std::nullopt;
    p.bits = a->v6;
  }
  return p;
}

std::string format_heavy_prefix(const HeavyPrefix &p) {
  if (p.host()) return rep::format_ip(p.address());
  return p.family == 4 ? rep::format_prefix<uint32_t>(static_cast<uint32_t>(p.bits), p.len)
                       : rep::format_prefix<rep::U128>(p.bits, p.len);
}

std::variant<CheckedSender, Refusal> check_sender(const control::HeavySender &s) {
  auto p = parse_heavy_prefix(s.prefix);
  if (!p) return Refusal::kBadPrefix;
  if (s.window_ns == 0) return Refusal::kBadWindow;
  // In double: syns_per_minute()'s conversion back to an integer is undefined for absurd values.
  const double per_minute = static_cast<double>(s.syns) * 60e9 / static_cast<double>(s.window_ns);
  if (!std::isfinite(per_minute) || per_minute > kMaxPerMinute) return Refusal::kAbsurdRate;
  return CheckedSender{*p, per_minute};
}

}  // namespace sluice::sluiced::heavy
