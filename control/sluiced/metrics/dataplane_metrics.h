// A data plane's counters (DataplaneStats, dataplane/common/dp_stats.h) as Prometheus metrics.
// Names are made from dp_stats.h's field lists, never mapped by hand, so a counter added there
// appears here on the next build:
//
//   sluice_dataplane_<field>_total{dataplane}                  sl_stats scalars
//   sluice_dataplane_<field>_total{dataplane,direction}        sl_stats by direction
//   sluice_dataplane_level_<field>_total{dataplane,level,level_name}  per level of the policy
//   sluice_dataplane_port_<field>_total{dataplane,port}        port = outside | inside
//   sluice_dataplane_flow_table_<field>{,_total}{dataplane}
//   sluice_dataplane_pacer_<field>{,_total}{dataplane}
//   sluice_dataplane_table_<field>{,_total}{dataplane}
//   sluice_dataplane_policy_<field>{,_total}{dataplane}
//   sluice_dataplane_lcore_<field>{,_total}{dataplane,queue}
//
// A field is a gauge when it is a level (is_gauge_field: sizes, depths, versions, ages), else a
// counter (suffix _total). A field ending in _s becomes _seconds, in _unix _unix_seconds.
// docs/metrics.md lists every name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dataplane_client.h"
#include "exposition.h"

namespace sluice::sluiced::metrics {

// The fields of dp_stats.h's lists that are levels, not counts ("" = the sl_stats scalars).
bool is_gauge_field(std::string_view section, std::string_view field);

// Declares every family (so a scrape lists them even before any data plane answered).
void declare_dataplane_metrics(Exposition &e);
// Adds one data plane's samples, labelled dataplane=`dataplane` (its spec).
void add_dataplane_metrics(Exposition &e, const std::string &dataplane,
                           const control::DataplaneStats &s);
// sluice_dataplane_up{dataplane}: 1 when its last stats request answered, else 0.
void add_dataplane_up(Exposition &e, const std::string &dataplane, bool up);

// Every metric name declare_dataplane_metrics declares, in order (for docs and tests).
std::vector<std::string> dataplane_metric_names();

}  // namespace sluice::sluiced::metrics
