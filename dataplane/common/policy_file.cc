// Policy file parser: one pass over the lines, so every error names FILE:LINE. What each key
// means is one row of kKeys (section, key, how to apply its value); the checks that span
// several keys or levels run after the pass.
#include "policy_file.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "core/sl_caps.h"
#include "core/sl_cookie.h"
#include "core/sl_decide.h"
#include "server_scope.h"

namespace sluice::dataplane {
namespace {

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

// ---- values ------------------------------------------------------------------------------

uint64_t parse_uint(const std::string &v, uint64_t max, const std::string &what) {
  uint64_t out = 0;
  const char *b = v.data(), *e = v.data() + v.size();
  auto [p, ec] = std::from_chars(b, e, out);
  if (v.empty() || ec != std::errc() || p != e)
    throw PolicyError(what + ": " + shown(v) + " is not a non-negative integer");
  if (out > max) throw PolicyError(what + ": " + v + " exceeds " + std::to_string(max));
  return out;
}

int32_t parse_int32(const std::string &v, const std::string &what) {
  int32_t out = 0;
  const char *b = v.data(), *e = v.data() + v.size();
  auto [p, ec] = std::from_chars(b, e, out);
  if (v.empty() || ec != std::errc() || p != e)
    throw PolicyError(what + ": " + shown(v) + " is not a 32-bit integer");
  return out;
}

bool parse_bool(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  throw PolicyError(what + ": " + shown(v) + " is not a boolean (true/false)");
}

// `mode`: enforce (act on packets) or observe (decide and count, forward unchanged).
int parse_mode(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "enforce") return 0;
  if (l == "observe") return 1;
  throw PolicyError(what + ": " + shown(v) + " is not one of enforce, observe");
}

uint32_t parse_cap_over(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "drop") return SL_CAP_DROP;
  if (l == "rst" || l == "reset") return SL_CAP_RST;
  throw PolicyError(what + ": " + shown(v) + " is not one of drop, rst");
}

uint8_t parse_block(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "none" || l == "no" || l == "false") return SL_BLOCK_NONE;
  if (l == "drop") return SL_BLOCK_DROP;
  if (l == "rst" || l == "reset") return SL_BLOCK_RST;
  throw PolicyError(what + ": " + shown(v) + " is not one of none, drop, rst");
}

// true/yes/on/1 and "server": the MTA's window zeroed from its greeting on; "stateless": the data
// plane answers the SYN itself (core/sl_cookie.h).
uint8_t parse_tarpit(const std::string &v, const std::string &what) {
  const std::string l = lower(v);
  if (l == "server") return SL_TARPIT_SERVER;
  if (l == "stateless") return SL_TARPIT_STATELESS;
  if (l == "true" || l == "yes" || l == "on" || l == "1") return SL_TARPIT_SERVER;
  if (l == "false" || l == "no" || l == "off" || l == "0") return SL_TARPIT_NONE;
  throw PolicyError(what + ": " + shown(v) + " is not one of false, server (or true), stateless");
}

// A level name is shown by sluicectl and travels in JSON replies: printable ASCII, bounded.
constexpr size_t kMaxLevelName = 64;
std::string parse_level_name(const std::string &v, const std::string &what) {
  if (v.empty()) throw PolicyError(what + " is empty");
  if (v.size() > kMaxLevelName)
    throw PolicyError(what + ": longer than " + std::to_string(kMaxLevelName) + " bytes");
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e)
      throw PolicyError(what + ": " + shown(v) + " has a byte that is not printable ASCII");
  return v;
}

// ---- sections and keys ---------------------------------------------------------------------

// What the pass collects besides the profile fields themselves.
struct LevelState {
  int section_line = 0;  // 0: no [level.N] section
  int threshold_line = 0;
  int strip_wscale_line = 0;
  int tarpit_line = 0;
  int caps_line = 0;  // the first caps key's line (0: none)
  uint32_t syn_per_min = 0;
  uint32_t syn_burst = 0;  // 0: unset (the default: 10 seconds' worth)
  int syn_burst_line = 0;
  int32_t threshold = 0;
  int mode = -1;  // the level's `mode`: 0 enforce, 1 observe, -1 unset ([smtp] mode decides)
};

