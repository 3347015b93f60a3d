// The Prometheus text writer: names, escaping, value formatting, stable order, refusals.
#include "sluiced/metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sluiced/metrics/histogram.h"

namespace sluice::sluiced::metrics {
namespace {

TEST(ExpositionNames, MetricNamesFollowTheFormat) {
  EXPECT_TRUE(valid_metric_name("sluice_dataplane_up"));
  EXPECT_TRUE(valid_metric_name(":colon_first"));
  EXPECT_TRUE(valid_metric_name("_x9"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("9starts_with_digit"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name("has space"));
  EXPECT_FALSE(valid_metric_name("utf8_\xc3\xa9"));
}

TEST(ExpositionNames, LabelNamesFollowTheFormat) {
  EXPECT_TRUE(valid_label_name("dataplane"));
  EXPECT_TRUE(valid_label_name("_x"));
  EXPECT_FALSE(valid_label_name("__reserved"));
  EXPECT_FALSE(valid_label_name("a:b"));  // colons are for metric names only
  EXPECT_FALSE(valid_label_name("1a"));
  EXPECT_FALSE(valid_label_name(""));
}

TEST(ExpositionEscaping, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("dpdk:/run/sluice/sluice-dp.sock"),
            "dpdk:/run/sluice/sluice-dp.sock");
}

TEST(ExpositionEscaping, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("say \"hi\"\\\nbye"), "say \"hi\"\\\\\\nbye");
}

TEST(ExpositionValues, IntegralValuesHaveNoExponent) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1e6), "1000000");
  EXPECT_EQ(format_value(-42), "-42");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  // Shortest text that reads back to the same double.
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Exposition, RendersHelpTypeAndSamplesInStableOrder) {
  Exposition e;
  e.declare("zeta_total", MetricType::counter, "Last by name.");
  e.declare("alpha", MetricType::gauge, "First by name.");
  e.add("zeta_total", {{"dp", "b"}}, uint64_t{2});
  e.add("zeta_total", {{"dp", "a"}}, uint64_t{1});
  e.add("alpha", {}, 0.5);
  EXPECT_EQ(e.render(),
            "# HELP alpha First by name.\n"
            "# TYPE alpha gauge\n"
            "alpha 0.5\n"
            "# HELP zeta_total Last by name.\n"
            "# TYPE zeta_total counter\n"
            "zeta_total{dp=\"a\"} 1\n"
            "zeta_total{dp=\"b\"} 2\n");
}

TEST(Exposition, SameValuesInAnotherOrderRenderTheSameText) {
  Exposition a, b;
  for (Exposition *e : {&a, &b}) {
    e->declare("m_total", MetricType::counter, "h");
    e->declare("g", MetricType::gauge, "h");
  }
  a.add("m_total", {{"x", "1"}}, uint64_t{1});
  a.add("m_total", {{"x", "2"}}, uint64_t{2});
  a.add("g", {}, int64_t{-3});
  b.add("g", {}, int64_t{-3});
  b.add("m_total", {{"x", "2"}}, uint64_t{2});
  b.add("m_total", {{"x", "1"}}, uint64_t{1});
  EXPECT_EQ(a.render(), b.render());
}

