// Policy file parser. Boost.Program_options reads the INI syntax; a first pass of our own
// records the line of every key (Boost does not report lines) and rejects what Boost would
// silently accept (duplicate keys, unknown sections), so every error names FILE:LINE.
#include "policy_file.h"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace sluice::dataplane {
namespace {

namespace po = boost::program_options;

std::string trim(const std::string &s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

[[noreturn]] void fail(const std::string &name, int line, const std::string &reason) {
  if (line > 0) throw PolicyError(name + ":" + std::to_string(line) + ": " + reason);
  throw PolicyError(name + ": " + reason);
}

// Pass 1: the line of each "section.key" and of each section header, syntax checked.
struct Layout {
  std::map<std::string, int> key_line;
  std::map<std::string, int> section_line;
};

Layout scan(std::istream &in, const std::string &name, std::string &text_out) {
  Layout layout;
  std::ostringstream text;
  std::string raw, section;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    text << raw << '\n';
    std::string s = raw;
    if (const auto hash = s.find('#'); hash != std::string::npos) s.resize(hash);
    s = trim(s);
    if (s.empty()) continue;
    if (s.front() == '[') {
      if (s.back() != ']') fail(name, line, "section header without closing ']'");
      section = trim(s.substr(1, s.size() - 2));
      if (section.empty()) fail(name, line, "empty section name");
      if (!layout.section_line.emplace(section, line).second)
        fail(name, line,
             "section [" + section + "] repeated (first at line " +
                 std::to_string(layout.section_line[section]) + ")");
      continue;
    }
    const auto eq = s.find('=');
    if (eq == std::string::npos) fail(name, line, "expected 'key = value', got '" + s + "'");
    const std::string key = trim(s.substr(0, eq));
    if (key.empty()) fail(name, line, "missing key before '='");
    const std::string full = section.empty() ? key : section + "." + key;
    if (auto [it, fresh] = layout.key_line.emplace(full, line); !fresh)
      fail(name, line,
           "duplicate key '" + key + "' (first at line " + std::to_string(it->second) + ")");
  }
  if (in.bad()) fail(name, 0, "read error");
  text_out = text.str();
  return layout;
}

uint64_t parse_uint(const std::string &v, uint64_t max, const std::string &what) {
  uint64_t out = 0;
  const char *b = v.data(), *e = v.data() + v.size();
  auto [p, ec] = std::from_chars(b, e, out);
  if (v.empty() || ec != std::errc() || p != e)
    throw PolicyError(what + ": '" + v + "' is not a non-negative integer");
  if (out > max) throw PolicyError(what + ": " + v + " exceeds " + std::to_string(max));
  return out;
}

int32_t parse_int32(const std::string &v, const std::string &what) {
  int32_t out = 0;
  const char *b = v.data(), *e = v.data() + v.size();
  auto [p, ec] = std::from_chars(b, e, out);
  if (v.empty() || ec != std::errc() || p != e)
    throw PolicyError(what + ": '" + v + "' is not a 32-bit integer");
  return out;
}

bool parse_bool(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  throw PolicyError(what + ": '" + v + "' is not a boolean (true/false)");
}

uint8_t parse_block(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "none" || l == "no" || l == "false") return SL_BLOCK_NONE;
  if (l == "drop") return SL_BLOCK_DROP;
  if (l == "rst" || l == "reset") return SL_BLOCK_RST;
  throw PolicyError(what + ": '" + v + "' is not one of none, drop, rst");
}

// Level sections are "level.N" with N in 1..SL_MAX_LEVELS-1; returns 0 for anything else.
unsigned level_of_section(const std::string &section) {
  if (section.rfind("level.", 0) != 0) return 0;
  const std::string n = section.substr(6);
  unsigned out = 0;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), out);
  if (n.empty() || ec != std::errc() || p != n.data() + n.size()) return 0;
  return out;
}

struct LevelKeys {
  std::map<std::string, std::string> values;  // key -> value
};

