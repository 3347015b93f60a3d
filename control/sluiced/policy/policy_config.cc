#include "policy_config.h"

#include "input_text.h"

namespace sluice::sluiced::policy {
namespace {

std::chrono::milliseconds read_duration(const po::variables_map &vm, const std::string &key,
                                        std::chrono::milliseconds dflt) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  const auto d = parse_duration(*v, key);
  if (d.count() <= 0) throw ConfigError(key + ": must be above 0");
  return d;
}

std::string action_key(unsigned level) {
  return "policy.action_" + std::to_string(level);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string check_trap(const std::string &t) {
  if (t.empty() || t.size() > kMaxTrapBytes)
    throw ConfigError("policy.trap: " + shown(t) + ": empty or longer than " +
                      std::to_string(kMaxTrapBytes) + " bytes");
  for (unsigned char c : t)
    if (c <= 0x20 || c > 0x7e || c == '<' || c == '>')
      throw ConfigError("policy.trap: " + shown(t) +
                        " is not a bare address (printable ASCII, no spaces or <>)");
  const size_t at = t.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == t.size())
    throw ConfigError("policy.trap: " + shown(t) + " is not LOCAL@DOMAIN");
  return lower(t);
}

}  // namespace

void describe_policy_config(ConfigSchema &schema) {
  po::options_description p("[policy]");
  p.add_options()                                                                             //
      ("policy.listen", po::value<std::string>(), "unix:PATH or inet:ADDRESS:PORT")           //
      ("policy.socket_mode", po::value<std::string>(), "unix socket permission bits")         //
      ("policy.socket_group", po::value<std::string>(), "unix socket group")                  //
      ("policy.allow_non_loopback", po::value<std::string>(), "inet beyond loopback")         //
      ("policy.max_clients", po::value<std::string>(), "connections at once")                 //
      ("policy.request_timeout", po::value<std::string>(), "request to reply")                //
      ("policy.idle_timeout", po::value<std::string>(), "connection with nothing in flight")  //
      ("policy.max_line_bytes", po::value<std::string>(), "one attribute line")               //
      ("policy.max_request_bytes", po::value<std::string>(), "one request")                   //
      ("policy.max_attributes", po::value<std::string>(), "attribute lines per request")      //
      ("policy.trap", po::value<std::vector<std::string>>(), "spam-trap recipient")           //
      ("policy.trap_score", po::value<std::string>(), "score of a trap hit's entry")          //
      ("policy.trap_ttl", po::value<std::string>(), "lifetime of a trap hit's entry")         //
      ("policy.trap_action", po::value<std::string>(), "answer to a trap recipient")          //
      ("policy.recent", po::value<std::string>(), "requests kept for policy recent");
  for (unsigned l = 0; l < SL_MAX_LEVELS; ++l)
    p.add_options()(action_key(l).c_str(), po::value<std::string>(),
                    ("answer for level " + std::to_string(l)).c_str());
  schema.add_section(p);
}

PolicyConfig read_policy_config(const po::variables_map &vm) {
  PolicyConfig c;
  const std::string *listen = config_value(vm, "policy.listen");
  c.enabled = listen != nullptr;
  if (listen) {
    try {
      c.listen = parse_listen(*listen);
    } catch (const SettingsError &e) {
      throw ConfigError(std::string("policy.listen: ") + e.what());
    }
  }
  if (const std::string *m = config_value(vm, "policy.socket_mode"))
    c.socket_mode = parse_mode(*m, "policy.socket_mode");
  if (const std::string *g = config_value(vm, "policy.socket_group"))
    c.socket_group = parse_group(*g, "policy.socket_group");
  c.allow_non_loopback = config_bool(vm, "policy.allow_non_loopback", false);
  if (c.enabled && c.listen.kind == Listen::Kind::kInet && !c.allow_non_loopback &&
      !is_loopback_host(c.listen.host))
    throw ConfigError("policy.listen: " + c.listen.text() +
                      " is not a loopback address and the protocol has no authentication; set "
                      "policy.allow_non_loopback = true to serve it");
  c.limits.max_clients =
      static_cast<size_t>(config_whole_number(vm, "policy.max_clients", 128, 1, 65536));
  c.limits.request_timeout = read_duration(vm, "policy.request_timeout", std::chrono::seconds(10));
  c.limits.idle_timeout = read_duration(vm, "policy.idle_timeout", std::chrono::seconds(600));
  auto &rl = c.limits.request;
  rl.max_line_bytes =
      static_cast<size_t>(config_whole_number(vm, "policy.max_line_bytes", 4096, 64, 65536));
  rl.max_request_bytes =
      static_cast<size_t>(config_whole_number(vm, "policy.max_request_bytes", 32768, 256, 1 << 20));
  if (rl.max_request_bytes < rl.max_line_bytes)
    throw ConfigError("policy.max_request_bytes: below policy.max_line_bytes");
  rl.max_attributes =
      static_cast<size_t>(config_whole_number(vm, "policy.max_attributes", 100, 1, 10000));
  c.actions.resize(SL_MAX_LEVELS);
  for (unsigned l = 0; l < SL_MAX_LEVELS; ++l) {
    const std::string key = action_key(l);
    const std::string *v = config_value(vm, key);
    try {
      c.actions[l] = parse_action(v ? *v : (l == 0 ? "DUNNO" : kDefaultShapeAction));
    } catch (const ActionError &e) {
      throw ConfigError(key + ": " + e.what());
    }
  }
  if (const auto it = vm.find("policy.trap"); it != vm.end()) {
    const auto &traps = it->second.as<std::vector<std::string>>();
    if (traps.size() > kMaxTraps)
      throw ConfigError("policy.trap: more than " + std::to_string(kMaxTraps) + " addresses");
    for (const auto &t : traps) c.traps.insert(check_trap(t));
  }
  c.trap_score = static_cast<int32_t>(config_whole_number(vm, "policy.trap_score", 50, 1, 1000000));
  const auto ttl = read_duration(vm, "policy.trap_ttl", std::chrono::hours(24));
  if (ttl < std::chrono::seconds(1)) throw ConfigError("policy.trap_ttl: at least 1s");
  c.trap_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
  if (const std::string *a = config_value(vm, "policy.trap_action")) {
    try {
      c.trap_action = parse_action(*a);
    } catch (const ActionError &e) {
      throw ConfigError("policy.trap_action: " + std::string(e.what()));
    }
  }
  c.recent = static_cast<size_t>(config_whole_number(vm, "policy.recent", 64, 0, kMaxRecent));
  return c;
}

}  // namespace sluice::sluiced::policy
