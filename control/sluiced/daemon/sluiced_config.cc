#include "daemon/sluiced_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice::sluiced {

double SluicedConfig::max_shrink_for(const std::string &source) const {
  auto it = per_source.find(source);
  return it != per_source.end() && it->second.max_shrink ? *it->second.max_shrink : max_shrink;
}

std::chrono::milliseconds SluicedConfig::max_age_for(const std::string &source) const {
  auto it = per_source.find(source);
  return it != per_source.end() && it->second.max_age ? *it->second.max_age : max_age;
}

void describe_sluiced_config(ConfigSchema &schema, SluicedConfig &cfg) {
  po::options_description d("[sluiced]");
  d.add_options()                                                                                //
      ("sluiced.state_dir", po::value<std::string>(), "state directory")                         //
      ("sluiced.socket", po::value<std::string>(), "control socket path")                        //
      ("sluiced.socket_mode", po::value<std::string>(), "control socket mode (octal)")           //
      ("sluiced.socket_group", po::value<std::string>(), "control socket group")                 //
      ("sluiced.sources", po::value<std::string>(), "sources file")                              //
      ("sluiced.refresh_interval", po::value<std::string>(), "re-check every list this often")   //
      ("sluiced.check_interval", po::value<std::string>(), "data-plane version check interval")  //
      ("sluiced.settle", po::value<std::string>(), "delay after a file event")                   //
      ("sluiced.dataplane", po::value<std::vector<std::string>>(), "data plane (repeatable)")    //
      ("sluiced.dataplane_timeout", po::value<std::string>(), "one data-plane request")          //
      ("sluiced.policy", po::value<std::string>(), "policy file to push")                        //
      ("sluiced.max_shrink", po::value<std::string>(), "default shrink guard (percent)")         //
      ("sluiced.max_age", po::value<std::string>(), "default liveness limit");
  schema.add_section(d);
  schema.add_dynamic("source.", [&cfg](const std::string &key, const std::string &value) {
    // "source.NAME.KEY"; NAME may itself contain dots
    const size_t dot = key.rfind('.');
    const std::string name = key.substr(7, dot > 7 ? dot - 7 : 0);
    const std::string k = key.substr(dot + 1);
    if (name.empty() || dot <= 7) throw ConfigError("[source.NAME] needs a source name");
    SourceGuardConfig &g = cfg.per_source[name];
    if (k == "max_shrink") {
      if (g.max_shrink) throw ConfigError(key + " given more than once");
      g.max_shrink = parse_percent(value, key);
    } else if (k == "max_age") {
      if (g.max_age) throw ConfigError(key + " given more than once");
      g.max_age = parse_duration(value, key);
    } else {
      throw ConfigError("unknown key '" + k + "' in section [source." + name +
                        "] (known: max_shrink, max_age)");
    }
  });
}

namespace {

std::optional<std::string> get(const po::variables_map &vm, const char *key) {
  if (!vm.count(key)) return std::nullopt;
  return vm[key].as<std::string>();
}

std::string nonempty_path(const std::string &v, const char *key) {
  if (v.empty()) throw ConfigError(std::string(key) + ": empty path");
  if (v.find('\0') != std::string::npos) throw ConfigError(std::string(key) + ": bad path");
  return v;
}

}  // namespace

void read_sluiced_config(const po::variables_map &vm, SluicedConfig &cfg) {
  if (auto v = get(vm, "sluiced.state_dir")) cfg.state_dir = nonempty_path(*v, "sluiced.state_dir");
  if (auto v = get(vm, "sluiced.socket")) {
    cfg.socket = nonempty_path(*v, "sluiced.socket");
    if (cfg.socket.size() >= 108)
      throw ConfigError("sluiced.socket: path longer than a Unix socket address allows (107)");
  }
  if (auto v = get(vm, "sluiced.socket_mode"))
    cfg.socket_mode = parse_mode(*v, "sluiced.socket_mode");
  if (auto v = get(vm, "sluiced.socket_group"))
    cfg.socket_group = parse_group(*v, "sluiced.socket_group");
  if (auto v = get(vm, "sluiced.sources")) cfg.sources = nonempty_path(*v, "sluiced.sources");
  if (auto v = get(vm, "sluiced.refresh_interval")) {
    cfg.refresh_interval = parse_duration(*v, "sluiced.refresh_interval");
    if (cfg.refresh_interval < std::chrono::seconds(1))
      throw ConfigError("sluiced.refresh_interval: at least 1s");
  }
  if (auto v = get(vm, "sluiced.check_interval")) {
    cfg.check_interval = parse_duration(*v, "sluiced.check_interval");
    if (cfg.check_interval < std::chrono::milliseconds(100))
      throw ConfigError("sluiced.check_interval: at least 100ms");
  }
  if (auto v = get(vm, "sluiced.settle")) {
    cfg.settle = parse_duration(*v, "sluiced.settle");
    if (cfg.settle > std::chrono::seconds(10)) throw ConfigError("sluiced.settle: at most 10s");
  }
  if (vm.count("sluiced.dataplane")) {
    cfg.dataplanes = vm["sluiced.dataplane"].as<std::vector<std::string>>();
    for (const auto &spec : cfg.dataplanes) {
      const bool dpdk = spec.rfind("dpdk:", 0) == 0 && spec.size() > 5;
      const bool xdp = spec.rfind("xdp:", 0) == 0 && spec.size() > 4;
      if (!dpdk && !xdp)
        throw ConfigError("sluiced.dataplane: '" + spec +
                          "' is not dpdk:SOCKET_PATH or xdp:INSTANCE_NAME");
    }
    for (size_t i = 0; i < cfg.dataplanes.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (cfg.dataplanes[i] == cfg.dataplanes[j])
          throw ConfigError("sluiced.dataplane: '" + cfg.dataplanes[i] + "' listed twice");
  }
  if (auto v = get(vm, "sluiced.dataplane_timeout")) {
    cfg.dataplane_timeout = parse_duration(*v, "sluiced.dataplane_timeout");
    if (cfg.dataplane_timeout < std::chrono::milliseconds(10) ||
        cfg.dataplane_timeout > std::chrono::seconds(60))
      throw ConfigError("sluiced.dataplane_timeout: between 10ms and 60s");
  }
  if (auto v = get(vm, "sluiced.policy")) cfg.policy = nonempty_path(*v, "sluiced.policy");
  if (auto v = get(vm, "sluiced.max_shrink"))
    cfg.max_shrink = parse_percent(*v, "sluiced.max_shrink");
  if (auto v = get(vm, "sluiced.max_age")) cfg.max_age = parse_duration(*v, "sluiced.max_age");
}

void load_config(std::istream &in, const std::string &name, SluicedConfig &cfg,
                 std::vector<std::unique_ptr<Module>> &modules) {
  ConfigSchema schema;
  describe_sluiced_config(schema, cfg);
  for (auto &m : modules) m->describe_config(schema);
  const po::variables_map vm = schema.parse(in, name);
  try {
    read_sluiced_config(vm, cfg);
    for (auto &m : modules) m->configure(vm);
  } catch (const ConfigError &e) {
    throw ConfigError(name + ": " + e.what());
  }
}

void load_config_file(SluicedConfig &cfg, std::vector<std::unique_ptr<Module>> &modules) {
  std::ifstream in(cfg.config_path);
  if (!in) throw ConfigError(cfg.config_path + ": cannot read: " + std::strerror(errno));
  load_config(in, cfg.config_path, cfg, modules);
}

}  // namespace sluice::sluiced
