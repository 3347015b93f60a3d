#include "daemon/daemon.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>

#include <fmt/format.h>

#include "control_server.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "sluice/reputation/compile.h"

namespace sluice::sluiced {
namespace rep = sluice::reputation;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Daemon::Daemon(SluicedConfig cfg, std::vector<std::unique_ptr<Module>> modules,
               ClientFactory factory)
    : cfg_(std::move(cfg)), modules_(std::move(modules)), sources_(cfg_), table_(cfg_.state_dir) {
  factory_ = factory ? std::move(factory) : default_client_factory(cfg_.dataplane_timeout);
  PushOptions po;
  po.backoff_max =
      std::min<std::chrono::milliseconds>(std::chrono::seconds(30), cfg_.refresh_interval);
  for (const auto &spec : cfg_.dataplanes)
    pushers_.push_back(std::make_unique<DataplanePusher>(spec, factory_, po));
  sources_.on_event = [this](const SourceEvent &ev) {
    for (auto *o : observers_) o->on_source(ev);
  };
}

Daemon::~Daemon() {
  try {
    shutdown();
  } catch (const std::exception &e) {
    log_error(std::string("shutdown: ") + e.what());
  }
}

// ---- start-up ---------------------------------------------------------------------------------

void Daemon::start(bool with_socket) {
  std::error_code ec;
  fs::create_directories(cfg_.state_dir, ec);
  if (ec)
    throw sluice::Error(cfg_.state_dir + ": cannot create the state directory: " + ec.message());
  fs::create_directories(cfg_.state_dir + "/push", ec);
  if (::access(cfg_.state_dir.c_str(), W_OK) != 0)
    throw sluice::Error(cfg_.state_dir + ": the state directory is not writable");

  table_.restore();
  restore_dataplane_state();
  sources_.load_config();
  sources_.refresh_all(true);
  reload_policy();
  register_builtin_commands();
  for (auto &m : modules_) m->start(*this);

  watcher_ =
      std::make_unique<FileWatcher>(loop_, [this](const std::string &p) { on_file_changed(p); });
  rewatch();
  loop_.on_reload([this] { reload_sources_file(true); });
  loop_.add_periodic(cfg_.refresh_interval, [this] {
    reload_sources_file(false);
    reload_policy();
  });
  loop_.add_periodic(cfg_.check_interval, [this] { sync_dataplanes(false); });
  if (auto wd = watchdog_period()) loop_.add_periodic(*wd, [] { notify_watchdog(); });

  rebuild("start");       // builds and brings every data plane to the table once
  sync_dataplanes(true);  // data planes already at the table (or with no table) were not asked
  started_ = true;
  if (with_socket) open_control_socket();
  size_t in_sync = 0;
  for (const auto &p : pushers_) in_sync += p->status().in_sync;
  const std::string st = fmt::format("table {:016x}, {} entries; {} of {} data planes in sync",
                                     table_.version(), table_.entries(), in_sync, pushers_.size());
  notify_ready(st);
  ready_sent_ = true;
  log_notice("ready: " + st);
}

int Daemon::run() {
  const int sig = loop_.run();
  if (sig) log_notice(fmt::format("signal {}: shutting down", sig));
  shutdown();
  return sig;
}

void Daemon::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  notify_stopping();
  loop_.stop();
  control_.reset();  // joins the socket's thread: at most one request in flight, bounded
  for (auto &m : modules_) m->stop();
  try {
    table_.persist();
    save_dataplane_state();
  } catch (const std::exception &e) {
    log_error(std::string("cannot save state: ") + e.what());
  }
}

// ---- building and pushing ---------------------------------------------------------------------

void Daemon::contributions_changed(std::string_view why) {
  schedule_rebuild(why);
}

void Daemon::rebuild_now(std::string_view why) {
  if (rebuild_timer_) {
    loop_.cancel(*rebuild_timer_);
    rebuild_timer_.reset();
  }
  rebuild(why);
}

void Daemon::schedule_rebuild(std::string_view why) {
  if (rebuild_timer_) return;
  rebuild_timer_ = loop_.add_timer(std::chrono::milliseconds(0), [this, w = std::string(why)] {
    rebuild_timer_.reset();
    rebuild(w);
  });
}

