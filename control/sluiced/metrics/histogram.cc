#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "exposition.h"

namespace sluice::sluiced::metrics {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (bounds_.empty()) throw ExpositionError("histogram: no bucket bounds");
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw ExpositionError("histogram: bucket bound " + std::to_string(i) + " is not finite");
    if (i > 0 && !(bounds_[i] > bounds_[i - 1]))
      throw ExpositionError("histogram: bucket bounds are not strictly increasing at " +
                            format_value(bounds_[i]));
  }
  buckets_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // The first bound >= v (le is "less or equal").
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  ++buckets_[i];
  ++count_;
  sum_ += v;
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t n = 0;
  for (size_t k = 0; k <= i && k < buckets_.size(); ++k) n += buckets_[k];
  return n;
}

Histogram make_push_latency_histogram() {
  return Histogram({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075,
                    0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

}  // namespace sluice::sluiced::metrics
