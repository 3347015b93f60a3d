// The metrics endpoint and the decision log as a sluiced module: [metrics] and [decision_log]
// of sluiced.ini (obs_config.h), the /metrics server on the daemon's loop, the data planes
// watched for counters and flows (dataplane_watch.h), push latencies from the daemon's events.
#include <poll.h>

#include <map>
#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "decision_log/dataplane_poll.h"
#include "decision_log/sink.h"
#include "metrics/daemon_metrics.h"
#include "metrics/dataplane_metrics.h"
#include "metrics/registry.h"
#include "obs_config.h"
#include "obs_explain.h"
#include "dataplane_watch.h"
#include "policy_file.h"

namespace sluice::sluiced::obs {
namespace {

using Clock = std::chrono::steady_clock;

// How often connections past their deadline are closed (the deadline itself is per connection).
constexpr std::chrono::milliseconds kExpireTick{250};

double seconds_since(std::optional<WallClock::time_point> t) {
  if (!t) return 0;
  const double s = std::chrono::duration<double>(WallClock::now() - *t).count();
  return s > 0 ? s : 0;
}

class ObsModule : public Module, public Observer {
 public:
  std::string module_name() const override { return "obs"; }
  void describe_config(ConfigSchema &schema) override { describe_obs_config(schema); }
  void configure(const po::variables_map &vm) override { cfg_ = read_obs_config(vm); }

  void start(Daemon &d) override {
    daemon_ = &d;
    timeout_ = d.config().dataplane_timeout;
    for (const auto &spec : d.config().dataplanes) {
      auto w = std::make_unique<WatchedDataplane>();
      w->spec = spec;
      watched_.push_back(std::move(w));
    }
    d.add_observer(*this);
    if (cfg_.metrics.enabled) start_metrics(d);
    if (cfg_.decision_log.enabled) start_decision_log(d);
  }

  void stop() override {
    if (server_ && daemon_ != nullptr) daemon_->loop().remove_fd(server_->fd());
    server_.reset();
  }

  nlohmann::json status() override {
    nlohmann::json j = nlohmann::json::object();
    if (server_)
      j["metrics"] = {{"listen", cfg_.metrics.listen.host + ":" + std::to_string(server_->port())},
                      {"requests", server_->counters().requests}};
    if (log_)
      j["decision_log"] = {{"sink", sink_->describe()},
                           {"lines", log_->logged()},
                           {"suppressed", log_->suppressed()}};
    return j;
  }

  // ---- Observer ----
  void on_push(const PushEvent &e) override {
    Push &p = pushes_[e.dataplane];
    if (e.ok) p.latency.observe(e.seconds);
  }

 private:
  struct Push {
    metrics::Histogram latency = metrics::make_push_latency_histogram();
  };

  void start_metrics(Daemon &d) {
    const MetricsConfig &m = cfg_.metrics;
    registry_.add("dataplanes", [this](metrics::Exposition &e) { collect_dataplanes(e); });
    registry_.add("daemon", [this](metrics::Exposition &e) { collect_daemon(e); });
    registry_.add("obs", [this](metrics::Exposition &e) {
      if (server_) metrics::add_http_metrics(e, server_->counters(), server_->clients());
      metrics::add_decision_log_metrics(e, log_ ? log_->logged() : 0,
                                        log_ ? log_->suppressed() : 0);
    });
    // Parts that keep their own counts (add_metrics_collector), whenever they registered.
    registry_.add("extra", [](metrics::Exposition &e) {
      for (auto &[name, c] : extra_collectors()) c(e);
    });
    server_ = std::make_unique<metrics::MetricsServer>(m.listen, m.allow_non_loopback, m.limits,
                                                       [this] { return registry_.render(); });
    d.loop().add_fd(server_->fd(), POLLIN, [this](short) { server_->on_ready(); });
    d.loop().add_periodic(kExpireTick, [this] { server_->expire(); });
    // Counters of every data plane once now, then every stats_interval (unless the decision
    // log's poll reads them anyway).
    refresh_all_stats();
    if (!cfg_.decision_log.enabled || cfg_.metrics.stats_interval < cfg_.decision_log.poll_interval)
      d.loop().add_periodic(m.stats_interval, [this] { refresh_all_stats(); });
    log_info("metrics: serving http://" + m.listen.host + ":" + std::to_string(server_->port()) +
             "/metrics");
  }

