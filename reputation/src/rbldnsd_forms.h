// The textual forms of rbldnsd zones, with rbldnsd's exact rules (its ip4prefix, ip4range,
// ip4cidr, ip4addr, ip6prefix, ip6cidr and parse_a_txt), written for string_views: the end of
// the view plays the part of rbldnsd's terminating NUL. Each parser starts at `pos`, leaves it
// after what it read (the caller checks what follows) and returns a bit count or -1.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sluice/reputation/address.h"

namespace sluice::reputation::detail {

class Sink;
// Turns the raw entries of an rbldnsd zone into rbldnsd's answers: one entry per prefix, with
// every return code it answers (rbldnsd_answers.cc). tset_code: the value of tset zones.
void resolve_rbldnsd(Sink &sink, uint32_t tset_code);

namespace rbldnsd {

inline constexpr uint32_t kDefaultCode = 0x7f000002;  // 127.0.0.2, rbldnsd's default A value

inline char at(std::string_view s, size_t i) {
  return i < s.size() ? s[i] : '\0';
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_blank(char c) {
  return c == ' ' || c == '\t';
}  // rbldnsd's ISSPACE
inline bool is_comment(char c) {
  return c == '#' || c == ';';
}

inline std::string_view skip_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view trim_blanks(std::string_view s) {
  s = skip_blanks(s);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}
// The first blank-separated word, for messages.
inline std::string_view address_part(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !is_blank(s[i])) ++i;
  return s.substr(0, i);
}
// What may follow an address: the end, a blank, a comment or a value's ':'.
inline bool entry_end(std::string_view s, size_t pos) {
  char c = at(s, pos);
  return c == '\0' || is_blank(c) || is_comment(c) || c == ':';
}

// One to four dotted octets, each any number of digits worth at most 255: 8 bits per octet.
inline int ip4_prefix(std::string_view s, size_t &pos, uint32_t &a) {
  a = 0;
  for (int shift = 24;; shift -= 8) {
    if (!is_digit(at(s, pos))) return -1;
    uint32_t o = static_cast<uint32_t>(s[pos++] - '0');
    while (is_digit(at(s, pos)))
      if ((o = o * 10 + static_cast<uint32_t>(s[pos++] - '0')) > 255) return -1;
    a |= o << shift;
    if (shift == 0) return 32;
    if (at(s, pos) != '.') return 32 - shift;
    ++pos;
  }
}

// "/N", N = 0..32 (any number of digits).
inline int ip4_mask_bits(std::string_view s, size_t &pos) {
  if (!is_digit(at(s, pos))) return -1;
  int bits = s[pos++] - '0';
  while (is_digit(at(s, pos)))
    if ((bits = bits * 10 + (s[pos++] - '0')) > 32) return -1;
  return bits;
}

// ip4set's forms: PREFIX (not a bare number), PREFIX/N, PREFIX-PREFIX (the end as many octets
// as the start, or one octet replacing the start's last one; completed with 255s). Returns the
// bits of a prefix or CIDR, 32 for a range; lo may have host bits set (the caller refuses).
inline int ip4_range(std::string_view s, size_t &pos, uint32_t &lo, uint32_t &hi) {
  int bits = ip4_prefix(s, pos, lo);
  if (bits < 0) return -1;
  if (at(s, pos) == '-') {
    ++pos;
    int bbits = ip4_prefix(s, pos, hi);
    if (bbits < 0) return -1;
    if (bbits == 8) {
      hi = (hi >> (bits - 8)) | (lo & prefix_mask<uint32_t>(bits - 8));
      bbits = bits;
    } else if (bbits != bits) {
      return -1;
    }
    hi |= ~prefix_mask<uint32_t>(bbits);
    if (lo > hi) return -1;
    return 32;
  }
  if (at(s, pos) == '/') {
    ++pos;
    bits = ip4_mask_bits(s, pos);
    if (bits < 0) return -1;
  } else if (bits == 8) {
    return -1;  // a bare number: "127/8" says it
  }
  hi = lo | ~prefix_mask<uint32_t>(bits);
  return bits;
}

// ip4trie's form: PREFIX (not a bare number) or PREFIX/N (N may be 0).
inline int ip4_cidr(std::string_view s, size_t &pos, uint32_t &a) {
  int bits = ip4_prefix(s, pos, a);
  if (bits < 0) return -1;
  if (at(s, pos) == '/') {
    ++pos;
    return ip4_mask_bits(s, pos);
  }
  return bits == 8 ? -1 : bits;
}

// IPv6: 16-bit hex words separated by ':' with at most one "::" (then the address is a full
// /128); without "::" as many bits as words given (16 to 128). A word may have leading zeros
// beyond four digits; no embedded IPv4.
inline int ip6_prefix(std::string_view s, size_t &pos, U128 &out) {
  uint8_t ap[16] = {};
  unsigned bytes = 0;
  int zstart = -1, ret = -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (at(s, pos) == ':' && at(s, pos + 1) == ':') {
    zstart = 0;
    pos += 2;
  }
  for (;;) {
    unsigned v = 0;
    const size_t start = pos;
    while (hex(at(s, pos)) >= 0) {
      v = (v << 4) + static_cast<unsigned>(hex(s[pos]));
      if (v > 0xffff) break;
      ++pos;
    }
    if (start == pos || v > 0xffff) break;
    ap[bytes++] = static_cast<uint8_t>(v >> 8);
    ap[bytes++] = static_cast<uint8_t>(v & 0xff);
    if (at(s, pos) != ':' || bytes + 2 > 16) {
      ret = static_cast<int>(bytes * 8);
      break;
    }
    ++pos;
    if (zstart < 0 && at(s, pos) == ':') {
      zstart = static_cast<int>(bytes);
      ++pos;
    }
  }
  if (zstart >= 0) {
    const unsigned nzeros = 16 - bytes;
    if (nzeros == 0) {
      ret = -1;
    } else {
      const unsigned z = static_cast<unsigned>(zstart);
      for (unsigned i = bytes; i-- > z;) ap[i + nzeros] = ap[i];
      for (unsigned i = z; i < z + nzeros; ++i) ap[i] = 0;
      ret = 128;
    }
  }
  out = v6_from_bytes(ap);
  return ret;
}

// ip6trie's form: an ip6_prefix, then "/N" (0..128); a single bare word is refused.
inline int ip6_cidr(std::string_view s, size_t &pos, U128 &a) {
  int bits = ip6_prefix(s, pos, a);
  if (bits >= 0 && at(s, pos) == '/') {
    ++pos;
    if (!is_digit(at(s, pos))) return -1;
    bits = s[pos++] - '0';
    while (is_digit(at(s, pos)))
      if ((bits = bits * 10 + (s[pos++] - '0')) > 128) return -1;
  } else if (bits == 16) {
    return -1;
  }
  return bits;
}

// The return code of a value that starts with ':' (":A:TXT", ":A"): A is one to four octets
// read as inet_aton reads them ("127.2" is 127.0.0.2), a lone number N meaning 127.0.0.N, not
// 0; after it only blanks, then ':' and a TXT, or the end. nullopt: rbldnsd's "invalid A RR" or
// "unrecognized value".
inline std::optional<uint32_t> a_value(std::string_view v) {
  size_t pos = 1;
  uint32_t a;
  int bits = ip4_prefix(v, pos, a);
  if (bits <= 0) return std::nullopt;
  if (bits == 8)
    a >>= 24;
  else if (bits == 16)
    a = (a & 0xff000000u) | ((a >> 16) & 255);
  else if (bits == 24)
    a = (a & 0xffff0000u) | ((a >> 8) & 255);
  if (a == 0) return std::nullopt;
  if (bits == 8) a |= 0x7f000000u;
  while (is_blank(at(v, pos))) ++pos;
  if (at(v, pos) != ':' && pos != v.size()) return std::nullopt;
  return a;
}

// The code of an entry whose address ends at pos: the default when nothing or a comment
// follows, else its value's (nullopt when rbldnsd drops the entry for it).
inline std::optional<uint32_t> value_after(std::string_view s, size_t pos, uint32_t dflt) {
  while (is_blank(at(s, pos))) ++pos;
  if (pos >= s.size() || is_comment(s[pos])) return dflt;
  if (s[pos] != ':') return dflt;  // a TXT alone keeps the default A
  return a_value(s.substr(pos));
}

// ip4set keeps a range as keys at four levels, /32, /24, /16 and /8 (what rbldnsd's
// ip4range_expand does): whole octet blocks at the widest level they fill, the ragged ends one
// level down. Calls fn(prefix, len) for prefixes covering the keys of each level, lengths
// 25..32 for /32 keys, 17..24 for /24 keys, 9..16 for /16 keys, 0..8 for /8 keys: a prefix's
// length says its level.
template <class Fn>
void ip4set_keys(uint32_t lo, uint32_t hi, Fn &&fn) {
  auto run = [&](int level, uint64_t first_key, uint64_t count) {
    // keys first_key .. first_key + count - 1 of `level` (0 = /32 .. 3 = /8)
    if (count == 0 || count > 256) return;
    const int shift = 8 * level;
    const uint64_t first = first_key << shift;
    const uint64_t last = ((first_key + count) << shift) - 1;
    uint64_t a = first;
    while (a <= last) {
      int len = 32;
      while (len > 0) {
        const int l = len - 1;
        const uint64_t size = uint64_t{1} << (32 - l);
        if (a % size != 0 || a + size - 1 > last) break;
        len = l;
      }
      fn(static_cast<uint32_t>(a), len);
      a += uint64_t{1} << (32 - len);
    }
  };
  uint64_t a = lo, b = hi;
  for (int level = 0; level < 3; ++level) {
    if ((a | 255u) >= b) {
      if (b - a == 255u)
        run(level + 1, a >> 8, 1);
      else
        run(level, a, b - a + 1);
      return;
    }
    if (a & 255u) {
      run(level, a, 256u - (a & 255u));
      a = (a >> 8) + 1;
    } else {
      a >>= 8;
    }
    if ((b & 255u) != 255u) {
      run(level, b & ~uint64_t{255}, (b & 255u) + 1);
      b = (b >> 8) - 1;
    } else {
      b >>= 8;
    }
  }
  run(3, a, b - a + 1);
}

}  // namespace rbldnsd
}  // namespace sluice::reputation::detail
