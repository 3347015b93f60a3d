#include "daemon_metrics.h"

namespace sluice::sluiced::metrics {

void add_table_metrics(Exposition &e, const TableView &t) {
  e.declare("sluiced_table_version", MetricType::gauge,
            "Version (image checksum) of the table sluiced compiled last");
  e.declare("sluiced_table_entries", MetricType::gauge, "Entries of the table sluiced compiled");
  e.declare("sluiced_table_age_seconds", MetricType::gauge,
            "Seconds since sluiced's table last changed");
  e.add("sluiced_table_version", {}, t.version);
  e.add("sluiced_table_entries", {}, t.entries);
  e.add("sluiced_table_age_seconds", {}, t.age_s);
}

void add_source_metrics(Exposition &e, const std::vector<SourceView> &sources) {
  e.declare("sluiced_source_entries", MetricType::gauge, "Entries of the source's live version");
  e.declare("sluiced_source_age_seconds", MetricType::gauge,
            "Seconds since the source's live version was read");
  e.declare("sluiced_source_max_age_seconds", MetricType::gauge, "The source's max_age (0 = none)");
  e.declare("sluiced_source_stale", MetricType::gauge,
            "1 when the source is older than its max_age, else 0");
  e.declare("sluiced_source_rejections_total", MetricType::counter,
            "Versions of the source refused by the guards (parse error, empty, shrink)");
  e.declare("sluiced_source_last_rejected", MetricType::gauge,
            "1 when the source's newest version was refused and the last good one stays live");
  for (const auto &s : sources) {
    const Labels l = {{"source", s.name}};
    e.add("sluiced_source_entries", l, s.entries);
    e.add("sluiced_source_age_seconds", l, s.age_s);
    e.add("sluiced_source_max_age_seconds", l, s.max_age_s);
    e.add("sluiced_source_stale", l, uint64_t{s.max_age_s > 0 && s.age_s > s.max_age_s});
    e.add("sluiced_source_rejections_total", l, s.rejections);
    e.add("sluiced_source_last_rejected", l, uint64_t{s.last_rejected});
  }
}

void add_push_metrics(Exposition &e, const std::vector<PushView> &pushes) {
  e.declare("sluiced_push_latency_seconds", MetricType::histogram,
            "Seconds from a table change ready to the data plane running it");
  e.declare("sluiced_pushes_total", MetricType::counter,
            "Table pushes to the data plane, by kind (delta, full)");
  e.declare("sluiced_push_errors_total", MetricType::counter,
            "Table pushes the data plane refused or did not answer");
  e.declare("sluiced_dataplane_table_current", MetricType::gauge,
            "1 when the data plane runs sluiced's table version, else 0");
  for (const auto &p : pushes) {
    const Labels l = {{"dataplane", p.dataplane}};
    if (p.latency != nullptr) e.add("sluiced_push_latency_seconds", l, *p.latency);
    e.add("sluiced_pushes_total", {{"dataplane", p.dataplane}, {"kind", "delta"}}, p.deltas);
    e.add("sluiced_pushes_total", {{"dataplane", p.dataplane}, {"kind", "full"}}, p.full_loads);
    e.add("sluiced_push_errors_total", l, p.errors);
    e.add("sluiced_dataplane_table_current", l, uint64_t{p.current});
  }
}

void add_dynamic_metrics(Exposition &e, const DynamicView &d) {
  e.declare("sluiced_dynamic_entries", MetricType::gauge,
            "Dynamic entries (sluicectl host set) in force, by kind");
  e.declare("sluiced_dynamic_expired_total", MetricType::counter,
            "Dynamic entries removed at their expiry");
  for (const auto &[kind, n] : d.entries_by_kind)
    e.add("sluiced_dynamic_entries", {{"kind", kind}}, n);
  e.add("sluiced_dynamic_expired_total", {}, d.expired);
}

void add_control_metrics(Exposition &e, const std::map<std::string, uint64_t> &counters) {
  for (const auto &[name, n] : counters) {
    const std::string metric = "sluiced_control_" + name + "_total";
    e.declare(metric, MetricType::counter, "sluiced's control socket: " + name);
    e.add(metric, {}, n);
  }
}

void add_http_metrics(Exposition &e, const ServerCounters &c, size_t clients) {
  const std::pair<const char *, uint64_t> counters[] = {
      {"connections", c.connections}, {"requests", c.requests}, {"refused", c.refused},
      {"timeouts", c.timeouts},       {"evicted", c.evicted},   {"render_errors", c.render_errors}};
  for (const auto &[name, n] : counters) {
    const std::string metric = std::string("sluiced_metrics_http_") + name + "_total";
    e.declare(metric, MetricType::counter,
              std::string("The /metrics endpoint's ") + name + " (docs/metrics.md)");
    e.add(metric, {}, n);
  }
  e.declare("sluiced_metrics_http_clients", MetricType::gauge,
            "Clients connected to the /metrics endpoint now");
  e.add("sluiced_metrics_http_clients", {}, static_cast<uint64_t>(clients));
}

void add_decision_log_metrics(Exposition &e, uint64_t lines, uint64_t suppressed) {
  e.declare("sluiced_decision_log_lines_total", MetricType::counter,
            "Lines the decision log wrote");
  e.declare("sluiced_decision_log_suppressed_total", MetricType::counter,
            "Decision log lines suppressed by its rate limit");
  e.add("sluiced_decision_log_lines_total", {}, lines);
  e.add("sluiced_decision_log_suppressed_total", {}, suppressed);
}

}  // namespace sluice::sluiced::metrics
