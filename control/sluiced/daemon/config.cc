#include "daemon/config.h"

#include <grp.h>

#include <cerrno>
#include <cstring>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>

#include "sluice/reputation/ini_syntax.h"

namespace sluice::sluiced {

void ConfigSchema::add_section(const po::options_description &keys) {
  for (const auto &o : keys.options()) {
    if (o->long_name().find('.') == std::string::npos)
      throw std::logic_error("sluiced config key '" + o->long_name() + "' has no section");
  }
  all_.add(keys);
}

void ConfigSchema::add_dynamic(std::string prefix, DynamicKeyHandler handler) {
  dynamic_.emplace_back(std::move(prefix), std::move(handler));
}

po::variables_map ConfigSchema::load(const std::string &path) const {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return parse(in, path);
}

namespace {

// "source.zen.max_shrink" -> "key 'max_shrink' in section [source.zen]"
std::string describe_key(const std::string &name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return "key '" + name + "' outside any section";
  return "key '" + name.substr(dot + 1) + "' in section [" + name.substr(0, dot) + "]";
}

}  // namespace

po::variables_map ConfigSchema::parse(std::istream &in_text, const std::string &name) const {
  po::variables_map vm;
  const std::string text(std::istreambuf_iterator<char>(in_text), {});
  if (auto bad = reputation::ini_syntax_error(text)) throw ConfigError(name + ": " + *bad);
  std::istringstream in(text);
  try {
    const po::parsed_options parsed = po::parse_config_file(in, all_, true);
    for (const auto &o : parsed.options) {
      if (!o.unregistered) continue;
      const std::string value = o.value.empty() ? std::string() : o.value.front();
      bool claimed = false;
      for (const auto &[prefix, handler] : dynamic_) {
        if (o.string_key.rfind(prefix, 0) != 0) continue;
        handler(o.string_key, value);
        claimed = true;
        break;
      }
      if (!claimed) throw ConfigError("unknown " + describe_key(o.string_key));
    }
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const ConfigError &e) {
    throw ConfigError(name + ": " + e.what());
  } catch (const po::multiple_occurrences &e) {
    throw ConfigError(name + ": " + describe_key(e.get_option_name().substr(2)) +
                      " given more than once");
  } catch (const po::error &e) {
    throw ConfigError(name + ": " + e.what());
  }
  return vm;
}

namespace {

bool parse_u64(std::string_view s, uint64_t &out, int base = 10) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string in_quotes(std::string_view s) {
  std::string out = "'";
  for (const char c : s.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out + (s.size() > 64 ? "...'" : "'");
}

}  // namespace

const std::string *config_value(const po::variables_map &vm, const std::string &key) {
  const auto it = vm.find(key);
  return it == vm.end() ? nullptr : &it->second.as<std::string>();
}

bool config_bool(const po::variables_map &vm, const std::string &key, bool dflt) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  if (*v == "true" || *v == "yes" || *v == "on" || *v == "1") return true;
  if (*v == "false" || *v == "no" || *v == "off" || *v == "0") return false;
  throw ConfigError(key + ": " + in_quotes(*v) + " is not true or false");
}

std::chrono::milliseconds parse_duration(std::string_view text, const std::string &key) {
  struct Unit {
    std::string_view suffix;
    uint64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000ull}};
  std::string_view num = text;
  uint64_t scale = 1000;
  for (const auto &u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      const std::string_view head = text.substr(0, text.size() - u.suffix.size());
      if (u.suffix == "s" && head.ends_with('m')) continue;  // "ms" was tried first
      num = head;
      scale = u.ms;
      break;
    }
  }
  uint64_t n = 0;
  if (!parse_u64(num, n))
    throw ConfigError(key + ": " + in_quotes(text) +
                      " is not a duration (a number with ms, s, m, h or d, e.g. 30s)");
  if (n > (uint64_t{1} << 40) / scale)
    throw ConfigError(key + ": " + in_quotes(text) + " is too long");
  return std::chrono::milliseconds(static_cast<int64_t>(n * scale));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = static_cast<uint64_t>(d.count());
  if (ms == 0) return "0s";
  if (ms % 86400000 == 0) return std::to_string(ms / 86400000) + "d";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

uint64_t config_whole_number(const po::variables_map &vm, const std::string &key, uint64_t dflt,
                             uint64_t min, uint64_t max) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  uint64_t n = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || r.ec != std::errc() || r.ptr != v->data() + v->size() || n < min || n > max)
    throw ConfigError(key + ": " + in_quotes(*v) + " is not a whole number " + std::to_string(min) +
                      ".." + std::to_string(max));
  return n;
}

std::chrono::milliseconds config_duration(const po::variables_map &vm, const std::string &key,
                                          std::chrono::milliseconds dflt,
                                          std::chrono::milliseconds min,
                                          std::chrono::milliseconds max) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  const auto d = parse_duration(*v, key);
  if (d < min || d > max)
    throw ConfigError(key + ": " + in_quotes(*v) + " is outside " + format_duration(min) + " .. " +
                      format_duration(max));
  return d;
}

mode_t parse_mode(std::string_view text, const std::string &key) {
  uint64_t m = 0;
  if (!parse_u64(text, m, 8) || m > 0777)
    throw ConfigError(key + ": " + in_quotes(text) +
                      " is not a permission mode (octal, e.g. 0660)");
  return static_cast<mode_t>(m);
}

gid_t parse_group(std::string_view text, const std::string &key) {
  uint64_t n = 0;
  if (parse_u64(text, n) && n < 0xffffffffu) return static_cast<gid_t>(n);
  const std::string name(text);
  std::vector<char> buf(16384);
  group g{};
  group *res = nullptr;
  if (::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &res) == 0 && res) return res->gr_gid;
  throw ConfigError(key + ": no group named " + in_quotes(text));
}

double parse_percent(std::string_view text, const std::string &key) {
  std::string_view s = text;
  if (s.ends_with('%')) s.remove_suffix(1);
  uint64_t n = 0;
  if (!parse_u64(s, n) || n > 100)
    throw ConfigError(key + ": " + in_quotes(text) + " is not a percentage (0 to 100)");
  return static_cast<double>(n);
}

}  // namespace sluice::sluiced
