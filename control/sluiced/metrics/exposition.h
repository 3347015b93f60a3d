// The Prometheus text exposition format (version 0.0.4), written by hand: what sluiced's
// GET /metrics answers. A scrape builds one Exposition, declares each family once (name, type,
// help), adds its samples and renders. The output is stable: families in name order, samples
// of a family in label order, histogram buckets in bound order, so two scrapes of the same
// values are byte-identical and diffs between scrapes show only what moved.
//
// Why not prometheus-cpp: Debian 12 does not package it, and sluiced needs only this writer
// (its own loop serves HTTP, metrics/http_server.h); docs/metrics.md says more.
//
// Rules enforced (each refusal is an ExpositionError naming the metric): metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and never start with "__";
// counters end in "_total"; a histogram's labels never include "le"; a family is declared
// once (a second declaration must agree on type and help); one sample per label set.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice_error.h"

namespace sluice::sluiced::metrics {

class ExpositionError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

enum class MetricType { counter, gauge, histogram };
std::string_view to_string(MetricType t);

struct Label {
  std::string name, value;
};
using Labels = std::vector<Label>;

class Histogram;

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// Label values: backslash, double quote and line feed escaped (\\, \", \n).
std::string escape_label_value(std::string_view value);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view help);
// A sample value: integral values without exponent or fraction, others with the fewest digits
// that read back to the same double; "+Inf", "-Inf", "NaN".
std::string format_value(double v);

class Exposition {
 public:
  void declare(std::string_view name, MetricType type, std::string_view help);
  // A counter or gauge sample; the family must be declared with that type.
  void add(std::string_view name, const Labels &labels, double value);
  void add(std::string_view name, const Labels &labels, uint64_t value);
  void add(std::string_view name, const Labels &labels, int64_t value);
  // A histogram's buckets (cumulative, then le="+Inf"), _sum and _count.
  void add(std::string_view name, const Labels &labels, const Histogram &h);

  // Moves every family and sample of `other` in; all or nothing: a family declared differently
  // or a sample present in both throws ExpositionError and leaves this one unchanged.
  void merge(Exposition &&other);

  bool declared(std::string_view name) const { return families_.count(std::string(name)) != 0; }
  std::string render() const;

 private:
  struct Family {
    MetricType type;
    std::string help;
    // Rendered label set ("{a=\"1\"}" or "") -> the sample lines of that set.
    std::map<std::string, std::string> samples;
  };
  Family &family_for(std::string_view name, MetricType want);
  void add_text(std::string_view name, const Labels &labels, std::string value);

  std::map<std::string, Family, std::less<>> families_;
};

// The text of a label set as it appears after a metric name ("" for none), labels in the order
// given; `extra` (if non-empty) is appended last (histograms' le).
std::string render_labels(const Labels &labels, const Label *extra = nullptr);

}  // namespace sluice::sluiced::metrics