  void start_decision_log(Daemon &d) {
    const DecisionLogSettings &s = cfg_.decision_log;
    sink_ = decision_log::make_sink(s.sink);
    log_ = std::make_unique<decision_log::DecisionLog>(s.log, make_explainer(d), Clock::now());
    if (!d.config().policy.empty()) {
      try {
        const auto policy = dataplane::load_policy(d.config().policy);
        std::vector<decision_log::Action> actions;
        std::vector<bool> observing;
        for (uint32_t l = 0; l < policy.policy.nlevels && l < SL_MAX_LEVELS; ++l) {
          actions.push_back(decision_log::action_of(policy.policy.profiles[l]));
          observing.push_back(policy.policy.profiles[l].observe != 0);
        }
        log_->set_level_actions(std::move(actions), std::move(observing));
      } catch (const std::exception &e) {
        log_warning(std::string("decision log: policy not read, every level logged as SHAPE: ") +
                    e.what());
      }
    }
    d.loop().add_periodic(s.poll_interval, [this] { poll_flows(); });
    log_info("decision log: to " + sink_->describe());
  }

  void refresh_all_stats() {
    for (auto &w : watched_) w->refresh_stats(timeout_);
  }

  void poll_flows() {
    const auto now = Clock::now();
    for (auto &w : watched_) {
      control::DataplaneClient *c = w->connect(timeout_);
      if (c == nullptr) continue;
      const auto r =
          decision_log::poll_dataplane(*c, *log_, *sink_, cfg_.decision_log.flows_per_poll, now);
      if (!r.error.empty()) {
        w->failed(r.error);
        continue;
      }
      w->stats = r.stats;
      w->up = true;
      w->error.clear();
    }
    decision_log::write_summary(*log_, *sink_, now);
  }

  void collect_dataplanes(metrics::Exposition &e) {
    metrics::declare_dataplane_metrics(e);
    for (const auto &w : watched_) {
      metrics::add_dataplane_up(e, w->spec, w->up);
      if (w->stats) metrics::add_dataplane_metrics(e, w->spec, *w->stats);
    }
  }

  void collect_daemon(metrics::Exposition &e) {
    const DaemonStatus st = daemon_->status();
    metrics::add_table_metrics(e,
                               {st.table.version, st.table.entries, seconds_since(st.table.built)});
    std::vector<metrics::SourceView> sources;
    for (const auto &s : st.sources) {
      metrics::SourceView v;
      v.name = s.name;
      v.entries = s.entries;
      v.age_s = seconds_since(s.live_mtime);
      v.max_age_s = std::chrono::duration<double>(s.max_age).count();
      v.rejections = s.rejections;
      v.last_rejected = s.state == SourceState::kRejected;
      sources.push_back(std::move(v));
    }
    metrics::add_source_metrics(e, sources);
    std::vector<metrics::PushView> pushes;
    for (const auto &dp : st.dataplanes) {
      metrics::PushView v;
      v.dataplane = dp.spec;
      auto it = pushes_.find(dp.spec);
      v.latency = it != pushes_.end() ? &it->second.latency : &empty_latency_;
      v.deltas = dp.pushes >= dp.full_loads ? dp.pushes - dp.full_loads : 0;
      v.full_loads = dp.full_loads;
      v.errors = dp.failures;
      v.current = dp.in_sync;
      pushes.push_back(std::move(v));
    }
    metrics::add_push_metrics(e, pushes);
    add_contribution_metrics(e, daemon_->last_build(), st.table.contributions);
    std::map<std::string, uint64_t> control;
    const nlohmann::json counters = daemon_->control_counters();  // items() must not outlive it
    for (const auto &[name, v] : counters.items())
      if (v.is_number_unsigned()) control[name] = v.get<uint64_t>();
    metrics::add_control_metrics(e, control);
  }

  ObsConfig cfg_;
  Daemon *daemon_ = nullptr;
  std::chrono::milliseconds timeout_{2000};
  std::vector<std::unique_ptr<WatchedDataplane>> watched_;
  metrics::MetricsRegistry registry_;
  std::unique_ptr<metrics::MetricsServer> server_;
  std::unique_ptr<decision_log::LogSink> sink_;
  std::unique_ptr<decision_log::DecisionLog> log_;
  std::map<std::string, Push> pushes_;
  const metrics::Histogram empty_latency_ = metrics::make_push_latency_histogram();
};

const ModuleRegistrar kObs([] { return std::make_unique<ObsModule>(); });

}  // namespace
}  // namespace sluice::sluiced::obs