// SYNs per window (about 1 s) that make a prefix a heavy hitter, unless the file says otherwise.
constexpr uint32_t kDefaultHeavySynThreshold = 5;
constexpr uint32_t kMaxHeavySynThreshold = 1'000'000;

// Levels are parsed by index: an inbound [level.N] is N, an [outbound.level.N] is
// kOutboundBase + N; the outbound ones are numbered after the inbound ones once the whole file
// is read (sl_policy.out_first).
constexpr unsigned kOutboundBase = SL_MAX_LEVELS;

struct State {
  PolicyFile out;
  std::vector<uint16_t> ports{25};
  bool heavy = true;     // [smtp] heavy_hitters
  bool pregreet = true;  // [smtp] pregreet
  uint32_t heavy_threshold = kDefaultHeavySynThreshold;
  int mode = 0;  // [smtp] mode: every level's unless the level says otherwise
  LevelState level[2 * SL_MAX_LEVELS];
  // Outbound abuse control: on with an [outbound] or [outbound.level.N] section.
  bool outbound = false;
  std::vector<uint16_t> out_ports{25};  // [outbound] ports
  sl_profile out_profiles[SL_MAX_LEVELS]{};
  sl_caps out_caps[SL_MAX_LEVELS]{};
  std::string out_names[SL_MAX_LEVELS];
};

enum class Section { kSmtp, kLevel, kOutbound };

// One key of one section kind: `apply` parses `value` into `st` (level is 0 in [smtp]) and
// throws PolicyError("reason") for a bad value; `what` is the quoted key for messages.
struct KeySpec {
  Section section;
  const char *key;
  void (*apply)(State &st, unsigned level, int line, const std::string &value,
                const std::string &what);
};

sl_profile &prof(State &st, unsigned l) {
  return l < kOutboundBase ? st.out.policy.profiles[l] : st.out_profiles[l - kOutboundBase];
}

sl_caps &caps(State &st, unsigned l, int line) {
  if (st.level[l].caps_line == 0) st.level[l].caps_line = line;
  return l < kOutboundBase ? st.out.policy.caps[l] : st.out_caps[l - kOutboundBase];
}

std::string &level_name(State &st, unsigned l) {
  return l < kOutboundBase ? st.out.level_names[l] : st.out_names[l - kOutboundBase];
}

// Aggregate caps' bounds: a sender may be allowed up to a million open flows, and a rate of at
// most 600,000 SYNs a minute (10,000 a second; the GCRA interval is kept in microseconds).
constexpr uint64_t kMaxCapFlows = 1'000'000;
constexpr uint64_t kMaxSynPerMin = 600'000;
constexpr uint64_t kMaxSynBurst = 100'000;

