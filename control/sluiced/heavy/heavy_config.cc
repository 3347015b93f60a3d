#include "heavy_config.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace sluice::sluiced::heavy {
namespace {

std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "'" + out + (v.size() > 64 ? "...'" : "'");
}

double read_number(const po::variables_map &vm, const std::string &key, double dflt, double min,
                   double max, bool whole) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  double d = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), d);
  if (v->empty() || v->front() == '-' || v->front() == '+' || r.ec != std::errc() ||
      r.ptr != v->data() + v->size() || !std::isfinite(d) || d < min || d > max ||
      (whole && d != std::floor(d)))
    throw ConfigError(fmt::format("{}: {} is not a {} {:.0f} .. {:.0f}", key, shown(*v),
                                  whole ? "whole number" : "number", min, max));
  return d;
}

}  // namespace

void describe_heavy_config(ConfigSchema &schema) {
  po::options_description d("[heavy_hitters]");
  d.add_options()  //
      ("heavy_hitters.enabled", po::value<std::string>(),
       "poll the data planes' heavy SYN "                                                    //
       "senders (true, false)")                                                              //
      ("heavy_hitters.poll_interval", po::value<std::string>(), "how often each is asked")   //
      ("heavy_hitters.min_rate", po::value<std::string>(), "SYN/min a host is observed at")  //
      ("heavy_hitters.max_per_poll", po::value<std::string>(), "entries asked per poll");
  schema.add_section(d);
}

HeavyConfig read_heavy_config(const po::variables_map &vm) {
  HeavyConfig c;
  HeavySettings &s = c.settings;
  c.enabled = config_bool(vm, "heavy_hitters.enabled", true);
  if (const std::string *v = config_value(vm, "heavy_hitters.poll_interval")) {
    s.poll_interval = parse_duration(*v, "heavy_hitters.poll_interval");
    if (s.poll_interval < std::chrono::milliseconds(100) || s.poll_interval > std::chrono::hours(1))
      throw ConfigError("heavy_hitters.poll_interval: " + shown(*v) + " is outside 100ms .. 1h");
  }
  s.min_rate = read_number(vm, "heavy_hitters.min_rate", s.min_rate, 1, 1e9, false);
  s.max_per_poll = static_cast<size_t>(read_number(
      vm, "heavy_hitters.max_per_poll", static_cast<double>(s.max_per_poll), 1, 65536, true));
  return c;
}

}  // namespace sluice::sluiced::heavy
