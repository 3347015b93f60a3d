#include "learn_config.h"

#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace sluice::sluiced::learn {
namespace {

constexpr int64_t kMaxHalfLifeMs = int64_t{365} * 86400000;

std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "'" + out + (v.size() > 64 ? "...'" : "'");
}

double read_number(const po::variables_map &vm, const std::string &key, double dflt, double max) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  double d = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), d);
  if (v->empty() || v->front() == '-' || v->front() == '+' || r.ec != std::errc() ||
      r.ptr != v->data() + v->size() || !std::isfinite(d) || d < 0 || d > max)
    throw ConfigError(fmt::format("{}: {} is not a number 0 .. {}", key, shown(*v), max));
  return d;
}

std::string kind_key(LocalKind k, const char *what) {
  return fmt::format("learning.{}.{}", to_string(k), what);
}

}  // namespace

void describe_learn_config(ConfigSchema &schema) {
  po::options_description d("[learning]");
  d.add_options()                                                                           //
      ("learning.enabled", po::value<std::string>(), "the local score model runs")          //
      ("learning.max_addresses", po::value<std::string>(), "addresses remembered at most")  //
      ("learning.step", po::value<std::string>(), "how often decay reaches the table")      //
      ("learning.state", po::value<std::string>(), "state file")                            //
      ("learning.save_interval", po::value<std::string>(), "state file written at most this often");
  for (size_t i = 0; i < kLocalKindCount; ++i) {
    const auto k = static_cast<LocalKind>(i);
    for (const char *what : {"weight", "cap", "threshold", "half_life"})
      d.add_options()(kind_key(k, what).c_str(), po::value<std::string>(),
                      fmt::format("{} of {}", what, to_string(k)).c_str());
  }
  schema.add_section(d);
}

LearnConfig read_learn_config(const po::variables_map &vm) {
  using std::chrono::milliseconds;
  LearnConfig c;
  c.enabled = config_bool(vm, "learning.enabled", true);
  const double n =
      read_number(vm, "learning.max_addresses", static_cast<double>(c.model.max_addresses), 1e6);
  if (n < 1 || n != std::floor(n))
    throw ConfigError("learning.max_addresses: a whole number 1 .. 1000000");
  c.model.max_addresses = static_cast<size_t>(n);
  c.model.step_ms = config_duration(vm, "learning.step", milliseconds(c.model.step_ms),
                                    milliseconds(10), std::chrono::hours(1))
                        .count();
  c.save_interval = config_duration(vm, "learning.save_interval", c.save_interval,
                                    milliseconds(100), std::chrono::hours(1));
  if (const std::string *s = config_value(vm, "learning.state")) {
    if (s->empty() || s->front() != '/')
      throw ConfigError("learning.state: " + shown(*s) + " is not an absolute path");
    c.state_file = *s;
  }
  for (size_t i = 0; i < kLocalKindCount; ++i) {
    const auto k = static_cast<LocalKind>(i);
    KindSettings &ks = c.model.kinds[i];
    ks.weight = read_number(vm, kind_key(k, "weight"), ks.weight, 1000);
    ks.cap = read_number(vm, kind_key(k, "cap"), ks.cap, 1000000);
    ks.threshold = read_number(vm, kind_key(k, "threshold"), ks.threshold, 1e9);
    ks.half_life_ms = config_duration(vm, kind_key(k, "half_life"), milliseconds(ks.half_life_ms),
                                      milliseconds(10), milliseconds(kMaxHalfLifeMs))
                          .count();
  }
  return c;
}

}  // namespace sluice::sluiced::learn