const KeySpec kKeys[] = {
    {Section::kSmtp, "ports",
     [](State &st, unsigned, int, const std::string &v, const std::string &) {
       st.ports = parse_port_list(v);
     }},
    {Section::kSmtp, "servers",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       try {
         set_server_scope(st.out.policy, v);
       } catch (const PolicyError &e) {
         throw PolicyError(what + ": " + e.what());
       }
     }},
    {Section::kSmtp, "unseen_tcp",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       if (v != "drop" && v != "pass")
         throw PolicyError(what + " must be drop or pass, not " + shown(v));
       st.out.policy.unseen_tcp = v == "pass" ? SL_UNSEEN_PASS : SL_UNSEEN_DROP;
     }},
    {Section::kSmtp, "mode",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       st.mode = parse_mode(v, what);
     }},
    {Section::kSmtp, "heavy_hitters",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       st.heavy = parse_bool(v, what) != 0;
     }},
    {Section::kSmtp, "pregreet",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       st.pregreet = parse_bool(v, what) != 0;
     }},
    {Section::kSmtp, "heavy_syn_threshold",
     [](State &st, unsigned, int, const std::string &v, const std::string &what) {
       const auto n = static_cast<uint32_t>(parse_uint(v, kMaxHeavySynThreshold, what));
       if (n == 0)
         throw PolicyError(what + " must be at least 1 (heavy_hitters = off turns counting off)");
       st.heavy_threshold = n;
     }},
    {Section::kOutbound, "ports",
     [](State &st, unsigned, int, const std::string &v, const std::string &) {
       st.out_ports = parse_port_list(v);
     }},
    {Section::kLevel, "mode",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       st.level[l].mode = parse_mode(v, what);
     }},
    {Section::kLevel, "threshold",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       st.level[l].threshold = parse_int32(v, what);
       st.level[l].threshold_line = line;
     }},
    {Section::kLevel, "name",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       level_name(st, l) = parse_level_name(v, what);
     }},
    {Section::kLevel, "window_clamp",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).window_clamp = static_cast<uint32_t>(parse_uint(v, 65535, what));
     }},
    {Section::kLevel, "mss_clamp",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).mss_clamp = static_cast<uint16_t>(parse_uint(v, 65535, what));
     }},
    {Section::kLevel, "strip_wscale",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       prof(st, l).strip_wscale = parse_bool(v, what);
       st.level[l].strip_wscale_line = line;
     }},
    {Section::kLevel, "strip_sack_perm",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).strip_sack_perm = parse_bool(v, what);
     }},
    {Section::kLevel, "delay_us",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).delay_us = static_cast<uint32_t>(parse_uint(v, 60'000'000, what));
     }},
    {Section::kLevel, "delay_ms",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).delay_us = static_cast<uint32_t>(parse_uint(v, 60'000, what) * 1000);
     }},
    {Section::kLevel, "client_drop_ppm",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).client_drop_ppm = static_cast<uint32_t>(parse_uint(v, 1'000'000, what));
     }},
    {Section::kLevel, "server_drop_ppm",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).server_drop_ppm = static_cast<uint32_t>(parse_uint(v, 1'000'000, what));
     }},
    {Section::kLevel, "tarpit",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       prof(st, l).tarpit = parse_tarpit(v, what);
       st.level[l].tarpit_line = line;
     }},
    {Section::kLevel, "block",
     [](State &st, unsigned l, int, const std::string &v, const std::string &what) {
       prof(st, l).block = parse_block(v, what);
     }},
    {Section::kLevel, "max_flows",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       caps(st, l, line).max_flows = static_cast<uint32_t>(parse_uint(v, kMaxCapFlows, what));
     }},
    {Section::kLevel, "max_flows_net",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       caps(st, l, line).max_flows_net = static_cast<uint32_t>(parse_uint(v, kMaxCapFlows, what));
     }},
    {Section::kLevel, "max_syn_per_min",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       caps(st, l, line);
       st.level[l].syn_per_min = static_cast<uint32_t>(parse_uint(v, kMaxSynPerMin, what));
     }},
    {Section::kLevel, "syn_burst",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       const auto n = static_cast<uint32_t>(parse_uint(v, kMaxSynBurst, what));
       if (n == 0) throw PolicyError(what + " must be at least 1");
       st.level[l].syn_burst = n;
       st.level[l].syn_burst_line = line;
     }},
    {Section::kLevel, "over_cap",
     [](State &st, unsigned l, int line, const std::string &v, const std::string &what) {
       caps(st, l, line).over = parse_cap_over(v, what);
     }},
};

std::string expected_keys(Section s) {
  std::string out;
  for (const KeySpec &k : kKeys)
    if (k.section == s) out += (out.empty() ? "" : ", ") + std::string(k.key);
  return out;
}

