// rbldnsd zone files: ip4set, ip4tset, ip4trie, ip6trie, ip6tset.
//
// One entry per line: an address form (which forms depend on the zone type), then an optional
// value ":A:TXT" (A = return code; a bare number N means 127.0.0.N) or bare TXT. A line
// ":A:TXT" sets the default value for the lines after it. "!" before an entry excludes it.
// "$" lines are directives ($TTL, $SOA, $NS, ...). "#" and ";" start comments, at the start of
// a line or after the address.
#include <array>

#include "parse_util.h"

namespace sluice::reputation::detail {
namespace {

constexpr uint32_t kDefaultCode = 0x7f000002;  // 127.0.0.2, rbldnsd's default A value

// 1 to 4 dotted decimal octets ("127", "127.0.0", "127.0.0.1").
bool parse_octets(std::string_view s, std::array<uint32_t, 4> &oct, int &n) {
  n = 0;
  size_t i = 0;
  for (;;) {
    if (n == 4) return false;
    uint32_t v = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4) {
      v = v * 10 + static_cast<uint32_t>(s[i++] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return false;
    oct[n++] = v;
    if (i == s.size()) return true;
    if (s[i] != '.') return false;
    ++i;
  }
}

uint32_t pack(const std::array<uint32_t, 4> &oct, int n) {
  uint32_t a = 0;
  for (int i = 0; i < 4; ++i) a = (a << 8) | (i < n ? oct[i] : 0);
  return a;
}

// "A" of ":A:TXT": empty (default), a number N (127.0.0.N) or a dotted quad.
std::optional<uint32_t> parse_code(std::string_view a, uint32_t dflt) {
  a = trim(a);
  if (a.empty()) return dflt;
  if (a.find('.') == std::string_view::npos) {
    int32_t n;
    if (!parse_int32(a, n) || n < 0 || n > 255) return std::nullopt;
    return 0x7f000000u | static_cast<uint32_t>(n);
  }
  return parse_ipv4(a);
}

// The code of a value ":A:TXT", ":A" or "TXT".
std::optional<uint32_t> value_code(std::string_view v, uint32_t dflt) {
  if (v.empty() || v.front() != ':') return dflt;  // bare TXT
  v.remove_prefix(1);
  return parse_code(v.substr(0, v.find(':')), dflt);
}

bool ttl_ok(std::string_view t) {
  if (t.empty()) return false;
  for (char c : t)
    if (!((c >= '0' && c <= '9') || c == 's' || c == 'm' || c == 'h' || c == 'd' || c == 'w'))
      return false;
  return t[0] >= '0' && t[0] <= '9';
}

void directive(Sink &sink, std::string_view line) {
  auto [name, args] = split_token(line.substr(1));
  if (name == "TTL") {
    if (!ttl_ok(split_token(args).first)) sink.bad("bad $TTL value");
  } else if (name == "SOA" || name == "NS") {
    if (args.empty()) sink.bad(fmt::format("${} without a value", name));  // name is SOA or NS
  } else if (name == "MAXRANGE4" || name == "DATASET" || name == "TIMESTAMP" ||
             (name.size() == 1 && name[0] >= '0' && name[0] <= '9')) {
    // accepted; nothing here affects scores
  } else {
    sink.bad(fmt::format("unknown directive {}", shown(fmt::format("${}", name))));
  }
}

// ip4set / ip4trie / ip4tset address forms.
std::string ip4_entry(Sink &sink, std::string_view t, SourceType type, int32_t w, uint32_t code,
                      bool excl) {
  std::array<uint32_t, 4> lo{}, hi{};
  int nlo = 0, nhi = 0;
  if (type == SourceType::kRbldnsdIp4tset) {
    auto a = parse_ipv4(t);
    if (!a) return fmt::format("bad address {} (ip4tset takes single full addresses)", shown(t));
    sink.prefix<uint32_t>(*a, 32, w, code, excl);
    return {};
  }
  if (size_t dash = t.find('-'); dash != std::string_view::npos) {
    if (type != SourceType::kRbldnsdIp4set)
      return fmt::format("ranges are not allowed in {}", to_string(type));
    if (!parse_octets(t.substr(0, dash), lo, nlo) || !parse_octets(t.substr(dash + 1), hi, nhi))
      return fmt::format("bad range {}", shown(t));
    int n = nhi;
    if (nhi < nlo) {  // partial end: "127.0.0.1-255" ends at 127.0.0.255
      std::array<uint32_t, 4> full{};
      for (int i = 0; i < nlo - nhi; ++i) full[i] = lo[i];
      for (int i = 0; i < nhi; ++i) full[nlo - nhi + i] = hi[i];
      hi = full;
      n = nlo;
    }
    uint32_t first = pack(lo, nlo);
    uint32_t last = prefix_last<uint32_t>(pack(hi, n), 8 * n);
    if (last < first) return fmt::format("range {} ends before it starts", shown(t));
    sink.range<uint32_t>(first, last, w, code, excl);
    return {};
  }
  std::string_view addr = t;
  int len = -1;
  if (size_t slash = t.find('/'); slash != std::string_view::npos) {
    addr = t.substr(0, slash);
    if (!parse_prefix_len(t.substr(slash + 1), 32, len))
      return fmt::format("bad prefix length in {}", shown(t));
  }
  if (!parse_octets(addr, lo, nlo)) return fmt::format("bad address {}", shown(addr));
  if (len < 0) len = 8 * nlo;
  uint32_t a = pack(lo, nlo);
  if ((a & ~prefix_mask<uint32_t>(len)) != 0)
    return fmt::format("{} has bits set beyond /{}", shown(t), len);
  sink.prefix<uint32_t>(a, len, w, code, excl);
  return {};
}

// ip6tset: "a:b:c:d" (four 16-bit words, no "::") is a /64; anything else a full /128.
std::string ip6tset_entry(Sink &sink, std::string_view t, int32_t w, uint32_t code, bool excl) {
  size_t colons = 0;
  for (char c : t) colons += c == ':';
  if (colons == 3 && t.find("::") == std::string_view::npos) {
    auto a = parse_ipv6(std::string(t) + "::");
    if (!a) return fmt::format("bad /64 {}", shown(t));
    sink.prefix<U128>(*a, 64, w, code, excl);
    return {};
  }
  auto a = parse_ipv6(t);
  if (!a) return fmt::format("bad address {}", shown(t));
  sink.prefix<U128>(*a, 128, w, code, excl);
  return {};
}

std::string ip6trie_entry(Sink &sink, std::string_view t, int32_t w, uint32_t code, bool excl) {
  if (t.find(':') == std::string_view::npos) return fmt::format("bad IPv6 address {}", shown(t));
  return add_cidr(sink, t, w, code, excl);
}

}  // namespace

void parse_rbldnsd(Sink &sink, std::string_view text) {
  const SourceConfig &cfg = sink.config();
  const SourceType type = cfg.type;
  const bool v6 = type == SourceType::kRbldnsdIp6trie || type == SourceType::kRbldnsdIp6tset;
  const bool tset = type == SourceType::kRbldnsdIp4tset || type == SourceType::kRbldnsdIp6tset;
  uint32_t default_code = kDefaultCode;
  for_each_line(text, [&](uint32_t n, std::string_view raw) {
    if (!sink.line(n, raw)) return;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') return;
    if (line[0] == '$') return directive(sink, line);
    // ":A:TXT" sets the default value; in IPv6 zones "::..." may also start an address.
    if (line[0] == ':' &&
        !(v6 && line.size() > 1 && line[1] == ':' &&
          parse_ipv6(split_token(line).first.substr(0, split_token(line).first.find('/'))))) {
      auto c = value_code(line, default_code);
      if (!c) return sink.bad("bad return code in default value");
      default_code = *c;
      return;
    }
    bool excl = false;
    if (line[0] == '!') {
      excl = true;
      line = trim(line.substr(1));
      if (type == SourceType::kRbldnsdIp4tset)
        return sink.bad("exclusions are not supported in rbldnsd-ip4tset");
    }
    // The address ends at whitespace (or, for IPv4, at the ':' of a value).
    size_t end = 0;
    while (end < line.size() && !is_space(line[end]) && (v6 || line[end] != ':')) ++end;
    std::string_view addr = line.substr(0, end);
    std::string_view value = trim(line.substr(end));
    if (!value.empty() && (value[0] == '#' || value[0] == ';')) value = {};
    if (addr.empty()) return sink.bad("missing address");
    uint32_t code = default_code;
    if (!value.empty() && !excl) {
      if (tset) return sink.bad(fmt::format("{} entries cannot carry a value", to_string(type)));
      auto c = value_code(value, default_code);
      if (!c) return sink.bad("bad return code");
      code = *c;
    }
    int32_t w = cfg.weight_for(code);
    std::string err;
    if (type == SourceType::kRbldnsdIp6tset)
      err = ip6tset_entry(sink, addr, w, code, excl);
    else if (type == SourceType::kRbldnsdIp6trie)
      err = ip6trie_entry(sink, addr, w, code, excl);
    else
      err = ip4_entry(sink, addr, type, w, code, excl);
    if (!err.empty()) return sink.bad(err);
    sink.entry();
  });
}

}  // namespace sluice::reputation::detail