namespace {

// A source larger than this is compared entry by entry only if its object changed; a list
// re-read from disk is a new object, and comparing a million entries costs as much as
// compiling them.
constexpr size_t kPartialSourceEntries = 262144;
// More changed prefixes than this: compile everything (the regions would cover most of it).
constexpr size_t kPartialChangedPrefixes = 65536;

size_t entry_count(const rep::ParsedSource &p) {
  return p.v4.size() + p.v6.size();
}

// The prefixes that changed from the build `before` to `after`, when a partial recompile can
// take one to the other: the same sources in the same order with the same allow flags, and few
// entries changed. nullopt: compile everything.
std::optional<rep::ChangedPrefixes> changes_between(const BuildInput &before,
                                                    const BuildInput &after) {
  if (before.configs.size() != after.configs.size()) return std::nullopt;
  rep::ChangedPrefixes changed;
  for (size_t i = 0; i < after.configs.size(); ++i) {
    if (before.configs[i].allow != after.configs[i].allow) return std::nullopt;
    if (before.parsed[i] == after.parsed[i]) continue;  // the same object: unchanged
    if (entry_count(*before.parsed[i]) > kPartialSourceEntries ||
        entry_count(*after.parsed[i]) > kPartialSourceEntries)
      return std::nullopt;
    rep::add_changed_prefixes(*before.parsed[i], *after.parsed[i], changed);
    if (changed.size() > kPartialChangedPrefixes) return std::nullopt;
  }
  return changed;
}

}  // namespace

void Daemon::rebuild(std::string_view why) {
  const auto t0 = Clock::now();
  const auto now = WallClock::now();
  BuildInput in;
  for (const auto &l : sources_.live()) {
    if (!l.parsed) continue;  // never read successfully: contributes nothing
    in.configs.push_back(*l.config);
    in.parsed.push_back(l.parsed);
  }
  size_t contributions = 0;
  for (auto *p : providers_) {
    for (auto &c : p->contributions(now)) {
      in.configs.push_back(std::move(c.config));
      in.parsed.push_back(std::make_shared<const rep::ParsedSource>(std::move(c.parsed)));
      ++contributions;
    }
  }
  if (in.configs.size() > 0xffff) throw sluice::Error("more than 65535 sources and contributions");

  // A small change to the table the last build made: walk only the changed regions.
  std::optional<rep::ChangedPrefixes> changed;
  if (table_matches_last_build_) changed = changes_between(last_build_, in);
  size_t changes = 0;
  if (changed) {
    std::vector<const rep::ParsedSource *> sources;
    sources.reserve(in.parsed.size());
    for (const auto &p : in.parsed) sources.push_back(p.get());
    try {
      changes = table_.install(rep::recompile(table_.current(), sources, in.configs, *changed));
    } catch (const std::exception &e) {
      // A delta that does not fit the current table: a defect, but one the whole compile below
      // repairs.
      log_error(std::string("table: partial recompile failed, compiling everything: ") + e.what());
      changed.reset();
    }
  }
  if (!changed) {
    // compile() reads each entry's source index: copy the inputs with the index set.
    std::vector<rep::ParsedSource> parsed(in.parsed.size());
    for (size_t i = 0; i < in.parsed.size(); ++i) {
      const rep::ParsedSource &src = *in.parsed[i];
      rep::ParsedSource &dst = parsed[i];
      dst.v4 = src.v4;
      dst.v6 = src.v6;
      for (auto &e : dst.v4) e.source = static_cast<uint16_t>(i);
      for (auto &e : dst.v6) e.source = static_cast<uint16_t>(i);
    }
    const rep::Snapshot next = rep::compile(parsed, in.configs, table_.lineage_created());
    parsed.clear();
    changes = table_.install(next);
  }
  table_matches_last_build_ = true;
  const double compile_s = std::chrono::duration<double>(Clock::now() - t0).count();
  last_build_ = std::move(in);
  table_status_.contributions = contributions;
  ++table_status_.builds;
  schedule_provider_timer();
  if (changes == 0) return;
  table_status_.built = now;
  log_info(fmt::format("table {:016x}: {} entries, {} changed ({}; {} in {:.1f} ms)",
                       table_.version(), table_.entries(), changes, why,
                       changed ? fmt::format("{} changed prefixes recompiled", changed->size())
                               : std::string("compiled"),
                       compile_s * 1000));
  TableEvent te{table_.version(), table_.entries(), changes, compile_s};
  for (auto *o : observers_) o->on_table(te);
  for (auto &p : pushers_) {
    auto ev = p->sync(table_, policy_ ? &*policy_ : nullptr);
    if (ev)
      for (auto *o : observers_) o->on_push(*ev);
  }
  schedule_persist();
  notify_status();
}

void Daemon::sync_dataplanes(bool now_regardless) {
  bool any = false;
  for (auto &p : pushers_) {
    auto ev = p->sync(table_, policy_ ? &*policy_ : nullptr, now_regardless);
    if (!ev) continue;
    any = true;
    for (auto *o : observers_) o->on_push(*ev);
  }
  if (any) {
    schedule_persist();
    notify_status();
  }
}

