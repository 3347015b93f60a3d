#include "learn_text.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

namespace sluicectl {
namespace {

using nlohmann::json;

// "6h", "30m", "90s", "1500ms".
std::string every(int64_t ms) {
  if (ms > 0 && ms % 86400000 == 0) return fmt::format("{}d", ms / 86400000);
  if (ms > 0 && ms % 3600000 == 0) return fmt::format("{}h", ms / 3600000);
  if (ms > 0 && ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

std::string when(int64_t unix_ms) {
  const std::time_t s = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string number(double v) {
  if (v != 0 && std::fabs(v) < 0.05) return fmt::format("{:.2g}", v);
  return fmt::format("{:.1f}", v);
}

// What one event of the kind is: a SYN for conn_rate (its observations carry SYN counts).
std::string events(const json &k) {
  return k.value("kind", "") == "conn_rate" ? "SYNs" : "events";
}

std::string last_seen(const json &k) {
  return when(k.value("last_seen_unix_ms", int64_t{0})) + " from " + k.value("origin", "?");
}

}  // namespace

std::string learn_kind_line(const json &k) {
  const std::string evidence = k.value("evidence", "");
  std::string line = fmt::format(
      "{}: {} {} (last {}{}), {:+}", k.value("kind", "?"), number(k.value("count", 0.0)), events(k),
      last_seen(k), evidence.empty() ? "" : ", " + evidence, k.value("contribution", 0));
  if (k.value("below_threshold", false))
    line += fmt::format(" (below the threshold of {})", number(k.value("threshold", 0.0)));
  else if (k.value("capped", false))
    line += fmt::format(" (the cap, {})", number(k.value("cap", 0.0)));
  if (k.value("points_now", 0) != k.value("contribution", 0))
    line += fmt::format(" ({:+} at the next step)", k.value("points_now", 0));
  return line + ", halves every " + every(k.value("half_life_ms", int64_t{0}));
}

std::string learn_kind_reason(const json &k) {
  const std::string evidence = k.value("evidence", "");
  return fmt::format("{} {}, last {}{}, halves every {}", number(k.value("count", 0.0)), events(k),
                     last_seen(k), evidence.empty() ? "" : " (" + evidence + ")",
                     every(k.value("half_life_ms", int64_t{0})));
}

}  // namespace sluicectl
