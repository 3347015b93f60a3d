// What a scrape of sluiced's /metrics renders: every part of the daemon registers a collector
// (a function that declares its families and adds its samples to the scrape's Exposition), and
// render() runs them in registration order into one exposition. A collector that throws does
// not take the scrape down: its samples are left out and
// sluiced_metrics_collector_errors_total{collector="NAME"} counts it.
//
// This is the hook for parts built elsewhere (the dynamic store, the sources, the control
// socket): they hand a collector to the daemon, which adds it here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "exposition.h"

namespace sluice::sluiced::metrics {

class MetricsRegistry {
 public:
  using Collector = std::function<void(Exposition &)>;

  // `name` labels the collector's errors; names are unique (ExpositionError otherwise).
  void add(const std::string &name, Collector collector);
  std::string render();

 private:
  struct Entry {
    std::string name;
    Collector collect;
    uint64_t errors = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace sluice::sluiced::metrics
