#include "obs_config.h"

#include <charconv>
#include <cmath>

namespace sluice::sluiced::obs {
namespace {

size_t read_count(const po::variables_map &vm, const std::string &key, size_t dflt, size_t min,
                  size_t max) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  size_t n = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || r.ec != std::errc() || r.ptr != v->data() + v->size() || n < min || n > max)
    throw ConfigError(key + ": '" + *v + "' is not a whole number " + std::to_string(min) + ".." +
                      std::to_string(max));
  return n;
}

double read_rate(const po::variables_map &vm, const std::string &key, double dflt) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  double d = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), d);
  if (v->empty() || r.ec != std::errc() || r.ptr != v->data() + v->size() || !std::isfinite(d) ||
      d <= 0 || d > 1e6)
    throw ConfigError(key + ": '" + *v + "' is not a number above 0 (at most 1000000)");
  return d;
}

std::chrono::milliseconds read_duration(const po::variables_map &vm, const std::string &key,
                                        std::chrono::milliseconds dflt) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  const auto d = parse_duration(*v, key);
  if (d.count() <= 0) throw ConfigError(key + ": must be above 0");
  return d;
}

}  // namespace

void describe_obs_config(ConfigSchema &schema) {
  po::options_description m("[metrics]");
  m.add_options()                                                                         //
      ("metrics.enabled", po::value<std::string>(), "serve /metrics (true, false)")       //
      ("metrics.listen", po::value<std::string>(), "ADDRESS:PORT")                        //
      ("metrics.allow_non_loopback", po::value<std::string>(), "listen beyond loopback")  //
      ("metrics.max_clients", po::value<std::string>(), "clients at once")                //
      ("metrics.request_timeout", po::value<std::string>(), "per connection")             //
      ("metrics.max_request_bytes", po::value<std::string>(), "request head size")        //
      ("metrics.max_headers", po::value<std::string>(), "header lines")                   //
      ("metrics.stats_interval", po::value<std::string>(), "data-plane counters read interval");
  schema.add_section(m);
  po::options_description d("[decision_log]");
  d.add_options()                                                                          //
      ("decision_log.enabled", po::value<std::string>(), "log decisions (true, false)")    //
      ("decision_log.sink", po::value<std::string>(), "auto, journal, syslog, file:PATH")  //
      ("decision_log.poll_interval", po::value<std::string>(), "flows read interval")      //
      ("decision_log.flows_per_poll", po::value<std::string>(), "flows asked per poll")    //
      ("decision_log.per_sender_rate", po::value<std::string>(), "lines/s per sender")     //
      ("decision_log.per_sender_burst", po::value<std::string>(), "burst per sender")      //
      ("decision_log.overall_rate", po::value<std::string>(), "lines/s in all")            //
      ("decision_log.overall_burst", po::value<std::string>(), "burst in all")             //
      ("decision_log.summary_interval", po::value<std::string>(), "SUPPRESSED interval")   //
      ("decision_log.max_senders", po::value<std::string>(), "per-sender buckets kept")    //
      ("decision_log.max_remembered_flows", po::value<std::string>(), "logged flows kept");
  schema.add_section(d);
}

ObsConfig read_obs_config(const po::variables_map &vm) {
  ObsConfig c;
  MetricsConfig &m = c.metrics;
  m.enabled = config_bool(vm, "metrics.enabled", true);
  const std::string *listen = config_value(vm, "metrics.listen");
  try {
    m.listen =
        metrics::parse_listen_address(listen ? *listen : std::string(metrics::kDefaultListen));
  } catch (const metrics::ServerError &e) {
    throw ConfigError(std::string("metrics.listen: ") + e.what());
  }
  m.allow_non_loopback = config_bool(vm, "metrics.allow_non_loopback", false);
  if (m.enabled && !m.allow_non_loopback && !metrics::is_loopback(m.listen))
    throw ConfigError("metrics.listen: " + m.listen.text() +
                      " is not a loopback address; set metrics.allow_non_loopback = true to "
                      "serve the counters beyond this host");
  m.limits.max_clients = read_count(vm, "metrics.max_clients", 16, 1, 4096);
  m.limits.deadline = read_duration(vm, "metrics.request_timeout", std::chrono::seconds(5));
  m.limits.http.max_head_bytes = read_count(vm, "metrics.max_request_bytes", 8192, 256, 1 << 20);
  m.limits.http.max_headers = read_count(vm, "metrics.max_headers", 32, 1, 1000);
  m.stats_interval = read_duration(vm, "metrics.stats_interval", std::chrono::seconds(1));

  DecisionLogSettings &d = c.decision_log;
  d.enabled = config_bool(vm, "decision_log.enabled", true);
  if (const std::string *s = config_value(vm, "decision_log.sink")) d.sink = *s;
  if (!(d.sink == "auto" || d.sink == "journal" || d.sink == "syslog" ||
        (d.sink.rfind("file:", 0) == 0 && d.sink.size() > 5)))
    throw ConfigError("decision_log.sink: '" + d.sink +
                      "' is not auto, journal, syslog or file:PATH");
  d.poll_interval = read_duration(vm, "decision_log.poll_interval", std::chrono::seconds(1));
  d.flows_per_poll = read_count(vm, "decision_log.flows_per_poll", 4096, 1, 1 << 20);
  auto &l = d.log.limits;
  l.per_sender_rate = read_rate(vm, "decision_log.per_sender_rate", l.per_sender_rate);
  l.per_sender_burst = read_rate(vm, "decision_log.per_sender_burst", l.per_sender_burst);
  if (l.per_sender_burst < 1) throw ConfigError("decision_log.per_sender_burst: at least 1");
  l.overall_rate = read_rate(vm, "decision_log.overall_rate", l.overall_rate);
  l.overall_burst = read_rate(vm, "decision_log.overall_burst", l.overall_burst);
  if (l.overall_burst < 1) throw ConfigError("decision_log.overall_burst: at least 1");
  l.summary_interval = std::chrono::duration_cast<std::chrono::seconds>(
      read_duration(vm, "decision_log.summary_interval", std::chrono::seconds(60)));
  if (l.summary_interval.count() < 1)
    throw ConfigError("decision_log.summary_interval: at least 1s");
  l.max_senders = read_count(vm, "decision_log.max_senders", l.max_senders, 1, 10000000);
  d.log.max_remembered_flows =
      read_count(vm, "decision_log.max_remembered_flows", d.log.max_remembered_flows, 1, 100000000);
  return c;
}

}  // namespace sluice::sluiced::obs
