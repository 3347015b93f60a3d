// Shared pieces of the source parsers: line splitting, the entry sink (ranges to prefixes,
// malformed-line accounting) and the textual forms several formats share.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "input_text.h"
#include "sluice/reputation/address.h"
#include "sluice/reputation/error.h"
#include "sluice/reputation/source.h"

namespace sluice::reputation::detail {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(line_number, line) for every line (without its '\n' or a trailing '\r').
template <class Fn>
void for_each_line(std::string_view text, Fn &&fn) {
  uint32_t n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(++n, line);
    pos = end + 1;
  }
}

// First whitespace-separated token, and the rest after it (left-trimmed).
inline std::pair<std::string_view, std::string_view> split_token(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !is_space(s[i])) ++i;
  std::string_view rest = s.substr(i);
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  return {s.substr(0, i), rest};
}

inline bool parse_int32(std::string_view s, int32_t &out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

inline bool parse_prefix_len(std::string_view s, int max, int &out) {
  if (s.empty() || s.size() > 3) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0 && out <= max;
}

// Calls fn(prefix, len) for the smallest set of prefixes that covers [lo, hi] exactly.
template <class A, class Fn>
void range_to_prefixes(A lo, A hi, Fn &&fn) {
  constexpr int bits = Family<A>::kBits;
  for (;;) {
    // The largest aligned block starting at lo that ends at or before hi.
    int len = bits;
    while (len > 0) {
      int l = len - 1;
      if ((lo & ~prefix_mask<A>(l)) != 0) break;  // lo not aligned to a /l block
      if (prefix_last<A>(lo, l) > hi) break;
      len = l;
    }
    fn(lo, len);
    A last = prefix_last<A>(lo, len);
    if (last >= hi) return;
    lo = last + 1;
  }
}

// Input text in messages (input_text.h).
using ::sluice::kMaxShown;
using ::sluice::shown;

// Collects the entries of one source and counts its malformed lines.
class Sink {
 public:
  Sink(const SourceConfig &cfg, const std::string &file, uint16_t source, ParsedSource &out)
      : cfg_(cfg), file_(file), source_(source), out_(out) {}

  // Starts line n; false (the line recorded as malformed) when it holds a NUL byte, which no
  // format allows and which would cut an address short where it reaches a C string.
  bool line(uint32_t n, std::string_view raw);
  const SourceConfig &config() const { return cfg_; }
  ParsedSource &parsed() { return out_; }

  template <class A>
  void prefix(A addr, int len, int32_t weight, uint32_t code, bool exclude) {
    Entry<A> e{addr, weight, line_, code, source_, static_cast<uint8_t>(len), exclude};
    if constexpr (Family<A>::kBits == 32)
      out_.v4.push_back(e);
    else
      out_.v6.push_back(e);
  }
  template <class A>
  void range(A lo, A hi, int32_t weight, uint32_t code, bool exclude) {
    range_to_prefixes<A>(lo, hi, [&](A p, int len) { prefix<A>(p, len, weight, code, exclude); });
  }
  void entry() { ++out_.entries; }

  // A malformed line: recorded as "file:line: reason" and skipped.
  void bad(std::string_view reason) {
    out_.problems.push_back(fmt::format("{}:{}: {}", file_, line_, reason));
    if (out_.problems.size() > cfg_.max_malformed)
      throw SourceError(
          SourceError::Kind::kMalformed,
          fmt::format("{}: more than {} malformed lines (the max_malformed limit of source '{}'); "
                      "last: line {}: {}",
                      file_, cfg_.max_malformed, cfg_.name, line_, reason));
  }

 private:
  const SourceConfig &cfg_;
  const std::string &file_;
  uint16_t source_;
  ParsedSource &out_;
  uint32_t line_ = 0;
};

// "ADDR", "ADDR/LEN" of either family, host bits must be clear. Returns an empty string on
// success or the reason it is malformed; calls sink.prefix.
std::string add_cidr(Sink &sink, std::string_view text, int32_t weight, uint32_t code,
                     bool exclude);
// "LO-HI" of full addresses of one family.
std::string add_full_range(Sink &sink, std::string_view text, int32_t weight, uint32_t code,
                           bool exclude);

void parse_rbldnsd(Sink &sink, std::string_view text);
void parse_drop(Sink &sink, std::string_view text);
void parse_drop_json(Sink &sink, std::string_view text);
void parse_list(Sink &sink, std::string_view text);

}  // namespace sluice::reputation::detail
