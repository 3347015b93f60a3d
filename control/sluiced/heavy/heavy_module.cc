// The data planes' SYN heavy hitters as a sluiced module (docs/learning.md, "Heavy hitters"):
// [heavy_hitters] in sluiced.ini, a poll of every configured data plane every poll_interval on
// the daemon's loop (its own clients, apart from the pusher's), each heavy host published on the
// observation bus as a conn_rate observation, each data plane's new pregreet connections as
// pregreet observations (the local score model scores them) and its SYNs shaped and blocked per
// sender as shaped and blocked observations (the feed shares them), status under
// modules.heavy_hitters and metrics.
#include <fmt/format.h>

#include <memory>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/module.h"
#include "heavy_config.h"
#include "heavy_poller.h"
#include "metrics/exposition.h"
#include "obs/obs_explain.h"

namespace sluice::sluiced::heavy {
namespace {

using nlohmann::json;

// The networks and hosts `status` lists (the heaviest of the last poll).
constexpr size_t kStatusTop = 10;

json totals_json(const std::vector<HeavyTotal> &v) {
  json out = json::array();
  for (size_t i = 0; i < v.size() && i < kStatusTop; ++i)
    out.push_back({{"prefix", format_heavy_prefix(v[i].prefix)},
                   {"syns_per_minute", v[i].per_minute},
                   {"dataplanes", v[i].dataplanes}});
  return out;
}

class HeavyModule : public Module {
 public:
  std::string module_name() const override { return "heavy_hitters"; }
  void describe_config(ConfigSchema &schema) override { describe_heavy_config(schema); }
  void configure(const po::variables_map &vm) override { cfg_ = read_heavy_config(vm); }

  void start(Daemon &d) override {
    if (!cfg_.enabled) {
      log_info("heavy hitters: off ([heavy_hitters] enabled = false)");
      return;
    }
    if (d.config().dataplanes.empty()) return;
    daemon_ = &d;
    poller_ =
        std::make_unique<HeavyPoller>(cfg_.settings, d.config().dataplanes, d.client_factory());
    d.loop().add_periodic(cfg_.settings.poll_interval, [this] { poll(); });
    live_ = this;
    static const bool registered = [] {
      obs::add_metrics_collector("heavy_hitters", [](metrics::Exposition &e) {
        if (live_ != nullptr) live_->collect(e);
      });
      return true;
    }();
    (void)registered;
    log_info(fmt::format(
        "heavy hitters: asking {} data planes every {} ms, hosts at or above "
        "{:.0f} SYN/min observed",
        d.config().dataplanes.size(), cfg_.settings.poll_interval.count(), cfg_.settings.min_rate));
  }

  void stop() override {
    if (live_ == this) live_ = nullptr;
  }
  ~HeavyModule() override {
    if (live_ == this) live_ = nullptr;
  }

  json status() override {
    json j = {{"enabled", poller_ != nullptr}};
    if (!poller_) return j;
    json planes = json::array();
    for (const auto &p : poller_->planes())
      planes.push_back({{"spec", p.spec},
                        {"answering", p.answering},
                        {"error", p.error},
                        {"polls", p.polls},
                        {"failures", p.failures},
                        {"entries", p.entries},
                        {"pregreet_error", p.pregreet_error},
                        {"pregreet_refused", p.pregreet_refused},
                        {"verdict_error", p.verdict_error},
                        {"verdict_refused", p.verdict_refused},
                        {"fanout_error", p.fanout_error},
                        {"fanout_refused", p.fanout_refused}});
    json refused = json::object();
    for (size_t i = 0; i < kRefusalCount; ++i)
      refused[std::string(to_string(static_cast<Refusal>(i)))] = poller_->refused()[i];
    j["poll_interval_ms"] = cfg_.settings.poll_interval.count();
    j["min_rate"] = cfg_.settings.min_rate;
    j["max_per_poll"] = cfg_.settings.max_per_poll;
    j["dataplanes"] = planes;
    j["observations"] = poller_->observations();
    j["refused"] = refused;
    j["hosts"] = totals_json(last_.hosts);
    j["networks"] = totals_json(last_.networks);
    return j;
  }

 private:
  void poll() {
    PollResult r = poller_->poll(std::chrono::steady_clock::now(), WallClock::now());
    for (const auto &n : r.notices) log_notice(n);
    for (const auto &o : r.observations) daemon_->observations().publish(o);
    last_.hosts = std::move(r.hosts);
    last_.networks = std::move(r.networks);
  }

  void collect(metrics::Exposition &e) {
    using metrics::MetricType;
    e.declare("sluiced_heavy_polls_total", MetricType::counter,
              "Heavy-hitter requests sent to a data plane");
    e.declare("sluiced_heavy_poll_failures_total", MetricType::counter,
              "Heavy-hitter requests that failed (data plane down, or it does not count them)");
    e.declare("sluiced_heavy_dataplane_answering", MetricType::gauge,
              "1 when the data plane's last heavy-hitter request answered");
    for (const auto &p : poller_->planes()) {
      const metrics::Labels l = {{"dataplane", p.spec}};
      e.add("sluiced_heavy_polls_total", l, p.polls);
      e.add("sluiced_heavy_poll_failures_total", l, p.failures);
      e.add("sluiced_heavy_dataplane_answering", l, uint64_t{p.answering ? 1u : 0u});
    }
    e.declare("sluiced_heavy_entries_refused_total", MetricType::counter,
              "Heavy-hitter entries refused, by reason");
    for (size_t i = 0; i < kRefusalCount; ++i)
      e.add("sluiced_heavy_entries_refused_total",
            {{"reason", std::string(to_string(static_cast<Refusal>(i)))}}, poller_->refused()[i]);
    e.declare("sluiced_heavy_observations_total", MetricType::counter,
              "conn_rate (heavy hosts), pregreet, shaped, blocked and fan_out observations "
              "published");
    e.add("sluiced_heavy_observations_total", {}, poller_->observations());
    e.declare("sluiced_heavy_senders", MetricType::gauge,
              "Hosts and networks at or above min_rate at the last poll");
    e.declare("sluiced_heavy_max_syns_per_minute", MetricType::gauge,
              "The heaviest host and network of the last poll, SYN/min (0: none above min_rate)");
    for (const bool hosts : {true, false}) {
      const auto &v = hosts ? last_.hosts : last_.networks;
      for (const int family : {4, 6}) {
        uint64_t n = 0;
        double top = 0;
        for (const auto &t : v)
          if (t.prefix.family == family) ++n, top = std::max(top, t.per_minute);
        const metrics::Labels l = {{"scope", hosts ? "host" : "network"},
                                   {"family", family == 4 ? "ipv4" : "ipv6"}};
        e.add("sluiced_heavy_senders", l, n);
        e.add("sluiced_heavy_max_syns_per_minute", l, top);
      }
    }
  }

  static inline HeavyModule *live_ = nullptr;  // the module whose metrics a scrape reports
  HeavyConfig cfg_;
  Daemon *daemon_ = nullptr;
  std::unique_ptr<HeavyPoller> poller_;
  struct {
    std::vector<HeavyTotal> hosts, networks;
  } last_;
};

const ModuleRegistrar kHeavy([] { return std::make_unique<HeavyModule>(); });

}  // namespace
}  // namespace sluice::sluiced::heavy
