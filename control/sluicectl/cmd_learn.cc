// sluicectl learn explain ADDR | learn forget ADDR: what sluiced's local score model learned
// about an address from this site's own observations (docs/learning.md), and the undo.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "command_registry.h"
#include "daemon_call.h"
#include "learn_text.h"
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
  for (const auto &k : kinds) ctx.out << learn_kind_line(k) << "\n";
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
