// sluicectl learn explain ADDR | learn forget ADDR: what sluiced's local score model learned
// about an address from this site's own observations (docs/learning.md), and the undo.
#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "sluice/reputation/address.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace rep = sluice::reputation;

std::string address_arg(const po::variables_map &vm) {
  if (!vm.count("address")) throw UsageError("an ADDR is required");
  const std::string text = vm["address"].as<std::vector<std::string>>()[0];
  auto ip = rep::parse_ip(text);
  if (!ip) throw UsageError("'" + text.substr(0, 64) + "': not an IPv4 or IPv6 address");
  return rep::format_ip(*ip);
}

// "6h", "30m", "90s", "1.5s".
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

// "complaint: 2.0 events (last 2026-11-30 10:02:11 UTC from arf, report-1), +8, halves every 6h"
std::string kind_line(const json &k) {
  const std::string evidence = k.value("evidence", "");
  std::string line = fmt::format(
      "{}: {} events (last {} from {}{}), {:+}", k.value("kind", "?"),
      number(k.value("count", 0.0)), when(k.value("last_seen_unix_ms", int64_t{0})),
      k.value("origin", "?"), evidence.empty() ? "" : ", " + evidence, k.value("contribution", 0));
  if (k.value("below_threshold", false))
    line += fmt::format(" (below the threshold of {})", number(k.value("threshold", 0.0)));
  else if (k.value("capped", false))
    line += fmt::format(" (the cap, {})", number(k.value("cap", 0.0)));
  if (k.value("points_now", 0) != k.value("contribution", 0))
    line += fmt::format(" ({:+} at the next step)", k.value("points_now", 0));
  return line + ", halves every " + every(k.value("half_life_ms", int64_t{0}));
}

int explain(Context &ctx) {
  CommandOptions opts;
  opts.json().words("address", 1, "ADDR");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] learn explain ADDR [--json]",
       "What sluiced's local score model learned about ADDR from this site's own observations\n"
       "(spam-trap hits, complaints, the MTA's log rejects, the data planes' heavy hitters): per\n"
       "kind, the decayed count of events, the latest observation (when, from which producer,\n"
       "its evidence), the points the kind adds to ADDR's score in the table (its source line\n"
       "in `table explain` is local:KIND) and its half-life. A kind below its threshold adds\n"
       "nothing; one at its cap adds the cap. docs/learning.md has the formula."});
  if (!vm) return kExitOk;
  const std::string addr = address_arg(*vm);
  json r = daemon_call(ctx, {{"cmd", "learn explain"}, {"addr", addr}});
  r.erase("ok");
  if (vm->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  if (!r.value("enabled", false)) {
    ctx.out << "the local score model is off ([learning] enabled = false)\n";
    return kExitOk;
  }
  const json kinds = r.value("kinds", json::array());
  if (kinds.empty()) {
    ctx.out << addr << ": nothing learned locally\n";
    return kExitOk;
  }
  for (const auto &k : kinds) ctx.out << kind_line(k) << "\n";
  ctx.out << fmt::format("local total: {:+}; score in the table: {}\n", r.value("total", 0),
                         r.value("table_score", 0));
  return kExitOk;
}

int forget(Context &ctx) {
  CommandOptions opts;
  opts.json().words("address", 1, "ADDR");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl [--daemon PATH] learn forget ADDR [--json]",
       "Drops everything sluiced's local score model learned about ADDR (every kind), the undo\n"
       "for a local penalty such as a spam-trap hit. Returns once every data plane sluiced\n"
       "reaches runs the new table. New observations count again from zero."});
  if (!vm) return kExitOk;
  const std::string addr = address_arg(*vm);
  json r = daemon_call(ctx, {{"cmd", "learn forget"}, {"addr", addr}});
  r.erase("ok");
  if (vm->count("json")) {
    ctx.out << r.dump(2) << "\n";
    return kExitOk;
  }
  const json removed = r.value("removed", json::array());
  if (removed.empty()) {
    ctx.out << addr << ": nothing learned locally\n";
    return kExitOk;
  }
  std::string kinds;
  for (const auto &k : removed) kinds += (kinds.empty() ? "" : ", ") + k.get<std::string>();
  ctx.out << "forgot " << addr << ": " << kinds << "\n";
  return kExitOk;
}

const GroupRegistrar kGroup("learn", "the local score model: explain, forget");
const CommandRegistrar kExplain("learn explain", "what the local score model learned about ADDR",
                                explain);
const CommandRegistrar kForget("learn forget", "drop what the local score model learned about ADDR",
                               forget);

}  // namespace
}  // namespace sluicectl
