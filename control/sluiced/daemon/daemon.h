// sluiced: the control-plane daemon (docs/sluiced.md). One event loop (event_loop.h) drives:
//   sources/   the sources file and its lists: inotify + refresh_interval, guards, last good
//   push/      every data plane kept at the table (deltas in order, full load when unknown)
//   daemon/    config, the control socket and its verbs, modules, readiness
// and every Module (module.h) other concerns register: the dynamic store, metrics, the feed.
//
// Extension points, all used from Module::start(Daemon &):
//   loop()                  add fds and timers (EventLoop::add_fd / add_timer / add_periodic)
//   commands()              add control-socket verbs (CommandTable::add), e.g. "host set"
//   add_provider()          a ContributionProvider (provider.h): extra sources for the table
//   contributions_changed() a provider changed: rebuild and push on the next turn of the loop
//   rebuild_now()           the same, done before returning (a command that must be effective
//                           in every data plane when its reply is sent)
//   add_observer()          source, push and table events as they happen (metrics, logs)
//   observations()          what this site saw about senders (local_observation.h): producers
//                           publish, the local score model subscribes
//   status(), table(), last_build()  what `status`, metrics and `table explain` show
//
// The table is compile(last good version of every list source, in sources-file order, then
// every provider's contributions, in registration order). Everything runs on the loop's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/commands.h"
#include "daemon/event_loop.h"
#include "daemon/local_observation.h"
#include "daemon/module.h"
#include "daemon/provider.h"
#include "daemon/sluiced_config.h"
#include "daemon/status.h"
#include "push/pusher.h"
#include "push/table_state.h"
#include "sources/source_set.h"
#include "sources/watcher.h"

namespace sluice::dataplane {
class ControlServer;
}

namespace sluice::sluiced {

// The sources of the last build, index for index (explain: entries' `source` indexes these).
struct BuildInput {
  std::vector<reputation::SourceConfig> configs;
  std::vector<std::shared_ptr<const reputation::ParsedSource>> parsed;
};

class Daemon {
 public:
  // `factory` makes data-plane clients (tests pass a fake); empty: connect_dataplane.
  Daemon(SluicedConfig cfg, std::vector<std::unique_ptr<Module>> modules,
         ClientFactory factory = {});
  ~Daemon();
  Daemon(const Daemon &) = delete;
  Daemon &operator=(const Daemon &) = delete;

  // ---- for modules ----
  EventLoop &loop() { return loop_; }
  CommandTable &commands() { return commands_; }
  const SluicedConfig &config() const { return cfg_; }
  // Makes a client of one configured data plane (its own connection, apart from the pusher's):
  // what a module that asks the data planes for more than the table uses (tests pass a fake).
  const ClientFactory &client_factory() const { return factory_; }
  void add_provider(ContributionProvider &p) { providers_.push_back(&p); }
  void add_observer(Observer &o) { observers_.push_back(&o); }
  ObservationBus &observations() { return observations_; }
  void contributions_changed(std::string_view why);
  void rebuild_now(std::string_view why);
  const reputation::Snapshot &table() const { return table_.current(); }
  const BuildInput &last_build() const { return last_build_; }
  DaemonStatus status() const;
  nlohmann::json status_json() const;  // the "status" verb's reply
  // The control socket's counters (accepted, refused, ...; empty before it opens): metrics.
  nlohmann::json control_counters() const;

  // ---- life cycle (main, tests) ----
  // Creates the state directory, reads the sources, starts the modules, builds the table,
  // brings every data plane to it once, opens the control socket (unless `with_socket` is
  // false). Throws sluice::Error / std::exception with a message for the operator.
  void start(bool with_socket = true);
  // Runs the loop until SIGTERM/SIGINT or stop(); returns the signal number or 0.
  int run();
  void stop() { loop_.stop(); }
  // Closes the control socket, stops the modules, saves the table. Idempotent.
  void shutdown();

  // One sync round over every data plane (tests; the check timer does this).
  void sync_dataplanes(bool now_regardless);
  // One refresh of the sources (tests; the refresh timer does this). Returns whether the
  // table changed.
  bool refresh_sources(bool force);

 private:
  void rebuild(std::string_view why);
  void schedule_rebuild(std::string_view why);
  void schedule_provider_timer();
  void schedule_persist();
  void on_file_changed(const std::string &path);
  void process_changed_files();
  void reload_sources_file(bool force);
  void reload_policy();
  void rewatch();
  void register_builtin_commands();
  void open_control_socket();
  nlohmann::json handle_request(const nlohmann::json &req);
  void save_dataplane_state();
  void restore_dataplane_state();
  void notify_status();

  SluicedConfig cfg_;
  std::vector<std::unique_ptr<Module>> modules_;
  EventLoop loop_;
  CommandTable commands_;
  SourceSet sources_;
  TableState table_;
  std::unique_ptr<FileWatcher> watcher_;
  ClientFactory factory_;
  std::vector<std::unique_ptr<DataplanePusher>> pushers_;
  std::vector<ContributionProvider *> providers_;
  std::vector<Observer *> observers_;
  ObservationBus observations_;
  std::unique_ptr<dataplane::ControlServer> control_;
  std::optional<PolicyTarget> policy_;
  BuildInput last_build_;
  // table_ is compile(last_build_): a later build may recompile only what changed. False until
  // the first build (a table restored from the state directory came from an unknown build).
  bool table_matches_last_build_ = false;
  TableStatus table_status_;
  std::set<std::string> changed_files_;
  std::optional<EventLoop::TimerId> settle_timer_, rebuild_timer_, provider_timer_, persist_timer_;
  bool started_ = false, stopped_ = false, ready_sent_ = false;
};

}  // namespace sluice::sluiced
