// Concerns plug into sluiced as Modules: the dynamic store, the metrics exporter, the feed, ...
// Each lives in its own folder under control/sluiced/ with a CMakeLists.txt that builds an
// OBJECT library and appends it to the global property SLUICED_MODULES (control/sluiced/
// CMakeLists.txt adds every such folder and links every module into sluiced), and registers
// itself from a .cc file:
//
//   const sluice::sluiced::ModuleRegistrar kStore([] { return std::make_unique<StoreModule>(); });
//
// Life of a module, in this order:
//   describe_config  declares its [section] keys (names "section.key"); unknown keys refused
//   configure        reads and checks its values (throw ConfigError("section.key: reason"));
//                    `sluiced --check` stops after this
//   start            registers fds and timers (Daemon::loop), control verbs
//                    (Daemon::commands), contribution providers and observers; may throw
//                    (sluiced exits 1 with the message)
//   stop             on shutdown, after the control socket is closed, loop no longer running
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/config.h"

namespace sluice::sluiced {

class Daemon;

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string module_name() const = 0;
  virtual void describe_config(ConfigSchema &) {}
  virtual void configure(const po::variables_map &) {}
  virtual void start(Daemon &) {}
  virtual void stop() {}
  // Added to `status` replies under module_name() when not null.
  virtual nlohmann::json status() { return nullptr; }
};

using ModuleFactory = std::function<std::unique_ptr<Module>()>;

struct ModuleRegistrar {
  explicit ModuleRegistrar(ModuleFactory make);
};

// One instance of every registered module, in registration order.
std::vector<std::unique_ptr<Module>> make_modules();

}  // namespace sluice::sluiced
