// rbldnsd zone files: ip4set, ip4tset, ip4trie, ip6trie, ip6tset, read as rbldnsd 1.0 reads them
// (rbldnsd(8) and its sources: the same address forms, values, specials and corner cases), so
// that a zone lists exactly the addresses, with exactly the return codes, that rbldnsd answers.
// This file reads lines into raw entries; rbldnsd_answers.cc turns them into one entry per
// prefix with rbldnsd's answer (ip4set's octet levels, tries' first-entry-wins).
//
// Lines: leading and trailing blanks (space, tab) are skipped; "#" or ";" starts a comment line;
// "$WORD", "#$WORD", ";$WORD" and ":$WORD" are specials ($MAXRANGE4 limits the ranges after it;
// the others do not change answers). A line ":A:TXT" sets the default value; "!" before an
// entry excludes it. After an entry's address: nothing, a comment, or a value ":A:TXT", ":A" or
// TXT (A = return code: a dotted address, "N" meaning 127.0.0.N).
#include <array>

#include "parse_util.h"
#include "rbldnsd_forms.h"

namespace sluice::reputation::detail {
namespace {

using namespace rbldnsd;

bool ttl_ok(std::string_view t) {
  if (t.empty()) return false;
  for (char c : t)
    if (!((c >= '0' && c <= '9') || c == 's' || c == 'm' || c == 'h' || c == 'd' || c == 'w' ||
          c == 'S' || c == 'M' || c == 'H' || c == 'D' || c == 'W'))
      return false;
  return t[0] >= '0' && t[0] <= '9';
}

// The word of a special, lower-cased, when it is followed by a blank (rbldnsd's firstword_lc).
bool special_word(std::string_view line, std::string_view word, std::string_view &rest) {
  if (line.size() <= word.size() || !is_blank(line[word.size()])) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  rest = skip_blanks(line.substr(word.size()));
  return true;
}

struct State {
  uint32_t default_code = kDefaultCode;  // the ":A:TXT" line in force (sets, tries)
  uint32_t dataset_code = 0;             // tsets: the first valid ":A:TXT" line, anywhere
  uint64_t max_range4 = 0;               // $MAXRANGE4: 0 = none, else the most addresses
};

// "$WORD args" without its "$" (or "#$", ";$", ":$").
void special(Sink &sink, State &st, std::string_view line) {
  std::string_view w;
  if (special_word(line, "ttl", w)) {
    if (!ttl_ok(split_token(w).first)) sink.bad("bad $TTL value");
  } else if (special_word(line, "soa", w) || special_word(line, "ns", w) ||
             special_word(line, "nameserver", w) || special_word(line, "timestamp", w)) {
    // no effect on answers ($TIMESTAMP's refusals are not followed: docs/sources.md)
  } else if (special_word(line, "maxrange4", w)) {
    bool cidr = !w.empty() && w[0] == '/';
    if (cidr) w.remove_prefix(1);
    uint64_t r = 0;
    size_t i = 0;
    while (i < w.size() && w[i] >= '0' && w[i] <= '9' && r <= 0xffffffffu)
      r = r * 10 + static_cast<uint64_t>(w[i++] - '0');
    if (i == 0 || i != w.size() || r == 0 || r > 0xffffffffu || (cidr && r > 32))
      return sink.bad(fmt::format("bad $MAXRANGE4 {}", shown(w)));
    if (cidr) r = uint64_t{1} << (32 - r);
    if (st.max_range4 && st.max_range4 < r)
      return sink.bad("$MAXRANGE4 cannot raise the limit set before it");
    st.max_range4 = r;
  } else if (line.size() >= 2 && ((line[0] >= '0' && line[0] <= '9') || line[0] == '=') &&
             is_blank(line[1])) {
    // $0..$9, $=: TXT substitutions
  } else if (special_word(line, "dataset", w)) {
    sink.bad("$DATASET belongs to rbldnsd's combined dataset, not to this zone type");
  } else if (line == "SOA" || line == "NS" || line == "TTL") {
    sink.bad(fmt::format("${} without a value", line));
  } else {
    sink.bad(
        fmt::format("unknown directive {}", shown(fmt::format("${}", split_token(line).first))));
  }
}

bool too_large(const State &st, uint64_t count) {
  return st.max_range4 != 0 && count > st.max_range4;
}

// ip4set: an address, prefix, CIDR or range; rbldnsd keeps it as /32, /24, /16 and /8 keys.
std::string ip4set_line(Sink &sink, State &st, std::string_view s, bool excl, uint32_t &code) {
  size_t pos = 0;
  uint32_t lo, hi;
  int bits = ip4_range(s, pos, lo, hi);
  if (bits <= 0 || !entry_end(s, pos)) return fmt::format("bad address {}", shown(address_part(s)));
  if ((lo & ~prefix_mask<uint32_t>(bits)) != 0)
    return fmt::format("{} has bits set beyond /{}", shown(address_part(s)), bits);
  if (too_large(st, uint64_t{hi} - lo + 1))
    return fmt::format("range of {} addresses is larger than $MAXRANGE4 ({})",
                       uint64_t{hi} - lo + 1, st.max_range4);
  if (!excl) {
    auto c = value_after(s, pos, st.default_code);
    if (!c) return "bad return code";
    code = *c;
  }
  ip4set_keys(lo, hi, [&](uint32_t p, int len) { sink.prefix<uint32_t>(p, len, 0, code, excl); });
  return {};
}

std::string ip4trie_line(Sink &sink, State &st, std::string_view s, bool excl, uint32_t &code) {
  size_t pos = 0;
  uint32_t a;
  int bits = ip4_cidr(s, pos, a);
  if (bits < 0 || !entry_end(s, pos)) {
    if (s.find('-') < address_part(s).size())
      return fmt::format("ranges are not allowed in rbldnsd-ip4trie: {}", shown(address_part(s)));
    return fmt::format("bad address {}", shown(address_part(s)));
  }
  if ((a & ~prefix_mask<uint32_t>(bits)) != 0)
    return fmt::format("{} has bits set beyond /{}", shown(address_part(s)), bits);
  if (too_large(st, uint64_t{1} << (32 - bits)))
    return fmt::format("/{} is larger than $MAXRANGE4 ({})", bits, st.max_range4);
  if (!excl) {
    auto c = value_after(s, pos, st.default_code);
    if (!c) return "bad return code";
    code = *c;
  }
  sink.prefix<uint32_t>(a, bits, 0, code, excl);
  return {};
}

// ip4tset: full addresses; anything after the address is ignored, no exclusions.
std::string ip4tset_line(Sink &sink, std::string_view s) {
  size_t pos = 0;
  uint32_t a;
  if (ip4_prefix(s, pos, a) != 32 || !entry_end(s, pos))
    return fmt::format("bad address {} (ip4tset takes single full addresses)",
                       shown(address_part(s)));
  sink.prefix<uint32_t>(a, 32, 0, 0, false);
  return {};
}

std::string ip6trie_line(Sink &sink, State &st, std::string_view s, bool excl, uint32_t &code) {
  size_t pos = 0;
  U128 a;
  int bits = ip6_cidr(s, pos, a);
  if (bits < 0 || !entry_end(s, pos))
    return fmt::format("bad IPv6 address {}", shown(address_part(s)));
  if ((a & ~prefix_mask<U128>(bits)) != 0)
    return fmt::format("{} has bits set beyond /{}", shown(address_part(s)), bits);
  if (!excl) {
    auto c = value_after(s, pos, st.default_code);
    if (!c) return "bad return code";
    code = *c;
  }
  sink.prefix<U128>(a, bits, 0, code, excl);
  return {};
}

// ip6tset: a /64 as four words; an exclusion is a full /128; anything after is ignored.
std::string ip6tset_line(Sink &sink, std::string_view s, bool excl) {
  size_t pos = 0;
  U128 a;
  int bits = ip6_prefix(s, pos, a);
  if (bits < 0 || !entry_end(s, pos))
    return fmt::format("bad IPv6 address {}", shown(address_part(s)));
  if (bits != (excl ? 128 : 64))
    return excl ? "an ip6tset exclusion is a full address (/128)"
                : "an ip6tset entry is a /64 written as four words (2001:db8:1:2)";
  sink.prefix<U128>(a, bits, 0, 0, excl);
  return {};
}

}  // namespace

void parse_rbldnsd(Sink &sink, std::string_view text) {
  const SourceType type = sink.config().type;
  State st;
  for_each_line(text, [&](uint32_t n, std::string_view raw) {
    if (!sink.line(n, raw)) return;
    std::string_view line = trim_blanks(raw);
    if (line.empty()) return;
    if (line[0] == '$') return special(sink, st, line.substr(1));
    if ((line[0] == '#' || line[0] == ';' || line[0] == ':') && line.size() > 1 && line[1] == '$')
      return special(sink, st, line.substr(2));
    if (line[0] == '#' || line[0] == ';') return;
    // A value line ":A:TXT"; in ip6trie "::" starts an address instead.
    if (line[0] == ':' &&
        !(type == SourceType::kRbldnsdIp6trie && line.size() > 1 && line[1] == ':')) {
      auto c = a_value(line);
      if (!c) return sink.bad("bad return code in default value");
      if (type == SourceType::kRbldnsdIp4tset || type == SourceType::kRbldnsdIp6tset) {
        if (st.dataset_code == 0) st.dataset_code = *c;  // the first one is the zone's value
      } else {
        st.default_code = *c;
      }
      return;
    }
    bool excl = false;
    if (line[0] == '!' && type != SourceType::kRbldnsdIp4tset) {
      excl = true;
      line = skip_blanks(line.substr(1));
    }
    uint32_t code = st.default_code;
    std::string err;
    switch (type) {
      case SourceType::kRbldnsdIp4set:
        err = ip4set_line(sink, st, line, excl, code);
        break;
      case SourceType::kRbldnsdIp4trie:
        err = ip4trie_line(sink, st, line, excl, code);
        break;
      case SourceType::kRbldnsdIp4tset:
        err = line[0] == '!' ? std::string("exclusions are not supported in rbldnsd-ip4tset")
                             : ip4tset_line(sink, line);
        break;
      case SourceType::kRbldnsdIp6trie:
        err = ip6trie_line(sink, st, line, excl, code);
        break;
      case SourceType::kRbldnsdIp6tset:
        err = ip6tset_line(sink, line, excl);
        break;
      default:
        err = "not an rbldnsd zone type";
        break;
    }
    if (!err.empty()) return sink.bad(err);
    sink.entry();
  });
  const uint32_t tset_code = st.dataset_code ? st.dataset_code : kDefaultCode;
  resolve_rbldnsd(sink, tset_code);
}

}  // namespace sluice::reputation::detail
