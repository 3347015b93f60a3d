// The [metrics] and [decision_log] sections of sluiced.ini (docs/metrics.md lists every key):
//
//   [metrics]
//   enabled = true
//   listen = 127.0.0.1:9477          # ADDRESS:PORT, numeric; [::1]:9477 for IPv6
//   allow_non_loopback = false       # required for any other address
//   max_clients = 16
//   request_timeout = 5s             # per connection, accept to last byte
//   max_request_bytes = 8192
//   max_headers = 32
//   stats_interval = 1s              # how often each data plane's counters are read
//
//   [decision_log]
//   enabled = true
//   sink = auto                      # auto | journal | syslog | file:PATH
//   poll_interval = 1s               # how often each data plane's flows are read
//   flows_per_poll = 4096
//   per_sender_rate = 1              # lines per second per sender
//   per_sender_burst = 5
//   overall_rate = 50
//   overall_burst = 200
//   summary_interval = 60s           # at most one "SUPPRESSED" line per interval
//   max_senders = 10000
//   max_remembered_flows = 65536     # per data plane
#pragma once

#include <chrono>
#include <string>

#include "daemon/config.h"
#include "decision_log/decision_log.h"
#include "metrics/http_server.h"

namespace sluice::sluiced::obs {

struct MetricsConfig {
  bool enabled = true;
  metrics::ListenAddress listen;  // kDefaultListen
  bool allow_non_loopback = false;
  metrics::ServerLimits limits;
  std::chrono::milliseconds stats_interval{1000};
};

struct DecisionLogSettings {
  bool enabled = true;
  std::string sink = "auto";
  std::chrono::milliseconds poll_interval{1000};
  size_t flows_per_poll = 4096;
  decision_log::DecisionLogConfig log;
};

struct ObsConfig {
  MetricsConfig metrics;
  DecisionLogSettings decision_log;
};

void describe_obs_config(ConfigSchema &schema);
// Throws ConfigError("section.key: reason"): a bad number or duration, a listen address that
// is not numeric or not loopback without allow_non_loopback, a sink that is not one of the four.
ObsConfig read_obs_config(const po::variables_map &vm);

}  // namespace sluice::sluiced::obs