void apply_level_key(sl_profile &prof, int32_t &threshold, bool &has_threshold, std::string &nm,
                     bool &wscale_given, const std::string &key, const std::string &value) {
  const std::string what = "'" + key + "'";
  if (key == "threshold") {
    threshold = parse_int32(value, what);
    has_threshold = true;
  } else if (key == "name") {
    if (value.empty()) throw PolicyError("'name' is empty");
    nm = value;
  } else if (key == "window_clamp") {
    prof.window_clamp = static_cast<uint32_t>(parse_uint(value, 65535, what));
  } else if (key == "mss_clamp") {
    prof.mss_clamp = static_cast<uint16_t>(parse_uint(value, 65535, what));
  } else if (key == "strip_wscale") {
    prof.strip_wscale = parse_bool(value, what);
    wscale_given = true;
  } else if (key == "strip_sack_perm") {
    prof.strip_sack_perm = parse_bool(value, what);
  } else if (key == "delay_us") {
    prof.delay_us = static_cast<uint32_t>(parse_uint(value, 60'000'000, what));
  } else if (key == "delay_ms") {
    prof.delay_us = static_cast<uint32_t>(parse_uint(value, 60'000, what) * 1000);
  } else if (key == "client_drop_ppm") {
    prof.client_drop_ppm = static_cast<uint32_t>(parse_uint(value, 1'000'000, what));
  } else if (key == "server_drop_ppm") {
    prof.server_drop_ppm = static_cast<uint32_t>(parse_uint(value, 1'000'000, what));
  } else if (key == "tarpit") {
    prof.tarpit = parse_bool(value, what);
  } else if (key == "block") {
    prof.block = parse_block(value, what);
  } else {
    throw PolicyError("unknown key '" + key +
                      "' (expected threshold, name, window_clamp, mss_clamp, strip_wscale, "
                      "strip_sack_perm, delay_us, delay_ms, client_drop_ppm, server_drop_ppm, "
                      "tarpit, block)");
  }
}

}  // namespace

std::vector<uint16_t> parse_port_list(const std::string &text) {
  std::vector<uint16_t> ports;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) throw PolicyError("empty entry in port list '" + text + "'");
    const auto port = static_cast<uint16_t>(parse_uint(item, 65535, "port"));
    if (port == 0) throw PolicyError("port 0 is not a valid SMTP port");
    if (std::find(ports.begin(), ports.end(), port) != ports.end())
      throw PolicyError("port " + item + " listed twice");
    ports.push_back(port);
  }
  if (ports.empty()) throw PolicyError("no SMTP port given");
  if (ports.size() > SL_MAX_SMTP_PORTS)
    throw PolicyError("at most " + std::to_string(SL_MAX_SMTP_PORTS) + " SMTP ports");
  return ports;
}

void set_smtp_ports(sl_policy &policy, const std::vector<uint16_t> &ports_host_order) {
  for (unsigned i = 0; i < SL_MAX_SMTP_PORTS; ++i)
    policy.smtp_ports[i] = i < ports_host_order.size() ? sl_htons(ports_host_order[i]) : 0;
}

