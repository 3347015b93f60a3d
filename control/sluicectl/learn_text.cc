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

// A rate kind (conn_rate): its peak, when and from where, e.g. "412 SYN/min at 2026-11-30
// 10:02:11 UTC from dp (412 SYN/min on dpdk:/run/sluice/sluice-dp.sock)".
bool is_rate(const json &k) {
  return k.value("rate", false);
}
std::string rate_peak(const json &k) {
  const std::string evidence = k.value("evidence", "");
  return fmt::format("{:.0f} SYN/min at {} from {}{}", k.value("recorded_count", 0.0),
                     when(k.value("recorded_unix_ms", int64_t{0})), k.value("origin", "?"),
                     evidence.empty() ? "" : " (" + evidence + ")");
}

std::string last_seen(const json &k) {
  return when(k.value("last_seen_unix_ms", int64_t{0})) + " from " + k.value("origin", "?");
}

}  // namespace

std::string learn_kind_line(const json &k) {
  const std::string evidence = k.value("evidence", "");
  std::string line =
      is_rate(k) ? fmt::format("{}: {}, now {:.0f}, {:+}", k.value("kind", "?"), rate_peak(k),
                               k.value("count", 0.0), k.value("contribution", 0))
                 : fmt::format("{}: {} events (last {}{}), {:+}", k.value("kind", "?"),
                               number(k.value("count", 0.0)), last_seen(k),
                               evidence.empty() ? "" : ", " + evidence, k.value("contribution", 0));
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
  if (is_rate(k))
    return fmt::format("{}, halves every {}", rate_peak(k),
                       every(k.value("half_life_ms", int64_t{0})));
  return fmt::format("{} events, last {}{}, halves every {}", number(k.value("count", 0.0)),
                     last_seen(k), evidence.empty() ? "" : " (" + evidence + ")",
                     every(k.value("half_life_ms", int64_t{0})));
}

}  // namespace sluicectl