// "key" must be a plain name: a dotted key would be read by other INI readers as a sub-section.
bool plain_key(const std::string &key) {
  return std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "[smtp]" -> (kSmtp, 0); "[level.N]" -> (kLevel, N) with N written canonically (no sign, no
// leading zero: [level.1] and [level.01] must not both name level 1); "[outbound]" ->
// (kOutbound, 0); "[outbound.level.N]" -> (kLevel, kOutboundBase + N); anything else throws.
std::pair<Section, unsigned> parse_section(const std::string &section) {
  if (section == "smtp") return {Section::kSmtp, 0};
  if (section == "outbound") return {Section::kOutbound, 0};
  const std::string expected = "(expected [smtp], [level.N], [outbound] or [outbound.level.N], " +
                               std::string("N = 1..") + std::to_string(SL_MAX_LEVELS - 1) + ")";
  const bool out = section.rfind("outbound.level.", 0) == 0;
  if (!out && section.rfind("level.", 0) != 0)
    throw PolicyError("unknown section [" + shown(section, false) + "] " + expected);
  const std::string prefix = out ? "outbound.level." : "level.";
  const std::string n = section.substr(prefix.size());
  unsigned lvl = 0;
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), lvl);
  if (n.empty() || ec != std::errc() || p != n.data() + n.size() || lvl == 0 ||
      lvl >= SL_MAX_LEVELS)
    throw PolicyError("unknown section [" + shown(section, false) + "] " + expected);
  if (n != std::to_string(lvl))
    throw PolicyError("section [" + section + "]: write the level number as [" + prefix +
                      std::to_string(lvl) + "] (no leading zeros)");
  return {Section::kLevel, out ? kOutboundBase + lvl : lvl};
}

// A level's aggregate caps once its section is read: the SYN rate as a GCRA interval and
// tolerance, and the checks that span keys (caps need a level that creates flows).
void set_level_caps(const std::string &name, const std::string &sec, const LevelState &ls,
                    const sl_profile &p, sl_caps &c) {
  if (ls.syn_burst_line != 0 && ls.syn_per_min == 0)
    fail(name, ls.syn_burst_line, "syn_burst needs max_syn_per_min in [" + sec + "]");
  if (ls.syn_per_min != 0) {
    c.syn_interval_us = static_cast<uint32_t>(60'000'000u / ls.syn_per_min);
    // Unset: ten seconds' worth of the rate, at least 1.
    const uint64_t burst =
        ls.syn_burst != 0 ? ls.syn_burst : std::max<uint64_t>(1, (ls.syn_per_min + 5) / 6);
    const uint64_t tolerance = (burst - 1) * c.syn_interval_us;
    if (tolerance > UINT32_MAX)
      fail(name, ls.syn_burst_line != 0 ? ls.syn_burst_line : ls.caps_line,
           "syn_burst " + std::to_string(burst) + " at max_syn_per_min " +
               std::to_string(ls.syn_per_min) + " is a burst over 71 minutes long");
    c.syn_tolerance_us = static_cast<uint32_t>(tolerance);
  }
  if (!sl_caps_any(&c)) {  // none, or every one 0 ("no cap")
    if (c.over != SL_CAP_DROP)
      fail(name, ls.caps_line, "over_cap in [" + sec + "] without a cap to be over");
    return;
  }
  if (p.block != SL_BLOCK_NONE || p.tarpit == SL_TARPIT_STATELESS)
    fail(name, ls.caps_line,
         "[" + sec + "] " + (p.block != SL_BLOCK_NONE ? "blocks" : "answers SYNs statelessly") +
             ": it creates no flows, so caps (max_flows, max_flows_net, max_syn_per_min, " +
             "over_cap) cannot apply");
}

// The levels of one set (inbound: base 0, sections [level.N]; outbound: base kOutboundBase,
// [outbound.level.N]): numbered 1..n without gaps. Returns the inbound count with level 0
// (nlevels), or the outbound count.
unsigned count_levels(const std::string &name, const State &st, unsigned base,
                      const std::string &prefix) {
  unsigned n = 1;
  while (n < SL_MAX_LEVELS && st.level[base + n].section_line > 0) ++n;
  for (unsigned l = n; l < SL_MAX_LEVELS; ++l)
    if (st.level[base + l].section_line > 0)
      fail(name, st.level[base + l].section_line,
           "[" + prefix + std::to_string(l) + "] without [" + prefix + std::to_string(n) +
               "]: levels must be numbered 1, 2, ... without gaps");
  return base == 0 ? n : n - 1;
}