TEST(Exposition, LabelValuesAreEscapedInSamples) {
  Exposition e;
  e.declare("g", MetricType::gauge, "h");
  e.add("g", {{"name", "a\"b\\c\nd"}}, uint64_t{1});
  EXPECT_NE(e.render().find("g{name=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(Exposition, LargeCountersAreExact) {
  Exposition e;
  e.declare("c_total", MetricType::counter, "h");
  e.add("c_total", {}, uint64_t{18446744073709551615u});
  EXPECT_NE(e.render().find("c_total 18446744073709551615\n"), std::string::npos);
}

TEST(Exposition, RefusesWhatTheFormatForbids) {
  Exposition e;
  EXPECT_THROW(e.declare("bad-name", MetricType::gauge, "h"), ExpositionError);
  EXPECT_THROW(e.declare("requests", MetricType::counter, "h"), ExpositionError);  // no _total
  e.declare("g", MetricType::gauge, "h");
  EXPECT_NO_THROW(e.declare("g", MetricType::gauge, "h"));  // the same declaration again
  EXPECT_THROW(e.declare("g", MetricType::gauge, "other help"), ExpositionError);
  EXPECT_THROW(e.declare("g", MetricType::histogram, "h"), ExpositionError);
  EXPECT_THROW(e.add("undeclared", {}, 1.0), ExpositionError);
  EXPECT_THROW(e.add("g", {{"__x", "1"}}, 1.0), ExpositionError);
  EXPECT_THROW(e.add("g", {{"a", "1"}, {"a", "2"}}, 1.0), ExpositionError);
  e.add("g", {{"a", "1"}}, 1.0);
  EXPECT_THROW(e.add("g", {{"a", "1"}}, 2.0), ExpositionError);  // one sample per label set
  Histogram h({1});
  EXPECT_THROW(e.add("g", {}, h), ExpositionError);  // a gauge is not a histogram
  e.declare("h_seconds", MetricType::histogram, "h");
  EXPECT_THROW(e.add("h_seconds", {{"le", "1"}}, h), ExpositionError);
  EXPECT_THROW(e.add("h_seconds", {}, 1.0), ExpositionError);
}

TEST(Exposition, HistogramRendersCumulativeBucketsSumAndCount) {
  Histogram h({0.01, 0.1, 1});
  h.observe(0.005);
  h.observe(0.01);  // le is "less or equal": this one is in the 0.01 bucket
  h.observe(0.5);
  h.observe(7);
  Exposition e;
  e.declare("push_seconds", MetricType::histogram, "Push latency.");
  e.add("push_seconds", {{"dataplane", "dpdk:x"}}, h);
  EXPECT_EQ(e.render(),
            "# HELP push_seconds Push latency.\n"
            "# TYPE push_seconds histogram\n"
            "push_seconds_bucket{dataplane=\"dpdk:x\",le=\"0.01\"} 2\n"
            "push_seconds_bucket{dataplane=\"dpdk:x\",le=\"0.1\"} 2\n"
            "push_seconds_bucket{dataplane=\"dpdk:x\",le=\"1\"} 3\n"
            "push_seconds_bucket{dataplane=\"dpdk:x\",le=\"+Inf\"} 4\n"
            "push_seconds_sum{dataplane=\"dpdk:x\"} 7.515\n"
            "push_seconds_count{dataplane=\"dpdk:x\"} 4\n");
}

TEST(Histogram, RefusesBadBounds) {
  EXPECT_THROW(Histogram({}), ExpositionError);
  EXPECT_THROW(Histogram({1, 1}), ExpositionError);
  EXPECT_THROW(Histogram({2, 1}), ExpositionError);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), ExpositionError);
}

TEST(Histogram, NanIsNotCountedAndInfinitiesLandAtTheEnds) {
  Histogram h({1, 2});
  h.observe(std::nan(""));
  EXPECT_EQ(h.count(), 0u);
  h.observe(-std::numeric_limits<double>::infinity());
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.cumulative(0), 1u);
  EXPECT_EQ(h.cumulative(1), 1u);
  EXPECT_EQ(h.cumulative(2), 2u);
}

TEST(Histogram, PushLatencyBucketsCoverTheGoals) {
  const Histogram h = make_push_latency_histogram();
  auto has = [&](double b) {
    for (double x : h.bounds())
      if (x == b) return true;
    return false;
  };
  // The issue's goals: 10 ms (one entry), 100 ms (10k-entry change), 1 s (1M-entry resync).
  EXPECT_TRUE(has(0.01));
  EXPECT_TRUE(has(0.1));
  EXPECT_TRUE(has(1));
  Histogram fed = make_push_latency_histogram();
  observe(fed, std::chrono::milliseconds(3));
  EXPECT_EQ(fed.count(), 1u);
  EXPECT_DOUBLE_EQ(fed.sum(), 0.003);
}

}  // namespace
}  // namespace sluice::sluiced::metrics
