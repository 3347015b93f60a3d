#include "trust_file.h"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "input_text.h"
#include "keys.h"
#include "sluice/reputation/ini_syntax.h"
#include "sluice_error.h"

namespace sluice::feed {
namespace po = boost::program_options;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_number(std::string_view s, T &out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool parse_duration_ms(std::string_view text, int64_t &out) {
  int64_t unit = 1000;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        unit = 1000;
        text.remove_suffix(1);
        break;
      case 'm':
        unit = 60000;
        text.remove_suffix(1);
        break;
      case 'h':
        unit = 3600000;
        text.remove_suffix(1);
        break;
      case 'd':
        unit = 86400000;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  int64_t n;
  if (!parse_number(text, n) || n < 0 || n > 365 * 86400000LL / unit) return false;
  out = n * unit;
  return true;
}

TrustConfig parse_trust_text(std::string_view text, const std::string &path) {
  TrustConfig cfg;
  std::vector<po::option> options;
  if (auto bad = reputation::ini_syntax_error(text)) throw Error(path + ": " + *bad);
  try {
    std::istringstream in{std::string(text)};
    po::options_description none;
    options = po::parse_config_file(in, none, /*allow_unregistered=*/true).options;
  } catch (const po::error &e) {
    throw Error(path + ": " + e.what());
  }
  auto fail = [&](const std::string &section, const std::string &why) -> void {
    throw Error(section.empty() ? fmt::format("{}: {}", path, why)
                                : fmt::format("{}: [{}] {}", path, shown(section, false), why));
  };
  std::set<std::string> seen;
  std::map<std::string, size_t> index;
  std::set<std::string> with_key;
  for (const po::option &o : options) {
    const std::string &full = o.string_key;
    const std::string value(trim(o.value.empty() ? std::string() : o.value.front()));
    if (!seen.insert(full).second) fail("", fmt::format("duplicate key {}", shown(full)));
    const size_t dot = full.find('.');
    const bool global = dot == std::string::npos || full.rfind("points.", 0) == 0;
    if (global) {
      int64_t ms;
      if (full == "quorum") {
        if (!parse_number(std::string_view(value), cfg.quorum) || cfg.quorum < 1 || cfg.quorum > 64)
          fail("", fmt::format("bad quorum {} (1..64)", shown(value)));
      } else if (full == "max_ttl") {
        if (!parse_duration_ms(value, ms) || ms < 60000)
          fail("", fmt::format("bad max_ttl {} (60s..365d)", shown(value)));
        cfg.max_ttl_ms = ms;
      } else if (full == "max_age" || full == "max_skew") {
        if (!parse_duration_ms(value, ms) || ms < 1000)
          fail("", fmt::format("bad {} {} (1s..365d)", full, shown(value)));
        (full == "max_age" ? cfg.verifier.max_age_ms : cfg.verifier.max_skew_ms) = ms;
      } else if (full == "min_prefix_v4" || full == "min_prefix_v6") {
        const int max = full == "min_prefix_v4" ? 32 : 128;
        int n;
        if (!parse_number(std::string_view(value), n) || n < 1 || n > max)
          fail("", fmt::format("bad {} {} (1..{})", full, shown(value), max));
        (full == "min_prefix_v4" ? cfg.verifier.min_prefix_v4 : cfg.verifier.min_prefix_v6) = n;
      } else if (full.rfind("points.", 0) == 0) {
        auto kind = kind_from_string(std::string_view(full).substr(7));
        if (!kind) fail("", fmt::format("unknown kind in {}", shown(full)));
        int32_t n;
        if (!parse_number(std::string_view(value), n) || n < -1000 || n > 1000)
          fail("", fmt::format("bad {} {} (-1000..1000)", full, shown(value)));
        cfg.points[static_cast<size_t>(*kind)] = n;
      } else {
        fail("", fmt::format("unknown key {} outside a section", shown(full)));
      }
      continue;
    }
    const std::string name = full.substr(0, dot), key = full.substr(dot + 1);
    if (!valid_participant(name)) fail(name, "is not a participant name (1..63 of a-z 0-9 - _)");
    auto [it, fresh] = index.try_emplace(name, cfg.participants.size());
    if (fresh) {
      cfg.participants.emplace_back();
      cfg.participants.back().name = name;
    }
    ParticipantTrust &p = cfg.participants[it->second];
    if (key == "key") {
      auto k = parse_public_key(value);
      if (!k) fail(name, "bad key (an Ed25519 public key, 44 characters of base64)");
      p.key = *k;
      with_key.insert(name);
    } else if (key == "weight") {
      double w;
      if (!parse_number(std::string_view(value), w) || !(w >= 0 && w <= 10))
        fail(name, fmt::format("bad weight {} (0..10)", shown(value)));
      p.weight = w;
    } else if (key == "cap") {
      if (!parse_number(std::string_view(value), p.cap) || p.cap < 0 || p.cap > 1000000)
        fail(name, fmt::format("bad cap {} (0..1000000)", shown(value)));
    } else if (key == "half_life") {
      if (!parse_duration_ms(value, p.half_life_ms) || p.half_life_ms < 1000)
        fail(name, fmt::format("bad half_life {} (1s..365d)", shown(value)));
    } else if (key == "max_entries") {
      if (!parse_number(std::string_view(value), p.max_entries) || p.max_entries < 1 ||
          p.max_entries > 10000000)
        fail(name, fmt::format("bad max_entries {} (1..10000000)", shown(value)));
    } else if (key == "max_silence") {
      if (value == "0" || value == "off") {
        p.max_silence_ms = 0;
      } else if (!parse_duration_ms(value, p.max_silence_ms) || p.max_silence_ms < 1000) {
        fail(name, fmt::format("bad max_silence {} (1s..365d, or 0/off)", shown(value)));
      }
    } else if (key == "description") {
    } else {
      fail(name, fmt::format("unknown key {}", shown(key)));
    }
  }
  for (const auto &p : cfg.participants)
    if (!with_key.count(p.name)) fail(p.name, "missing 'key'");
  if (cfg.participants.empty()) fail("", "no participants (one [section] per participant)");
  return cfg;
}

TrustConfig load_trust_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot read", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_trust_text(text.str(), path);
}

}  // namespace sluice::feed
