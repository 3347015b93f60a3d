// The scrape: every part's collector into one exposition; a broken part leaves nothing behind
// and is counted; sluiced's own metric names.
#include "sluiced/metrics/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "sluiced/metrics/daemon_metrics.h"

namespace sluice::sluiced::metrics {
namespace {

bool has_line(const std::string &text, const std::string &line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(MetricsRegistry, ABrokenCollectorLeavesNothingBehindAndIsCounted) {
  MetricsRegistry r;
  r.add("good", [](Exposition &e) {
    e.declare("good_total", MetricType::counter, "h");
    e.add("good_total", {}, uint64_t{7});
  });
  r.add("broken", [](Exposition &e) {
    e.declare("half_total", MetricType::counter, "h");
    e.add("half_total", {}, uint64_t{1});
    throw std::runtime_error("store unavailable");
  });
  const std::string text = r.render();
  EXPECT_TRUE(has_line(text, "good_total 7"));
  EXPECT_EQ(text.find("half_total"), std::string::npos);
  EXPECT_TRUE(has_line(text, "sluiced_metrics_collector_errors_total{collector=\"broken\"} 1"));
  EXPECT_TRUE(has_line(text, "sluiced_metrics_collector_errors_total{collector=\"good\"} 0"));
  EXPECT_TRUE(
      has_line(r.render(), "sluiced_metrics_collector_errors_total{collector=\"broken\"} 2"));
}

TEST(MetricsRegistry, PartsClashingOnASampleAreReportedNotMerged) {
  MetricsRegistry r;
  auto same = [](Exposition &e) {
    e.declare("x", MetricType::gauge, "h");
    e.add("x", {}, uint64_t{1});
  };
  r.add("a", same);
  r.add("b", same);
  const std::string text = r.render();
  EXPECT_TRUE(has_line(text, "x 1"));
  EXPECT_TRUE(has_line(text, "sluiced_metrics_collector_errors_total{collector=\"b\"} 1"));
  EXPECT_THROW(r.add("a", same), ExpositionError);
}

TEST(DaemonMetrics, SourcesPushesAndDynamicEntriesHaveTheirNames) {
  Exposition e;
  add_source_metrics(e, {{"dnsbl", 1200, 30, 3600, 2, true}, {"drop", 800, 7200, 3600, 0, false}});
  Histogram h = make_push_latency_histogram();
  h.observe(0.004);
  add_push_metrics(e, {{"dpdk:/run/sluice/sluice-dp.sock", &h, 5, 1, 0, true}});
  add_dynamic_metrics(e, {{{"score", 3}, {"deny", 1}}, 4});
  add_table_metrics(e, {77, 2000, 12.5});
  add_control_metrics(e, {{"connections", 9}, {"refused_peer", 2}});
  add_decision_log_metrics(e, 11, 4);
  const std::string t = e.render();
  EXPECT_TRUE(has_line(t, "sluiced_source_entries{source=\"dnsbl\"} 1200"));
  EXPECT_TRUE(has_line(t, "sluiced_source_stale{source=\"dnsbl\"} 0"));
  EXPECT_TRUE(has_line(t, "sluiced_source_stale{source=\"drop\"} 1"));  // 7200 s > max_age 3600
  EXPECT_TRUE(has_line(t, "sluiced_source_rejections_total{source=\"dnsbl\"} 2"));
  EXPECT_TRUE(has_line(t, "sluiced_source_last_rejected{source=\"dnsbl\"} 1"));
  EXPECT_TRUE(has_line(t,
                       "sluiced_push_latency_seconds_bucket{dataplane=\"dpdk:/run/sluice/"
                       "sluice-dp.sock\",le=\"0.005\"} 1"));
  EXPECT_TRUE(has_line(t,
                       "sluiced_push_latency_seconds_bucket{dataplane=\"dpdk:/run/sluice/"
                       "sluice-dp.sock\",le=\"0.0025\"} 0"));
  EXPECT_TRUE(has_line(
      t, "sluiced_pushes_total{dataplane=\"dpdk:/run/sluice/sluice-dp.sock\",kind=\"full\"} 1"));
  EXPECT_TRUE(has_line(t, "sluiced_dynamic_entries{kind=\"deny\"} 1"));
  EXPECT_TRUE(has_line(t, "sluiced_dynamic_expired_total 4"));
  EXPECT_TRUE(has_line(t, "sluiced_table_age_seconds 12.5"));
  EXPECT_TRUE(has_line(t, "sluiced_control_refused_peer_total 2"));
  EXPECT_TRUE(has_line(t, "sluiced_decision_log_suppressed_total 4"));
}

TEST(Exposition, MergeIsAllOrNothing) {
  Exposition a, b;
  a.declare("x", MetricType::gauge, "h");
  a.add("x", {{"k", "1"}}, uint64_t{1});
  b.declare("x", MetricType::gauge, "h");
  b.declare("y", MetricType::gauge, "h");
  b.add("y", {}, uint64_t{2});
  b.add("x", {{"k", "1"}}, uint64_t{3});  // clashes
  const std::string before = a.render();
  EXPECT_THROW(a.merge(std::move(b)), ExpositionError);
  EXPECT_EQ(a.render(), before);
}

}  // namespace
}  // namespace sluice::sluiced::metrics
