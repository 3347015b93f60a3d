#include "dynamic_entry.h"

#include <fmt/format.h>

#include "input_text.h"

namespace sluice::sluiced {

using reputation::U128;

namespace {

// The decimal digits of `t` as a number no greater than `max`; nullopt on anything else (empty,
// a sign, a leading zero unless the number is 0, a value past max).
std::optional<uint64_t> strict_number(std::string_view t, uint64_t max) {
  if (t.empty() || t.size() > 20) return std::nullopt;
  if (t.size() > 1 && t[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

U128 mask_of(int family, int len) {
  return family == 4 ? U128{reputation::prefix_mask<uint32_t>(len)}
                     : reputation::prefix_mask<U128>(len);
}

}  // namespace

bool DynamicPrefix::covers(const reputation::IpAddress &a) const {
  if (a.family != family) return false;
  U128 v = a.family == 4 ? U128{a.v4} : a.v6;
  return (v & mask_of(family, len)) == addr;
}

DynamicPrefix parse_prefix(std::string_view text) {
  const std::string_view whole = text;
  std::string_view addr_text = text, len_text;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    len_text = text.substr(slash + 1);
  }
  auto ip = reputation::parse_ip(addr_text);
  if (!ip) throw EntryError(fmt::format("{}: not an IPv4 or IPv6 address or prefix", shown(whole)));
  DynamicPrefix p;
  p.family = ip->family;
  const int bits = ip->family == 4 ? 32 : 128;
  p.addr = ip->family == 4 ? U128{ip->v4} : ip->v6;
  if (ip->family == 6 && (ip->v6 >> 32) == U128{0xffff})
    throw EntryError(
        fmt::format("{}: an IPv4-mapped IPv6 address; write the IPv4 address", shown(whole)));
  p.len = static_cast<uint8_t>(bits);
  if (slash != std::string_view::npos) {
    auto len = strict_number(len_text, static_cast<uint64_t>(bits));
    if (!len)
      throw EntryError(
          fmt::format("{}: the prefix length must be a number from 0 to {}", shown(whole), bits));
    p.len = static_cast<uint8_t>(*len);
  }
  const int min = ip->family == 4 ? kMinPrefixLenV4 : kMinPrefixLenV6;
  if (p.len < min)
    throw EntryError(
        fmt::format("{}: wider than /{}, the widest dynamic entry", shown(whole), min));
  const U128 net = p.addr & mask_of(p.family, p.len);
  if (net != p.addr) {
    DynamicPrefix fixed = p;
    fixed.addr = net;
    throw EntryError(
        fmt::format("{}: host bits set (the prefix is {})", shown(whole), format_prefix(fixed)));
  }
  return p;
}

std::string format_prefix(const DynamicPrefix &p) {
  if (p.family == 4)
    return reputation::format_prefix<uint32_t>(static_cast<uint32_t>(p.addr), p.len);
  return reputation::format_prefix<U128>(p.addr, p.len);
}

int64_t parse_ttl(std::string_view text) {
  const std::string_view whole = text;
  auto bad = [&](std::string_view why) {
    return EntryError(fmt::format("ttl {}: {}", shown(whole), why));
  };
  if (text.empty()) throw bad("empty (a number of seconds, or e.g. 90s, 15m, 1h30m, 7d, 2w)");
  uint64_t total = 0;
  bool first = true;  // a number without a unit means seconds, only as the whole ttl
  while (!text.empty()) {
    size_t n = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
    if (n == 0) throw bad("expected a number (e.g. 90s, 15m, 1h30m, 7d, 2w)");
    // Past kMaxTtlSeconds already: refuse as too long, whatever the unit.
    auto v = strict_number(text.substr(0, n), UINT64_MAX / 2);
    if (!v) {
      if (text[0] == '0' && n > 1) throw bad("a number with a leading zero");
      throw bad(
          fmt::format("longer than the longest ttl ({} s); leave the ttl out for an "
                      "entry that never expires",
                      kMaxTtlSeconds));
    }
    uint64_t unit = 1;
    if (n == text.size()) {
      if (!first) throw bad("a unit (s, m, h, d, w) after every number");
    } else {
      switch (text[n]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'w':
          unit = 7 * 86400;
          break;
        default:
          throw bad("unknown unit (s, m, h, d, w)");
      }
      ++n;
    }
    if (*v > static_cast<uint64_t>(kMaxTtlSeconds) / unit ||
        total + *v * unit > static_cast<uint64_t>(kMaxTtlSeconds))
      throw bad(
          fmt::format("longer than the longest ttl ({} s); leave the ttl out for an entry "
                      "that never expires",
                      kMaxTtlSeconds));
    total += *v * unit;
    text.remove_prefix(n);
    first = false;
  }
  if (total == 0) throw bad("must be positive; leave the ttl out for an entry that never expires");
  return static_cast<int64_t>(total);
}

std::string format_ttl(int64_t s) {
  if (s <= 0) return "0s";
  std::string out;
  const std::pair<int64_t, char> units[] = {
      {7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [size, unit] : units)
    if (s >= size) {
      out += fmt::format("{}{}", s / size, unit);
      s %= size;
    }
  return out;
}

void check_text(std::string_view t, size_t max_bytes, std::string_view what) {
  if (t.size() > max_bytes)
    throw EntryError(
        fmt::format("{} {}: longer than {} bytes ({})", what, shown(t), max_bytes, t.size()));
  size_t i = 0;
  while (i < t.size()) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        throw EntryError(fmt::format("{} {}: control characters are not allowed", what, shown(t)));
      ++i;
      continue;
    }
    // UTF-8: the lead byte says the length; shortest forms only, no surrogates, <= U+10FFFF.
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      cp = c & 0x07;
    } else {
      n = 0;
      cp = 0;
    }
    bool ok = n != 0 && i + n <= t.size();
    for (size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(t[i + k]);
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
               (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
      ok = false;
    if (ok && cp >= 0x80 && cp < 0xa0) ok = false;  // C1 control characters
    if (!ok) throw EntryError(fmt::format("{} {}: not valid UTF-8 text", what, shown(t)));
    i += n;
  }
}

std::string_view to_string(Action a) {
  switch (a) {
    case Action::kScore:
      return "score";
    case Action::kAllow:
      return "allow";
    case Action::kDeny:
      return "deny";
  }
  return "?";
}

std::optional<Action> action_from_string(std::string_view t) {
  if (t == "score") return Action::kScore;
  if (t == "allow") return Action::kAllow;
  if (t == "deny") return Action::kDeny;
  return std::nullopt;
}

int64_t expiry_after(int64_t now_ms, int64_t ttl_seconds) {
  // Ceiling division that stays in range for any int64 (no now_ms + 999).
  const int64_t start = now_ms / 1000 + (now_ms % 1000 > 0 ? 1 : 0);
  int64_t out;
  if (ttl_seconds <= 0 || __builtin_add_overflow(start, ttl_seconds, &out))
    throw EntryError(fmt::format("ttl {} s from {} ms: past the end of time", ttl_seconds, now_ms));
  return out;
}

}  // namespace sluice::sluiced
