// Source types, the CIDR/range forms shared by several formats, and the parser dispatch.
#include <array>
#include <utility>

#include "file_io.h"
#include "parse_util.h"

namespace sluice::reputation {
namespace {

constexpr std::array<std::pair<SourceType, std::string_view>, 8> kTypeNames = {{
    {SourceType::kRbldnsdIp4set, "rbldnsd-ip4set"},
    {SourceType::kRbldnsdIp4tset, "rbldnsd-ip4tset"},
    {SourceType::kRbldnsdIp4trie, "rbldnsd-ip4trie"},
    {SourceType::kRbldnsdIp6trie, "rbldnsd-ip6trie"},
    {SourceType::kRbldnsdIp6tset, "rbldnsd-ip6tset"},
    {SourceType::kDrop, "drop"},
    {SourceType::kDropJson, "drop-json"},
    {SourceType::kList, "list"},
}};

}  // namespace

std::string_view to_string(SourceType t) {
  for (auto &[type, name] : kTypeNames)
    if (type == t) return name;
  return "?";
}

std::optional<SourceType> source_type_from_string(std::string_view n) {
  for (auto &[type, name] : kTypeNames)
    if (name == n) return type;
  return std::nullopt;
}

bool is_rbldnsd(SourceType t) {
  return t == SourceType::kRbldnsdIp4set || t == SourceType::kRbldnsdIp4tset ||
         t == SourceType::kRbldnsdIp4trie || t == SourceType::kRbldnsdIp6trie ||
         t == SourceType::kRbldnsdIp6tset;
}

namespace detail {

bool Sink::line(uint32_t n, std::string_view raw) {
  line_ = n;
  ++out_.lines;
  if (raw.find('\0') != std::string_view::npos) {
    bad("line contains a NUL byte");
    return false;
  }
  return true;
}

std::string add_cidr(Sink &sink, std::string_view text, int32_t weight, uint32_t code,
                     bool exclude) {
  std::string_view addr = text, len_text;
  bool has_len = false;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    len_text = text.substr(slash + 1);
    has_len = true;
  }
  auto ip = parse_ip(addr);
  if (!ip) return fmt::format("bad address {}", shown(addr));
  int max = ip->family == 6 ? 128 : 32;
  int len = max;
  if (has_len && !parse_prefix_len(len_text, max, len))
    return fmt::format("bad prefix length {}", shown(len_text));
  if (ip->family == 4) {
    if ((ip->v4 & ~prefix_mask<uint32_t>(len)) != 0)
      return fmt::format("{} has bits set beyond /{}", shown(text), len);
    sink.prefix<uint32_t>(ip->v4, len, weight, code, exclude);
  } else {
    if ((ip->v6 & ~prefix_mask<U128>(len)) != 0)
      return fmt::format("{} has bits set beyond /{}", shown(text), len);
    sink.prefix<U128>(ip->v6, len, weight, code, exclude);
  }
  return {};
}

std::string add_full_range(Sink &sink, std::string_view text, int32_t weight, uint32_t code,
                           bool exclude) {
  size_t dash = text.find('-');
  auto lo = parse_ip(trim(text.substr(0, dash)));
  auto hi = parse_ip(trim(text.substr(dash + 1)));
  if (!lo || !hi) return fmt::format("bad range {}", shown(text));
  if (lo->family != hi->family) return fmt::format("range {} mixes IPv4 and IPv6", shown(text));
  if (lo->family == 4) {
    if (lo->v4 > hi->v4) return fmt::format("range {} ends before it starts", shown(text));
    sink.range<uint32_t>(lo->v4, hi->v4, weight, code, exclude);
  } else {
    if (lo->v6 > hi->v6) return fmt::format("range {} ends before it starts", shown(text));
    sink.range<U128>(lo->v6, hi->v6, weight, code, exclude);
  }
  return {};
}

}  // namespace detail

ParsedSource parse_source_text(const SourceConfig &cfg, std::string_view text,
                               const std::string &file, uint16_t source_index) {
  ParsedSource out;
  detail::Sink sink(cfg, file, source_index, out);
  switch (cfg.type) {
    case SourceType::kRbldnsdIp4set:
    case SourceType::kRbldnsdIp4tset:
    case SourceType::kRbldnsdIp4trie:
    case SourceType::kRbldnsdIp6trie:
    case SourceType::kRbldnsdIp6tset:
      detail::parse_rbldnsd(sink, text);
      break;
    case SourceType::kDrop:
      detail::parse_drop(sink, text);
      break;
    case SourceType::kDropJson:
      detail::parse_drop_json(sink, text);
      break;
    case SourceType::kList:
      detail::parse_list(sink, text);
      break;
  }
  return out;
}

namespace {

std::string limit_owner(const SourceConfig &cfg) {
  return fmt::format("source '{}'", cfg.name);
}

}  // namespace

std::string_view to_string(SourceError::Kind k) {
  switch (k) {
    case SourceError::Kind::kUnreadable:
      return "unreadable";
    case SourceError::Kind::kTooLarge:
      return "too-large";
    case SourceError::Kind::kTruncated:
      return "truncated";
    case SourceError::Kind::kCorrupt:
      return "corrupt";
    case SourceError::Kind::kMalformed:
      return "malformed";
    case SourceError::Kind::kEmpty:
      return "empty";
  }
  return "?";
}

size_t ParsedSource::listed() const {
  size_t n = 0;
  for (const auto &e : v4) n += !e.exclude;
  for (const auto &e : v6) n += !e.exclude;
  return n;
}

ParsedSource parse_source_bytes(const SourceConfig &cfg, std::string bytes, const std::string &file,
                                uint16_t source_index) {
  const bool gzip = detail::is_gzip(bytes);
  std::string text = detail::decode_list(std::move(bytes), file, cfg.max_size, limit_owner(cfg));
  ParsedSource out = parse_source_text(cfg, text, file, source_index);
  out.gzip = gzip;
  if (out.listed() == 0 && !cfg.allow_empty)
    throw SourceError(
        SourceError::Kind::kEmpty,
        fmt::format("{}: lists nothing ({} lines, {} malformed{}): refused as an empty or broken "
                    "download; set allow_empty = true in [{}] if this source may be empty",
                    file, out.lines, out.malformed(), gzip ? ", gzip" : "",
                    shown(cfg.name, false)));
  return out;
}

ParsedSource parse_source(const SourceConfig &cfg, uint16_t source_index) {
  return parse_source_bytes(cfg, detail::read_list(cfg.path, cfg.max_size, limit_owner(cfg)),
                            cfg.path, source_index);
}

}  // namespace sluice::reputation
