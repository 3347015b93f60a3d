#include "sluice/reputation/sources_file.h"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "file_io.h"
#include "parse_util.h"
#include "sluice/reputation/ini_syntax.h"

namespace sluice::reputation {
namespace po = boost::program_options;
using detail::shown;
namespace {

bool parse_bool(std::string_view v, bool &out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return out = true, true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return out = false, true;
  return false;
}

bool parse_size(std::string_view v, size_t &out) {
  int32_t n;
  if (!detail::parse_int32(v, n) || n < 0) return false;
  out = static_cast<size_t>(n);
  return true;
}

// A byte count: digits with an optional K, M or G suffix (KiB, MiB, GiB); more than zero.
bool parse_byte_size(std::string_view v, uint64_t &out) {
  uint64_t unit = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K':
      case 'k':
        unit = uint64_t{1} << 10;
        break;
      case 'M':
      case 'm':
        unit = uint64_t{1} << 20;
        break;
      case 'G':
      case 'g':
        unit = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (unit != 1) v.remove_suffix(1);
  }
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n == 0) return false;
  if (n > (uint64_t{1} << 40) / unit) return false;  // at most 1 TiB
  out = n * unit;
  return true;
}

// A return code in a "weight.CODE" key: a dotted quad or a number N meaning 127.0.0.N.
std::optional<uint32_t> parse_code_key(std::string_view c) {
  if (c.find('.') == std::string_view::npos) {
    int32_t n;
    if (!detail::parse_int32(c, n) || n < 0 || n > 255) return std::nullopt;
    return 0x7f000000u | static_cast<uint32_t>(n);
  }
  return parse_ipv4(c);
}

}  // namespace

SourcesFile parse_sources_text(std::string_view text, const std::string &path) {
  SourcesFile out;
  out.path = path;
  std::vector<po::option> options;
  if (auto bad = ini_syntax_error(text)) throw Error(path + ": " + *bad);
  try {
    std::istringstream in{std::string(text)};
    po::options_description none;
    options = po::parse_config_file(in, none, /*allow_unregistered=*/true).options;
  } catch (const po::error &e) {
    throw Error(path + ": " + e.what());
  }
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  size_t default_max_malformed = kDefaultMaxMalformed;
  bool default_max_set = false;
  uint64_t default_max_size = kDefaultMaxSize;
  bool default_size_set = false;
  struct Pending {
    SourceConfig cfg;
    bool has_type = false, has_path = false, has_weight = false, has_max = false;
    bool has_size = false;
    std::set<std::string> keys;
  };
  std::vector<Pending> sections;
  std::map<std::string, size_t> index;
  auto fail = [&](const std::string &section, const std::string &why) -> void {
    throw Error(section.empty() ? fmt::format("{}: {}", path, why)
                                : fmt::format("{}: [{}] {}", path, shown(section, false), why));
  };
  for (const po::option &o : options) {
    const std::string &full = o.string_key;
    std::string value = o.value.empty() ? std::string() : o.value.front();
    value = std::string(detail::trim(value));
    size_t dot = full.find('.');
    if (dot == std::string::npos) {  // a global key (before the first section)
      if (full == "max_malformed") {
        if (default_max_set) fail("", "duplicate key 'max_malformed'");
        if (!parse_size(value, default_max_malformed))
          fail("", fmt::format("bad max_malformed {}", shown(value)));
        default_max_set = true;
        continue;
      }
      if (full == "max_size") {
        if (default_size_set) fail("", "duplicate key 'max_size'");
        if (!parse_byte_size(value, default_max_size))
          fail("", fmt::format("bad max_size {} (expected bytes, e.g. 1048576, 512M, 2G)",
                               shown(value)));
        default_size_set = true;
        continue;
      }
      fail("", fmt::format("unknown key {} outside a section", shown(full)));
    }
    std::string name = full.substr(0, dot), key = full.substr(dot + 1);
    auto [it, fresh] = index.try_emplace(name, sections.size());
    if (fresh) {
      sections.emplace_back();
      sections.back().cfg.name = name;
    }
    Pending &p = sections[it->second];
    if (!p.keys.insert(key).second) fail(name, fmt::format("duplicate key {}", shown(key)));
    SourceConfig &c = p.cfg;
    if (key == "type") {
      auto t = source_type_from_string(value);
      if (!t)
        fail(name, fmt::format("unknown type {} (expected rbldnsd-ip4set, rbldnsd-ip4tset, "
                               "rbldnsd-ip4trie, rbldnsd-ip6trie, rbldnsd-ip6tset, drop, "
                               "drop-json or list)",
                               shown(value)));
      c.type = *t;
      p.has_type = true;
    } else if (key == "path") {
      if (value.empty()) fail(name, "empty path");
      std::filesystem::path sp(value);
      c.path = sp.is_absolute() || base.empty() ? sp.string() : (base / sp).string();
      p.has_path = true;
    } else if (key == "weight") {
      if (!detail::parse_int32(value, c.weight))
        fail(name, fmt::format("bad weight {}", shown(value)));
      p.has_weight = true;
    } else if (key == "allow") {
      if (!parse_bool(value, c.allow))
        fail(name, fmt::format("bad allow {} (expected true or false)", shown(value)));
    } else if (key == "max_malformed") {
      if (!parse_size(value, c.max_malformed))
        fail(name, fmt::format("bad max_malformed {}", shown(value)));
      p.has_max = true;
    } else if (key == "max_size") {
      if (!parse_byte_size(value, c.max_size))
        fail(name,
             fmt::format("bad max_size {} (expected bytes, e.g. 1048576, 512M, 2G)", shown(value)));
      p.has_size = true;
    } else if (key == "allow_empty") {
      if (!parse_bool(value, c.allow_empty))
        fail(name, fmt::format("bad allow_empty {} (expected true or false)", shown(value)));
    } else if (key == "description") {
      // free text for operators
    } else if (key.rfind("weight.", 0) == 0) {
      auto code = parse_code_key(key.substr(7));
      if (!code) fail(name, fmt::format("bad return code in {}", shown(key)));
      int32_t w;
      if (!detail::parse_int32(value, w)) fail(name, fmt::format("bad weight {}", shown(value)));
      c.code_weights[*code] = w;
    } else {
      fail(name, fmt::format("unknown key {}", shown(key)));
    }
  }
  for (Pending &p : sections) {
    if (!p.has_type) fail(p.cfg.name, "missing 'type'");
    if (!p.has_path) fail(p.cfg.name, "missing 'path'");
    if (!p.cfg.code_weights.empty() && !is_rbldnsd(p.cfg.type))
      fail(p.cfg.name, "per-return-code weights (weight.CODE) apply to rbldnsd zones only");
    if (!p.has_weight) p.cfg.weight = p.cfg.allow ? 0 : 1;
    if (!p.has_max) p.cfg.max_malformed = default_max_malformed;
    if (!p.has_size) p.cfg.max_size = default_max_size;
    out.sources.push_back(std::move(p.cfg));
  }
  if (out.sources.empty()) fail("", "no sources (expected one [section] per source)");
  if (out.sources.size() > 65535) fail("", "too many sources");
  return out;
}

SourcesFile load_sources_file(const std::string &path) {
  return parse_sources_text(detail::read_file(path), path);
}

}  // namespace sluice::reputation
