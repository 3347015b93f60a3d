// sluiced's own state as metrics. Each part of the daemon fills a plain view at scrape time and
// the functions below turn it into samples, so the names live here, once (docs/metrics.md):
//
//   sluiced_table_version, sluiced_table_entries, sluiced_table_age_seconds
//   sluiced_source_entries{source}, sluiced_source_age_seconds{source},
//   sluiced_source_max_age_seconds{source}, sluiced_source_stale{source},
//   sluiced_source_rejections_total{source}, sluiced_source_last_rejected{source}
//   sluiced_push_latency_seconds{dataplane} (histogram), sluiced_pushes_total{dataplane,kind},
//   sluiced_push_errors_total{dataplane}, sluiced_dataplane_table_current{dataplane}
//   sluiced_dynamic_entries{kind}, sluiced_dynamic_expired_total
//   sluiced_control_* (the control socket's counters, by name)
//   sluiced_metrics_http_* (this endpoint's own counters)
//   sluiced_decision_log_lines_total, sluiced_decision_log_suppressed_total
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exposition.h"
#include "histogram.h"
#include "http_server.h"

namespace sluice::sluiced::metrics {

// The table sluiced compiled and pushes.
struct TableView {
  uint64_t version = 0;
  uint64_t entries = 0;
  double age_s = 0;  // since it last changed
};
void add_table_metrics(Exposition &e, const TableView &t);

struct SourceView {
  std::string name;
  uint64_t entries = 0;        // of the version live now
  double age_s = 0;            // since the live version was read (file mtime or download)
  double max_age_s = 0;        // the source's max_age (0 = none)
  uint64_t rejections = 0;     // versions refused by the guards since start
  bool last_rejected = false;  // the newest version was refused (the last good one is live)
};
void add_source_metrics(Exposition &e, const std::vector<SourceView> &sources);

struct PushView {
  std::string dataplane;               // its spec
  const Histogram *latency = nullptr;  // change ready -> the data plane has it
  uint64_t deltas = 0, full_loads = 0, errors = 0;
  bool current = false;  // its table version is sluiced's
};
void add_push_metrics(Exposition &e, const std::vector<PushView> &pushes);

// Dynamic entries (sluicectl host set) by kind ("score", "allow", "deny").
struct DynamicView {
  std::map<std::string, uint64_t> entries_by_kind;
  uint64_t expired = 0;  // removed at their expiry since start
};
void add_dynamic_metrics(Exposition &e, const DynamicView &d);

// Counters of sluiced's control socket, by name ("connections", "requests", "refused_peer",
// ...): each becomes sluiced_control_<name>_total.
void add_control_metrics(Exposition &e, const std::map<std::string, uint64_t> &counters);

void add_http_metrics(Exposition &e, const ServerCounters &c, size_t clients);

void add_decision_log_metrics(Exposition &e, uint64_t lines, uint64_t suppressed);

}  // namespace sluice::sluiced::metrics