void Daemon::schedule_provider_timer() {
  if (provider_timer_) {
    loop_.cancel(*provider_timer_);
    provider_timer_.reset();
  }
  std::optional<WallClock::time_point> next;
  for (auto *p : providers_)
    if (auto t = p->next_change(); t && (!next || *t < *next)) next = t;
  if (!next) return;
  // Wall-clock deadlines on the monotonic timer: re-checked at least every minute, so a clock
  // jump delays an expiry by at most that.
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*next - WallClock::now());
  delay = std::clamp(delay, std::chrono::milliseconds(0), std::chrono::milliseconds(60000));
  provider_timer_ = loop_.add_timer(delay, [this] {
    provider_timer_.reset();
    rebuild("expiry");
  });
}

void Daemon::schedule_persist() {
  if (persist_timer_) return;
  persist_timer_ = loop_.add_timer(std::chrono::seconds(1), [this] {
    persist_timer_.reset();
    table_.persist();
    save_dataplane_state();
  });
}

void Daemon::save_dataplane_state() {
  nlohmann::json j = nlohmann::json::object();
  for (const auto &p : pushers_) j[p->spec()] = p->saved_state();
  const std::string path = cfg_.state_dir + "/dataplanes.json";
  {
    std::ofstream out(path + ".tmp", std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
}

void Daemon::restore_dataplane_state() {
  std::ifstream in(cfg_.state_dir + "/dataplanes.json");
  if (!in) return;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    for (auto &p : pushers_)
      if (j.contains(p->spec())) p->restore_state(j[p->spec()]);
  } catch (const std::exception &e) {
    log_warning(cfg_.state_dir + "/dataplanes.json: ignored: " + e.what());
  }
}

void Daemon::notify_status() {
  if (!ready_sent_) return;
  size_t in_sync = 0;
  for (const auto &p : pushers_) in_sync += p->status().in_sync;
  sluiced::notify_status(fmt::format("table {:016x}, {} entries; {} of {} data planes in sync",
                                     table_.version(), table_.entries(), in_sync, pushers_.size()));
}

// ---- sources and files ------------------------------------------------------------------------

bool Daemon::refresh_sources(bool force) {
  sources_.refresh_all(force);
  if (!sources_.take_changed()) return false;
  const uint64_t before = table_.version();
  rebuild(force ? "sources re-read" : "sources changed");
  return table_.version() != before;
}

void Daemon::reload_sources_file(bool force) {
  try {
    if (sources_.load_config()) rewatch();
  } catch (const std::exception &e) {
    log_error(std::string(e.what()) +
              " (the sources file is refused; the sources stay as they were)");
  }
  refresh_sources(force);
}

void Daemon::reload_policy() {
  if (cfg_.policy.empty()) return;
  try {
    const uint64_t h = file_hash(cfg_.policy);
    if (!policy_ || policy_->hash != h) {
      policy_ = PolicyTarget{cfg_.policy, h};
      if (started_) sync_dataplanes(true);
    }
  } catch (const std::exception &e) {
    log_error(std::string("policy: ") + e.what());
  }
}

void Daemon::rewatch() {
  std::vector<std::string> paths = sources_.list_paths();
  if (!cfg_.sources.empty()) paths.push_back(cfg_.sources);
  if (!cfg_.policy.empty()) paths.push_back(cfg_.policy);
  watcher_->watch(paths);
}

void Daemon::on_file_changed(const std::string &path) {
  changed_files_.insert(path);
  if (settle_timer_) return;
  settle_timer_ = loop_.add_timer(cfg_.settle, [this] {
    settle_timer_.reset();
    process_changed_files();
  });
}

void Daemon::process_changed_files() {
  std::set<std::string> files;
  files.swap(changed_files_);
  if (files.count(cfg_.sources)) {
    reload_sources_file(false);
    files.erase(cfg_.sources);
  }
  if (!cfg_.policy.empty() && files.count(cfg_.policy)) {
    reload_policy();
    files.erase(cfg_.policy);
  }
  for (const auto &f : files)
    for (const auto &name : sources_.sources_at(f)) sources_.refresh(name);
  if (sources_.take_changed()) rebuild("sources changed");
}

// ---- status -----------------------------------------------------------------------------------

DaemonStatus Daemon::status() const {
  DaemonStatus s;
  s.table = table_status_;
  s.table.version = table_.has_table() ? table_.version() : 0;
  s.table.entries = table_.entries();
  s.sources = sources_.status(WallClock::now());
  for (const auto &p : pushers_) s.dataplanes.push_back(p->status());
  return s;
}

}  // namespace sluice::sluiced
