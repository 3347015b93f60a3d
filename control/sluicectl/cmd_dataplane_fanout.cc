// sluicectl --dataplane SPEC dataplane fanout [--limit N] [--json]: the subscribers with the most
// remote MTAs new to them (outbound SMTP under the policy's [outbound] section,
// docs/observations.md#fan-out), most first.
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

int run_fanout(Context &ctx) {
  CommandOptions opts;
  opts.visible.add_options()("limit", po::value<unsigned>()->default_value(100)->value_name("N"),
                             "at most this many subscribers (1..10000)");
  opts.json("the list as JSON: address, destinations");
  const auto vm = parse_command(
      ctx, opts,
      {"sluicectl --dataplane SPEC dataplane fanout [--limit N] [--json]",
       "The subscribers whose outbound SMTP reached the most remote MTAs, most first: each MTA\n"
       "counted once per fan-out window (about a minute) in which the subscriber opened a\n"
       "connection to it, summed over lcores / CPUs. Counted only under a policy with an\n"
       "[outbound] section. A count starts again after 64 heavy-hitter windows (about 69 s)\n"
       "without one, and the subscriber is not listed then. See docs/observations.md."});
  if (!vm) return kExitOk;
  const unsigned limit = (*vm)["limit"].as<unsigned>();
  if (limit < 1 || limit > 10000)
    throw UsageError(fmt::format("--limit must be 1..10000, not {}", limit));
  try {
    const auto list = dataplane_for(ctx)->fanout_senders(limit);
    if (vm->count("json") > 0) {
      json a = json::array();
      for (const auto &f : list)
        a.push_back({{"address", f.address}, {"destinations", f.destinations}});
      ctx.out << a.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    TextTable t({"address", "destinations"});
    for (const auto &f : list) t.row({f.address, std::to_string(f.destinations)});
    t.print(ctx.out);
    ctx.out << list.size() << " subscriber(s) with fan-out\n";
  } catch (const dp::DataplaneError &e) {
    ctx.err << ctx.command_path << ": " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const CommandRegistrar kFanout("dataplane fanout",
                               "the subscribers whose outbound SMTP reached the most remote MTAs",
                               run_fanout);

}  // namespace
}  // namespace sluicectl
