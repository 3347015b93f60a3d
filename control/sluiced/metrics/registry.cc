#include "registry.h"

namespace sluice::sluiced::metrics {

void MetricsRegistry::add(const std::string &name, Collector collector) {
  for (const auto &e : entries_)
    if (e.name == name) throw ExpositionError("metrics: collector '" + name + "' added twice");
  entries_.push_back({name, std::move(collector), 0});
}

std::string MetricsRegistry::render() {
  Exposition out;
  for (auto &e : entries_) {
    // Each collector writes into its own exposition, merged whole: one that throws half-way
    // (or clashes with another part's names) leaves nothing behind.
    Exposition mine;
    try {
      e.collect(mine);
      out.merge(std::move(mine));
    } catch (const std::exception &) {
      ++e.errors;
    }
  }
  out.declare("sluiced_metrics_collector_errors_total", MetricType::counter,
              "Scrapes in which a part of sluiced failed to report its metrics, by part");
  for (const auto &e : entries_)
    out.add("sluiced_metrics_collector_errors_total", {{"collector", e.name}}, e.errors);
  return out.render();
}

}  // namespace sluice::sluiced::metrics
