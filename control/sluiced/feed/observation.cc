#include "observation.h"

#include <array>
#include <charconv>

namespace sluice::feed {
namespace rep = sluice::reputation;

namespace {
constexpr std::array<std::string_view, kKindCount> kKindNames = {
    "complaint", "trap_hit", "conn_rate", "pregreet", "shaped", "blocked", "vouch", "fan_out"};
}

std::string_view to_string(Kind k) {
  return kKindNames[static_cast<size_t>(k)];
}

std::optional<Kind> kind_from_string(std::string_view s) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == s) return static_cast<Kind>(i);
  return std::nullopt;
}

std::optional<Prefix> parse_prefix(std::string_view text) {
  std::string_view addr = text;
  int len = -1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3 || (l.size() > 1 && l[0] == '0')) return std::nullopt;
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size()) return std::nullopt;
  }
  auto ip = rep::parse_ip(addr);
  if (!ip) return std::nullopt;
  Prefix out;
  out.family = ip->family;
  const int bits = ip->family == 4 ? 32 : 128;
  if (len < 0) len = bits;
  if (len > bits) return std::nullopt;
  out.len = static_cast<uint8_t>(len);
  if (ip->family == 4) {
    if (rep::format_ipv4(ip->v4) != addr) return std::nullopt;  // no leading zeros ("010")
    if ((ip->v4 & ~rep::prefix_mask<uint32_t>(len)) != 0) return std::nullopt;
    out.v4 = ip->v4;
  } else {
    if ((ip->v6 & ~rep::prefix_mask<rep::U128>(len)) != 0) return std::nullopt;
    out.v6 = ip->v6;
  }
  return out;
}

std::string format_prefix(const Prefix &p) {
  if (p.family == 4)
    return p.len == 32 ? rep::format_ipv4(p.v4) : rep::format_prefix<uint32_t>(p.v4, p.len);
  return p.len == 128 ? rep::format_ipv6(p.v6) : rep::format_prefix<rep::U128>(p.v6, p.len);
}

bool valid_participant(std::string_view name) {
  if (name.empty() || name.size() > kMaxParticipantName) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name[0])) return false;
  for (char c : name)
    if (!lower_or_digit(c) && c != '-' && c != '_') return false;
  return true;
}

std::string subject_for(std::string_view participant) {
  return std::string(kSubjectPrefix) + std::string(participant);
}

}  // namespace sluice::feed
