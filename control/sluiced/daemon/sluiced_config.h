// sluiced's own sections of sluiced.ini: [sluiced] and [source.NAME] (docs/sluiced.md).
//
//   [sluiced]
//   state_dir = /var/lib/sluice          # last good sources, the table, push work files
//   socket = /run/sluice/sluiced.sock    # the control socket sluicectl --daemon talks to
//   socket_mode = 0660
//   socket_group = sluice                # may connect (root and sluiced's own user always may)
//   sources = /etc/sluice/sources.ini    # the sources file (docs/sources.md); optional
//   refresh_interval = 5m                # re-check every list even without an inotify event
//   check_interval = 2s                  # ask every data plane for its table version
//   settle = 20ms                        # wait this long after a change event before reading
//   dataplane = dpdk:/run/sluice/sluice-dp.sock   # repeatable
//   dataplane = xdp:edge0
//   dataplane_timeout = 2s               # one request to a data plane
//   policy = /etc/sluice/policy.ini      # optional: pushed to every data plane
//   max_shrink = 50%                     # default guard for every source
//   max_age = 0                          # default liveness limit (0: none)
//
//   [source.zen]                         # per source of the sources file, by name
//   max_shrink = 80%
//   max_age = 6h
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/module.h"

namespace sluice::sluiced {

inline constexpr const char *kDefaultConfigPath = "/etc/sluice/sluiced.ini";
inline constexpr const char *kDefaultStateDir = "/var/lib/sluice";
inline constexpr const char *kDefaultSocket = "/run/sluice/sluiced.sock";
inline constexpr double kDefaultMaxShrink = 50;

struct SourceGuardConfig {
  std::optional<double> max_shrink;                  // percent
  std::optional<std::chrono::milliseconds> max_age;  // 0: none
};

struct SluicedConfig {
  std::string config_path;
  std::string state_dir = kDefaultStateDir;
  std::string socket = kDefaultSocket;
  mode_t socket_mode = 0660;
  std::optional<gid_t> socket_group;
  std::string sources;  // "" = no list sources
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds check_interval{std::chrono::seconds(2)};
  std::chrono::milliseconds settle{20};
  std::vector<std::string> dataplanes;
  std::chrono::milliseconds dataplane_timeout{std::chrono::seconds(2)};
  std::string policy;  // "" = sluiced pushes no policy
  double max_shrink = kDefaultMaxShrink;
  std::chrono::milliseconds max_age{0};
  std::map<std::string, SourceGuardConfig> per_source;  // [source.NAME]

  double max_shrink_for(const std::string &source) const;
  std::chrono::milliseconds max_age_for(const std::string &source) const;
};

// Declares [sluiced] and [source.*] in `schema`; the handler for [source.NAME] keys writes
// into `cfg`, so `cfg` must outlive the schema's load().
void describe_sluiced_config(ConfigSchema &schema, SluicedConfig &cfg);
// Reads [sluiced] from the parsed file into cfg; throws ConfigError("sluiced.KEY: reason").
void read_sluiced_config(const po::variables_map &vm, SluicedConfig &cfg);

// The whole file, as sluiced and `sluiced --check` read it: [sluiced], [source.NAME] and every
// module's sections, each module's configure() included. Every error is a ConfigError
// "NAME: reason" (NAME: the file's name).
void load_config(std::istream &in, const std::string &name, SluicedConfig &cfg,
                 std::vector<std::unique_ptr<Module>> &modules);
// The same from cfg.config_path.
void load_config_file(SluicedConfig &cfg, std::vector<std::unique_ptr<Module>> &modules);

}  // namespace sluice::sluiced