PolicyFile parse_policy(std::istream &in, const std::string &name) {
  std::string text;
  const Layout layout = scan(in, name, text);

  // Boost.Program_options reads the values; nothing is registered, so every key comes back as
  // an unregistered option and we validate it ourselves (with the line pass 1 recorded).
  po::options_description none;
  po::parsed_options parsed(&none);
  try {
    std::istringstream again(text);
    parsed = po::parse_config_file(again, none, /*allow_unregistered=*/true);
  } catch (const po::error &e) {
    fail(name, 0, e.what());
  }

  for (const auto &[section, line] : layout.section_line) {
    if (section == "smtp") continue;
    const unsigned lvl = level_of_section(section);
    if (lvl == 0 || lvl >= SL_MAX_LEVELS)
      fail(name, line,
           "unknown section [" + section + "] (expected [smtp] or [level.N], N = 1.." +
               std::to_string(SL_MAX_LEVELS - 1) + ")");
  }

  PolicyFile out;
  out.level_names.assign(SL_MAX_LEVELS, "");
  out.level_names[0] = "pass";
  std::vector<uint16_t> ports{25};
  int32_t thresholds[SL_MAX_LEVELS] = {};
  bool has_threshold[SL_MAX_LEVELS] = {};
  bool wscale_given[SL_MAX_LEVELS] = {};
  bool present[SL_MAX_LEVELS] = {};

  for (const auto &opt : parsed.options) {
    const std::string &full = opt.string_key;
    const auto where = layout.key_line.find(full);
    const int line = where == layout.key_line.end() ? 0 : where->second;
    const std::string value = opt.value.empty() ? std::string() : trim(opt.value.front());
    const auto dot = full.rfind('.');
    const std::string section = dot == std::string::npos ? "" : full.substr(0, dot);
    const std::string key = dot == std::string::npos ? full : full.substr(dot + 1);
    try {
      if (section.empty()) {
        throw PolicyError("key '" + key + "' outside a section ([smtp] or [level.N])");
      } else if (section == "smtp") {
        if (key == "ports") {
          ports = parse_port_list(value);
        } else if (key == "unseen_tcp") {
          if (value != "drop" && value != "pass")
            throw PolicyError("unseen_tcp must be drop or pass, not '" + value + "'");
          out.policy.unseen_tcp = value == "pass" ? SL_UNSEEN_PASS : SL_UNSEEN_DROP;
        } else {
          throw PolicyError("unknown key '" + key + "' in [smtp] (expected ports, unseen_tcp)");
        }
      } else {
        const unsigned lvl = level_of_section(section);
        present[lvl] = true;
        apply_level_key(out.policy.profiles[lvl], thresholds[lvl], has_threshold[lvl],
                        out.level_names[lvl], wscale_given[lvl], key, value);
      }
    } catch (const PolicyError &e) {
      fail(name, line, e.what());
    }
  }
  for (const auto &[section, line] : layout.section_line) {
    const unsigned lvl = level_of_section(section);
    if (lvl > 0) present[lvl] = true;
  }

  // Levels are 1..n without gaps, each with a threshold, thresholds non-decreasing.
  unsigned nlevels = 1;
  while (nlevels < SL_MAX_LEVELS && present[nlevels]) ++nlevels;
  for (unsigned l = nlevels; l < SL_MAX_LEVELS; ++l)
    if (present[l])
      fail(name, layout.section_line.at("level." + std::to_string(l)),
           "[level." + std::to_string(l) + "] without [level." + std::to_string(nlevels) +
               "]: levels must be numbered 1, 2, ... without gaps");
  for (unsigned l = 1; l < nlevels; ++l) {
    const std::string sec = "level." + std::to_string(l);
    const int line = layout.section_line.count(sec) ? layout.section_line.at(sec) : 0;
    if (!has_threshold[l]) fail(name, line, "[" + sec + "] has no threshold");
    if (l > 1 && thresholds[l] < thresholds[l - 1])
      fail(name, layout.key_line.at(sec + ".threshold"),
           "threshold " + std::to_string(thresholds[l]) + " of level " + std::to_string(l) +
               " is below level " + std::to_string(l - 1) + "'s " +
               std::to_string(thresholds[l - 1]) + " (thresholds must not decrease)");
    sl_profile &p = out.policy.profiles[l];
    // A clamped window only means what it says without scaling (sl_shared.h).
    if (p.window_clamp != 0 && !wscale_given[l]) p.strip_wscale = 1;
    if (p.window_clamp != 0 && !p.strip_wscale)
      fail(name, layout.key_line.at(sec + ".strip_wscale"),
           "window_clamp needs strip_wscale = true (a scaled window cannot be clamped)");
    if (out.level_names[l].empty()) out.level_names[l] = "level" + std::to_string(l);
    out.policy.thresholds[l] = thresholds[l];
  }
  out.policy.nlevels = nlevels;
  out.level_names.resize(nlevels);
  set_smtp_ports(out.policy, ports);
  return out;
}

PolicyFile load_policy(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw PolicyError(path + ": cannot open policy file");
  return parse_policy(in, path);
}

std::string format_policy(const PolicyFile &p) {
  std::ostringstream o;
  o << "[smtp]\nports = ";
  bool first = true;
  for (auto port : p.policy.smtp_ports) {
    if (port == 0) continue;
    o << (first ? "" : ", ") << sl_ntohs(port);
    first = false;
  }
  o << "\nunseen_tcp = " << (p.policy.unseen_tcp == SL_UNSEEN_PASS ? "pass" : "drop") << "\n";
  static const char *const kBlock[] = {"none", "drop", "rst"};
  for (unsigned l = 1; l < p.policy.nlevels; ++l) {
    const sl_profile &f = p.policy.profiles[l];
    o << "\n[level." << l << "]\n";
    if (l < p.level_names.size()) o << "name = " << p.level_names[l] << "\n";
    o << "threshold = " << p.policy.thresholds[l] << "\n"
      << "window_clamp = " << f.window_clamp << "\n"
      << "mss_clamp = " << f.mss_clamp << "\n"
      << "strip_wscale = " << (f.strip_wscale ? "true" : "false") << "\n"
      << "strip_sack_perm = " << (f.strip_sack_perm ? "true" : "false") << "\n"
      << "delay_us = " << f.delay_us << "\n"
      << "client_drop_ppm = " << f.client_drop_ppm << "\n"
      << "server_drop_ppm = " << f.server_drop_ppm << "\n"
      << "tarpit = " << (f.tarpit ? "true" : "false") << "\n"
      << "block = " << kBlock[f.block <= SL_BLOCK_RST ? f.block : 0] << "\n";
  }
  return o.str();
}

}  // namespace sluice::dataplane