// One level's checks that span keys, and its defaults: a threshold, not below the level before
// in its set; a clamped window strips the scale; caps only where flows are made; the mode.
void finish_level(const std::string &name, const State &st, unsigned l, const std::string &prefix,
                  sl_profile &p, sl_caps &c) {
  const LevelState &ls = st.level[l];
  const unsigned n = l % kOutboundBase;  // its number in its set
  const std::string sec = prefix + std::to_string(n);
  if (ls.threshold_line == 0) fail(name, ls.section_line, "[" + sec + "] has no threshold");
  if (n > 1 && ls.threshold < st.level[l - 1].threshold)
    fail(name, ls.threshold_line,
         "threshold " + std::to_string(ls.threshold) + " of [" + sec + "] is below [" + prefix +
             std::to_string(n - 1) + "]'s " + std::to_string(st.level[l - 1].threshold) +
             " (thresholds must not decrease)");
  // A clamped window only means what it says without scaling (sl_shared.h).
  if (p.window_clamp != 0 && ls.strip_wscale_line == 0) p.strip_wscale = 1;
  if (p.window_clamp != 0 && !p.strip_wscale)
    fail(name, ls.strip_wscale_line,
         "window_clamp needs strip_wscale = true (a scaled window cannot be clamped)");
  // The stateless tarpit answers the SYN; a block refuses it: one level cannot do both.
  if (p.tarpit == SL_TARPIT_STATELESS && p.block != SL_BLOCK_NONE)
    fail(name, ls.tarpit_line, "tarpit = stateless answers the SYN, block refuses it: choose one");
  set_level_caps(name, sec, ls, p, c);
  p.observe = static_cast<uint8_t>(ls.mode >= 0 ? ls.mode : st.mode);
}

void set_ports(__be16 (&slots)[SL_MAX_SMTP_PORTS], const std::vector<uint16_t> &host_order) {
  for (unsigned i = 0; i < SL_MAX_SMTP_PORTS; ++i)
    slots[i] = i < host_order.size() ? sl_htons(host_order[i]) : 0;
}

}  // namespace

std::vector<uint16_t> parse_port_list(const std::string &text) {
  std::vector<uint16_t> ports;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) throw PolicyError("empty entry in port list " + shown(text));
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
  set_ports(policy.smtp_ports, ports_host_order);
}

