// sluicectl --dataplane SPEC dataplane verdicts [--limit N] [--json]: the senders whose SYNs the
// data plane shaped or blocked, per level (docs/observations.md#shaped-and-blocked), most first.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "command_registry.h"
#include "dataplane_client.h"
#include "dataplane_connect.h"
#include "text_table.h"

namespace sluicectl {
namespace {

using nlohmann::json;
namespace dp = sluice::control;

int run_verdicts(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit", po::value<unsigned>()->default_value(100)->value_name("N"),
                             "at most this many senders (1..10000)");
  opts.json("the list as JSON: address, level, shaped, blocked");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane verdicts [--limit N] [--json]",
       "The senders whose SYNs the data plane shaped or blocked, per level, most first: how many\n"
       "SYNs went on shaped (or were answered by a stateless tarpit) and how many were dropped\n"
       "or answered with RST, summed over lcores / CPUs. A count starts again after 64 counting\n"
       "windows (about 69 s) without one, and the sender is not listed then. An observing\n"
       "level counts none. See docs/observations.md."});
  if (!vm) return kExitOk;
  const unsigned limit = (*vm)["limit"].as<unsigned>();
  if (limit < 1 || limit > 10000)
    throw UsageError(fmt::format("--limit must be 1..10000, not {}", limit));
  try {
    const auto list = dataplane_for(ctx)->verdict_senders(limit);
    if (vm->count("json") > 0) {
      json a = json::array();
      for (const auto &v : list)
        a.push_back({{"address", v.address},
                     {"level", v.level},
                     {"shaped", v.shaped},
                     {"blocked", v.blocked}});
      ctx.out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    TextTable t({"address", "level", "shaped", "blocked"});
    for (const auto &v : list)
      t.row({v.address, std::to_string(v.level), std::to_string(v.shaped),
             std::to_string(v.blocked)});
    t.print(ctx.out);
    ctx.out << list.size() << " shaped or blocked sender(s)\n";
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const CommandRegistrar kVerdicts("dataplane verdicts",
                                 "the senders whose SYNs were shaped or blocked, per level",
                                 run_verdicts);

}  // namespace
}  // namespace sluicectl
