// A data plane's counters as metrics: every field of dp_stats.h's lists appears, with its value,
// under the name made from its list; gauges and counters as the fields are.
#include "sluiced/metrics/dataplane_metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sluice::sluiced::metrics {
namespace {

// Every counter a distinct value, so a value found under a name says which field it came from.
control::DataplaneStats numbered_stats(uint64_t &n) {
  control::DataplaneStats s;
  s.kind = "dpdk";
  s.levels = {{"pass", 0}, {"throttle", 3}, {"tarpit", 8}};
#define SET(x) s.totals.x = ++n;
  SLUICE_SL_STATS_SCALARS(SET)
#undef SET
#define SET(x)         \
  s.totals.x[0] = ++n; \
  s.totals.x[1] = ++n;
  SLUICE_SL_STATS_BY_DIR(SET)
#undef SET
  for (auto &lv : s.totals.level) {
#define SET(x) lv.x = ++n;
    SLUICE_SL_LEVEL_STATS(SET)
#undef SET
  }
#define SET(x)       \
  s.outside.x = ++n; \
  s.inside.x = ++n;
  SLUICE_PORT_STATS(SET)
#undef SET
#define SET(x) s.flow_table.x = ++n;
  SLUICE_FLOW_TABLE_STATS(SET)
#undef SET
#define SET(x) s.pacer.x = ++n;
  SLUICE_PACER_STATS(SET)
#undef SET
#define SET(x) s.table.x = ++n;
  SLUICE_TABLE_STATS(SET)
#undef SET
#define SET(x) s.policy.x = ++n;
  SLUICE_POLICY_STATS(SET)
#undef SET
  stats::LcoreStats lc;
#define SET(x) lc.x = ++n;
  SLUICE_LCORE_STATS(SET)
#undef SET
  s.lcores.push_back(lc);
  return s;
}

std::string render(const control::DataplaneStats &s) {
  Exposition e;
  declare_dataplane_metrics(e);
  add_dataplane_up(e, "dpdk:/run/x.sock", true);
  add_dataplane_metrics(e, "dpdk:/run/x.sock", s);
  return e.render();
}

bool has_line(const std::string &text, const std::string &line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(DataplaneMetrics, EveryFieldOfEveryListIsAMetric) {
  size_t fields = 1;  // sluice_dataplane_up
#define COUNT(x) ++fields;
  SLUICE_SL_STATS_SCALARS(COUNT)
  SLUICE_SL_STATS_BY_DIR(COUNT)
  SLUICE_SL_LEVEL_STATS(COUNT)
  SLUICE_PORT_STATS(COUNT)
  SLUICE_FLOW_TABLE_STATS(COUNT)
  SLUICE_PACER_STATS(COUNT)
  SLUICE_TABLE_STATS(COUNT)
  SLUICE_POLICY_STATS(COUNT)
  SLUICE_LCORE_STATS(COUNT)
#undef COUNT
  --fields;  // an lcore's queue is its label, not a metric
  const auto names = dataplane_metric_names();
  EXPECT_EQ(names.size(), fields);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(DataplaneMetrics, EveryValueAppearsOnceUnderItsName) {
  uint64_t n = 1000;
  const control::DataplaneStats s = numbered_stats(n);
  const std::string text = render(s);
  const std::string dp = "dataplane=\"dpdk:/run/x.sock\"";
  EXPECT_TRUE(has_line(text, "sluice_dataplane_up{" + dp + "} 1"));
  EXPECT_TRUE(has_line(
      text, "sluice_dataplane_lookups_total{" + dp + "} " + std::to_string(s.totals.lookups)));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_packets_total{" + dp +
                                 ",direction=\"from_inside\"} " +
                                 std::to_string(s.totals.packets[SL_DIR_FROM_INSIDE])));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_level_syns_total{" + dp +
                                 ",level=\"2\",level_name=\"tarpit\"} " +
                                 std::to_string(s.totals.level[2].syns)));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_level_rst_sent_total{" + dp +
                                 ",level=\"1\",level_name=\"throttle\"} " +
                                 std::to_string(s.totals.level[1].rst_sent)));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_port_tx_dropped_total{" + dp +
                                 ",port=\"outside\"} " + std::to_string(s.outside.tx_dropped)));
  EXPECT_TRUE(has_line(
      text, "sluice_dataplane_flow_table_flows{" + dp + "} " + std::to_string(s.flow_table.flows)));
  EXPECT_TRUE(has_line(
      text, "sluice_dataplane_table_age_seconds{" + dp + "} " + std::to_string(s.table.age_s)));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_table_compiled_unix_seconds{" + dp + "} " +
                                 std::to_string(s.table.compiled_unix)));
  EXPECT_TRUE(has_line(
      text, "sluice_dataplane_table_updates_total{" + dp + "} " + std::to_string(s.table.updates)));
  EXPECT_TRUE(has_line(text, "sluice_dataplane_lcore_rx_outside_total{" + dp + ",queue=\"" +
                                 std::to_string(s.lcores[0].queue) + "\"} " +
                                 std::to_string(s.lcores[0].rx_outside)));
  // Each numbered value is rendered at most once (level 3.. are not in the policy: absent).
  for (uint64_t v = 1001; v <= n; ++v) {
    const std::string tail = "} " + std::to_string(v) + "\n";
    size_t at = text.find(tail), count = 0;
    while (at != std::string::npos) {
      ++count;
      at = text.find(tail, at + 1);
    }
    EXPECT_LE(count, 1u) << v;
  }
  EXPECT_EQ(text.find("level=\"3\""), std::string::npos);
}

TEST(DataplaneMetrics, GaugesAndCountersAreTypedByWhatTheFieldIs) {
  const std::string text = render(control::DataplaneStats{});
  EXPECT_TRUE(has_line(text, "# TYPE sluice_dataplane_flow_table_flows gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE sluice_dataplane_level_flows_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE sluice_dataplane_table_version gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE sluice_dataplane_pacer_drops_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE sluice_dataplane_lcore_pacer_depth gauge"));
  EXPECT_FALSE(is_gauge_field("level", "flows"));
  EXPECT_TRUE(is_gauge_field("flow_table", "flows"));
}

}  // namespace
}  // namespace sluice::sluiced::metrics