PolicyFile parse_policy(std::istream &in, const std::string &name) {
  State st;
  st.out.level_names.assign(SL_MAX_LEVELS, "");
  st.out.level_names[0] = "pass";

  std::map<std::string, int> section_line;  // section -> line of its header
  std::map<std::string, int> key_line;      // "section.key" -> line
  bool in_section = false;
  std::string section;
  Section kind = Section::kSmtp;
  unsigned lvl = 0;
  std::string raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    try {
      if (raw.find('\0') != std::string::npos) throw PolicyError("line contains a NUL byte");
      std::string s = raw;
      if (const auto hash = s.find('#'); hash != std::string::npos) s.resize(hash);
      s = trim(s);
      if (s.empty()) continue;
      if (s.front() == '[') {
        if (s.back() != ']') throw PolicyError("section header without closing ']'");
        section = trim(s.substr(1, s.size() - 2));
        if (section.empty()) throw PolicyError("empty section name");
        std::tie(kind, lvl) = parse_section(section);
        if (auto [it, fresh] = section_line.emplace(section, line); !fresh)
          throw PolicyError("section [" + section + "] repeated (first at line " +
                            std::to_string(it->second) + ")");
        if (kind == Section::kLevel) st.level[lvl].section_line = line;
        if (kind == Section::kOutbound) st.outbound = true;
        in_section = true;
        continue;
      }
      const auto eq = s.find('=');
      if (eq == std::string::npos) throw PolicyError("expected 'key = value', got " + shown(s));
      const std::string key = trim(s.substr(0, eq));
      const std::string value = trim(s.substr(eq + 1));
      if (key.empty()) throw PolicyError("missing key before '='");
      if (!plain_key(key))
        throw PolicyError("key " + shown(key) +
                          " is not a plain name (letters, digits and '_'; no dotted keys)");
      if (!in_section)
        throw PolicyError("key " + shown(key) +
                          " outside a section ([smtp], [level.N], [outbound] or "
                          "[outbound.level.N])");
      if (auto [it, fresh] = key_line.emplace(section + "." + key, line); !fresh)
        throw PolicyError("duplicate key " + shown(key) + " (first at line " +
                          std::to_string(it->second) + ")");
      const auto spec = std::find_if(std::begin(kKeys), std::end(kKeys), [&](const KeySpec &k) {
        return k.section == kind && key == k.key;
      });
      if (spec == std::end(kKeys))
        throw PolicyError("unknown key " + shown(key) + " in [" + section + "] (expected " +
                          expected_keys(kind) + ")");
      spec->apply(st, lvl, line, value, shown(key));
    } catch (const PolicyError &e) {
      fail(name, line, e.what());
    }
  }
  if (in.bad()) fail(name, 0, "read error");

  // Inbound levels are 1..n without gaps, outbound ones too, each with a threshold, thresholds
  // non-decreasing within each set; the outbound ones follow the inbound ones in the policy.
  const unsigned nlevels = count_levels(name, st, 0, "level.");
  const unsigned nout = count_levels(name, st, kOutboundBase, "outbound.level.");
  if (nout > 0) st.outbound = true;
  if (nlevels + nout > SL_MAX_LEVELS)
    fail(name, st.level[kOutboundBase + 1].section_line,
         std::to_string(nlevels - 1) + " inbound and " + std::to_string(nout) +
             " outbound levels: at most " + std::to_string(SL_MAX_LEVELS - 1) + " in all");
  PolicyFile &out = st.out;
  for (unsigned l = 1; l < nlevels; ++l) {
    finish_level(name, st, l, "level.", out.policy.profiles[l], out.policy.caps[l]);
    if (out.level_names[l].empty()) out.level_names[l] = "level" + std::to_string(l);
    out.policy.thresholds[l] = st.level[l].threshold;
  }
  out.level_names.resize(nlevels + nout);
  for (unsigned k = 1; k <= nout; ++k) {
    const unsigned l = nlevels + k - 1;  // its level in the policy
    finish_level(name, st, kOutboundBase + k, "outbound.level.", st.out_profiles[k],
                 st.out_caps[k]);
    out.policy.profiles[l] = st.out_profiles[k];
    out.policy.caps[l] = st.out_caps[k];
    out.policy.thresholds[l] = st.level[kOutboundBase + k].threshold;
    out.level_names[l] = st.out_names[k].empty() ? "outbound" + std::to_string(k) : st.out_names[k];
  }
  for (unsigned a = 1; a < out.level_names.size(); ++a)
    for (unsigned b = 1; b < a; ++b)
      if (out.level_names[a] == out.level_names[b])
        fail(name, 0,
             "two levels are named " + shown(out.level_names[a]) + " (levels " + std::to_string(b) +
                 " and " + std::to_string(a) + "): every level needs its own name");
  out.policy.nlevels = nlevels + nout;
  out.policy.out_first = nout > 0 ? nlevels : 0;
  if (st.outbound) set_ports(out.policy.out_ports, st.out_ports);
  set_smtp_ports(out.policy, st.ports);
  out.policy.heavy_syn_threshold = st.heavy ? st.heavy_threshold : 0;
  out.policy.pregreet = st.pregreet ? 1 : 0;
  out.policy.tarpit_cookies = sl_policy_tarpit_cookies(&out.policy);
  PolicyFile result = std::move(st.out);
  return result;
}

PolicyFile load_policy(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw PolicyError(path + ": cannot open policy file");
  return parse_policy(in, path);
}

void keep_cookie_key(sl_policy &next, const sl_policy *running) {
  const auto &rk = running ? running->cookie_key : next.cookie_key;
  if (running && std::any_of(std::begin(rk), std::end(rk), [](uint32_t w) { return w != 0; })) {
    std::copy(std::begin(rk), std::end(rk), std::begin(next.cookie_key));
    return;
  }
  if (getrandom(next.cookie_key, sizeof next.cookie_key, 0) != sizeof next.cookie_key)
    throw PolicyError(std::string("cannot draw the tarpit cookie key: ") + std::strerror(errno));
}

unsigned unlisted_level(const PolicyFile &p, bool outbound) {
  return sl_level_for(&p.policy, 0, 0, outbound ? 1 : 0);
}

