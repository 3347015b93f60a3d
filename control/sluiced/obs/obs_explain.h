// What the decision log and the metrics read from the daemon's table and last build:
//   make_explainer   an address's score (the compiled table) and the sources that contributed
//                    (the deciding entry of every source of the last build), for a log line;
//   add_contribution_metrics  entries per provider contribution (the dynamic store's entries,
//                    the feed's): sluiced_contribution_entries{contribution};
//   extra_collectors the hook for parts that keep their own counts: they call
//                    add_metrics_collector() from their Module::start (or a static
//                    initialiser), and every scrape renders them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/daemon.h"
#include "decision_log/decision_log.h"
#include "metrics/registry.h"

namespace sluice::sluiced::obs {

// Explanations are cached per address until the table changes (at most kExplainCache).
inline constexpr size_t kExplainCache = 4096;
decision_log::Explain make_explainer(Daemon &d);

void add_contribution_metrics(metrics::Exposition &e, const BuildInput &build,
                              size_t contributions);

void add_metrics_collector(std::string name, metrics::MetricsRegistry::Collector c);
std::vector<std::pair<std::string, metrics::MetricsRegistry::Collector>> &extra_collectors();

}  // namespace sluice::sluiced::obs