std::vector<std::string> policy_warnings(const PolicyFile &p, const std::string &name) {
  std::vector<std::string> out;
  for (const bool outbound : {false, true}) {
    const unsigned l = unlisted_level(p, outbound);
    if (l == 0) continue;
    const sl_profile &f = p.policy.profiles[l];
    const std::string what = f.block == SL_BLOCK_DROP          ? "blocked (SYN dropped)"
                             : f.block == SL_BLOCK_RST         ? "blocked (SYN answered with RST)"
                             : f.tarpit == SL_TARPIT_STATELESS ? "tarpitted (stateless)"
                             : f.tarpit                        ? "tarpitted"
                                                               : "shaped";
    const std::string level_name = l < p.level_names.size() ? p.level_names[l] : "";
    out.push_back(name + ": warning: level " + std::to_string(l) + " '" + level_name +
                  "' has threshold " + std::to_string(p.policy.thresholds[l]) + " <= 0: every " +
                  (outbound ? "unlisted subscriber's outbound SMTP" : "unlisted sender") +
                  " (score 0) is " + what);
  }
  return out;
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
  if (const std::string servers = format_server_scope(p.policy); !servers.empty())
    o << "\nservers = " << servers;
  o << "\nunseen_tcp = " << (p.policy.unseen_tcp == SL_UNSEEN_PASS ? "pass" : "drop") << "\n";
  if (p.policy.heavy_syn_threshold == 0)
    o << "heavy_hitters = off\n";
  else
    o << "heavy_hitters = on\nheavy_syn_threshold = " << p.policy.heavy_syn_threshold << "\n";
  o << "pregreet = " << (p.policy.pregreet != 0 ? "on" : "off") << "\n";
  static const char *const kBlock[] = {"none", "drop", "rst"};
  static const char *const kTarpit[] = {"false", "true", "stateless"};
  const unsigned first_out = p.policy.out_first != 0 ? p.policy.out_first : p.policy.nlevels;
  if (p.policy.out_ports[0] != 0) {
    o << "\n[outbound]\nports = ";
    bool first_port = true;
    for (auto port : p.policy.out_ports) {
      if (port == 0) continue;
      o << (first_port ? "" : ", ") << sl_ntohs(port);
      first_port = false;
    }
    o << "\n";
  }
  for (unsigned l = 1; l < p.policy.nlevels; ++l) {
    const sl_profile &f = p.policy.profiles[l];
    if (l < first_out)
      o << "\n[level." << l << "]\n";
    else
      o << "\n[outbound.level." << l - first_out + 1 << "]\n";
    if (l < p.level_names.size()) o << "name = " << p.level_names[l] << "\n";
    o << "threshold = " << p.policy.thresholds[l] << "\n"
      << "window_clamp = " << f.window_clamp << "\n"
      << "mss_clamp = " << f.mss_clamp << "\n"
      << "strip_wscale = " << (f.strip_wscale ? "true" : "false") << "\n"
      << "strip_sack_perm = " << (f.strip_sack_perm ? "true" : "false") << "\n"
      << "delay_us = " << f.delay_us << "\n"
      << "client_drop_ppm = " << f.client_drop_ppm << "\n"
      << "server_drop_ppm = " << f.server_drop_ppm << "\n"
      << "tarpit = " << kTarpit[f.tarpit <= SL_TARPIT_STATELESS ? f.tarpit : 0] << "\n"
      << "block = " << kBlock[f.block <= SL_BLOCK_RST ? f.block : 0] << "\n";
    const sl_caps &c = p.policy.caps[l];
    if (c.max_flows != 0) o << "max_flows = " << c.max_flows << "\n";
    if (c.max_flows_net != 0) o << "max_flows_net = " << c.max_flows_net << "\n";
    if (c.syn_interval_us != 0) {
      // Written back as what the parser keeps: a rate whose interval is whole microseconds.
      o << "max_syn_per_min = " << sl_caps_syn_per_min(&c) << "\n"
        << "syn_burst = " << sl_caps_syn_burst(&c) << "\n";
    }
    if (sl_caps_any(&c)) o << "over_cap = " << (c.over == SL_CAP_RST ? "rst" : "drop") << "\n";
    if (f.observe) o << "mode = observe\n";
  }
  return o.str();
}

}  // namespace sluice::dataplane
